package datafile

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/sdk"
)

// The parquet reader and writer work on parquet's own column chunks, not
// through Arrow tables (pqarrow), which would link Arrow Flight and gRPC
// into every program that reads candles. Columns are read as pqarrow
// would type them, so a file reads as it did through pqarrow.

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

// pqType is what a parquet leaf column holds, as its physical and logical
// types say (the Arrow type pqarrow reads it as).
type pqType int

const (
	pqOther     pqType = iota // a type no role accepts
	pqNull                    // Null logical type: every value is null
	pqBool                    // BOOLEAN
	pqInt32                   // INT32, signed integer
	pqUint32                  // INT32, unsigned integer
	pqInt64                   // INT64, signed integer
	pqUint64                  // INT64, unsigned integer
	pqFloat                   // FLOAT
	pqDouble                  // DOUBLE
	pqTimestamp               // INT64 timestamp (see pqColumn.div)
	pqDate                    // INT32 days since the epoch
	pqInt96                   // INT96 nanosecond timestamp (legacy)
	pqString                  // BYTE_ARRAY UTF-8 string
)

// pqColumn is a column of a parquet file that holds a role.
type pqColumn struct {
	leaf  int // index of the leaf column in the file's schema
	descr *schema.Column
	typ   pqType
	div   int64 // pqTimestamp: units per millisecond
}

// classify finds what the leaf column c holds.
func classify(c *schema.Column) (pqType, int64) {
	lt := c.LogicalType()
	if !lt.IsValid() || lt.Equals(schema.NullLogicalType{}) {
		return pqNull, 0
	}
	switch c.PhysicalType() {
	case parquet.Types.Boolean:
		return pqBool, 0
	case parquet.Types.Int32:
		switch lt := lt.(type) {
		case schema.NoLogicalType:
			return pqInt32, 0
		case schema.IntLogicalType:
			if lt.IsSigned() {
				return pqInt32, 0
			}
			return pqUint32, 0
		case schema.DateLogicalType:
			return pqDate, 0
		}
	case parquet.Types.Int64:
		switch lt := lt.(type) {
		case schema.NoLogicalType:
			return pqInt64, 0
		case schema.IntLogicalType:
			if lt.IsSigned() {
				return pqInt64, 0
			}
			return pqUint64, 0
		case schema.TimestampLogicalType:
			switch lt.TimeUnit() {
			case schema.TimeUnitMillis:
				return pqTimestamp, 1
			case schema.TimeUnitMicros:
				return pqTimestamp, 1000
			case schema.TimeUnitNanos:
				return pqTimestamp, 1_000_000
			}
		}
	case parquet.Types.Int96:
		return pqInt96, 0
	case parquet.Types.Float:
		return pqFloat, 0
	case parquet.Types.Double:
		return pqDouble, 0
	case parquet.Types.ByteArray:
		if _, ok := lt.(schema.StringLogicalType); ok {
			return pqString, 0
		}
	}
	return pqOther, 0
}

// accepts reports whether a column of type t can hold role.
func accepts(role int, t pqType) bool {
	switch {
	case role == csvDate:
		return t == pqTimestamp || t == pqDate || t == pqInt96 || t == pqInt64
	case role == csvEnterTag:
		return t == pqString || t == pqNull
	case role >= csvEnterLong:
		return t == pqBool || t.numeric()
	default:
		return t.numeric()
	}
}

func (t pqType) numeric() bool {
	switch t {
	case pqInt32, pqUint32, pqInt64, pqUint64, pqFloat, pqDouble:
		return true
	}
	return false
}

// typeName describes a node of a parquet schema in errors.
func typeName(n schema.Node) string {
	p, ok := n.(*schema.PrimitiveNode)
	switch {
	case !ok || n.RepetitionType() == parquet.Repetitions.Repeated:
		return "nested (a group or a repeated field)"
	case p.LogicalType().IsNone():
		return p.PhysicalType().String()
	}
	return fmt.Sprintf("%s (%s)", p.PhysicalType(), p.LogicalType())
}

// parquetColumns finds the columns of sch by role (see columnRoles): the
// top-level fields, which must be plain (not nested, not repeated) leaves
// of a type the role accepts. An absent optional role has leaf -1.
func parquetColumns(sch *schema.Schema, name string) ([csvNumRoles]pqColumn, error) {
	var cols [csvNumRoles]pqColumn
	root := sch.Root()
	names := make([]string, root.NumFields())
	for j := range names {
		names[j] = root.Field(j).Name()
	}
	idx := columnRoles(names)
	for role := csvDate; role <= csvVolume; role++ {
		if idx[role] < 0 {
			return cols, &RowError{File: name, Column: csvNames[role],
				Msg: fmt.Sprintf("missing column %q (the file has: %s)", csvNames[role], strings.Join(names, ", ")), Err: ErrMissingColumn}
		}
	}
	for role, j := range idx {
		cols[role].leaf = -1
		if j < 0 {
			continue
		}
		node := root.Field(j)
		unsupported := &RowError{File: name, Column: csvNames[role], Err: ErrCorrupt,
			Msg: fmt.Sprintf("column %q has unsupported type %s", csvNames[role], typeName(node))}
		leaf := sch.ColumnIndexByNode(node)
		if leaf < 0 || node.RepetitionType() == parquet.Repetitions.Repeated {
			return cols, unsupported
		}
		descr := sch.Column(leaf)
		typ, div := classify(descr)
		if !accepts(role, typ) || descr.MaxRepetitionLevel() != 0 || descr.MaxDefinitionLevel() > 1 {
			return cols, unsupported
		}
		cols[role] = pqColumn{leaf: leaf, descr: descr, typ: typ, div: div}
	}
	return cols, nil
}

// pqReader reads the role columns of one parquet file.
type pqReader struct {
	pf     *file.Reader
	name   string
	budget *budgetAllocator
	size   int64   // bytes of the file
	rows   int     // rows of the file
	def    []int16 // definition levels of the column last read
}

// reserve counts n values of size bytes each against the budget before
// they are allocated.
func (r *pqReader) reserve(n int, size int64) {
	if int64(n) > r.budget.left/size {
		panic(errBudget)
	}
	r.budget.take(n * int(size))
}

// batchReader is a typed column chunk reader of parquet/file.
type batchReader[T any] interface {
	ReadBatchInPage(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
}

// readLeaf reads column c of every row group into vals (one value per row
// of the file) and its definition levels into r.def. A null's slot in vals
// holds an arbitrary value. each, if not nil, is called after each batch
// with the batch's rows, while vals still alias the page it was read from.
func readLeaf[T any](r *pqReader, c pqColumn, vals []T, each func(from, to int)) error {
	off := 0
	for g := range r.pf.NumRowGroups() {
		rg := r.pf.RowGroup(g)
		end := off + int(rg.NumRows())
		if err := readChunk(r, rg, g, c, vals[off:end], off, each); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// readChunk reads column c of row group g, the file's rows from off on,
// into vals (one value per row of the group); see readLeaf.
func readChunk[T any](r *pqReader, rg *file.RowGroupReader, g int, c pqColumn, vals []T, off int, each func(from, to int)) (err error) {
	if err := r.checkChunk(rg, g, c); err != nil {
		return err
	}
	cr, err := rg.Column(c.leaf)
	if err != nil {
		return r.corrupt(err)
	}
	defer func() {
		if cerr := cr.Close(); cerr != nil && err == nil {
			err = r.corrupt(cerr)
		}
	}()
	br, ok := cr.(batchReader[T])
	if !ok {
		return corruptf(r.name, 0, c.descr.Name(), fmt.Sprintf("column %q: unexpected reader %T", c.descr.Name(), cr))
	}
	var def []int16
	if c.descr.MaxDefinitionLevel() > 0 {
		def = r.def[off : off+len(vals)]
	}
	for done := 0; done < len(vals); {
		var d []int16
		if def != nil {
			d = def[done:]
		}
		lvls, nv, err := br.ReadBatchInPage(int64(len(vals)-done), vals[done:], d, nil)
		if err != nil {
			return r.corrupt(err)
		}
		if lvls == 0 {
			return corruptf(r.name, 0, c.descr.Name(), fmt.Sprintf("column %q has fewer values than row group %d has rows (%d)", c.descr.Name(), g+1, len(vals)))
		}
		n := int(lvls)
		if nv < n && d != nil {
			// The non-null values come first; move each to its row.
			k := done + nv - 1
			for i := done + n - 1; i >= done && k >= done; i-- {
				if d[i-done] == 1 {
					vals[i] = vals[k]
					k--
				}
			}
		}
		if each != nil {
			each(off+done, off+done+n)
		}
		done += n
	}
	return nil
}

// checkChunk checks that column c's chunk in row group g lies within the
// file: parquet/file allocates the length the metadata gives to read it.
func (r *pqReader) checkChunk(rg *file.RowGroupReader, g int, c pqColumn) error {
	cc, err := rg.MetaData().ColumnChunk(c.leaf)
	if err != nil {
		return r.corrupt(err)
	}
	start, n := cc.DataPageOffset(), cc.TotalCompressedSize()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	if start < 0 || n < 0 || start > r.size || n > r.size-start {
		return corruptf(r.name, 0, c.descr.Name(), fmt.Sprintf("corrupt parquet file: column %q of row group %d is %d bytes at offset %d, beyond the file's %d bytes", c.descr.Name(), g+1, n, start, r.size))
	}
	return nil
}

// corrupt is the error for err, returned by parquet/file.
func (r *pqReader) corrupt(err error) error {
	return r.budget.failed(err, r.name, "corrupt parquet file")
}

// isNull reports whether row i of the column last read is null.
func (r *pqReader) isNull(c pqColumn, i int) bool {
	return c.descr.MaxDefinitionLevel() > 0 && r.def[i] == 0
}

// firstNull returns the 1-based row of the column last read's first null,
// or 0.
func (r *pqReader) firstNull(c pqColumn) int {
	if c.descr.MaxDefinitionLevel() == 0 {
		return 0
	}
	for i, d := range r.def {
		if d == 0 {
			return i + 1
		}
	}
	return 0
}

// readScratch reads column c into a new slice of T.
func readScratch[T any](r *pqReader, c pqColumn, size int64) ([]T, error) {
	r.reserve(r.rows, size)
	vals := make([]T, r.rows)
	return vals, readLeaf(r, c, vals, nil)
}

// times reads the date column into dst as Unix milliseconds.
func (r *pqReader) times(c pqColumn, dst []int64) error {
	switch c.typ {
	case pqTimestamp, pqInt64:
		if err := readLeaf(r, c, dst, nil); err != nil {
			return err
		}
		if c.div > 1 {
			for i, v := range dst {
				dst[i] = floorDiv(v, c.div)
			}
		}
	case pqDate:
		days, err := readScratch[int32](r, c, 4)
		if err != nil {
			return err
		}
		for i, v := range days {
			dst[i] = int64(v) * clock.DayMs
		}
	case pqInt96:
		vals, err := readScratch[parquet.Int96](r, c, 12)
		if err != nil {
			return err
		}
		for i, v := range vals {
			if r.isNull(c, i) {
				continue
			}
			ns, err := v.ToTimestamp()
			if err != nil {
				return &RowError{File: r.name, Row: i + 1, Column: "date", Msg: fmt.Sprintf("date: %v", err)}
			}
			dst[i] = floorDiv(int64(ns), 1_000_000)
		}
	}
	if row := r.firstNull(c); row > 0 {
		return &RowError{File: r.name, Row: row, Column: "date", Msg: "date is null"}
	}
	return nil
}

// numbers reads a numeric column into dst; a null's slot holds an
// arbitrary value.
func (r *pqReader) numbers(c pqColumn, dst []float64) error {
	switch c.typ {
	case pqDouble:
		return readLeaf(r, c, dst, nil)
	case pqFloat:
		vals, err := readScratch[float32](r, c, 4)
		if err != nil {
			return err
		}
		convert(dst, vals)
	case pqInt32, pqUint32:
		vals, err := readScratch[int32](r, c, 4)
		if err != nil {
			return err
		}
		if c.typ == pqUint32 {
			for i, v := range vals {
				dst[i] = float64(uint32(v))
			}
		} else {
			convert(dst, vals)
		}
	case pqInt64, pqUint64:
		vals, err := readScratch[int64](r, c, 8)
		if err != nil {
			return err
		}
		if c.typ == pqUint64 {
			for i, v := range vals {
				dst[i] = float64(uint64(v))
			}
		} else {
			convert(dst, vals)
		}
	}
	return nil
}

// floats reads a price or volume column into dst. A null is an error
// unless nullZero, when it reads as 0.
func (r *pqReader) floats(c pqColumn, dst []float64, column string, nullZero bool) error {
	if err := r.numbers(c, dst); err != nil {
		return err
	}
	if !nullZero {
		if row := r.firstNull(c); row > 0 {
			return &RowError{File: r.name, Row: row, Column: column, Msg: column + " is null"}
		}
		return nil
	}
	for i := range dst {
		if r.isNull(c, i) {
			dst[i] = 0
		}
	}
	return nil
}

// bools reads a signal column into dst; null, zero and NaN are false.
func (r *pqReader) bools(c pqColumn, dst []bool) error {
	if c.typ == pqBool {
		if err := readLeaf(r, c, dst, nil); err != nil {
			return err
		}
		for i := range dst {
			dst[i] = dst[i] && !r.isNull(c, i)
		}
		return nil
	}
	r.reserve(r.rows, 8)
	vals := make([]float64, r.rows)
	if err := r.numbers(c, vals); err != nil {
		return err
	}
	for i, v := range vals {
		dst[i] = v != 0 && v == v && !r.isNull(c, i)
	}
	return nil
}

// tags reads the enter_tag column into dst; null is "". Each string
// counts against the budget: a long dictionary entry repeated on every row
// would otherwise take memory without bound.
func (r *pqReader) tags(c pqColumn, dst []string) error {
	if c.typ == pqNull {
		return nil
	}
	r.reserve(r.rows, 24)
	vals := make([]parquet.ByteArray, r.rows)
	return readLeaf(r, c, vals, func(from, to int) {
		for i := from; i < to; i++ {
			if !r.isNull(c, i) && len(vals[i]) > 0 {
				r.reserve(len(vals[i]), 1)
				dst[i] = string(vals[i])
			}
			vals[i] = nil
		}
	})
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
	pf, err := file.NewParquetReader(io.NewSectionReader(r, 0, size), file.WithReadProps(parquet.NewReaderProperties(budget)))
	if err != nil {
		return nil, budget.failed(err, name, "corrupt parquet file")
	}
	cols, err := parquetColumns(pf.MetaData().Schema, name)
	if err != nil {
		return nil, err
	}
	var rows int64
	for g := range pf.NumRowGroups() {
		n := pf.RowGroup(g).NumRows()
		if n < 0 || n > budget.limit {
			return nil, corruptf(name, 0, "", fmt.Sprintf("corrupt parquet file: row group %d has %d rows", g+1, n))
		}
		rows += n
	}
	if rows == 0 {
		return nil, &RowError{File: name, Msg: "no candles (empty file)", Err: ErrEmpty}
	}
	pr := &pqReader{pf: pf, name: name, size: size, budget: budget}
	// The frame's columns and the definition levels count against the
	// budget before they are allocated.
	if rows > budget.left {
		return nil, tooLarge(name, budget.limit)
	}
	pr.rows = int(rows)
	pr.reserve(pr.rows, 8+5*8+2)
	pr.def = make([]int16, pr.rows)
	f = &sdk.Frame{Pair: pair, Timeframe: tf, Time: make([]int64, pr.rows)}
	if err := pr.times(cols[csvDate], f.Time); err != nil {
		return nil, err
	}
	dsts := [...]*[]float64{&f.Open, &f.High, &f.Low, &f.Close, &f.Volume}
	for k, dst := range dsts {
		role := csvOpen + k
		*dst = make([]float64, pr.rows)
		nullZero := kind.indicative() && role == csvVolume
		if err := pr.floats(cols[role], *dst, csvNames[role], nullZero); err != nil {
			return nil, err
		}
	}
	if cols[csvEnterLong].leaf >= 0 || cols[csvExitLong].leaf >= 0 || cols[csvEnterShort].leaf >= 0 || cols[csvExitShort].leaf >= 0 {
		pr.reserve(pr.rows, 4)
		f.EnsureSignals()
		sdst := [...][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort}
		for k, dst := range sdst {
			if c := cols[csvEnterLong+k]; c.leaf >= 0 {
				if err := pr.bools(c, dst); err != nil {
					return nil, err
				}
			}
		}
	}
	if c := cols[csvEnterTag]; c.leaf >= 0 {
		pr.reserve(pr.rows, 16)
		f.EnterTag = make([]string, pr.rows)
		if err := pr.tags(c, f.EnterTag); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// WriteParquet writes f as a Snappy-compressed Parquet file with the
// columns of [WriteFeather] (date as a UTC millisecond timestamp). f is
// written as is, without validation.
func WriteParquet(w io.Writer, f *sdk.Frame) error {
	if err := checkLens(f); err != nil {
		return err
	}
	root, err := parquetSchema(f)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false))
	pw, err := file.NewParquetWriterWithError(w, root, file.WithWriterProps(props))
	if err != nil {
		return err
	}
	const groupRows = 1 << 20
	for from := 0; from < f.Len(); from += groupRows {
		if err := writeRowGroup(pw, f, from, min(from+groupRows, f.Len())); err != nil {
			return errors.Join(err, pw.Close())
		}
	}
	return pw.Close()
}

// parquetSchema is the schema WriteParquet writes f with: required date
// (INT64 UTC millisecond timestamp), open, high, low, close and volume
// (DOUBLE), then the signals (BOOLEAN) and enter_tag (string) if f has
// them.
func parquetSchema(f *sdk.Frame) (*schema.GroupNode, error) {
	req := parquet.Repetitions.Required
	var fields schema.FieldList
	add := func(name string, lt schema.LogicalType, pt parquet.Type) error {
		n, err := schema.NewPrimitiveNodeLogical(name, req, lt, pt, 0, -1)
		fields = append(fields, n)
		return err
	}
	errs := []error{add("date", schema.NewTimestampLogicalTypeForce(true, schema.TimeUnitMillis), parquet.Types.Int64)}
	for _, n := range csvNames[csvOpen : csvVolume+1] {
		errs = append(errs, add(n, schema.NoLogicalType{}, parquet.Types.Double))
	}
	if f.HasSignals() {
		for _, n := range csvNames[csvEnterLong : csvExitShort+1] {
			errs = append(errs, add(n, schema.NoLogicalType{}, parquet.Types.Boolean))
		}
	}
	if f.EnterTag != nil {
		errs = append(errs, add("enter_tag", schema.StringLogicalType{}, parquet.Types.ByteArray))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return schema.NewGroupNode("schema", req, fields, -1)
}

// writeRowGroup writes rows [from, to) of f as one row group of pw.
func writeRowGroup(pw *file.Writer, f *sdk.Frame, from, to int) error {
	rg, err := pw.AppendRowGroupChecked()
	if err != nil {
		return err
	}
	errs := []error{writeColumn(rg, f.Time[from:to])}
	for _, v := range [][]float64{f.Open, f.High, f.Low, f.Close, f.Volume} {
		errs = append(errs, writeColumn(rg, v[from:to]))
	}
	if f.HasSignals() {
		for _, v := range [][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort} {
			errs = append(errs, writeColumn(rg, v[from:to]))
		}
	}
	if f.EnterTag != nil {
		tags := make([]parquet.ByteArray, to-from)
		for i, s := range f.EnterTag[from:to] {
			tags[i] = parquet.ByteArray(s)
		}
		errs = append(errs, writeColumn(rg, tags))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return rg.Close()
}

// batchWriter is a typed column chunk writer of parquet/file.
type batchWriter[T any] interface {
	WriteBatch(values []T, defLevels, repLevels []int16) (int64, error)
}

// writeColumn writes vals as the next column of rg (which closes it).
func writeColumn[T any](rg file.SerialRowGroupWriter, vals []T) error {
	cw, err := rg.NextColumn()
	if err != nil {
		return err
	}
	bw, ok := cw.(batchWriter[T])
	if !ok {
		return fmt.Errorf("parquet column %s: unexpected writer %T", cw.Descr().Name(), cw)
	}
	_, err = bw.WriteBatch(vals, nil, nil)
	return err
}
