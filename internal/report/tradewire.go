package report

import (
	"encoding/json"
	"errors"
	"html/template"
	"strconv"
	"time"
)

// The trade list travels to the page's script compactly, column by
// column: one encoding of each column's shown texts, one of its values
// (null when they are the texts), one of the rows' tones. The script
// (expandTrades in script.js) rebuilds tradeTable.Rows from it exactly. An
// encoding is an object with one of:
//
//	{"seq": 1}                         "1", "2", ... (the trade numbers)
//	{"dict": [s...], "idx": [i...]}    row r is dict[idx[r]]; without idx
//	                                   every row is dict[0]
//	{"list": [s...]}                   row r is list[r]
//	{"time": t0, "step": u, "at": [k...], "as": f, "none": s}
//	                                   row r is the time t0 + (at[0] + ...
//	                                   + at[r])·u (Unix ms, nulls left out
//	                                   of the sum) as f, "minute"
//	                                   (2006-01-02 15:04) or "iso"
//	                                   (2006-01-02T15:04:05.999Z); s where
//	                                   at[r] is null
//	{"as": f, "none": s}               a value column only: the text
//	                                   column's times as f, s where none
type tradeWire struct {
	File  string     `json:"file"`
	Cols  []tradeCol `json:"cols"`
	N     int        `json:"n"`
	Text  []wireEnc  `json:"text"`
	Value []*wireEnc `json:"value"`
	Tone  wireEnc    `json:"tone"`
}

// wireEnc is one column's encoding; exactly one form is set.
type wireEnc struct {
	Seq  int      `json:"seq,omitempty"`
	Dict []string `json:"dict,omitempty"`
	Idx  []int    `json:"idx,omitempty"`
	List []string `json:"list,omitempty"`
	Time *int64   `json:"time,omitempty"`
	Step int64    `json:"step,omitempty"`
	At   []*int64 `json:"at,omitempty"`
	As   string   `json:"as,omitempty"`
	None *string  `json:"none,omitempty"`
}

// MarshalJSON writes t in its compact form (see tradeWire).
func (t *tradeTable) MarshalJSON() ([]byte, error) {
	w := tradeWire{File: t.File, Cols: t.Cols, N: len(t.Rows)}
	column := func(k int) []string {
		out := make([]string, len(t.Rows))
		for r, row := range t.Rows {
			out[r] = row[k]
		}
		return out
	}
	for c := range t.Cols {
		text, value := column(2*c), column(2*c+1)
		w.Text = append(w.Text, encodeStrings(text))
		te := w.Text[len(w.Text)-1]
		switch {
		case equalStrings(text, value):
			w.Value = append(w.Value, nil)
		case te.Time != nil && isoOfTimes(te, value):
			w.Value = append(w.Value, &wireEnc{As: "iso", None: noneOf(te, value)})
		default:
			e := encodeStrings(value)
			w.Value = append(w.Value, &e)
		}
	}
	if len(t.Cols) > 0 {
		w.Tone = encodeStrings(column(2 * len(t.Cols)))
	}
	return json.Marshal(w)
}

// isoOfTimes reports whether value is, row by row, the time of the time
// encoding te in ISO form, and one text where te has none.
func isoOfTimes(te wireEnc, value []string) bool {
	t := *te.Time
	none := noneOf(te, value)
	for i, k := range te.At {
		if k == nil {
			if value[i] != *none {
				return false
			}
			continue
		}
		t += *k * te.Step
		if value[i] != isoTime(t) {
			return false
		}
	}
	return true
}

// noneOf is the value of the first row without a time in te (nil when all
// have one).
func noneOf(te wireEnc, value []string) *string {
	for i, k := range te.At {
		if k == nil {
			return &value[i]
		}
	}
	return nil
}

func equalStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// encodeStrings picks the smallest encoding of s that rebuilds it exactly.
func encodeStrings(s []string) wireEnc {
	seq := true
	for i, v := range s {
		if v != strconv.Itoa(i+1) {
			seq = false
			break
		}
	}
	if seq {
		return wireEnc{Seq: 1}
	}
	for _, as := range []string{"minute", "iso"} {
		if e, ok := encodeTimes(s, as); ok {
			return e
		}
	}
	index := map[string]int{}
	var dict []string
	idx := make([]int, len(s))
	for i, v := range s {
		k, ok := index[v]
		if !ok {
			if 3*len(dict) > len(s) {
				return wireEnc{List: s}
			}
			k = len(dict)
			index[v] = k
			dict = append(dict, v)
		}
		idx[i] = k
	}
	if len(dict) == 1 {
		idx = nil
	}
	return wireEnc{Dict: dict, Idx: idx}
}

// encodeTimes encodes s as times formatted as, when every value but one
// repeated text (the none) is one: as whole steps from the first time.
func encodeTimes(s []string, as string) (wireEnc, bool) {
	format := func(ms int64) string { return dateMinute(ms) }
	layout := "2006-01-02 15:04"
	if as == "iso" {
		format, layout = isoTime, time.RFC3339Nano
	}
	ms := make([]int64, len(s))
	var none *string
	var t0 int64
	have := false
	for i, v := range s {
		t, err := parseTime(layout, v)
		if err != nil || format(t.UnixMilli()) != v {
			if none == nil {
				none = &s[i]
			}
			if v != *none {
				return wireEnc{}, false
			}
			ms[i] = -1
			continue
		}
		ms[i] = t.UnixMilli()
		if !have || ms[i] < t0 {
			t0, have = ms[i], true
		}
	}
	if !have {
		return wireEnc{}, false
	}
	// The largest of a minute, a second and a millisecond that every time
	// is a whole number of from the first.
	step := int64(60_000)
	for i, m := range ms {
		if none != nil && s[i] == *none {
			continue
		}
		for step > 1 && (m-t0)%step != 0 {
			if step == 60_000 {
				step = 1000
			} else {
				step = 1
			}
		}
	}
	at, ks := make([]*int64, len(s)), make([]int64, len(s))
	prev := t0
	for i, m := range ms {
		if none != nil && s[i] == *none {
			continue
		}
		ks[i] = (m - prev) / step
		at[i], prev = &ks[i], m
	}
	return wireEnc{Time: &t0, Step: step, At: at, As: as, None: none}, true
}

// chartMarks are the trades on one price chart, for the page's script.
// They travel column by column (see marksWire) and the script
// (expandMarks in script.js) rebuilds the list of chartTrade objects.
type chartMarks []chartTrade

// marksWire is chartMarks column by column: DN the differences between
// successive trade numbers (the first from 0), In and Out two numbers per
// trade (Out null, null for an open trade), ROI a flat list of the levels'
// triples per trade (null for none), and a null in Stop0, Stop, Liq or
// Note for a trade without one; a column without any value is left out.
type marksWire struct {
	DN    []int       `json:"dn"`
	In    []float64   `json:"in"`
	Out   []*float64  `json:"out,omitempty"`
	End   []float64   `json:"end"`
	Stop0 []*float64  `json:"sl0,omitempty"`
	Stop  []*float64  `json:"sl,omitempty"`
	Liq   []*float64  `json:"liq,omitempty"`
	ROI   [][]float64 `json:"roi,omitempty"`
	Note  []*string   `json:"note,omitempty"`
}

// MarshalJSON writes m as a marksWire.
func (m chartMarks) MarshalJSON() ([]byte, error) {
	w := marksWire{DN: make([]int, len(m)), In: make([]float64, 0, 2*len(m)), End: make([]float64, len(m))}
	var some struct{ out, sl0, sl, liq, roi, note bool }
	prev := 0
	for _, c := range m {
		some.out = some.out || c.Out != nil
		some.sl0, some.sl, some.liq = some.sl0 || c.Stop0 != nil, some.sl || c.Stop != nil, some.liq || c.Liq != nil
		some.roi, some.note = some.roi || len(c.ROI) > 0, some.note || c.Note != ""
	}
	for i := range m {
		c := &m[i]
		w.DN[i], prev = c.N-prev, c.N
		w.In = append(w.In, c.In[0], c.In[1])
		w.End[i] = c.End
		if some.out {
			if c.Out != nil {
				w.Out = append(w.Out, &c.Out[0], &c.Out[1])
			} else {
				w.Out = append(w.Out, nil, nil)
			}
		}
		if some.sl0 {
			w.Stop0 = append(w.Stop0, c.Stop0)
		}
		if some.sl {
			w.Stop = append(w.Stop, c.Stop)
		}
		if some.liq {
			w.Liq = append(w.Liq, c.Liq)
		}
		if some.roi {
			var flat []float64
			for _, r := range c.ROI {
				flat = append(flat, r[:]...)
			}
			w.ROI = append(w.ROI, flat)
		}
		if some.note {
			var note *string
			if c.Note != "" {
				note = &c.Note
			}
			w.Note = append(w.Note, note)
		}
	}
	return json.Marshal(w)
}

// parseTime is time.Parse, with a quick answer for the minute layout's
// texts of encodeTimes (and for texts that cannot be times at all).
func parseTime(layout, v string) (time.Time, error) {
	if len(v) < 16 || v[4] != '-' || v[7] != '-' {
		return time.Time{}, errNotTime
	}
	if layout == "2006-01-02 15:04" && len(v) == 16 && v[10] == ' ' && v[13] == ':' {
		var n [5]int
		for j, at := range [5][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}} {
			for _, c := range v[at[0]:at[1]] {
				if c < '0' || c > '9' {
					return time.Time{}, errNotTime
				}
				n[j] = 10*n[j] + int(c-'0')
			}
		}
		// A day or hour out of range comes back formatted otherwise: the
		// caller compares.
		return time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], 0, 0, time.UTC), nil
	}
	return time.Parse(layout, v)
}

var errNotTime = errors.New("not a time")

// Embed is t's compact JSON, for the page's trade-data script element.
func (t *tradeTable) Embed() (template.JS, error) {
	b, err := t.MarshalJSON()
	return embedJSON(b), err
}

// Embed is m's compact JSON, for its chart's pair-marks script element.
func (m chartMarks) Embed() (template.JS, error) {
	b, err := m.MarshalJSON()
	return embedJSON(b), err
}

// embedJSON puts JSON that encoding/json wrote into a script element of
// type application/json as it is: in strings, encoding/json escapes <, >
// and & (so no "</script" can appear) and U+2028 and U+2029, which is what
// the template's own escaper would ensure by encoding the value a second
// time.
func embedJSON(b []byte) template.JS {
	return template.JS(b) //nolint:gosec // safe as explained above
}
