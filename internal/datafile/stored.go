package datafile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/endian"
	"github.com/tradai/tradai/internal/hugepage"
	"github.com/tradai/tradai/sdk"
)

// The direct reader for feather files in the plain layout: it reads the
// Arrow IPC footer, schema and record batch headers itself and copies the
// selected rows of each column from the file into the frame with ReadAt.
//
// Arrow flatbuffer slots used here (format/File.fbs, Schema.fbs,
// Message.fbs):
//
//	Footer:      schema 1, recordBatches 3 (Block structs of 24 bytes)
//	Schema:      endianness 0, fields 1
//	Field:       name 0, type_type 2, type 3, dictionary 4, children 5
//	Int:         bitWidth 0, is_signed 1
//	FloatingPoint: precision 0 (DOUBLE = 2)
//	Timestamp:   unit 0 (SECOND 0 .. NANOSECOND 3)
//	Date:        unit 0 (DAY 0, MILLISECOND 1 = default)
//	Message:     header_type 1 (RecordBatch = 3), header 2
//	RecordBatch: length 0, nodes 1 (16-byte FieldNode), buffers 2
//	             (16-byte Buffer), compression 3
const (
	typeNull          = 1
	typeInt           = 2
	typeFloatingPoint = 3
	typeBinary        = 4
	typeUtf8          = 5
	typeBool          = 6
	typeDecimal       = 7
	typeDate          = 8
	typeTime          = 9
	typeTimestamp     = 10
	typeInterval      = 11
	typeFixedBinary   = 15
	typeDuration      = 18
	typeLargeBinary   = 19
	typeLargeUtf8     = 20

	headerRecordBatch = 3
	precisionDouble   = 2
)

// dateUnit says how a stored date column converts to milliseconds.
type dateUnit int

const (
	unitMillis dateUnit = iota
	unitSeconds
	unitMicros
	unitNanos
)

// toMillis converts v, saturating at the int64 range for seconds.
func (u dateUnit) toMillis(v int64) int64 {
	switch u {
	case unitSeconds:
		switch {
		case v > math.MaxInt64/1000:
			return math.MaxInt64
		case v < math.MinInt64/1000:
			return math.MinInt64
		}
		return v * 1000
	case unitMicros:
		return floorDiv(v, 1000)
	case unitNanos:
		return floorDiv(v, 1_000_000)
	}
	return v
}

// storedBatch is one record batch of a plain-layout file.
type storedBatch struct {
	first, rows int64
	// col holds the file offset of the values of date, open, high, low,
	// close and volume.
	col [6]int64
}

// storedFile is a plain-layout feather file.
type storedFile struct {
	r io.ReaderAt
	// mem, when not nil, is the whole file mapped into memory (see
	// [MapRange]): the columns may view it instead of being copied.
	mem     []byte
	name    string
	unit    dateUnit
	n       int64
	batches []storedBatch
}

// readStored reads the rows of q from a feather file in the plain layout.
// ok is false, with a nil error, when the file is not in that layout (or
// not well-formed enough to tell): the caller then reads it the slow way,
// which reports any problem. mem is nil or the size bytes of r mapped into
// memory: then the frame's columns view mem where its layout allows (see
// storedFile.view), which [views] tells.
func readStored(r io.ReaderAt, size int64, name string, q Query, mem []byte) (f *sdk.Frame, ok bool, err error) {
	if endian.IsBigEndian {
		return nil, false, nil
	}
	sf, ok, err := openStored(r, size, name)
	if !ok || err != nil {
		return nil, ok, err
	}
	if int64(len(mem)) == size {
		sf.mem = mem
	}
	if sf.n == 0 {
		return nil, true, &RowError{File: name, Column: "date", Msg: "no candles (empty file)", Err: ErrEmpty}
	}
	lo, hi := int64(0), sf.n
	var serr error
	search := func(bound int64) int64 {
		return int64(sort.Search(int(sf.n), func(i int) bool {
			t, err := sf.dateAt(int64(i))
			if err != nil {
				serr = err
				return true
			}
			return t >= bound
		}))
	}
	if q.Start != 0 {
		lo = search(q.Start)
	}
	if q.End != 0 {
		hi = search(q.End)
	}
	if serr != nil {
		return nil, true, serr
	}
	if lo >= hi {
		first, err := sf.dateAt(0)
		if err != nil {
			return nil, true, err
		}
		last, err := sf.dateAt(sf.n - 1)
		if err != nil {
			return nil, true, err
		}
		return nil, true, emptyRange(name, q, int(sf.n), first, last)
	}
	f, err = sf.read(lo, hi, q)
	if err != nil {
		return nil, true, err
	}
	return f, true, nil
}

// read returns rows [lo, hi) as a frame, dates converted to milliseconds,
// checked by q.Kind. Its columns view sf.mem when sf.view allows; else it
// reads and checks chunks of rows on up to GOMAXPROCS goroutines, each
// chunk checked while it is still in the CPU's cache: copying from the page
// cache and checking are bound by memory bandwidth, which one core does not
// saturate. Mapped columns are checked the same way.
func (sf *storedFile) read(lo, hi int64, q Query) (*sdk.Frame, error) {
	m := int(hi - lo)
	f := &sdk.Frame{Pair: q.Pair, Timeframe: q.Timeframe}
	workers := 1
	if m >= 2*parallelRows {
		workers = runtime.GOMAXPROCS(0)
	}
	cols, viewed := sf.view(lo, hi, q.Kind)
	if !viewed {
		// The six columns are one allocation, advised into huge pages
		// (see package hugepage): filling fresh memory costs a page fault per
		// page.
		buf := make([]int64, 6*m)
		hugepage.AdviseSlice(buf)
		all := arrow.Int64Traits.CastToBytes(buf)
		for k := range cols {
			cols[k] = all[8*k*m : 8*(k+1)*m : 8*(k+1)*m]
		}
	}
	f.Time = arrow.Int64Traits.CastFromBytes(cols[0])
	f.Open, f.High, f.Low = arrow.Float64Traits.CastFromBytes(cols[1]), arrow.Float64Traits.CastFromBytes(cols[2]), arrow.Float64Traits.CastFromBytes(cols[3])
	f.Close, f.Volume = arrow.Float64Traits.CastFromBytes(cols[4]), arrow.Float64Traits.CastFromBytes(cols[5])
	gap := minGap(q.Timeframe, q.Kind)
	nchunks := (m + parallelRows - 1) / parallelRows
	err := parallel(workers, nchunks, func(c int) error {
		a, b := c*parallelRows, min(m, (c+1)*parallelRows)
		if !viewed {
			for k := range 6 {
				if err := sf.readRows(cols[k][8*a:8*b], k, lo+int64(a)); err != nil {
					return err
				}
			}
			if err := sf.toMillis(f.Time[a:b], int(lo)+a); err != nil {
				return err
			}
			if q.Kind.indicative() {
				zeroNaN(f.Volume[a:b])
			}
		}
		return checkRows(f, sf.name, q.Kind, gap, int(lo), a, a, b)
	})
	// The chunk boundaries: each chunk's first date against the previous
	// chunk's last.
	for c := 1; c < nchunks; c++ {
		a := c * parallelRows
		if terr := checkTimes(f.Time[a-1:a+1], gap, f.Timeframe, sf.name, int(lo)+a-1); terr != nil {
			var re *RowError
			if err == nil || errors.As(err, &re) && re.Row >= terr.Row {
				err = terr
			}
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// view returns the bytes of rows [lo, hi) of the date, open, high, low,
// close and volume columns in sf.mem, and true, when they can be used as
// they are stored: the file is mapped, one record batch holds the rows,
// every column starts 8-byte aligned, dates are in milliseconds, and for
// an indicative kind no volume is NaN (those read as 0). Otherwise ok is
// false and the caller copies.
func (sf *storedFile) view(lo, hi int64, kind Kind) (cols [6][]byte, ok bool) {
	if sf.mem == nil || sf.unit != unitMillis {
		return cols, false
	}
	k := sort.Search(len(sf.batches), func(k int) bool { b := sf.batches[k]; return b.first+b.rows > lo })
	if k == len(sf.batches) || sf.batches[k].first+sf.batches[k].rows < hi {
		return cols, false
	}
	b := sf.batches[k]
	for j, off := range b.col {
		start, end := off+8*(lo-b.first), off+8*(hi-b.first)
		// openStored checked each column against the file's size.
		if start%8 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(sf.mem)))%8 != 0 || end > int64(len(sf.mem)) {
			return cols, false
		}
		cols[j] = sf.mem[start:end:end]
	}
	if kind.indicative() && slices.ContainsFunc(arrow.Float64Traits.CastFromBytes(cols[5]), math.IsNaN) {
		return cols, false
	}
	return cols, true
}

// views reports whether f's columns view mem.
func views(mem []byte, f *sdk.Frame) bool {
	if len(mem) == 0 || f == nil || len(f.Time) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(f.Time)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	return p >= base && p < base+uintptr(len(mem))
}

// parallel calls fn(0) .. fn(n-1) on up to workers goroutines, handing out
// the calls in order (so a goroutine slowed by other work takes fewer), and
// returns the error of the lowest row (see errRow) among the calls that
// failed. Once a call fails no further calls start: those already started
// cover every lower i.
func parallel(workers, n int, fn func(i int) error) error {
	workers = max(min(workers, n), 1)
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	run := func(w int) {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			if err := fn(i); err != nil {
				errs[w] = err
				failed.Store(true)
				return
			}
		}
	}
	if workers == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { run(w) })
		}
		wg.Wait()
	}
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errRow(err) < errRow(first)) {
			first = err
		}
	}
	return first
}

// errRow orders errors by the row they name; errors of the file as a whole
// come first.
func errRow(err error) int {
	var re *RowError
	if errors.As(err, &re) {
		return re.Row
	}
	return 0
}

// readRows fills dst with the values of column k (0 date, 1..5 open ..
// volume) from row `from` on, across record batches.
func (sf *storedFile) readRows(dst []byte, k int, from int64) error {
	rows := int64(len(dst) / 8)
	i := sort.Search(len(sf.batches), func(i int) bool { b := sf.batches[i]; return b.first+b.rows > from })
	for ; rows > 0 && i < len(sf.batches); i++ {
		b := sf.batches[i]
		a := from - b.first
		n := min(rows, b.rows-a)
		if n <= 0 {
			continue
		}
		if err := readAt(sf.r, dst[:8*n], b.col[k]+8*a); err != nil {
			return readErr(sf.name, 0, csvNames[k], err)
		}
		dst, rows, from = dst[8*n:], rows-n, from+n
	}
	if rows > 0 {
		return corruptf(sf.name, 0, csvNames[k], fmt.Sprintf("corrupt feather file: no record batch holds row %d", from+1))
	}
	return nil
}

// toMillis converts dates read in the file's unit to milliseconds in place;
// tm[0] is the 0-based row first.
func (sf *storedFile) toMillis(tm []int64, first int) error {
	switch sf.unit {
	case unitMillis:
	case unitSeconds:
		for i, v := range tm {
			if v < minMillis/1000 || v > maxMillis/1000 {
				return rowErr(sf.name, first+i, "date", fmt.Sprintf("date %d s is outside the supported range 1677-09-21..2262-04-11", v))
			}
			tm[i] = v * 1000
		}
	default:
		for i, v := range tm {
			tm[i] = sf.unit.toMillis(v)
		}
	}
	return nil
}

// dateAt returns the date of row i in milliseconds.
func (sf *storedFile) dateAt(i int64) (int64, error) {
	k := sort.Search(len(sf.batches), func(k int) bool { b := sf.batches[k]; return b.first+b.rows > i })
	if k == len(sf.batches) {
		return 0, corruptf(sf.name, 0, "date", fmt.Sprintf("corrupt feather file: no record batch holds row %d", i+1))
	}
	b := sf.batches[k]
	var buf [8]byte
	if err := readAt(sf.r, buf[:], b.col[0]+8*(i-b.first)); err != nil {
		return 0, readErr(sf.name, int(i)+1, "date", err)
	}
	return sf.unit.toMillis(int64(binary.LittleEndian.Uint64(buf[:]))), nil
}

// readErr is the error for a failed read of column at row (0 for none): a
// file that ends early (it shrank since its size was taken) is corrupt.
func readErr(name string, row int, column string, err error) *RowError {
	msg := fmt.Sprintf("reading column %q: %v", column, err)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf(name, row, column, "truncated feather file: "+msg)
	}
	return &RowError{File: name, Row: row, Column: column, Msg: msg, Err: err}
}

// scalar returns the unsigned little-endian value of size bytes in field
// slot of table t, 0 when absent.
func (b flatbuf) scalar(t, slot, size int) (uint64, bool) {
	p, ok := b.field(t, slot)
	if !ok {
		return 0, false
	}
	if p == 0 {
		return 0, true
	}
	if p > len(b)-size {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(b[p]), true
	case 2:
		return uint64(binary.LittleEndian.Uint16(b[p:])), true
	case 4:
		return uint64(binary.LittleEndian.Uint32(b[p:])), true
	}
	return binary.LittleEndian.Uint64(b[p:]), true
}

// str returns the string in field slot of table t, "" when absent.
func (b flatbuf) str(t, slot int) (string, bool) {
	start, n, ok := b.vector(t, slot, 1)
	if !ok {
		return "", false
	}
	return string(b[start : start+n]), true
}

// storedField is what the direct reader knows of a schema field.
type storedField struct {
	name     string
	typ      int // type_type
	typTable int // position of the type table, 0 if absent
	dict     bool
	nbuf     int // IPC buffers per record batch
}

// openStored parses the footer, schema and record batch headers of a
// plain-layout file. ok is false when the file is not one.
func openStored(r io.ReaderAt, size int64, name string) (sf *storedFile, ok bool, err error) {
	const tail = 10 // footer length (4) + "ARROW1"
	if size < 8+tail {
		return nil, false, nil
	}
	head := make([]byte, 6)
	end := make([]byte, tail)
	if readAt(r, head, 0) != nil || readAt(r, end, size-tail) != nil {
		return nil, false, nil
	}
	if !bytes.Equal(head, arrowMagic) || !bytes.Equal(end[4:], arrowMagic) {
		return nil, false, nil
	}
	flen := int64(binary.LittleEndian.Uint32(end[:4]))
	if flen <= 0 || flen > size-tail-8 {
		return nil, false, nil
	}
	footer := make(flatbuf, flen)
	if readAt(r, footer, size-tail-flen) != nil {
		return nil, false, nil
	}
	fb := footer
	root, ok := fb.root()
	if !ok {
		return nil, false, nil
	}
	schema, ok := fb.table(root, 1)
	if !ok {
		return nil, false, nil
	}
	if e, ok := fb.scalar(schema, 0, 2); !ok || e != 0 {
		return nil, false, nil // big-endian data, or unreadable
	}
	fields, ok := parseFields(fb, schema)
	if !ok {
		return nil, false, nil
	}
	names := make([]string, len(fields))
	for j, fl := range fields {
		names[j] = fl.name
	}
	idx := columnRoles(names)
	for role := csvEnterLong; role < csvNumRoles; role++ {
		if idx[role] >= 0 {
			return nil, false, nil // signals and tags: the slow path reads them
		}
	}
	sf = &storedFile{r: r, name: name}
	for role := csvDate; role <= csvVolume; role++ {
		j := idx[role]
		if j < 0 || fields[j].dict {
			return nil, false, nil
		}
		fl := fields[j]
		switch {
		case role != csvDate:
			if p, ok := fb.scalar(fl.typTable, 0, 2); fl.typ != typeFloatingPoint || fl.typTable == 0 || !ok || p != precisionDouble {
				return nil, false, nil
			}
		case fl.typ == typeTimestamp && fl.typTable != 0:
			u, ok := fb.scalar(fl.typTable, 0, 2)
			if !ok || u > 3 {
				return nil, false, nil
			}
			sf.unit = [...]dateUnit{unitSeconds, unitMillis, unitMicros, unitNanos}[u]
		case fl.typ == typeInt && fl.typTable != 0:
			bits, ok1 := fb.scalar(fl.typTable, 0, 4)
			signed, ok2 := fb.scalar(fl.typTable, 1, 1)
			if !ok1 || !ok2 || bits != 64 || signed == 0 {
				return nil, false, nil
			}
		case fl.typ == typeDate && fl.typTable != 0:
			// DateUnit defaults to MILLISECOND (1); DAY (0) is 32-bit.
			if u, ok := fb.scalar(fl.typTable, 0, 2); !ok || (u != 1 && fb.hasField(fl.typTable, 0)) {
				return nil, false, nil
			}
		default:
			return nil, false, nil
		}
	}
	// The first buffer of each field.
	bufStart := make([]int, len(fields)+1)
	for j, fl := range fields {
		bufStart[j+1] = bufStart[j] + fl.nbuf
	}
	bstart, nblocks, ok := fb.vector(root, 3, 24)
	if !ok {
		return nil, false, nil
	}
	for i := range nblocks {
		p := bstart + 24*i
		off := int64(binary.LittleEndian.Uint64(fb[p:]))
		meta := int64(int32(binary.LittleEndian.Uint32(fb[p+8:])))
		bodyLen := int64(binary.LittleEndian.Uint64(fb[p+16:]))
		bad := func(msg string) (*storedFile, bool, error) {
			return nil, true, corruptf(name, 0, "", fmt.Sprintf("corrupt feather file: record batch %d: %s", i, msg))
		}
		if off < 8 || meta < 8 || off > size || meta > size-off || bodyLen < 0 || bodyLen > size-off-meta {
			return bad("lies outside the file")
		}
		msg := make(flatbuf, meta)
		if err := readAt(r, msg, off); err != nil {
			return bad(err.Error())
		}
		if binary.LittleEndian.Uint32(msg) == 0xFFFFFFFF {
			msg = msg[4:]
		}
		mlen := int64(int32(binary.LittleEndian.Uint32(msg)))
		if mlen < 0 || mlen > int64(len(msg)-4) {
			return bad("bad header length")
		}
		msg = msg[4 : 4+mlen]
		mroot, ok := msg.root()
		if !ok {
			return bad("bad header")
		}
		if ht, ok := msg.scalar(mroot, 1, 1); !ok || ht != headerRecordBatch {
			return bad("not a record batch")
		}
		rb, ok := msg.table(mroot, 2)
		if !ok {
			return bad("bad header")
		}
		if _, ok := msg.table(rb, 3); ok {
			return nil, false, nil // compressed: the slow path decompresses
		}
		if p, ok := msg.field(rb, 3); !ok || p != 0 {
			return bad("bad compression header")
		}
		rows64, ok := msg.scalar(rb, 0, 8)
		rows := int64(rows64)
		if !ok || rows < 0 || rows > size/8 {
			return bad("bad row count")
		}
		nstart, nnodes, ok1 := msg.vector(rb, 1, 16)
		vstart, nbufs, ok2 := msg.vector(rb, 2, 16)
		if !ok1 || !ok2 || nnodes != len(fields) || nbufs != bufStart[len(fields)] {
			// Node or buffer lists that do not match the schema (or
			// claim more entries than fit): arrow-go reads the entries
			// it needs, so the slow path reads the file or says why not.
			return nil, false, nil
		}
		b := storedBatch{first: sf.n, rows: rows}
		for role := csvDate; role <= csvVolume; role++ {
			j := idx[role]
			col := csvNames[role]
			np := nstart + 16*j
			length := int64(binary.LittleEndian.Uint64(msg[np:]))
			nulls := int64(binary.LittleEndian.Uint64(msg[np+8:]))
			if length != rows || nulls < 0 || nulls > rows {
				return bad(fmt.Sprintf("column %q has a bad length", col))
			}
			if nulls > 0 {
				return nil, false, nil // nulls: the slow path reports or reads them
			}
			bp := vstart + 16*(bufStart[j]+1) // values follow the validity bitmap
			boff := int64(binary.LittleEndian.Uint64(msg[bp:]))
			blen := int64(binary.LittleEndian.Uint64(msg[bp+8:]))
			if boff < 0 || blen < 8*rows || boff > bodyLen || 8*rows > bodyLen-boff {
				return bad(fmt.Sprintf("the data of column %q lies outside the file", col))
			}
			b.col[role] = off + meta + boff
		}
		sf.batches = append(sf.batches, b)
		sf.n += rows
		if sf.n > size/48 {
			return bad("the record batches claim more rows than the file can hold")
		}
	}
	return sf, true, nil
}

// hasField reports whether field slot of table t is present.
func (b flatbuf) hasField(t, slot int) bool {
	p, ok := b.field(t, slot)
	return ok && p != 0
}

// parseFields reads the schema's fields; ok is false if any is malformed or
// of a type whose buffer layout the direct reader does not know.
func parseFields(fb flatbuf, schema int) ([]storedField, bool) {
	fstart, nfields, ok := fb.vector(schema, 1, 4)
	if !ok {
		return nil, false
	}
	fields := make([]storedField, nfields)
	for i := range nfields {
		t, ok := fb.indirect(fstart + 4*i)
		if !ok || !fb.isTable(t) {
			return nil, false
		}
		var fl storedField
		var ok1, ok2 bool
		fl.name, ok1 = fb.str(t, 0)
		typ, ok2 := fb.scalar(t, 2, 1)
		if !ok1 || !ok2 {
			return nil, false
		}
		fl.typ = int(typ)
		if fb.hasField(t, 3) {
			if fl.typTable, ok = fb.table(t, 3); !ok {
				return nil, false
			}
		}
		if _, nkids, ok := fb.vector(t, 5, 4); !ok || nkids > 0 {
			return nil, false
		}
		fl.dict = fb.hasField(t, 4)
		switch {
		case fl.dict:
			fl.nbuf = 2 // validity and indices
		case fl.typ == typeNull:
			fl.nbuf = 0
		case fl.typ == typeInt, fl.typ == typeFloatingPoint, fl.typ == typeBool, fl.typ == typeDecimal,
			fl.typ == typeDate, fl.typ == typeTime, fl.typ == typeTimestamp, fl.typ == typeInterval,
			fl.typ == typeFixedBinary, fl.typ == typeDuration:
			fl.nbuf = 2
		case fl.typ == typeBinary, fl.typ == typeUtf8, fl.typ == typeLargeBinary, fl.typ == typeLargeUtf8:
			fl.nbuf = 3
		default:
			return nil, false
		}
		fields[i] = fl
	}
	return fields, true
}
