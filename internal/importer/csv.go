package importer

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// Mapping says where the candle columns of a generic CSV file are and how
// to read them.
type Mapping struct {
	// Time, Open, High, Low, Close and Volume each name a column by its
	// header name (case-insensitive) or by its 1-based number, which is the
	// only way when NoHeader is set. Volume may be empty: volume is 0 then.
	Time, Open, High, Low, Close, Volume string
	// Delimiter separates fields; 0 means ','.
	Delimiter byte
	// NoHeader says the first line is data, not column names.
	NoHeader bool
	// TimeFormat says how times are written:
	//   - "" or "auto": integers by magnitude (below 1e11 Unix seconds, below
	//     1e14 milliseconds, below 1e17 microseconds, else nanoseconds),
	//     anything else as ISO 8601;
	//   - "s" (or "unix"), "ms", "us" (or "µs"), "ns": Unix time in that
	//     unit (seconds may have a fraction);
	//   - "iso" (or "rfc3339"): ISO 8601 / RFC 3339 dates and date-times
	//     ("2024-01-15", "2024-01-15 07:25:00", "2024-01-15T07:25:00+02:00");
	//   - any other value is a Go time layout ("02.01.2006 15:04").
	// Times without a zone offset are UTC.
	TimeFormat string
}

// IsZero reports whether m names no column.
func (m Mapping) IsZero() bool {
	return m.Time == "" && m.Open == "" && m.High == "" && m.Low == "" && m.Close == "" && m.Volume == ""
}

// ParseMapping parses a column mapping written as comma-separated
// role=column pairs, e.g. "time=Timestamp,open=Open,high=High,low=Low,
// close=Close,volume=Vol" or "time=1,open=2,high=3,low=4,close=5,volume=6".
// The roles are time (alias date), open, high, low, close and volume; all
// but volume are required. Delimiter, NoHeader and TimeFormat are left
// zero.
func ParseMapping(s string) (Mapping, error) {
	var m Mapping
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, col, ok := strings.Cut(part, "=")
		role, col = strings.ToLower(strings.TrimSpace(role)), strings.TrimSpace(col)
		if !ok || col == "" {
			return Mapping{}, fmt.Errorf("column mapping %q: %q is not role=column", s, part)
		}
		var dst *string
		switch role {
		case "time", "date", "timestamp":
			dst = &m.Time
		case "open":
			dst = &m.Open
		case "high":
			dst = &m.High
		case "low":
			dst = &m.Low
		case "close":
			dst = &m.Close
		case "volume":
			dst = &m.Volume
		default:
			return Mapping{}, fmt.Errorf("column mapping %q: unknown role %q (want time, open, high, low, close, volume)", s, role)
		}
		if *dst != "" {
			return Mapping{}, fmt.Errorf("column mapping %q: %s is given twice", s, role)
		}
		*dst = col
	}
	for _, r := range []struct{ name, v string }{{"time", m.Time}, {"open", m.Open}, {"high", m.High}, {"low", m.Low}, {"close", m.Close}} {
		if r.v == "" {
			return Mapping{}, fmt.Errorf("column mapping %q: no column for %s (want time=…,open=…,high=…,low=…,close=…[,volume=…])", s, r.name)
		}
	}
	return m, nil
}

// CSV imports a delimited text file whose columns m describes.
// opt.Timeframe is required. Blank lines are skipped (and counted); a
// field may be quoted with '"' but not span lines. Every row must have as
// many fields as the header (or, without one, the first row).
func CSV(r io.Reader, name string, m Mapping, opt Options) (*Result, error) {
	if opt.Timeframe == "" {
		return nil, &datafile.RowError{File: name, Msg: "give the timeframe of the candles"}
	}
	return readCSV(r, name, csvSpec{m: m}, opt, FormatCSV)
}

// Yahoo imports a Yahoo Finance CSV export (header
// Date,Open,High,Low,Close,Adj Close,Volume, dates YYYY-MM-DD taken as
// 00:00 UTC). opt.Timeframe defaults to "1d"; give "1w" or "1M" for weekly
// or monthly exports. Rows with "null" values (dates Yahoo has no prices
// for) are skipped and counted in [Result.Skipped]. opt.Adjusted scales
// open, high, low and close by Adj Close / Close.
func Yahoo(r io.Reader, name string, opt Options) (*Result, error) {
	if opt.Timeframe == "" {
		opt.Timeframe = "1d"
	}
	sp := csvSpec{
		m:    Mapping{Time: "Date", Open: "Open", High: "High", Low: "Low", Close: "Close", Volume: "Volume", TimeFormat: "iso"},
		null: true,
	}
	if opt.Adjusted {
		sp.adj = "Adj Close"
	}
	return readCSV(r, name, sp, opt, FormatYahoo)
}

// csvSpec is a mapping plus the Yahoo extras.
type csvSpec struct {
	m    Mapping
	adj  string // adjusted-close column, or ""
	null bool   // skip rows holding "null"
}

// Column roles of the generic reader.
const (
	roleTime = iota
	roleOpen
	roleHigh
	roleLow
	roleClose
	roleVolume
	roleAdj
	numRoles
)

var roleNames = [numRoles]string{"time", "open", "high", "low", "close", "volume", "adjusted close"}

// timeKind is how a time column is read.
type timeKind int8

const (
	timeAuto timeKind = iota
	timeUnix
	timeISO
	timeLayout
)

type timeFormat struct {
	kind   timeKind
	unit   timeUnit
	layout string
}

func parseTimeFormat(s string) (timeFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return timeFormat{kind: timeAuto}, nil
	case "s", "unix", "sec", "seconds":
		return timeFormat{kind: timeUnix, unit: unitSeconds}, nil
	case "ms", "millis", "milliseconds":
		return timeFormat{kind: timeUnix, unit: unitMillis}, nil
	case "us", "µs", "micros", "microseconds":
		return timeFormat{kind: timeUnix, unit: unitMicros}, nil
	case "ns", "nanos", "nanoseconds":
		return timeFormat{kind: timeUnix, unit: unitNanos}, nil
	case "iso", "iso8601", "rfc3339":
		return timeFormat{kind: timeISO}, nil
	}
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if ref.Format(s) == s {
		return timeFormat{}, fmt.Errorf("time format %q is neither auto, s, ms, us, ns, iso nor a Go time layout (such as 2006-01-02 15:04:05)", s)
	}
	return timeFormat{kind: timeLayout, layout: s}, nil
}

// parse reads a time as Unix milliseconds, or returns what is wrong.
func (tf *timeFormat) parse(b []byte) (int64, string) {
	switch tf.kind {
	case timeAuto:
		if v, ok := parseInt(b); ok {
			if ms, ok := autoUnit(v).toMillis(v); ok {
				return ms, ""
			}
			return 0, fmt.Sprintf("%s is not a whole number of milliseconds (%s)", quote(b), autoUnit(v))
		}
		if ms, ok := datafile.ParseISO(b); ok {
			return ms, ""
		}
		return 0, quote(b) + " is neither a Unix timestamp nor an ISO 8601 date-time"
	case timeUnix:
		if v, ok := parseInt(b); ok {
			if ms, ok := tf.unit.toMillis(v); ok {
				return ms, ""
			}
			return 0, fmt.Sprintf("%s %s is not a whole number of milliseconds", quote(b), tf.unit)
		}
		if v, ok := parseFloat(b); ok && tf.unit == unitSeconds && !math.IsNaN(v) && math.Abs(v) < 1e13 {
			return int64(math.Round(v * 1000)), ""
		}
		return 0, fmt.Sprintf("%s is not a Unix time in %s", quote(b), tf.unit)
	case timeISO:
		if ms, ok := datafile.ParseISO(b); ok {
			return ms, ""
		}
		return 0, quote(b) + " is not an ISO 8601 date or date-time (like 2024-01-15 or 2024-01-15T07:25:00Z)"
	}
	t, err := time.Parse(tf.layout, bstr(b))
	if err != nil {
		return 0, fmt.Sprintf("%s does not match the time layout %q", quote(b), tf.layout)
	}
	return t.UnixMilli(), ""
}

// splitFields splits line at d into out (reused). A field starting with '"'
// runs to the matching quote ("" inside stands for one quote and is left
// doubled: only numbers and times are read). ok is false for an
// unterminated quote or text after a closing quote.
func splitFields(line []byte, d byte, out [][]byte) ([][]byte, bool) {
	out = out[:0]
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			j := i + 1
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return out, false
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					j += 2
					continue
				}
				break
			}
			out = append(out, line[i+1:j])
			j++
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') && d != line[j] {
				j++
			}
			if j == len(line) {
				return out, true
			}
			if line[j] != d {
				return out, false
			}
			i = j + 1
			continue
		}
		k := bytes.IndexByte(line[i:], d)
		if k < 0 {
			return append(out, line[i:]), true
		}
		out = append(out, line[i:i+k])
		i += k + 1
	}
}

// trimField drops surrounding blanks and quotes.
func trimField(b []byte) []byte {
	if len(b) > 0 && (b[0] <= ' ' || b[len(b)-1] <= ' ') {
		b = bytes.TrimSpace(b)
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	return b
}

func readCSV(r io.Reader, name string, sp csvSpec, opt Options, format Format) (*Result, error) {
	tf := opt.Timeframe
	if !tf.Valid() {
		return nil, &datafile.RowError{File: name, Msg: fmt.Sprintf("unknown timeframe %q (supported: %v)", string(tf), sdk.Timeframes())}
	}
	tfmt, err := parseTimeFormat(sp.m.TimeFormat)
	if err != nil {
		return nil, &datafile.RowError{File: name, Msg: err.Error()}
	}
	d := sp.m.Delimiter
	if d == 0 {
		d = ','
	}
	if d == '"' || d == '\n' || d == '\r' {
		return nil, &datafile.RowError{File: name, Msg: fmt.Sprintf("delimiter %q cannot be used", d)}
	}
	size := sizeOf(r)
	lr := newLineReader(r, size)
	lead := 0 // blank lines before the first line (not rows)
	first, ok := lr.next()
	for ok && len(bytes.TrimSpace(first)) == 0 {
		lead++
		first, ok = lr.next()
	}
	if !ok {
		if lr.err != nil {
			return nil, &datafile.RowError{File: name, Msg: "read: " + lr.err.Error(), Err: lr.err}
		}
		return nil, &datafile.RowError{File: name, Msg: "empty file", Err: datafile.ErrEmpty}
	}
	b := newBuilder(tf, opt.Kind, lr.estimate(size))

	want := [numRoles]string{sp.m.Time, sp.m.Open, sp.m.High, sp.m.Low, sp.m.Close, sp.m.Volume, sp.adj}
	var idx [numRoles]int // 0-based column, -1 when not read
	var colName [numRoles]string
	var fields [][]byte
	nCols := -1
	if !sp.m.NoHeader {
		if fields, ok = splitFields(first, d, fields); !ok {
			return nil, &datafile.RowError{File: name, Msg: "cannot read the header line: unbalanced quotes", Err: datafile.ErrCorrupt}
		}
		nCols = len(fields)
	}
	var header []string
	for _, f := range fields {
		header = append(header, string(trimField(f)))
	}
	for role, w := range want {
		idx[role] = -1
		if w == "" {
			if role <= roleClose {
				return nil, &datafile.RowError{File: name, Column: roleNames[role], Msg: fmt.Sprintf("the column mapping names no %s column", roleNames[role]), Err: datafile.ErrMissingColumn}
			}
			continue
		}
		for j, h := range header {
			if strings.EqualFold(h, w) {
				idx[role] = j
				break
			}
		}
		if idx[role] < 0 {
			if n, err := strconv.Atoi(w); err == nil && n >= 1 && (nCols < 0 || n <= nCols) {
				idx[role] = n - 1
			}
		}
		if idx[role] < 0 {
			msg := fmt.Sprintf("no %s column %q", roleNames[role], w)
			switch {
			case sp.m.NoHeader:
				msg += ": without a header line, columns are given by number (1 for the first)"
			case format == FormatYahoo:
				msg += fmt.Sprintf(" in the header: a Yahoo export starts with Date,Open,High,Low,Close,Adj Close,Volume (found %s)", strings.Join(header, ","))
			default:
				msg += fmt.Sprintf(" in the header (found %s)", strings.Join(header, string(d)))
			}
			return nil, &datafile.RowError{File: name, Column: w, Msg: msg, Err: datafile.ErrMissingColumn}
		}
		colName[role] = roleNames[role]
		if idx[role] < len(header) && header[idx[role]] != "" {
			colName[role] = header[idx[role]]
		}
	}
	maxIdx := 0
	for _, j := range idx {
		maxIdx = max(maxIdx, j)
	}
	colErr := func(row, role int, msg string) error {
		return &datafile.RowError{File: name, Row: row, Column: colName[role], Msg: fmt.Sprintf("column %d (%s): %s", idx[role]+1, colName[role], msg)}
	}

	if sp.m.NoHeader {
		// The first line is data: it sets the number of fields.
		if fields, ok = splitFields(first, d, fields); ok {
			nCols = len(fields)
		}
	}

	// parse turns lines into records; it runs on several goroutines.
	parse := func(c *chunk) {
		var fields [][]byte
		c.recs = c.records()
		forEachLine(c.data, c.row0, func(line []byte, row int) bool {
			if len(bytes.TrimSpace(line)) == 0 {
				c.recs = append(c.recs, rec{row: row, kind: recBlank})
				return true
			}
			var ok bool
			if fields, ok = splitFields(line, d, fields); !ok {
				c.err = &datafile.RowError{File: name, Row: row, Msg: "unbalanced quotes (a quoted field must end on the same line)", Err: datafile.ErrCorrupt}
				return false
			}
			if len(fields) != nCols || len(fields) <= maxIdx {
				what := "the header has"
				if sp.m.NoHeader {
					what = "the first row has"
				}
				msg := fmt.Sprintf("row has %d fields but %s %d", len(fields), what, nCols)
				if len(fields) == nCols {
					msg = fmt.Sprintf("row has %d fields but the column mapping reads column %d", len(fields), maxIdx+1)
				}
				if len(fields) == 1 && d != ',' && bytes.IndexByte(line, ',') >= 0 || len(fields) == 1 && d == ',' && bytes.ContainsAny(line, ";\t|") {
					msg += " (wrong delimiter?)"
				}
				c.err = &datafile.RowError{File: name, Row: row, Msg: msg}
				return false
			}
			if sp.null && isNullRow(fields, &idx) {
				c.recs = append(c.recs, rec{row: row, kind: recNull})
				return true
			}
			tb := trimField(fields[idx[roleTime]])
			t, problem := tfmt.parse(tb)
			if problem != "" {
				c.err = colErr(row, roleTime, problem)
				return false
			}
			var v [numRoles]float64
			for role := roleOpen; role < numRoles; role++ {
				j := idx[role]
				if j < 0 {
					continue
				}
				fb := trimField(fields[j])
				x, ok := parseFloat(fb)
				if !ok {
					c.err = colErr(row, role, numProblem(fb))
					return false
				}
				v[role] = x
			}
			if sp.adj != "" {
				cl, a := v[roleClose], v[roleAdj]
				if !(cl > 0 && cl <= math.MaxFloat64) {
					c.err = candleError(name, row, datafile.Candles, v[roleOpen], v[roleHigh], v[roleLow], cl, v[roleVolume])
					return false
				}
				if !(a > 0 && a <= math.MaxFloat64) {
					c.err = colErr(row, roleAdj, fmt.Sprintf("adjusted close %s is not a positive price", strconv.FormatFloat(a, 'g', -1, 64)))
					return false
				}
				k := a / cl
				v[roleOpen], v[roleHigh], v[roleLow], v[roleClose] = v[roleOpen]*k, v[roleHigh]*k, v[roleLow]*k, cl*k
			}
			c.recs = append(c.recs, rec{t: t, o: v[roleOpen], h: v[roleHigh], l: v[roleLow], c: v[roleClose], v: v[roleVolume], row: row})
			return true
		})
	}

	// consume checks records in file order and adds them to the frame.
	var sk skips
	blank, lastRow := 0, 0
	consume := func(c *chunk) error {
		for i := range c.recs {
			r := &c.recs[i]
			if r.kind == recBlank {
				blank++
				if blank == 1 {
					sk.pend("blank line", where(name, r.row))
				}
				continue
			}
			if blank > 0 {
				sk.flush(blank)
				blank = 0
			}
			lastRow = r.row
			if r.kind == recNull {
				sk.add("null values (no prices for this date)", where(name, r.row))
				continue
			}
			if err := b.add(name, r.row, colName[roleTime], r.t, r.o, r.h, r.l, r.c, r.v); err != nil {
				return err
			}
		}
		return nil
	}

	row0 := 0
	if sp.m.NoHeader {
		row0 = lead + 1
		c := &chunk{data: first, row0: lead, lines: 1}
		parse(c)
		if err := consume(c); err != nil {
			return nil, err
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	if err, readErr := run(lr, row0, parse, consume); err != nil {
		return nil, err
	} else if readErr != nil {
		return nil, &datafile.RowError{File: name, Msg: "cannot read (truncated or damaged file?): " + readErr.Error(), Err: fmt.Errorf("%w: %w", datafile.ErrCorrupt, readErr)}
	}
	if sp.m.NoHeader {
		lastRow -= lead
	}
	return b.finish(name, opt.Pair, format, lastRow, sk)
}

// sizeOf returns the size of r when it can tell (0 otherwise).
func sizeOf(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Size() int64 }:
		return r.Size()
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := r.Stat(); err == nil {
			return st.Size()
		}
	}
	return 0
}

// isNullRow reports whether a read column holds "null" (Yahoo's marker for
// a date without prices).
func isNullRow(fields [][]byte, idx *[numRoles]int) bool {
	for _, j := range idx {
		if j >= 0 && bytes.EqualFold(trimField(fields[j]), []byte("null")) {
			return true
		}
	}
	return false
}
