package datafile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tradai/tradai/sdk"
)

// CSV column roles.
const (
	csvDate = iota
	csvOpen
	csvHigh
	csvLow
	csvClose
	csvVolume
	csvEnterLong
	csvExitLong
	csvEnterShort
	csvExitShort
	csvEnterTag
	csvNumRoles
)

var csvNames = [csvNumRoles]string{"date", "open", "high", "low", "close", "volume", "enter_long", "exit_long", "enter_short", "exit_short", "enter_tag"}

// ReadCSV reads candles from CSV with a header row. The header must name the
// columns date, open, high, low, close and volume, in any order and case;
// other columns are ignored except enter_long, exit_long, enter_short,
// exit_short (0/1/true/false, empty meaning false), which fill the frame's
// signal columns (all four are allocated when any is present), and enter_tag.
// Dates are ISO 8601 ("2018-01-10T07:25:00Z", "2018-01-10 07:25:00+00:00",
// "2018-01-10 07:25:00" in UTC, "2018-01-10") or integer Unix milliseconds.
// name identifies the source in errors; the frame gets pair and tf and is
// checked with [Validate].
func ReadCSV(r io.Reader, name, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	f, err := readCSV(r, name, pair, tf, Candles)
	if err != nil {
		return nil, err
	}
	if err := Validate(f, name); err != nil {
		return nil, err
	}
	return f, nil
}

// readCSV reads CSV like ReadCSV without validating the values; for
// the indicative kinds an empty volume reads as 0.
func readCSV(r io.Reader, name, pair string, tf sdk.Timeframe, kind Kind) (*sdk.Frame, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{File: name, Msg: "empty file", Err: ErrEmpty}
	}
	if err != nil {
		return nil, corruptf(name, 0, "", "cannot read the CSV header: "+csvErrMsg(err))
	}
	nHeader := len(header)
	var idx [csvNumRoles]int
	for i := range idx {
		idx[i] = -1
	}
	var seen []string
	for j, h := range header {
		if j == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		seen = append(seen, h)
		for role, want := range csvNames {
			if strings.EqualFold(h, want) {
				if idx[role] >= 0 {
					return nil, &RowError{File: name, Column: want, Msg: fmt.Sprintf("header names column %q twice", want)}
				}
				idx[role] = j
			}
		}
	}
	for role := csvDate; role <= csvVolume; role++ {
		if idx[role] < 0 {
			msg := fmt.Sprintf("missing column %q: the header must name date, open, high, low, close and volume (found %s)", csvNames[role], strings.Join(seen, ","))
			if _, ok := parseDate(header[0]); ok {
				msg = "missing header row: the first line must name the columns (date,open,high,low,close,volume)"
			}
			return nil, &RowError{File: name, Column: csvNames[role], Msg: msg, Err: ErrMissingColumn}
		}
	}
	hasSig := idx[csvEnterLong] >= 0 || idx[csvExitLong] >= 0 || idx[csvEnterShort] >= 0 || idx[csvExitShort] >= 0
	hasTag := idx[csvEnterTag] >= 0

	f := &sdk.Frame{Pair: pair, Timeframe: tf}
	var el, xl, es, xs []bool
	row := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		row++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, corruptf(name, row, "", fmt.Sprintf("row has %d fields but the header has %d", len(rec), nHeader))
			}
			return nil, corruptf(name, row, "", csvErrMsg(err))
		}
		ms, ok := parseDate(rec[idx[csvDate]])
		if !ok {
			return nil, corruptf(name, row, "date", fmt.Sprintf("date %q is neither an ISO 8601 date nor Unix milliseconds", rec[idx[csvDate]]))
		}
		var v [5]float64
		for k := range 5 {
			s := rec[idx[csvOpen+k]]
			x, err := parseCSVFloat(s)
			if err != nil {
				col := csvNames[csvOpen+k]
				if strings.TrimSpace(s) == "" && k == 4 && kind.indicative() {
					continue
				}
				if strings.TrimSpace(s) == "" {
					return nil, corruptf(name, row, col, col+" is empty")
				}
				return nil, corruptf(name, row, col, fmt.Sprintf("%s %q is not a number", col, s))
			}
			v[k] = x
		}
		f.Time = append(f.Time, ms)
		f.Open = append(f.Open, v[0])
		f.High = append(f.High, v[1])
		f.Low = append(f.Low, v[2])
		f.Close = append(f.Close, v[3])
		f.Volume = append(f.Volume, v[4])
		if hasSig {
			var b [4]bool
			for k := range 4 {
				j := idx[csvEnterLong+k]
				if j < 0 {
					continue
				}
				x, ok := parseBool(rec[j])
				if !ok {
					col := csvNames[csvEnterLong+k]
					return nil, corruptf(name, row, col, fmt.Sprintf("%s %q is not 0, 1, true, false or empty", col, rec[j]))
				}
				b[k] = x
			}
			el, xl, es, xs = append(el, b[0]), append(xl, b[1]), append(es, b[2]), append(xs, b[3])
		}
		if hasTag {
			f.EnterTag = append(f.EnterTag, strings.Clone(rec[idx[csvEnterTag]]))
		}
	}
	if row == 0 {
		return nil, &RowError{File: name, Msg: "no candles: the file has a header but no data rows", Err: ErrEmpty}
	}
	if hasSig {
		f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = el, xl, es, xs
		f.EnsureSignals()
	}
	return f, nil
}

func csvErrMsg(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}

func parseCSVFloat(s string) (float64, error) {
	if len(s) > 0 {
		if v, n, ok := ParseDecimal(unsafe.Slice(unsafe.StringData(s), len(s))); ok && n == len(s) {
			return v, nil
		}
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// parseDate parses a CSV date: integer Unix milliseconds or ISO 8601.
func parseDate(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 0 {
		return 0, false
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	if c := s[0]; c >= '0' && c <= '9' || c == '-' || c == '+' {
		if len(s) >= 10 && s[4] == '-' {
			return ParseISO(b)
		}
		return parseMillis(b)
	}
	return 0, false
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "0", "":
		return false, true
	case "1":
		return true, true
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "0" || s == "0.0" || strings.EqualFold(s, "false") || strings.EqualFold(s, "f"):
		return false, true
	case s == "1" || s == "1.0" || strings.EqualFold(s, "true") || strings.EqualFold(s, "t"):
		return true, true
	}
	return false, false
}

// WriteCSV writes f as CSV with a header: date (ISO 8601 UTC), open, high,
// low, close, volume, then enter_long, exit_long, enter_short, exit_short
// (as 0/1) when f has signals and enter_tag when f has tags. Floats are
// written in their shortest exact form, so [ReadCSV] restores them exactly.
func WriteCSV(w io.Writer, f *sdk.Frame) error {
	if err := checkLens(f); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	sig, tag := f.HasSignals(), f.EnterTag != nil
	b := make([]byte, 0, 1<<15+512)
	b = append(b, "date,open,high,low,close,volume"...)
	if sig {
		b = append(b, ",enter_long,exit_long,enter_short,exit_short"...)
	}
	if tag {
		b = append(b, ",enter_tag"...)
	}
	b = append(b, '\n')
	for i := range f.Len() {
		b = appendISO(b, f.Time[i])
		for _, v := range [5]float64{f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i]} {
			b = append(b, ',')
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		if sig {
			for _, v := range [4]bool{f.EnterLong[i], f.ExitLong[i], f.EnterShort[i], f.ExitShort[i]} {
				if v {
					b = append(b, ",1"...)
				} else {
					b = append(b, ",0"...)
				}
			}
		}
		if tag {
			b = append(b, ',')
			b = appendCSVField(b, f.EnterTag[i])
		}
		b = append(b, '\n')
		if len(b) > 1<<15 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// appendCSVField appends s, quoted when it needs to be.
func appendCSVField(b []byte, s string) []byte {
	if s == "" || (!strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t') {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, bytes.ReplaceAll([]byte(s), []byte{'"'}, []byte{'"', '"'})...)
	return append(b, '"')
}
