package report

import (
	"encoding/json"
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
//	{"dict": [s...], "idx": [i...]}    row r is dict[idx[r]]
//	{"list": [s...]}                   row r is list[r]
//	{"time": t0, "step": u, "at": [k...], "as": f, "none": s}
//	                                   row r is the time t0 + at[r]·u
//	                                   (Unix ms) as f, "minute"
//	                                   (2006-01-02 15:04) or "iso"
//	                                   (2006-01-02T15:04:05.999Z); s where
//	                                   at[r] is null
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
		if equalStrings(text, value) {
			w.Value = append(w.Value, nil)
		} else {
			e := encodeStrings(value)
			w.Value = append(w.Value, &e)
		}
	}
	if len(t.Cols) > 0 {
		w.Tone = encodeStrings(column(2 * len(t.Cols)))
	}
	return json.Marshal(w)
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
		t, err := time.Parse(layout, v)
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
	at := make([]*int64, len(s))
	for i, m := range ms {
		if none != nil && s[i] == *none {
			continue
		}
		k := (m - t0) / step
		at[i] = &k
	}
	return wireEnc{Time: &t0, Step: step, At: at, As: as, None: none}, true
}
