package datafile

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/tradai/tradai/sdk"
)

// ReadParquet reads a Parquet file of size bytes from r, with the same
// columns as [ReadFeather] (for example as written by pandas' to_parquet;
// an index column is ignored). name identifies the source in errors; the
// frame gets pair and tf and is checked with [Validate].
func ReadParquet(r io.ReaderAt, size int64, name, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	f, err := readParquet(r, size, name, pair, tf, Candles, InflateLimit{})
	if err != nil {
		return nil, err
	}
	if err := Validate(f, name); err != nil {
		return nil, err
	}
	return f, nil
}

// readParquet reads a parquet file like ReadParquet, reading nulls as kind
// allows and inflating no more than lim allows, without validating the
// values.
func readParquet(r io.ReaderAt, size int64, name, pair string, tf sdk.Timeframe, kind Kind, lim InflateLimit) (f *sdk.Frame, err error) {
	budget := newBudget(lim.Bytes(size))
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = budget.recovered(p, name, "corrupt parquet file")
		}
	}()
	if size == 0 {
		return nil, &RowError{File: name, Msg: "empty file", Err: ErrEmpty}
	}
	tbl, err := pqarrow.ReadTable(context.Background(), io.NewSectionReader(r, 0, size), parquet.NewReaderProperties(budget),
		pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, budget)
	if err != nil {
		return nil, budget.failed(err, name, "corrupt parquet file")
	}
	defer tbl.Release()
	chunks := func(j int) []arrow.Array { return tbl.Column(j).Data().Chunks() }
	return frameFromArrow(tbl.Schema(), chunks, name, pair, tf, kind)
}

// WriteParquet writes f as a Snappy-compressed Parquet file with the schema
// of [WriteFeather] (date as a UTC millisecond timestamp). f is written as
// is, without validation.
func WriteParquet(w io.Writer, f *sdk.Frame) error {
	if err := checkLens(f); err != nil {
		return err
	}
	schema := featherSchema(f)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false))
	pw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	const groupRows = 1 << 20
	for from := 0; from < f.Len(); from += groupRows {
		rec := frameRecord(schema, f, from, min(from+groupRows, f.Len()))
		err := pw.Write(rec)
		rec.Release()
		if err != nil {
			_ = pw.Close()
			return err
		}
	}
	return pw.Close()
}
