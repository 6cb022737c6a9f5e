package datafile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tradai/tradai/sdk"
)

// featherBatchRows is the number of rows per record batch that WriteFeather
// writes, pyarrow's default for Feather files.
const featherBatchRows = 64 * 1024

var arrowMagic = []byte("ARROW1")

// ReadFeather reads a Feather v2 file (the Arrow IPC file format, as pandas'
// to_feather and so Freqtrade write it) of size bytes from r. The columns
// date (timestamp of any unit, or int64 milliseconds), open, high, low,
// close and volume (floating point or integer) are required; enter_long,
// exit_long, enter_short, exit_short (bool or numeric) and enter_tag
// (string) are read when present; other columns are ignored. Buffers may be
// LZ4_FRAME or ZSTD compressed. name identifies the source in errors; the
// frame gets pair and tf and is checked with [Validate].
func ReadFeather(r io.ReaderAt, size int64, name, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	f, err := readFeather(r, size, name, pair, tf, Candles, InflateLimit{})
	if err != nil {
		return nil, err
	}
	if err := Validate(f, name); err != nil {
		return nil, err
	}
	return f, nil
}

// readFeather reads a feather file like ReadFeather, reading nulls as kind
// allows and inflating no more than lim allows, without validating the
// values.
func readFeather(r io.ReaderAt, size int64, name, pair string, tf sdk.Timeframe, kind Kind, lim InflateLimit) (f *sdk.Frame, err error) {
	budget := newBudget(lim.Bytes(size))
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = budget.recovered(p, name, "corrupt feather file")
		}
	}()
	if size == 0 {
		return nil, &RowError{File: name, Msg: "empty file", Err: ErrEmpty}
	}
	if err := checkFeather(r, size); err != nil {
		return nil, corruptf(name, 0, "", err.Error())
	}
	rdr, err := ipc.NewFileReader(io.NewSectionReader(r, 0, size), ipc.WithAllocator(budget))
	if err != nil {
		return nil, budget.failed(err, name, "corrupt feather file")
	}
	defer rdr.Close()
	schema := rdr.Schema()
	if _, err := arrowColumns(schema, name); err != nil {
		return nil, err
	}
	nrec := rdr.NumRecords()
	recs := make([]arrow.RecordBatch, 0, nrec)
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for i := range nrec {
		rec, err := rdr.RecordBatchAt(i)
		if err != nil {
			return nil, budget.failed(err, name, fmt.Sprintf("corrupt feather file: record batch %d", i))
		}
		recs = append(recs, rec)
		if int(rec.NumCols()) != schema.NumFields() {
			return nil, corruptf(name, 0, "", fmt.Sprintf("corrupt feather file: record batch %d has %d columns, schema has %d", i, rec.NumCols(), schema.NumFields()))
		}
	}
	chunks := func(j int) []arrow.Array {
		out := make([]arrow.Array, len(recs))
		for k, rec := range recs {
			out[k] = rec.Column(j)
		}
		return out
	}
	return frameFromArrow(schema, chunks, name, pair, tf, kind)
}

// checkFeather checks the file's magic numbers and walks the flatbuffers of
// its footer and record batch headers with bounds checks, rejecting what
// could make arrow-go's decoder recurse without bound (nested columns) or
// allocate by an unchecked count (oversized vectors) before it sees them.
func checkFeather(r io.ReaderAt, size int64) error {
	const tail = 10 // footer length (4) + "ARROW1"
	head := make([]byte, 8)
	if size < 8 {
		return errors.New("truncated feather file: too short")
	}
	if err := readAt(r, head, 0); err != nil {
		return err
	}
	if bytes.HasPrefix(head, []byte("FEA1")) {
		return errors.New("feather v1 files are not supported: re-save the data with a current pandas/pyarrow (Feather v2)")
	}
	if !bytes.HasPrefix(head, arrowMagic) {
		return errors.New("not a feather (Arrow IPC) file: bad magic number")
	}
	if size < int64(len(head))+tail {
		return errors.New("truncated feather file: no footer")
	}
	end := make([]byte, tail)
	if err := readAt(r, end, size-tail); err != nil {
		return err
	}
	if !bytes.Equal(end[4:], arrowMagic) {
		return errors.New("truncated feather file: the end of the file is missing (no Arrow footer)")
	}
	flen := int64(binary.LittleEndian.Uint32(end[:4]))
	if flen <= 0 || flen > size-tail-8 {
		return errors.New("corrupt feather file: bad footer length")
	}
	footer := make([]byte, flen)
	if err := readAt(r, footer, size-tail-flen); err != nil {
		return err
	}
	fb := flatbuf(footer)
	root, ok := fb.root()
	if !ok {
		return errors.New("corrupt feather file: bad footer")
	}
	// Footer: version 0, schema 1, dictionaries 2, recordBatches 3.
	schema, ok := fb.table(root, 1)
	if !ok {
		return errors.New("corrupt feather file: footer has no schema")
	}
	// Schema: endianness 0, fields 1, custom_metadata 2, features 3.
	if _, _, ok := fb.vector(schema, 2, 4); !ok {
		return errors.New("corrupt feather file: bad schema metadata")
	}
	if _, _, ok := fb.vector(schema, 3, 8); !ok {
		return errors.New("corrupt feather file: bad schema features")
	}
	fstart, nfields, ok := fb.vector(schema, 1, 4)
	if !ok {
		return errors.New("corrupt feather file: bad schema fields")
	}
	for i := range nfields {
		field, ok := fb.indirect(fstart + 4*i)
		if !ok || !fb.isTable(field) {
			return errors.New("corrupt feather file: bad schema field")
		}
		// Field: name 0, nullable 1, type_type 2, type 3, dictionary 4,
		// children 5, custom_metadata 6.
		_, nkids, ok := fb.vector(field, 5, 4)
		if !ok {
			return errors.New("corrupt feather file: bad schema field")
		}
		if nkids > 0 {
			return errors.New("unsupported feather file: nested (list or struct) columns")
		}
		if _, _, ok := fb.vector(field, 6, 4); !ok {
			return errors.New("corrupt feather file: bad field metadata")
		}
	}
	// Blocks are structs {offset int64, metaDataLength int32, pad, bodyLength int64}.
	for _, slot := range []int{2, 3} {
		bstart, nblocks, ok := fb.vector(root, slot, 24)
		if !ok {
			return errors.New("corrupt feather file: bad block list")
		}
		for i := range nblocks {
			p := bstart + 24*i
			off := int64(binary.LittleEndian.Uint64(footer[p:]))
			meta := int64(int32(binary.LittleEndian.Uint32(footer[p+8:])))
			if off < 0 || meta < 8 || off > size || meta > size-off {
				return errors.New("corrupt feather file: block outside the file")
			}
			if err := checkMessage(r, off, meta); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAt fills buf from r at off.
func readAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read at offset %d: %w", off, err)
}

// checkMessage checks the flatbuffer of the IPC message at off (meta bytes
// including its length prefix).
func checkMessage(r io.ReaderAt, off, meta int64) error {
	buf := make([]byte, meta)
	if err := readAt(r, buf, off); err != nil {
		return err
	}
	// Prefix: optional continuation 0xFFFFFFFF, then int32 length.
	if binary.LittleEndian.Uint32(buf) == 0xFFFFFFFF {
		buf = buf[4:]
	}
	if len(buf) < 4 {
		return errors.New("corrupt feather file: bad message")
	}
	n := int64(int32(binary.LittleEndian.Uint32(buf)))
	if n < 0 || n > int64(len(buf)-4) {
		return errors.New("corrupt feather file: bad message length")
	}
	fb := flatbuf(buf[4 : 4+n])
	root, ok := fb.root()
	if !ok {
		return errors.New("corrupt feather file: bad message")
	}
	// Message: version 0, header_type 1, header 2, bodyLength 3, custom_metadata 4.
	if _, _, ok := fb.vector(root, 4, 4); !ok {
		return errors.New("corrupt feather file: bad message metadata")
	}
	return nil
}

// flatbuf reads a flatbuffer with bounds checks.
type flatbuf []byte

func (b flatbuf) u32(p int) (int, bool) {
	if p < 0 || p > len(b)-4 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(b[p:])), true
}

func (b flatbuf) u16(p int) (int, bool) {
	if p < 0 || p > len(b)-2 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint16(b[p:])), true
}

func (b flatbuf) root() (int, bool) {
	t, ok := b.indirect(0)
	return t, ok && b.isTable(t)
}

// indirect follows the unsigned offset stored at p.
func (b flatbuf) indirect(p int) (int, bool) {
	v, ok := b.u32(p)
	if !ok || v > len(b)-p {
		return 0, false
	}
	return p + v, true
}

// vtable returns the position of table t's vtable and its size.
func (b flatbuf) vtable(t int) (int, int, bool) {
	so, ok := b.u32(t)
	if !ok {
		return 0, 0, false
	}
	vt := t - int(int32(uint32(so)))
	vsize, ok := b.u16(vt)
	if !ok || vsize < 4 || vt+vsize > len(b) {
		return 0, 0, false
	}
	return vt, vsize, true
}

func (b flatbuf) isTable(t int) bool {
	_, _, ok := b.vtable(t)
	return ok
}

// field returns the position of field slot of table t, or 0 if absent.
// As in the flatbuffers library (and so in arrow-go's reader), a slot is
// present when its entry starts inside the vtable, even when an odd vtable
// size cuts the entry in half.
func (b flatbuf) field(t, slot int) (int, bool) {
	vt, vsize, ok := b.vtable(t)
	if !ok {
		return 0, false
	}
	o := 4 + 2*slot
	if o >= vsize {
		return 0, true
	}
	off, ok := b.u16(vt + o)
	if !ok {
		return 0, false
	}
	if off == 0 {
		return 0, true
	}
	return t + off, true
}

// table returns the sub-table in field slot of t; ok is false when it is
// absent or out of bounds.
func (b flatbuf) table(t, slot int) (int, bool) {
	p, ok := b.field(t, slot)
	if !ok || p == 0 {
		return 0, false
	}
	sub, ok := b.indirect(p)
	return sub, ok && b.isTable(sub)
}

// vector returns the start and length of the vector in field slot of t
// (length 0 when absent), checking that n elements of elem bytes fit.
func (b flatbuf) vector(t, slot, elem int) (start, n int, ok bool) {
	p, ok := b.field(t, slot)
	if !ok {
		return 0, 0, false
	}
	if p == 0 {
		return 0, 0, true
	}
	v, ok := b.indirect(p)
	if !ok {
		return 0, 0, false
	}
	n, ok = b.u32(v)
	if !ok || n > (len(b)-v-4)/elem {
		return 0, 0, false
	}
	return v + 4, n, true
}

// featherSchema is the schema WriteFeather writes.
func featherSchema(f *sdk.Frame) *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	fields := []arrow.Field{
		{Name: "date", Type: ts},
		{Name: "open", Type: arrow.PrimitiveTypes.Float64},
		{Name: "high", Type: arrow.PrimitiveTypes.Float64},
		{Name: "low", Type: arrow.PrimitiveTypes.Float64},
		{Name: "close", Type: arrow.PrimitiveTypes.Float64},
		{Name: "volume", Type: arrow.PrimitiveTypes.Float64},
	}
	if f.HasSignals() {
		for _, n := range csvNames[csvEnterLong : csvExitShort+1] {
			fields = append(fields, arrow.Field{Name: n, Type: arrow.FixedWidthTypes.Boolean})
		}
	}
	if f.EnterTag != nil {
		fields = append(fields, arrow.Field{Name: "enter_tag", Type: arrow.BinaryTypes.String})
	}
	return arrow.NewSchema(fields, nil)
}

// frameRecord returns rows [from, to) of f as a record batch of schema. The
// numeric columns share f's memory.
func frameRecord(schema *arrow.Schema, f *sdk.Frame, from, to int) arrow.RecordBatch {
	n := to - from
	fixed := func(dt arrow.DataType, b []byte) arrow.Array {
		data := array.NewData(dt, n, []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
		defer data.Release()
		return array.MakeFromData(data)
	}
	cols := make([]arrow.Array, 0, schema.NumFields())
	cols = append(cols, fixed(schema.Field(0).Type, arrow.Int64Traits.CastToBytes(f.Time[from:to])))
	for k, v := range [][]float64{f.Open, f.High, f.Low, f.Close, f.Volume} {
		cols = append(cols, fixed(schema.Field(1+k).Type, arrow.Float64Traits.CastToBytes(v[from:to])))
	}
	if f.HasSignals() {
		for _, v := range [][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort} {
			bb := array.NewBooleanBuilder(memory.DefaultAllocator)
			bb.AppendValues(v[from:to], nil)
			cols = append(cols, bb.NewArray())
			bb.Release()
		}
	}
	if f.EnterTag != nil {
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		sb.AppendValues(f.EnterTag[from:to], nil)
		cols = append(cols, sb.NewArray())
		sb.Release()
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// WriteFeather writes f as a Feather v2 (Arrow IPC) file readable by pandas
// and Freqtrade: date as timestamp[ms, tz=UTC], open, high, low, close and
// volume as float64, plus the signal columns (bool) and enter_tag (string)
// when f has them. With compress the buffers are LZ4_FRAME compressed, as
// pandas does by default, in record batches of 65,536 rows; without, all
// rows are in one record batch, the layout that [LoadRange] reads directly
// (pandas and pyarrow read it like any feather file). f is written as is,
// without validation.
func WriteFeather(w io.Writer, f *sdk.Frame, compress bool) error {
	if err := checkLens(f); err != nil {
		return err
	}
	schema := featherSchema(f)
	opts := []ipc.Option{ipc.WithSchema(schema)}
	if compress {
		opts = append(opts, ipc.WithLZ4())
	}
	fw, err := ipc.NewFileWriter(w, opts...)
	if err != nil {
		return err
	}
	batch := featherBatchRows
	if !compress {
		batch = max(f.Len(), 1)
	}
	for from := 0; from < f.Len(); from += batch {
		rec := frameRecord(schema, f, from, min(from+batch, f.Len()))
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			_ = fw.Close()
			return err
		}
	}
	return fw.Close()
}
