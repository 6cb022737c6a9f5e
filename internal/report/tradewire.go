package report

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// The trade list travels to the page's script compactly, column by
// column: per column one encoding of its shown texts and one of its
// values (null when they are the texts), and one of the rows' tones. The
// script (expandTrades in script.js) rebuilds the rows of the trade list
// from it: per column the text shown and the value (what sorting and the
// CSV use; "" when there is none), then the row's profit tone. An
// encoding is an object with one of:
//
//	{"seq": 1}                         "1", "2", ... (the trade numbers)
//	{"dict": [s...], "idx": [i...]}    row r is dict[idx[r]]; without idx
//	                                   every row is dict[0]
//	{"list": [s...]}                   row r is list[r]
//	{"num": [x...]}                    row r is the number x[r] as Go's
//	                                   strconv 'g' writes it, "" for null
//	                                   (whole numbers: durations)
//	{"f64": b}                         row r is the number in bytes 8r to
//	                                   8r+8 of b (base64) as a little-endian
//	                                   IEEE 754 double, as Go's strconv 'g'
//	                                   writes it, "" for NaN: every digit in
//	                                   8 bytes, nothing to format here
//	{"time": t0, "step": u, "at": [k...], "as": f, "none": s}
//	                                   row r is the time t0 + (at[0] + ...
//	                                   + at[r])·u (Unix ms, nulls left out
//	                                   of the sum) as f, "minute"
//	                                   (2006-01-02 15:04) or "iso"
//	                                   (2006-01-02T15:04:05.999Z); s where
//	                                   at[r] is null
//	{"as": f, "none": s}               the times of the column's other
//	                                   encoding as f, s where it has none
//	{"fmt": k, "fix": {r: s}, "none": s, "of": c}
//	                                   row r formatted from the value of
//	                                   column c (this column's without
//	                                   "of") as format k says (tradeFormat),
//	                                   fix[r] where given (numbers the
//	                                   script's toFixed would round
//	                                   otherwise than Go, or not finite),
//	                                   none where the value is ""
//
// The texts of numbers are not sent: the script formats them from the
// values, which carry every digit. Nothing is compressed: in binary the
// numbers, most of the list, leave little to pack (19,484 trades, five
// number columns: 1.04 MB of base64 against 1.41 MB of gzipped digits
// in base64), and neither side formats or packs them.

// tradeList is the trade list of a report: its columns and the JSON the
// page's script reads.
//
// The JSON goes into the page's trade-data script element (of type
// application/json) as it is, written by WriteHTML straight into its
// writer (writeJSON); the script (expandTrades in script.js) parses it.
// Its strings are written as encoding/json writes them for HTML (<, > and
// & escaped), so no "</script" can appear; base64 needs no escaping.
type tradeList struct {
	Cols []tradeCol
	N    int
	// What writeJSON writes: the CSV file's name, the columns, the tones
	// and the column whose values they are of.
	file   string
	enc    []wireColumn
	tones  []byte
	absCol int
}

// tradeCol is one column of the trade list.
type tradeCol struct {
	Head string `json:"head"`
	CSV  string `json:"csv"`            // CSV header, Freqtrade's field name where it has one
	Num  bool   `json:"num"`            // sort numerically
	Kind string `json:"kind,omitempty"` // "key", "side", "tone" or "txt": how the cell is styled
}

// tradeFormat is how the script formats a number column's texts, each as
// the Go function named: "price" price, "grouped2" grouped(x, 2), "lev"
// fixed(x, 1)+"×", "pct" pctSigned(x, 2), "auto" signedGrouped(x,
// autoDec(x)), "dur" shortDuration, "tone" tone.
type tradeFormat string

// goText is the text Go shows for x in format f.
func (f tradeFormat) goText(x float64) string {
	switch f {
	case "price":
		return price(x)
	case "grouped2":
		return grouped(x, 2)
	case "lev":
		return fixed(x, 1) + "×"
	case "pct":
		return pctSigned(x, 2)
	case "auto":
		return signedGrouped(x, autoDec(x))
	case "dur":
		return shortDuration(x)
	}
	return tone(x)
}

// scriptExact is the test whether the script's toFixed formats x as Go
// does in format f: for finite numbers below 1e21 whose rounding is not
// an exact tie (Go rounds those to even, toFixed away from zero). Made
// once a column: a column's numbers are many; nil when the script formats
// every number as Go does.
func (f tradeFormat) scriptExact() func(x float64) bool {
	switch f {
	case "price":
		return func(x float64) bool {
			switch a := math.Abs(x); {
			case !isFinite(x):
				return false
			case a == 0:
				return true
			case a >= 1000:
				return noTie(x, 2)
			case a >= 10:
				return noTie(x, 3)
			case a >= 1:
				return noTie(x, 4)
			case a >= 0.01:
				return noTie(x, 6)
			}
			return noTie(x, 8)
		}
	case "grouped2":
		return func(x float64) bool { return isFinite(x) && noTie(x, 2) }
	case "lev":
		return func(x float64) bool { return isFinite(x) && noTie(x, 1) }
	case "pct":
		return func(x float64) bool { return isFinite(x) && noTie(x*100, 2) }
	case "auto":
		return func(x float64) bool { return isFinite(x) && noTie(x, autoDec(x)) }
	case "tone":
		return nil // every number
	}
	return isFinite
}

// noTie reports whether the finite x, below 1e21, is not an exact tie
// when rounded to dec (at most 8) decimals.
func noTie(x float64, dec int) bool {
	if math.Abs(x) >= 1e21 {
		return false
	}
	// A tie: x is an odd multiple of 2^-(dec+1), so its decimal expansion
	// ends in a 5 right after the last decimal shown. Scaled by a power of
	// two, exactly.
	y := x * float64(uint64(1)<<(dec+1))
	return y != math.Trunc(y) || y/2 == math.Trunc(y/2)
}

// tradeListOf builds the trade list; the leverage and enter tag columns
// only when a trade is leveraged or tagged. nil without trades.
func tradeListOf(res *result.Result, stake string) *tradeList {
	n := len(res.Trades)
	if n == 0 {
		return nil
	}
	var showLev, showTags bool
	for i := range res.Trades {
		t := &res.Trades[i]
		if t.Leverage != 0 && t.Leverage != 1 {
			showLev = true
		}
		if t.EnterTag != "" {
			showTags = true
		}
	}
	profitHead := "Profit"
	if stake != "" {
		profitHead += " " + stake
	}
	l := &tradeList{N: n, Cols: []tradeCol{
		{"#", "n", true, ""}, {"Pair", "pair", false, "key"}, {"Side", "side", false, "side"},
		{"Open", "open_date", false, ""}, {"Close", "close_date", false, ""}, {"Duration", "trade_duration", true, ""},
		{"Open rate", "open_rate", true, ""}, {"Close rate", "close_rate", true, ""}, {"Stake", "stake_amount", true, ""},
	}}
	if showLev {
		l.Cols = append(l.Cols, tradeCol{"Lev.", "leverage", true, ""})
	}
	l.Cols = append(l.Cols, tradeCol{"Profit", "profit_ratio", true, "tone"}, tradeCol{profitHead, "profit_abs", true, "tone"},
		tradeCol{"Exit reason", "exit_reason", false, "txt"})
	if showTags {
		l.Cols = append(l.Cols, tradeCol{"Enter tag", "enter_tag", false, "txt"})
	}
	ts := res.Trades
	texts := func(at func(i int) string) []byte { return appendDictOf(nil, n, at) }
	// A column's texts and numbers are read through one call a trade.
	nums := func(f func(t *trade.Trade) float64) func(i int) float64 {
		return func(i int) float64 { return f(&ts[i]) }
	}
	closed := func(t *trade.Trade) bool { return t.CloseTime != 0 }
	all := func(*trade.Trade) bool { return true }
	// The columns are encoded side by side, each on its own goroutine.
	var cols []func() wireColumn
	add := func(enc func() wireColumn) { cols = append(cols, enc) }
	plain := func(enc func() []byte) func() wireColumn {
		return func() wireColumn { return wireColumn{text: enc()} }
	}
	add(plain(func() []byte { return []byte(`{"seq":1}`) }))
	add(plain(func() []byte { return texts(func(i int) string { return ts[i].Pair }) }))
	add(plain(func() []byte {
		return texts(func(i int) string {
			if ts[i].IsShort {
				return "short"
			}
			return "long"
		})
	}))
	add(func() wireColumn {
		text, value := timeColumn(res.Trades, func(t *trade.Trade) int64 { return t.OpenTime }, all, "", "")
		return wireColumn{text: text, value: value}
	})
	add(func() wireColumn {
		text, value := timeColumn(res.Trades, func(t *trade.Trade) int64 { return t.CloseTime }, closed, "open", "")
		return wireColumn{text: text, value: value}
	})
	add(func() wireColumn {
		return numColumn(n, nums(func(t *trade.Trade) float64 {
			if closed(t) {
				return float64(t.DurationMinutes())
			}
			return math.NaN()
		}), "dur", "–")
	})
	add(func() wireColumn {
		return numColumn(n, func(i int) float64 { return ts[i].OpenRate }, "price", "")
	})
	add(func() wireColumn {
		return numColumn(n, func(i int) float64 { return ts[i].CloseRate }, "price", "")
	})
	add(func() wireColumn {
		return numColumn(n, func(i int) float64 { return ts[i].Stake }, "grouped2", "")
	})
	if showLev {
		add(func() wireColumn {
			return numColumn(n, nums(func(t *trade.Trade) float64 {
				if t.Leverage == 0 {
					return 1
				}
				return t.Leverage
			}), "lev", "")
		})
	}
	add(func() wireColumn {
		return numColumn(n, func(i int) float64 { return ts[i].ProfitRatio }, "pct", "")
	})
	abs := func(i int) float64 { return ts[i].ProfitAbs }
	absCol := len(cols)
	add(func() wireColumn { return numColumn(n, abs, "auto", "") })
	var tones []byte
	add(plain(func() []byte {
		tones = appendFormat(nil, "tone", n, abs, "")
		return texts(func(i int) string {
			if t := &ts[i]; closed(t) {
				return string(t.ExitReason)
			}
			return "open"
		})
	}))
	if showTags {
		add(plain(func() []byte { return texts(func(i int) string { return ts[i].EnterTag }) }))
	}
	enc := make([]wireColumn, len(cols))
	var wg sync.WaitGroup
	for c, f := range cols {
		wg.Go(func() { enc[c] = f() })
	}
	wg.Wait()
	l.file, l.enc, l.tones, l.absCol = csvFileName(res.Strategy), enc, tones, absCol
	return l
}

// writeJSON writes the list's JSON into w, through a buffer of its own,
// the numbers encoded on the way.
func (l *tradeList) writeJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	head, _ := json.Marshal(l.Cols) // plain strings and booleans: cannot fail
	b := make([]byte, 0, 256)
	b = append(b, `{"file":`...)
	b = appendJSONString(b, true, l.file)
	b = append(b, `,"cols":`...)
	b = append(b, head...)
	b = strconv.AppendInt(append(b, `,"n":`...), int64(l.N), 10)
	b = append(b, `,"text":[`...)
	_, _ = bw.Write(b) // a bufio.Writer keeps its first error for Flush
	for c, e := range l.enc {
		if c > 0 {
			_ = bw.WriteByte(',')
		}
		_, _ = bw.Write(e.text)
	}
	_, _ = bw.WriteString(`],"value":[`)
	for c, e := range l.enc {
		if c > 0 {
			_ = bw.WriteByte(',')
		}
		e.writeValue(bw)
	}
	_, _ = bw.WriteString(`],"tone":`)
	_, _ = bw.Write(l.tones[:len(l.tones)-1])
	b = strconv.AppendInt(append(b[:0], `,"of":`...), int64(l.absCol), 10)
	_, _ = bw.Write(append(b, "}}"...))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write the trade list: %w", err)
	}
	return nil
}

// wireColumn is one column of the trade list's wire: the encoding of its
// texts, and of its values: value, or (f64 set) the f64 encoding of
// f64(0), ..., f64(n-1), or (both nil) null.
type wireColumn struct {
	text, value []byte
	n           int
	f64         func(i int) float64
}

// writeValue writes the encoding of the column's values into b.
func (c *wireColumn) writeValue(b *bufio.Writer) {
	switch {
	case c.f64 != nil:
		_, _ = b.WriteString(`{"f64":"`)
		writeFloat64s(b, c.n, c.f64)
		_, _ = b.WriteString(`"}`)
	case c.value != nil:
		_, _ = b.Write(c.value)
	default:
		_, _ = b.WriteString("null")
	}
}

// writeFloat64s writes at(0), ..., at(n-1) into b as little-endian
// doubles in base64 (those not finite as NaN, which the script reads as
// no value), three at a time (24 bytes, 32 characters: base64 of the
// whole is that of its pieces).
func writeFloat64s(b *bufio.Writer, n int, at func(i int) float64) {
	var raw [24]byte
	var out [32]byte
	for i := 0; i < n; i += 3 {
		k := min(n-i, 3)
		for j := range k {
			x := at(i + j)
			if !isFinite(x) {
				x = math.NaN()
			}
			binary.LittleEndian.PutUint64(raw[8*j:], math.Float64bits(x))
		}
		base64.StdEncoding.Encode(out[:], raw[:8*k])
		_, _ = b.Write(out[:base64.StdEncoding.EncodedLen(8*k)])
	}
}

// numColumn encodes a number column of n rows (at least one), at(i) the
// value of row i (with every digit; NaN for none): its values as their
// text when they are all the same, as JSON numbers when they are whole
// (durations), as a dict of their texts when there are few, else in
// binary; and its texts in format f (none where there is no value).
func numColumn(n int, at func(i int) float64, f tradeFormat, none string) wireColumn {
	col := wireColumn{text: appendFormat(nil, f, n, at, none)}
	same, whole := true, true
	first := math.Float64bits(at(0))
	for i := range n {
		x := at(i)
		same = same && math.Float64bits(x) == first
		whole = whole && (!isFinite(x) || x == math.Trunc(x) && math.Abs(x) <= 1<<53 && !(x == 0 && math.Signbit(x)))
	}
	switch {
	case same:
		col.value = appendStrings([]byte(`{"dict":`), []string{rawNum(at(0))}, "}")
		return col
	case whole:
		v := append(make([]byte, 0, 4*n+16), `{"num":[`...)
		for i := range n {
			if i > 0 {
				v = append(v, ',')
			}
			if x := at(i); !isFinite(x) {
				v = append(v, "null"...)
			} else {
				v = strconv.AppendInt(v, int64(x), 10)
			}
		}
		col.value = append(v, "]}"...)
		return col
	}
	if texts, ok := fewValues(n, at); ok {
		last, lastText := ^uint64(0), ""
		col.value = appendDictOf(nil, n, func(i int) string {
			if k := math.Float64bits(at(i)); k != last {
				last, lastText = k, texts[k]
			}
			return lastText
		})
		return col
	}
	col.n, col.f64 = n, at
	return col
}

// maxDictNumbers is how many different values a number column may have
// to be sent as a dict of its values.
const maxDictNumbers = 64

// fewValues is the texts (rawNum) of the values at(0), ..., at(n-1) by
// their bits, when there are at most maxDictNumbers different ones.
func fewValues(n int, at func(i int) float64) (map[uint64]string, bool) {
	seen := make(map[uint64]string, maxDictNumbers)
	last := ^uint64(0) // a NaN, whose text ("") the lookup of a skipped first value gives anyway
	for i := range n {
		x := at(i)
		k := math.Float64bits(x)
		if k == last {
			continue
		}
		last = k
		if _, ok := seen[k]; !ok {
			if len(seen) == maxDictNumbers {
				return nil, false
			}
			seen[k] = rawNum(x)
		}
	}
	return seen, true
}

// appendFormat appends the encoding {"fmt": f, ...} of the texts of xs.
func appendFormat(b []byte, f tradeFormat, n int, at func(i int) float64, none string) []byte {
	b = append(b, `{"fmt":"`...)
	b = append(b, f...)
	b = append(b, '"')
	if none != "" {
		b = append(b, `,"none":`...)
		b = appendJSONString(b, true, none)
	}
	fixes := 0
	exact := f.scriptExact()
	if exact == nil {
		n = 0 // no fixes
	}
	for i := range n {
		x := at(i)
		if exact(x) || none != "" && math.IsNaN(x) {
			continue
		}
		if fixes == 0 {
			b = append(b, `,"fix":{`...)
		} else {
			b = append(b, ',')
		}
		fixes++
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":`...)
		b = appendJSONString(b, true, f.goText(x))
	}
	if fixes > 0 {
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendDictOf appends the dict encoding of the n texts at(0), ...,
// at(n-1), or their list encoding when they are many different ones.
func appendDictOf(b []byte, n int, at func(i int) string) []byte {
	index := map[string]int{}
	var dict []string
	last := ""
	for i := range n {
		v := at(i)
		if i > 0 && v == last {
			continue
		}
		last = v
		if _, ok := index[v]; ok {
			continue
		}
		if 3*len(dict) > n {
			b = append(b, `{"list":[`...)
			for i := range n {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, true, at(i))
			}
			return append(b, "]}"...)
		}
		index[v] = len(dict)
		dict = append(dict, v)
	}
	b = appendStrings(append(b, `{"dict":`...), dict, "")
	if len(dict) > 1 {
		b = slices.Grow(append(b, `,"idx":[`...), n*(len(strconv.Itoa(len(dict)-1))+1))
		k := 0
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			if v := at(i); i == 0 || v != last {
				k, last = index[v], v
			}
			b = strconv.AppendInt(b, int64(k), 10)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendStrings(b []byte, s []string, end string) []byte {
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, true, v)
	}
	return append(append(b, ']'), end...)
}

// timeColumn encodes a time column: texts to the minute, values in ISO
// form; none (the text) and noneV (the value) where has is false. The
// times are sent once: with the texts when they are all on the minute,
// else with the values.
func timeColumn(ts []trade.Trade, at func(*trade.Trade) int64, has func(*trade.Trade) bool, none, noneV string) (text, value []byte) {
	var t0 int64
	found := false
	for i := range ts {
		if t := &ts[i]; has(t) {
			ms := at(t)
			if !found || ms < t0 {
				t0, found = ms, true
			}
		}
	}
	if !found {
		return appendStrings([]byte(`{"dict":`), []string{none}, "}"), appendStrings([]byte(`{"dict":`), []string{noneV}, "}")
	}
	// The largest of a minute, a second and a millisecond that every time
	// is a whole number of from the first.
	step := int64(60_000)
	for i := range ts {
		if t := &ts[i]; has(t) {
			for step > 1 && (at(t)-t0)%step != 0 {
				if step == 60_000 {
					step = 1000
				} else {
					step = 1
				}
			}
		}
	}
	onMinute := step == 60_000 && t0%60_000 == 0
	// About 3 digits a time in minutes, 5 in seconds, 8 in milliseconds.
	per := map[int64]int{60_000: 4, 1000: 6}[step]
	if per == 0 {
		per = 9
	}
	times := make([]byte, 0, per*len(ts)+64)
	times = append(times, `{"time":`...)
	times = strconv.AppendInt(times, t0, 10)
	times = append(times, `,"step":`...)
	times = strconv.AppendInt(times, step, 10)
	times = append(times, `,"at":[`...)
	prev := t0
	for i := range ts {
		if i > 0 {
			times = append(times, ',')
		}
		t := &ts[i]
		if !has(t) {
			times = append(times, "null"...)
			continue
		}
		times = strconv.AppendInt(times, (at(t)-prev)/step, 10)
		prev = at(t)
	}
	times = append(times, ']')
	tail := func(b []byte, as, none string, withNone bool) []byte {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, `"as":"`+as+`"`...)
		if withNone {
			b = append(b, `,"none":`...)
			b = appendJSONString(b, true, none)
		}
		return append(b, '}')
	}
	someNone := false
	for i := range ts {
		someNone = someNone || !has(&ts[i])
	}
	if onMinute {
		return tail(times, "minute", none, someNone), tail([]byte("{"), "iso", noneV, someNone)
	}
	return tail([]byte("{"), "minute", none, someNone), tail(times, "iso", noneV, someNone)
}

// chartMarks are the trades on one price chart, for the page's script,
// written column by column (marksWire) as they are added, without a text
// per price kept. The script (expandMarks in script.js) rebuilds for each
// trade its markers' places ("in", "out"), the x where its levels end
// ("end": at its close, the chart's end while open, at least minTradeSpan
// after its entry), its levels' places ("sl0", "sl", "liq" and "roi", as
// [x from, x to, y] per level, the ROI table's steps from and to the
// trade's age) and the note naming their prices, from the trade list's
// times and rates and the chart's mapping.
type chartMarks struct {
	dn, sl0, sl, liq, roi []byte // each column's elements, the absent ones as null
	some                  struct{ sl0, sl, liq, roi bool }
	last                  int // the number of the trade added last
}

// marksWire is chartMarks column by column: DN the differences between
// successive trade numbers (the first from 0), Span minTradeSpan, ROIMin
// the ROI table's minutes, and a null in Stop0, Stop, Liq or ROI for a
// trade without one (its price as the report shows it, see price); a
// column without any value is left out.
type marksWire struct {
	DN     []int       `json:"dn"`
	Span   float64     `json:"span"`
	ROIMin []int64     `json:"roiMin,omitempty"`
	Stop0  []*string   `json:"sl0,omitempty"`
	Stop   []*string   `json:"sl,omitempty"`
	Liq    []*string   `json:"liq,omitempty"`
	ROI    [][]*string `json:"roi,omitempty"`
}

// newChartMarks returns chartMarks with room for n trades (as a zero
// chartMarks, which grows as trades are added).
func newChartMarks(n int) *chartMarks {
	// The texts of a trade: its number's difference, a price or a null
	// in each column, most often null for the moved stop and the
	// liquidation, and up to a few levels.
	return &chartMarks{dn: make([]byte, 0, 6*n), sl0: make([]byte, 0, 16*n), sl: make([]byte, 0, 6*n),
		liq: make([]byte, 0, 6*n), roi: make([]byte, 0, 40*n)}
}

// add adds the marks of the trade numbered n (from 1, each after the
// last): stop0 the stop set at entry, stop the final stop when it moved,
// liq the liquidation price (each 0 for none), and its take-profit levels
// (ascending steps of the ROI table; a step without one is a null).
func (c *chartMarks) add(n int, stop0, stop, liq float64, levels []ROILevel) {
	comma := func(b []byte) []byte {
		if len(c.dn) > 0 {
			b = append(b, ',')
		}
		return b
	}
	text := func(b []byte, x float64) []byte { return append(appendPrice(append(b, '"'), x), '"') }
	col := func(b []byte, x float64, some *bool) []byte {
		b = comma(b)
		if x == 0 {
			return append(b, "null"...)
		}
		*some = true
		return text(b, x)
	}
	c.sl0 = col(c.sl0, stop0, &c.some.sl0)
	c.sl = col(c.sl, stop, &c.some.sl)
	c.liq = col(c.liq, liq, &c.some.liq)
	c.roi = comma(c.roi)
	if len(levels) == 0 {
		c.roi = append(c.roi, "null"...)
	} else {
		c.some.roi = true
		c.roi = append(c.roi, '[')
		step := 0 // the step written next
		for _, lv := range levels {
			for ; step <= lv.Step; step++ {
				if step > 0 {
					c.roi = append(c.roi, ',')
				}
				if step < lv.Step {
					c.roi = append(c.roi, "null"...)
				} else {
					c.roi = text(c.roi, lv.Price)
				}
			}
		}
		c.roi = append(c.roi, ']')
	}
	c.dn = strconv.AppendInt(comma(c.dn), int64(n-c.last), 10)
	c.last = n
}

// json returns the marks as a marksWire, as encoding/json would write it;
// roi is the ROI table their levels come from.
func (c *chartMarks) json(roi sdk.ROITable) string {
	var b strings.Builder
	b.Grow(64 + len(c.dn) + len(c.sl0) + len(c.sl) + len(c.liq) + len(c.roi) + 16*len(roi))
	b.WriteString(`{"dn":[`)
	b.Write(c.dn)
	b.WriteString(`],"span":`)
	b.Write(appendJSONFloat(nil, minTradeSpan))
	if c.some.roi && len(roi) > 0 {
		b.WriteString(`,"roiMin":[`)
		for i, s := range roi {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(s.Minutes, 10))
		}
		b.WriteByte(']')
	}
	for _, col := range [...]struct {
		name string
		some bool
		text []byte
	}{{"sl0", c.some.sl0, c.sl0}, {"sl", c.some.sl, c.sl}, {"liq", c.some.liq, c.liq}, {"roi", c.some.roi, c.roi}} {
		if col.some {
			b.WriteString(`,"` + col.name + `":[`)
			b.Write(col.text)
			b.WriteByte(']')
		}
	}
	b.WriteByte('}')
	return b.String()
}

// embedJSON puts JSON that encoding/json wrote (or that was written as
// it writes it, as marksJSON's) into a script element of type
// application/json as it is: in strings, encoding/json escapes <, >
// and & (so no "</script" can appear) and U+2028 and U+2029, which is what
// the template's own escaper would ensure by encoding the value a second
// time.
func embedJSON(s string) template.JS {
	return template.JS(s) //nolint:gosec // safe as explained above
}
