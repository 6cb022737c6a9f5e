package datafile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/sdk"
)

// The files of these tests are written by pqarrow, Arrow's own parquet
// writer (the one pyarrow shares its format choices with, and the one
// WriteParquet used before), so the reader is checked against files it did
// not write: pandas' column order and index column, every timestamp unit,
// dictionary pages, each codec, several row groups, nullable columns.
// pqarrow is linked into this test only, not into the package.

// pqarrowOpts are how pqarrowFile writes.
type pqarrowOpts struct {
	codec       compress.Compression
	dictionary  bool
	groupRows   int64 // rows per row group
	storeSchema bool  // write pyarrow's ARROW:schema metadata
	int96       bool  // timestamps as legacy INT96
}

// pqarrowFile writes the columns as a parquet file with pqarrow.
func pqarrowFile(t testing.TB, fields []arrow.Field, cols []arrow.Array, o pqarrowOpts) []byte {
	t.Helper()
	sch := arrow.NewSchema(fields, nil)
	n := int64(0)
	if len(cols) > 0 {
		n = int64(cols[0].Len())
	}
	rec := array.NewRecordBatch(sch, cols, n)
	defer rec.Release()
	tbl := array.NewTableFromRecords(sch, []arrow.RecordBatch{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(o.codec), parquet.WithDictionaryDefault(o.dictionary))
	var aopts []pqarrow.WriterOption
	if o.storeSchema {
		aopts = append(aopts, pqarrow.WithStoreSchema())
	}
	if o.int96 {
		aopts = append(aopts, pqarrow.WithDeprecatedInt96Timestamps(true))
	}
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(tbl, &buf, o.groupRows, props, pqarrow.NewArrowWriterProperties(aopts...)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// build returns the array b makes after fill, and releases b.
func build[B array.Builder](b B, fill func(B)) arrow.Array {
	defer b.Release()
	fill(b)
	return b.NewArray()
}

func floats(vals []float64, valid []bool) arrow.Array {
	return build(array.NewFloat64Builder(memory.DefaultAllocator), func(b *array.Float64Builder) { b.AppendValues(vals, valid) })
}

func scaledTimes(f *sdk.Frame, unit arrow.TimeUnit, tz string) arrow.Array {
	mul := map[arrow.TimeUnit]int64{arrow.Millisecond: 1, arrow.Microsecond: 1000, arrow.Nanosecond: 1_000_000}[unit]
	return build(array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: unit, TimeZone: tz}), func(b *array.TimestampBuilder) {
		for _, v := range f.Time {
			b.Append(arrow.Timestamp(v * mul))
		}
	})
}

var msUTC = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

func f64(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
}

// TestParquetWrittenByPqarrow reads files of several row groups written
// the ways pandas, pyarrow and older tradai versions write them.
func TestParquetWrittenByPqarrow(t *testing.T) {
	t.Parallel()
	want := genFrame(3500, "5m", 21)
	index := build(array.NewInt64Builder(memory.DefaultAllocator), func(b *array.Int64Builder) {
		for i := range want.Len() {
			b.Append(int64(i))
		}
	})
	pandas := func(unit arrow.TimeUnit, tz string) ([]arrow.Field, []arrow.Array) {
		date := scaledTimes(want, unit, tz)
		return []arrow.Field{f64("volume"), f64("close"), {Name: "date", Type: date.DataType(), Nullable: true}, f64("high"), f64("low"), f64("open"), {Name: "__index_level_0__", Type: arrow.PrimitiveTypes.Int64}},
			[]arrow.Array{floats(want.Volume, nil), floats(want.Close, nil), date, floats(want.High, nil), floats(want.Low, nil), floats(want.Open, nil), index}
	}
	type variant struct {
		name string
		o    pqarrowOpts
		unit arrow.TimeUnit
		tz   string
	}
	variants := []variant{
		{"pandas ns UTC, snappy, dictionary", pqarrowOpts{codec: compress.Codecs.Snappy, dictionary: true, groupRows: 1000, storeSchema: true}, arrow.Nanosecond, "UTC"},
		{"ns UTC, zstd, dictionary, no stored schema", pqarrowOpts{codec: compress.Codecs.Zstd, dictionary: true, groupRows: 1000}, arrow.Nanosecond, "UTC"},
		{"us naive, gzip", pqarrowOpts{codec: compress.Codecs.Gzip, groupRows: 999, storeSchema: true}, arrow.Microsecond, ""},
		{"ms, brotli, dictionary", pqarrowOpts{codec: compress.Codecs.Brotli, dictionary: true, groupRows: 2048}, arrow.Millisecond, "UTC"},
		{"ms, lz4, one row group", pqarrowOpts{codec: compress.Codecs.Lz4Raw, groupRows: 1 << 20, storeSchema: true}, arrow.Millisecond, "UTC"},
		{"ns, uncompressed, INT96", pqarrowOpts{codec: compress.Codecs.Uncompressed, groupRows: 1500, int96: true}, arrow.Nanosecond, "UTC"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			fields, cols := pandas(v.unit, v.tz)
			data := pqarrowFile(t, fields, cols, v.o)
			got, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "mem", want.Pair, want.Timeframe)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, want)
		})
	}
}

// TestParquetColumnTypes reads the other column types pqarrow gives a
// role: int64 and date32 dates, unsigned and float32 numbers, signals as
// integers and floats, a dictionary-encoded tag column, with nulls.
func TestParquetColumnTypes(t *testing.T) {
	t.Parallel()
	o := pqarrowOpts{codec: compress.Codecs.Zstd, dictionary: true, groupRows: 300, storeSchema: true}
	read := func(t *testing.T, fields []arrow.Field, cols []arrow.Array, kind Kind) (*sdk.Frame, error) {
		data := pqarrowFile(t, fields, cols, o)
		return readParquet(bytes.NewReader(data), int64(len(data)), "mem", "BTC/USDT", "1d", kind, InflateLimit{})
	}
	t.Run("int64 date, uint32 volume, float32 open", func(t *testing.T) {
		t.Parallel()
		want := genFrame(1000, "5m", 22)
		date := build(array.NewInt64Builder(memory.DefaultAllocator), func(b *array.Int64Builder) { b.AppendValues(want.Time, nil) })
		vol := build(array.NewUint32Builder(memory.DefaultAllocator), func(b *array.Uint32Builder) {
			for i := range want.Len() {
				want.Volume[i] = float64(3_000_000_000 + i) // beyond int32
				b.Append(uint32(want.Volume[i]))
			}
		})
		open := build(array.NewFloat32Builder(memory.DefaultAllocator), func(b *array.Float32Builder) {
			for i, v := range want.Open {
				b.Append(float32(v))
				want.Open[i] = float64(float32(v))
			}
		})
		got, err := read(t, []arrow.Field{{Name: "Date", Type: date.DataType()}, {Name: "open", Type: open.DataType()}, f64("high"), f64("low"), f64("close"), {Name: "volume", Type: vol.DataType()}},
			[]arrow.Array{date, open, floats(want.High, nil), floats(want.Low, nil), floats(want.Close, nil), vol}, Candles)
		if err != nil {
			t.Fatal(err)
		}
		got.Timeframe = want.Timeframe
		assertSameFrame(t, got, want)
	})
	t.Run("date32", func(t *testing.T) {
		t.Parallel()
		want := genFrame(800, "1d", 23)
		date := build(array.NewDate32Builder(memory.DefaultAllocator), func(b *array.Date32Builder) {
			for _, v := range want.Time {
				b.Append(arrow.Date32(v / clock.DayMs))
			}
		})
		got, err := read(t, []arrow.Field{{Name: "date", Type: date.DataType()}, f64("open"), f64("high"), f64("low"), f64("close"), f64("volume")},
			[]arrow.Array{date, floats(want.Open, nil), floats(want.High, nil), floats(want.Low, nil), floats(want.Close, nil), floats(want.Volume, nil)}, Candles)
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, got, want)
	})
	t.Run("signals and tags with nulls", func(t *testing.T) {
		t.Parallel()
		want := genFrame(1000, "1d", 24)
		want.EnsureSignals()
		el := build(array.NewInt8Builder(memory.DefaultAllocator), func(b *array.Int8Builder) {
			for i := range want.Len() {
				switch i % 3 {
				case 0:
					b.AppendNull()
				case 1:
					b.Append(2)
					want.EnterLong[i] = true
				default:
					b.Append(0)
				}
			}
		})
		xl := build(array.NewBooleanBuilder(memory.DefaultAllocator), func(b *array.BooleanBuilder) {
			for i := range want.Len() {
				if i%5 == 0 {
					b.AppendNull()
					continue
				}
				want.ExitLong[i] = i%2 == 0
				b.Append(want.ExitLong[i])
			}
		})
		es := build(array.NewFloat64Builder(memory.DefaultAllocator), func(b *array.Float64Builder) {
			for i := range want.Len() {
				v := []float64{math.NaN(), 1, 0, -0.5}[i%4]
				want.EnterShort[i] = v != 0 && !math.IsNaN(v)
				b.Append(v)
			}
		})
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		tag := build(array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder), func(b *array.BinaryDictionaryBuilder) {
			for i := range want.Len() {
				if i%4 == 0 {
					b.AppendNull()
					continue
				}
				s := []string{"", "rsi", "macd, cross"}[i%3]
				want.SetEnterTag(i, s)
				if err := b.AppendString(s); err != nil {
					t.Fatal(err)
				}
			}
		})
		got, err := read(t, []arrow.Field{{Name: "date", Type: msUTC}, f64("open"), f64("high"), f64("low"), f64("close"), f64("volume"),
			{Name: "enter_long", Type: el.DataType(), Nullable: true}, {Name: "exit_long", Type: xl.DataType(), Nullable: true},
			{Name: "enter_short", Type: es.DataType()}, {Name: "enter_tag", Type: dt, Nullable: true}},
			[]arrow.Array{scaledTimes(want, arrow.Millisecond, "UTC"), floats(want.Open, nil), floats(want.High, nil), floats(want.Low, nil), floats(want.Close, nil), floats(want.Volume, nil), el, xl, es, tag}, Candles)
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, got, want)
	})
	t.Run("null volume", func(t *testing.T) {
		t.Parallel()
		want := genFrame(1000, "1d", 25)
		valid := make([]bool, want.Len())
		for i := range valid {
			valid[i] = i != 700 && i != 701
		}
		fields := []arrow.Field{{Name: "date", Type: msUTC}, f64("open"), f64("high"), f64("low"), f64("close"), f64("volume")}
		cols := func() []arrow.Array {
			return []arrow.Array{scaledTimes(want, arrow.Millisecond, "UTC"), floats(want.Open, nil), floats(want.High, nil), floats(want.Low, nil), floats(want.Close, nil), floats(want.Volume, valid)}
		}
		// Candles: an error naming the row, in the third row group.
		_, err := read(t, fields, cols(), Candles)
		wantRowError(t, err, "mem", 701, "volume", "volume is null")
		// Indicative series: a null volume reads as 0.
		got, err := read(t, fields, cols(), Indicative)
		if err != nil {
			t.Fatal(err)
		}
		want.Volume[700], want.Volume[701] = 0, 0
		assertSameFrame(t, got, want)
	})
}

// TestBadParquetColumns checks the errors for files pqarrow writes that
// hold no candles: each names the file, and the row and column concerned.
func TestBadParquetColumns(t *testing.T) {
	t.Parallel()
	g := genFrame(1200, "5m", 26)
	o := pqarrowOpts{codec: compress.Codecs.Snappy, dictionary: true, groupRows: 500}
	ts := arrow.Field{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true}
	prices := func() []arrow.Array {
		return []arrow.Array{floats(g.Open, nil), floats(g.High, nil), floats(g.Low, nil), floats(g.Close, nil)}
	}
	ohlc := []arrow.Field{f64("open"), f64("high"), f64("low"), f64("close")}
	nullDate := build(array.NewTimestampBuilder(memory.DefaultAllocator, ts.Type.(*arrow.TimestampType)), func(b *array.TimestampBuilder) {
		for i, v := range g.Time {
			if i == 1100 {
				b.AppendNull()
				continue
			}
			b.Append(arrow.Timestamp(v * 1_000_000))
		}
	})
	strVol := build(array.NewStringBuilder(memory.DefaultAllocator), func(b *array.StringBuilder) {
		for range g.Len() {
			b.Append("1")
		}
	})
	listVol := build(array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Float64), func(b *array.ListBuilder) {
		vb := b.ValueBuilder().(*array.Float64Builder)
		for _, v := range g.Volume {
			b.Append(true)
			vb.Append(v)
		}
	})
	file := func(fields []arrow.Field, cols []arrow.Array) []byte { return pqarrowFile(t, fields, cols, o) }
	runRawCases(t, "parquet", []rawCase{
		{"null date", file(append([]arrow.Field{ts}, append(ohlc, f64("volume"))...), append([]arrow.Array{nullDate}, append(prices(), floats(g.Volume, nil))...)),
			1101, "date", nil, "date is null"},
		{"missing volume", file(append([]arrow.Field{ts}, ohlc...), append([]arrow.Array{scaledTimes(g, arrow.Nanosecond, "UTC")}, prices()...)),
			0, "volume", ErrMissingColumn, `missing column "volume" (the file has: date, open, high, low, close)`},
		{"string volume", file(append([]arrow.Field{ts}, append(ohlc, arrow.Field{Name: "volume", Type: arrow.BinaryTypes.String})...), append([]arrow.Array{scaledTimes(g, arrow.Nanosecond, "UTC")}, append(prices(), strVol)...)),
			0, "volume", ErrCorrupt, `column "volume" has unsupported type`},
		{"list volume", file(append([]arrow.Field{ts}, append(ohlc, arrow.Field{Name: "volume", Type: listVol.DataType()})...), append([]arrow.Array{scaledTimes(g, arrow.Nanosecond, "UTC")}, append(prices(), listVol)...)),
			0, "volume", ErrCorrupt, "unsupported type nested"},
		{"no rows", file(append([]arrow.Field{ts}, append(ohlc, f64("volume"))...), []arrow.Array{scaledTimes(&sdk.Frame{}, arrow.Nanosecond, "UTC"), floats(nil, nil), floats(nil, nil), floats(nil, nil), floats(nil, nil), floats(nil, nil)}),
			0, "", ErrEmpty, "no candles"},
	})
}

// TestParquetInflateLimit checks that a parquet file of long runs of equal
// strings (a dictionary page repeated on every row) stops at the file's
// inflate limit instead of taking memory.
func TestParquetInflateLimit(t *testing.T) {
	t.Parallel()
	g := genFrame(20_000, "5m", 27)
	long := string(bytes.Repeat([]byte("x"), 4096))
	for i := range g.Len() {
		g.SetEnterTag(i, long)
	}
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	tag := build(array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder), func(b *array.BinaryDictionaryBuilder) {
		for range g.Len() {
			_ = b.AppendString(long)
		}
	})
	data := pqarrowFile(t, []arrow.Field{{Name: "date", Type: msUTC}, f64("open"), f64("high"), f64("low"), f64("close"), f64("volume"), {Name: "enter_tag", Type: dt}},
		[]arrow.Array{scaledTimes(g, arrow.Millisecond, "UTC"), floats(g.Open, nil), floats(g.High, nil), floats(g.Low, nil), floats(g.Close, nil), floats(g.Volume, nil), tag},
		pqarrowOpts{codec: compress.Codecs.Zstd, dictionary: true, groupRows: 1 << 20})
	// The tags are 80 MB as strings, beyond the default limit for a file
	// of this size (64 MiB).
	if len(data) > 1<<20 {
		t.Fatalf("the file is %d bytes; too big for the test", len(data))
	}
	_, err := readParquet(bytes.NewReader(data), int64(len(data)), "mem", g.Pair, g.Timeframe, Candles, InflateLimit{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	// A larger limit reads it.
	got, err := readParquet(bytes.NewReader(data), int64(len(data)), "mem", g.Pair, g.Timeframe, Candles, InflateLimit{Ratio: 1024})
	if err != nil {
		t.Fatal(err)
	}
	assertSameFrame(t, got, g)
}

// TestParquetSnappyBound checks that a snappy page whose block declares
// more bytes than the page's header fails instead of allocating them. (Not
// parallel: it measures the process's allocations.)
func TestParquetSnappyBound(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	// A block header declaring 2 GiB, then a literal of four bytes.
	block := append(binary.AppendUvarint(nil, 2<<30), 0x0c, 'a', 'b', 'c', 'd')
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = compress.Decode(codec, make([]byte, 4), block)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than the page's 4") {
		t.Errorf("got %v, want an error", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("decoding allocated %d MiB", n>>20)
	}
	ok := append(binary.AppendUvarint(nil, 4), 0x0c, 'a', 'b', 'c', 'd')
	if got, err := compress.Decode(codec, make([]byte, 4), ok); err != nil || string(got) != "abcd" {
		t.Errorf("a valid block decodes to %q, %v", got, err)
	}
}

// TestWriteParquetReadByPqarrow checks that other parquet readers see what
// WriteParquet writes as before, when pqarrow wrote it: the columns and
// types of WriteFeather (date a UTC millisecond timestamp), in row groups
// of up to 1 M rows.
func TestWriteParquetReadByPqarrow(t *testing.T) {
	racetest.Skip(t, "writes and reads a million rows of Parquet, compute-bound")
	t.Parallel()
	f := genFrame(1<<20+10, "1m", 28)
	f.EnsureSignals()
	f.EnterLong[5], f.ExitShort[1<<20+3] = true, true
	f.SetEnterTag(7, "tag")
	var buf bytes.Buffer
	if err := WriteParquet(&buf, f); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if n := rdr.NumRowGroups(); n != 2 {
		t.Errorf("%d row groups, want 2", n)
	}
	tbl, err := pqarrow.ReadTable(t.Context(), bytes.NewReader(buf.Bytes()), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	want := featherSchema(f).Fields()
	have := tbl.Schema().Fields()
	if len(have) != len(want) {
		t.Fatalf("pqarrow reads %d columns, want %d", len(have), len(want))
	}
	for j, w := range want {
		if h := have[j]; h.Name != w.Name || !arrow.TypeEqual(h.Type, w.Type) || h.Nullable != w.Nullable {
			t.Errorf("column %d: pqarrow reads %s %s (nullable %v), want %s %s (nullable %v)", j, h.Name, h.Type, h.Nullable, w.Name, w.Type, w.Nullable)
		}
	}
	got, err := frameFromArrow(tbl.Schema(), func(j int) []arrow.Array { return tbl.Column(j).Data().Chunks() }, "mem", f.Pair, f.Timeframe, Candles)
	if err != nil {
		t.Fatal(err)
	}
	assertSameFrame(t, got, f)
}
