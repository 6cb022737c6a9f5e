package datafile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"

	"github.com/tradai/tradai/sdk"
)

var jsonFields = [6]string{"date", "open", "high", "low", "close", "volume"}

// ReadJSON reads Freqtrade's JSON candle format, an array of rows
// [[ms, open, high, low, close, volume], ...] with the date in Unix
// milliseconds, from r. name identifies the source in errors. The frame gets
// pair and tf and is checked with [Validate].
func ReadJSON(r io.Reader, name, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &RowError{File: name, Msg: "read: " + err.Error(), Err: err}
	}
	return validated(name)(parseJSON(data, name, pair, tf, Candles))
}

// validated returns a function that returns f if err is nil and f passes
// [Validate] as source name.
func validated(name string) func(*sdk.Frame, error) (*sdk.Frame, error) {
	return func(f *sdk.Frame, err error) (*sdk.Frame, error) {
		if err != nil {
			return nil, err
		}
		if err := Validate(f, name); err != nil {
			return nil, err
		}
		return f, nil
	}
}

// ReadJSONGz reads gzip-compressed Freqtrade JSON (a .json.gz file) from r.
// It inflates at most [DefaultMaxInflate] bytes (the size of r is not
// known: [LoadRange] bounds a file by its size too).
func ReadJSONGz(r io.Reader, name, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	return validated(name)(readJSONGz(r, math.MaxInt64, name, pair, tf, Candles, InflateLimit{}))
}

// readJSONGz reads gzip-compressed JSON of size bytes like ReadJSONGz,
// reading nulls as kind allows and inflating no more than lim allows,
// without validating the values.
func readJSONGz(r io.Reader, size int64, name, pair string, tf sdk.Timeframe, kind Kind, lim InflateLimit) (*sdk.Frame, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, corruptf(name, 0, "", "not a gzip file: "+err.Error())
	}
	defer zr.Close()
	data, err := io.ReadAll(lim.Budget(name, size).Reader(zr))
	var tl *RowError
	if errors.As(err, &tl) && errors.Is(tl, ErrTooLarge) {
		return nil, tl
	}
	if err != nil {
		return nil, corruptf(name, 0, "", "corrupt or truncated gzip data: "+err.Error())
	}
	return parseJSON(data, name, pair, tf, kind)
}

type jsonScanner struct {
	b    []byte
	i    int
	name string
	row  int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\n', '\r', '\t':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) errf(column, format string, args ...any) *RowError {
	return corruptf(s.name, s.row, column, fmt.Sprintf(format, args...))
}

// describe names the byte at the current position for messages.
func (s *jsonScanner) describe() string {
	if s.i >= len(s.b) {
		return "end of file"
	}
	end := min(s.i+12, len(s.b))
	return strconv.Quote(string(s.b[s.i:end]))
}

// token returns the bytes of the scalar at the current position.
func (s *jsonScanner) token() []byte {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', ']', '[', ' ', '\n', '\r', '\t':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

// delim reports whether the byte at i ends a number (or i is the end).
func (s *jsonScanner) delim(i int) bool {
	if i >= len(s.b) {
		return true
	}
	switch s.b[i] {
	case ',', ']', ' ', '\n', '\r', '\t':
		return true
	}
	return false
}

// fastInt parses a plain integer of at most 18 digits at the current
// position and advances past it; otherwise it reports false and leaves the
// position alone.
func (s *jsonScanner) fastInt() (int64, bool) {
	i := s.i
	neg := i < len(s.b) && s.b[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' && i-start < 18 {
		v = v*10 + int64(s.b[i]-'0')
		i++
	}
	if i == start || !s.delim(i) {
		return 0, false
	}
	if neg {
		v = -v
	}
	s.i = i
	return v, true
}

// fastFloat parses a decimal number at the current position with
// ParseDecimal and advances past it; otherwise it reports false and leaves
// the position alone for strconv.ParseFloat.
func (s *jsonScanner) fastFloat() (float64, bool) {
	v, n, ok := ParseDecimal(s.b[s.i:])
	if !ok || !s.delim(s.i+n) {
		return 0, false
	}
	s.i += n
	return v, true
}

// bstr views b as a string without copying; the result must not outlive b's
// contents nor be retained.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseInt parses a plain decimal integer (optional sign).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseMillis parses an epoch-milliseconds number: an integer, or a float
// with an integral value ("1515568500000.0").
func parseMillis(b []byte) (int64, bool) {
	if v, ok := parseInt(b); ok {
		return v, true
	}
	f, err := strconv.ParseFloat(bstr(b), 64)
	if err != nil || f != math.Trunc(f) || f < minMillis || f > maxMillis {
		return 0, false
	}
	return int64(f), true
}

// parseJSON parses Freqtrade JSON without validating the values; for
// the indicative kinds a null volume reads as 0.
func parseJSON(data []byte, name, pair string, tf sdk.Timeframe, kind Kind) (*sdk.Frame, error) {
	s := &jsonScanner{b: data, name: name}
	s.ws()
	if s.i == len(s.b) {
		return nil, &RowError{File: name, Msg: "empty file", Err: ErrEmpty}
	}
	if s.b[s.i] != '[' {
		return nil, s.errf("", "not Freqtrade JSON candle data: expected '[' at the start, found %s", s.describe())
	}
	s.i++
	// Every row opens with '[' and nothing else contains one, so this
	// counts the rows of a well-formed file.
	n := max(bytes.Count(data, []byte{'['})-1, 0)
	f := &sdk.Frame{Pair: pair, Timeframe: tf}
	f.Time = make([]int64, 0, n)
	f.Open = make([]float64, 0, n)
	f.High = make([]float64, 0, n)
	f.Low = make([]float64, 0, n)
	f.Close = make([]float64, 0, n)
	f.Volume = make([]float64, 0, n)
	var vals [5]float64
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
	} else {
		for {
			s.row++
			s.ws()
			if s.i >= len(s.b) {
				return nil, s.errf("", "unexpected end of file: truncated, or missing closing ']'")
			}
			if s.b[s.i] != '[' {
				return nil, s.errf("", "expected '[' to start a row [date, open, high, low, close, volume], found %s", s.describe())
			}
			s.i++
			var ms int64
			for k := range 6 {
				s.ws()
				if s.i >= len(s.b) {
					return nil, s.errf(jsonFields[k], "unexpected end of file in the row: truncated?")
				}
				if s.b[s.i] == ']' {
					return nil, s.errf(jsonFields[k], "row has %d fields, expected 6 [date, open, high, low, close, volume]", k)
				}
				if k == 0 {
					if v, ok := s.fastInt(); ok {
						ms = v
					} else {
						tok := s.token()
						if len(tok) == 0 {
							return nil, s.errf("date", "expected a number for date, found %s", s.describe())
						}
						v, ok := parseMillis(tok)
						if !ok {
							return nil, s.errf("date", "date %q is not a timestamp in milliseconds", tok)
						}
						ms = v
					}
				} else if v, ok := s.fastFloat(); ok {
					vals[k-1] = v
				} else {
					tok := s.token()
					if len(tok) == 0 {
						return nil, s.errf(jsonFields[k], "expected a number for %s, found %s", jsonFields[k], s.describe())
					}
					v, err := strconv.ParseFloat(bstr(tok), 64)
					switch {
					case err == nil:
					case string(tok) == "null" && k == 5 && kind.indicative():
						v = 0
					case string(tok) == "null":
						return nil, s.errf(jsonFields[k], "%s is null", jsonFields[k])
					default:
						return nil, s.errf(jsonFields[k], "%s %q is not a number", jsonFields[k], tok)
					}
					vals[k-1] = v
				}
				s.ws()
				if s.i >= len(s.b) {
					return nil, s.errf(jsonFields[k], "unexpected end of file in the row: truncated?")
				}
				c := s.b[s.i]
				if k < 5 {
					if c == ']' {
						return nil, s.errf(jsonFields[k+1], "row has %d fields, expected 6 [date, open, high, low, close, volume]", k+1)
					}
					if c != ',' {
						return nil, s.errf(jsonFields[k], "expected ',' after %s, found %s", jsonFields[k], s.describe())
					}
				} else if c != ']' {
					if c == ',' {
						return nil, s.errf("", "row has more than 6 fields, expected [date, open, high, low, close, volume]")
					}
					return nil, s.errf("", "expected ']' to close the row, found %s", s.describe())
				}
				s.i++
			}
			f.Time = append(f.Time, ms)
			f.Open = append(f.Open, vals[0])
			f.High = append(f.High, vals[1])
			f.Low = append(f.Low, vals[2])
			f.Close = append(f.Close, vals[3])
			f.Volume = append(f.Volume, vals[4])
			s.ws()
			if s.i >= len(s.b) {
				return nil, s.errf("", "unexpected end of file after the row: truncated, or missing closing ']'")
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == ']' {
				s.i++
				break
			}
			return nil, s.errf("", "expected ',' or ']' after the row, found %s", s.describe())
		}
	}
	s.ws()
	if s.i != len(s.b) {
		s.row = 0
		return nil, s.errf("", "unexpected data after the closing ']': %s", s.describe())
	}
	return f, nil
}

// WriteJSON writes f in Freqtrade's JSON format
// [[ms, open, high, low, close, volume], ...]. Signal columns are not
// written. NaN and infinite values are written as NaN, Infinity and
// -Infinity, as Python's json module does.
func WriteJSON(w io.Writer, f *sdk.Frame) error {
	if err := checkLens(f); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	b := make([]byte, 0, 256)
	b = append(b, '[')
	for i := range f.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, f.Time[i], 10)
		for _, v := range [5]float64{f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i]} {
			b = append(b, ',')
			b = appendJSONFloat(b, v)
		}
		b = append(b, ']')
		if len(b) > 1<<15 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, ']')
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func appendJSONFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "Infinity"...)
	case math.IsInf(v, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// WriteJSONGz writes f like [WriteJSON], gzip-compressed.
func WriteJSONGz(w io.Writer, f *sdk.Frame) error {
	zw := gzip.NewWriter(w)
	if err := WriteJSON(zw, f); err != nil {
		return err
	}
	return zw.Close()
}

// checkLens reports frames whose columns differ in length, which writers
// cannot write.
func checkLens(f *sdk.Frame) error {
	if f == nil {
		return fmt.Errorf("datafile: nil frame")
	}
	n := f.Len()
	if len(f.Open) != n || len(f.High) != n || len(f.Low) != n || len(f.Close) != n || len(f.Volume) != n {
		return fmt.Errorf("datafile: frame columns have different lengths (date %d, open %d, high %d, low %d, close %d, volume %d)",
			n, len(f.Open), len(f.High), len(f.Low), len(f.Close), len(f.Volume))
	}
	if f.EnterLong != nil || f.ExitLong != nil || f.EnterShort != nil || f.ExitShort != nil {
		if !f.HasSignals() {
			return fmt.Errorf("datafile: frame signal columns do not all have %d values", n)
		}
	}
	if f.EnterTag != nil && len(f.EnterTag) != n {
		return fmt.Errorf("datafile: frame enter_tag column has %d values, want %d", len(f.EnterTag), n)
	}
	return nil
}
