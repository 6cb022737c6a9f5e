package datafile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/sdk"
)

// Column roles shared by the Arrow-based formats use the CSV role indexes.

// columnRoles finds the columns named like csvNames (case-insensitive
// match, exact match preferred) among names. It returns the index per role,
// -1 for an absent column.
func columnRoles(names []string) [csvNumRoles]int {
	var idx [csvNumRoles]int
	for role, want := range csvNames {
		idx[role] = -1
		for j, n := range names {
			if n == want {
				idx[role] = j
				break
			}
		}
		if idx[role] < 0 {
			for j, n := range names {
				if strings.EqualFold(n, want) {
					idx[role] = j
					break
				}
			}
		}
	}
	return idx
}

// arrowColumns finds the columns of schema by role (see columnRoles) and
// checks their types. It returns the field index per role, -1 for an
// absent optional column.
func arrowColumns(schema *arrow.Schema, name string) ([csvNumRoles]int, error) {
	names := make([]string, schema.NumFields())
	for j, fl := range schema.Fields() {
		names[j] = fl.Name
	}
	idx := columnRoles(names)
	for role := csvDate; role <= csvVolume; role++ {
		if idx[role] < 0 {
			var have []string
			for _, fl := range schema.Fields() {
				have = append(have, fl.Name)
			}
			return idx, &RowError{File: name, Column: csvNames[role],
				Msg: fmt.Sprintf("missing column %q (the file has: %s)", csvNames[role], strings.Join(have, ", ")), Err: ErrMissingColumn}
		}
	}
	for role, j := range idx {
		if j < 0 {
			continue
		}
		dt := schema.Field(j).Type
		ok := false
		switch {
		case role == csvDate:
			switch dt.ID() {
			case arrow.TIMESTAMP, arrow.DATE64, arrow.DATE32, arrow.INT64:
				ok = true
			}
		case role == csvEnterTag:
			switch dt.ID() {
			case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.NULL:
				ok = true
			case arrow.DICTIONARY:
				switch dt.(*arrow.DictionaryType).ValueType.ID() {
				case arrow.STRING, arrow.LARGE_STRING:
					ok = true
				}
			}
		case role >= csvEnterLong:
			ok = dt.ID() == arrow.BOOL || arrow.IsInteger(dt.ID()) || arrow.IsFloating(dt.ID()) && dt.ID() != arrow.FLOAT16
		default:
			ok = arrow.IsInteger(dt.ID()) || dt.ID() == arrow.FLOAT64 || dt.ID() == arrow.FLOAT32
		}
		if !ok {
			return idx, &RowError{File: name, Column: csvNames[role], Msg: fmt.Sprintf("column %q has unsupported type %s", csvNames[role], dt), Err: ErrCorrupt}
		}
	}
	return idx, nil
}

// frameFromArrow builds a frame from the chunks of each column (indexed like
// the schema's fields), without validating its values. For the indicative kinds
// a null volume reads as 0; other nulls are errors.
func frameFromArrow(schema *arrow.Schema, chunks func(field int) []arrow.Array, name, pair string, tf sdk.Timeframe, kind Kind) (*sdk.Frame, error) {
	idx, err := arrowColumns(schema, name)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, a := range chunks(idx[csvDate]) {
		n += a.Len()
	}
	for role, j := range idx {
		if j < 0 {
			continue
		}
		m := 0
		for _, a := range chunks(j) {
			m += a.Len()
		}
		if m != n {
			return nil, corruptf(name, 0, csvNames[role], fmt.Sprintf("column %q has %d values but date has %d", csvNames[role], m, n))
		}
	}
	f := &sdk.Frame{Pair: pair, Timeframe: tf}
	if n == 0 {
		return nil, &RowError{File: name, Msg: "no candles (empty file)", Err: ErrEmpty}
	}
	f.Time = make([]int64, n)
	if err := timesInto(f.Time, chunks(idx[csvDate]), name); err != nil {
		return nil, err
	}
	dsts := [...]*[]float64{&f.Open, &f.High, &f.Low, &f.Close, &f.Volume}
	for k, dst := range dsts {
		*dst = make([]float64, n)
		nullZero := kind.indicative() && csvOpen+k == csvVolume
		if err := floatsInto(*dst, chunks(idx[csvOpen+k]), name, csvNames[csvOpen+k], nullZero); err != nil {
			return nil, err
		}
	}
	if idx[csvEnterLong] >= 0 || idx[csvExitLong] >= 0 || idx[csvEnterShort] >= 0 || idx[csvExitShort] >= 0 {
		f.EnsureSignals()
		sdst := [...][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort}
		for k, dst := range sdst {
			if j := idx[csvEnterLong+k]; j >= 0 {
				boolsInto(dst, chunks(j))
			}
		}
	}
	if j := idx[csvEnterTag]; j >= 0 {
		f.EnterTag = make([]string, n)
		stringsInto(f.EnterTag, chunks(j))
	}
	return f, nil
}

// firstNull returns the index of a's first null value.
func firstNull(a arrow.Array) int {
	for i := range a.Len() {
		if a.IsNull(i) {
			return i
		}
	}
	return 0
}

func timesInto(dst []int64, chunks []arrow.Array, name string) error {
	off := 0
	for _, a := range chunks {
		if a.NullN() > 0 {
			return &RowError{File: name, Row: off + firstNull(a) + 1, Column: "date", Msg: "date is null"}
		}
		d := dst[off : off+a.Len()]
		switch a := a.(type) {
		case *array.Timestamp:
			vals := a.TimestampValues()
			var div, mul int64 = 1, 1
			switch a.DataType().(*arrow.TimestampType).Unit {
			case arrow.Second:
				mul = 1000
			case arrow.Millisecond:
			case arrow.Microsecond:
				div = 1000
			case arrow.Nanosecond:
				div = 1_000_000
			}
			switch {
			case div > 1:
				for i, v := range vals {
					d[i] = floorDiv(int64(v), div)
				}
			case mul > 1:
				for i, v := range vals {
					if v < minMillis/1000 || v > maxMillis/1000 {
						return &RowError{File: name, Row: off + i + 1, Column: "date", Msg: fmt.Sprintf("date %d s is outside the supported range 1677-09-21..2262-04-11", v)}
					}
					d[i] = int64(v) * mul
				}
			default:
				for i, v := range vals {
					d[i] = int64(v)
				}
			}
		case *array.Date64:
			for i, v := range a.Date64Values() {
				d[i] = int64(v)
			}
		case *array.Date32:
			for i, v := range a.Date32Values() {
				d[i] = int64(v) * clock.DayMs
			}
		case *array.Int64:
			copy(d, a.Int64Values())
		default:
			return &RowError{File: name, Column: "date", Msg: fmt.Sprintf("column \"date\" has unsupported type %s", a.DataType()), Err: ErrCorrupt}
		}
		off += a.Len()
	}
	return nil
}

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32
}

func convert[T number](dst []float64, src []T) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// floatsInto reads a numeric column into dst. A null is an error unless
// nullZero, when it reads as 0.
func floatsInto(dst []float64, chunks []arrow.Array, name, column string, nullZero bool) error {
	off := 0
	for _, a := range chunks {
		if a.NullN() > 0 && !nullZero {
			return &RowError{File: name, Row: off + firstNull(a) + 1, Column: column, Msg: column + " is null"}
		}
		d := dst[off : off+a.Len()]
		if !numbersInto(d, a) {
			return &RowError{File: name, Column: column, Msg: fmt.Sprintf("column %q has unsupported type %s", column, a.DataType()), Err: ErrCorrupt}
		}
		if a.NullN() > 0 {
			for i := range d {
				if a.IsNull(i) {
					d[i] = 0
				}
			}
		}
		off += a.Len()
	}
	return nil
}

// numbersInto converts a numeric array into d (len(d) == a.Len()); null
// slots get arbitrary values. It reports false for a non-numeric array.
func numbersInto(d []float64, a arrow.Array) bool {
	switch a := a.(type) {
	case *array.Float64:
		copy(d, a.Float64Values())
	case *array.Float32:
		convert(d, a.Float32Values())
	case *array.Int64:
		convert(d, a.Int64Values())
	case *array.Int32:
		convert(d, a.Int32Values())
	case *array.Int16:
		convert(d, a.Int16Values())
	case *array.Int8:
		convert(d, a.Int8Values())
	case *array.Uint64:
		convert(d, a.Uint64Values())
	case *array.Uint32:
		convert(d, a.Uint32Values())
	case *array.Uint16:
		convert(d, a.Uint16Values())
	case *array.Uint8:
		convert(d, a.Uint8Values())
	default:
		return false
	}
	return true
}

// boolsInto reads a signal column; null and zero are false.
func boolsInto(dst []bool, chunks []arrow.Array) {
	off := 0
	for _, a := range chunks {
		d := dst[off : off+a.Len()]
		switch a := a.(type) {
		case *array.Boolean:
			for i := range d {
				d[i] = a.IsValid(i) && a.Value(i)
			}
		default:
			tmp := make([]float64, len(d))
			numbersInto(tmp, a)
			for i := range d {
				d[i] = a.IsValid(i) && tmp[i] != 0 && tmp[i] == tmp[i]
			}
		}
		off += a.Len()
	}
}

// stringsInto reads the enter_tag column; null is "".
func stringsInto(dst []string, chunks []arrow.Array) {
	off := 0
	for _, a := range chunks {
		d := dst[off : off+a.Len()]
		switch s := a.(type) {
		case interface{ Value(int) string }:
			for i := range d {
				if a.IsValid(i) {
					d[i] = strings.Clone(s.Value(i))
				}
			}
		case *array.Dictionary:
			if dict, ok := s.Dictionary().(interface{ Value(int) string }); ok {
				for i := range d {
					if a.IsValid(i) {
						d[i] = strings.Clone(dict.Value(s.GetValueIndex(i)))
					}
				}
			}
		}
		off += a.Len()
	}
}

// errBudget is the panic value of budgetAllocator when a file asks for more
// memory than its InflateLimit allows.
var errBudget = errors.New("file decompresses beyond its limit")

// budgetAllocator limits the memory a decoder holds at once (what it
// allocated and has not freed), so that neither a decompression bomb nor a
// corrupt length field can make it allocate without bound. It panics with errBudget when over budget; the
// readers recover (see recovered).
type budgetAllocator struct {
	mem   memory.Allocator
	limit int64
	left  int64
}

// newBudget allows limit bytes (InflateLimit.Bytes of the file's size).
func newBudget(limit int64) *budgetAllocator {
	return &budgetAllocator{mem: memory.NewGoAllocator(), limit: limit, left: limit}
}

// recovered is the error for the panic value p of a decoder reading file
// name with b: over budget, or a corrupt file (what says which format).
func (b *budgetAllocator) recovered(p any, name, what string) error {
	if e, ok := p.(error); ok && errors.Is(e, errBudget) {
		return tooLarge(name, b.limit)
	}
	return corruptf(name, 0, "", fmt.Sprintf("%s: %v", what, p))
}

// failed is the error for err, returned by a decoder reading file name
// with b: over budget (the decoder recovered our panic), or what, a
// description of a corrupt file.
func (b *budgetAllocator) failed(err error, name, what string) error {
	if errors.Is(err, errBudget) {
		return tooLarge(name, b.limit)
	}
	return corruptf(name, 0, "", what+": "+err.Error())
}

func (b *budgetAllocator) take(n int) {
	if n < 0 || int64(n) > b.left {
		panic(errBudget)
	}
	b.left -= int64(n)
}

func (b *budgetAllocator) Allocate(size int) []byte {
	b.take(size)
	return b.mem.Allocate(size)
}

func (b *budgetAllocator) Reallocate(size int, buf []byte) []byte {
	if size > len(buf) {
		b.take(size - len(buf))
	}
	return b.mem.Reallocate(size, buf)
}

func (b *budgetAllocator) Free(buf []byte) {
	b.left += int64(len(buf))
	b.mem.Free(buf)
}
