package report

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/trade"
)

// expandWire is the page script's expandTrades in Go, for the tests: the
// rows of the compact trade data.
func expandWire(t *testing.T, w tradeWire) [][]string {
	t.Helper()
	decode := func(e, base wireEnc) []string {
		out := make([]string, w.N)
		at, ms, step := e.At, e.Time, e.Step
		if at == nil {
			at, ms, step = base.At, base.Time, base.Step
		}
		var t int64
		if ms != nil {
			t = *ms
		}
		for i := range out {
			switch {
			case e.Seq == 1:
				out[i] = strconv.Itoa(i + 1)
			case e.Dict != nil && e.Idx == nil:
				out[i] = e.Dict[0]
			case e.Dict != nil:
				out[i] = e.Dict[e.Idx[i]]
			case e.List != nil:
				out[i] = e.List[i]
			case at[i] == nil:
				out[i] = *e.None
			default:
				t += *at[i] * step
				if e.As == "minute" {
					out[i] = time.UnixMilli(t).UTC().Format("2006-01-02 15:04")
				} else {
					out[i] = time.UnixMilli(t).UTC().Format("2006-01-02T15:04:05.999Z")
				}
			}
		}
		return out
	}
	var cols [][]string
	for c := range w.Cols {
		text := decode(w.Text[c], wireEnc{})
		value := text
		if w.Value[c] != nil {
			value = decode(*w.Value[c], w.Text[c])
		}
		cols = append(cols, text, value)
	}
	cols = append(cols, decode(w.Tone, wireEnc{}))
	rows := make([][]string, w.N)
	for i := range rows {
		for _, col := range cols {
			rows[i] = append(rows[i], col[i])
		}
	}
	return rows
}

// wireTables are trade tables whose columns hold times (one open; in the
// first also times off the minute, so that the values' times are not the
// texts'), repeated texts, numbers and text with JSON's special
// characters.
func wireTables() []*tradeTable {
	var out []*tradeTable
	for _, odd := range []bool{true, false} {
		res, _ := largeFixture()
		res.Trades = append(res.Trades, trade.Trade{Pair: "ETH/USDT", OpenTime: ms("2024-01-10 12:00"), OpenRate: 2400, Stake: 100, Leverage: 3, EnterTag: `a"<\u2028`})
		if odd {
			res.Trades[0].CloseTime += 7 // milliseconds
			res.Trades[len(res.Trades)-1].OpenTime += 1500
		}
		out = append(out, tradeTableOf(res, "USDT"))
	}
	return out
}

// The compact trade data rebuilds every row exactly, and is smaller than
// the rows.
func TestTradeWireRoundTrip(t *testing.T) {
	for _, tt := range wireTables() {
		js, err := json.Marshal(tt)
		if err != nil {
			t.Fatal(err)
		}
		var w tradeWire
		if err := json.Unmarshal(js, &w); err != nil {
			t.Fatal(err)
		}
		got := expandWire(t, w)
		if !slices.EqualFunc(got, tt.Rows, slices.Equal) {
			t.Fatalf("rows differ:\n got %q\nwant %q", got[len(got)-1], tt.Rows[len(tt.Rows)-1])
		}
		plain, _ := json.Marshal(tt.Rows)
		if len(js) >= len(plain) {
			t.Errorf("compact data %d bytes, plain rows %d", len(js), len(plain))
		}
	}
}

// The page's script rebuilds the same rows (run with node, when installed).
func TestTradeWireScript(t *testing.T) {
	for _, tt := range wireTables() {
		js, err := json.Marshal(tt)
		if err != nil {
			t.Fatal(err)
		}
		out := runScript(t, "expandTrades", string(js), "JSON.stringify(expandTrades(input).rows)")
		var rows [][]string
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(tt.Rows) {
			t.Fatalf("%d rows, want %d", len(rows), len(tt.Rows))
		}
		for i := range rows {
			if !slices.Equal(rows[i], tt.Rows[i]) {
				t.Fatalf("row %d:\n got %q\nwant %q", i, rows[i], tt.Rows[i])
			}
		}
	}
}

// expandMarks is the page script's expandMarks in Go, for the tests.
func expandMarks(w marksWire) []chartTrade {
	out := make([]chartTrade, len(w.DN))
	n := 0
	for i := range out {
		n += w.DN[i]
		c := chartTrade{N: n, In: [2]float64{w.In[2*i], w.In[2*i+1]}, End: w.End[i]}
		if w.Out != nil && w.Out[2*i] != nil {
			c.Out = &[2]float64{*w.Out[2*i], *w.Out[2*i+1]}
		}
		if w.Stop0 != nil {
			c.Stop0 = w.Stop0[i]
		}
		if w.Stop != nil {
			c.Stop = w.Stop[i]
		}
		if w.Liq != nil {
			c.Liq = w.Liq[i]
		}
		if w.ROI != nil {
			for k := 0; k+2 < len(w.ROI[i]); k += 3 {
				c.ROI = append(c.ROI, [3]float64{w.ROI[i][k], w.ROI[i][k+1], w.ROI[i][k+2]})
			}
		}
		if w.Note != nil && w.Note[i] != nil {
			c.Note = *w.Note[i]
		}
		out[i] = c
	}
	return out
}

// wireMarks are chart marks with and without an exit, stops, a
// liquidation price, ROI levels and a note.
func wireMarks() chartMarks {
	y := func(v float64) *float64 { return &v }
	return chartMarks{
		{N: 2, In: [2]float64{10.5, 20}, Out: &[2]float64{30, 40.1}, End: 31, Stop0: y(50), ROI: [][3]float64{{10.5, 20, 5}, {20, 31, 6.5}}, Note: "stop 1.0 · ROI 2 → 3"},
		{N: 3, In: [2]float64{11, 21}, End: 1200, Stop: y(49.5), Liq: y(60)},
		{N: 7, In: [2]float64{-0.5, 0}, Out: &[2]float64{0, 1e-7}, End: 12, Note: `a"<`},
	}
}

// The chart marks' columns rebuild every mark, in Go and in the page's
// script (run with node, when installed).
func TestMarksWire(t *testing.T) {
	marks := wireMarks()
	js, err := json.Marshal(marks)
	if err != nil {
		t.Fatal(err)
	}
	var w marksWire
	if err := json.Unmarshal(js, &w); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal([]chartTrade(marks))
	if got, _ := json.Marshal(expandMarks(w)); string(got) != string(want) {
		t.Fatalf("marks\n got %s\nwant %s", got, want)
	}
	for _, empty := range []chartMarks{nil, {}} {
		js, err := json.Marshal(empty)
		if err != nil || !strings.Contains(string(js), `"dn":[]`) {
			t.Errorf("no marks: %s, %v", js, err)
		}
	}
	got := runScript(t, "expandMarks", string(js), "JSON.stringify(expandMarks(input))")
	var a, b any
	_ = json.Unmarshal(want, &a)
	if err := json.Unmarshal([]byte(got), &b); err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("script's marks\n got %s\nwant %s", got, want)
	}
}

// runScript runs the function between the markers "begin name" and "end
// name" of script.js in node with input (JSON) parsed as `input`, and
// returns what expr gives. It skips the test when node is not installed.
func runScript(t *testing.T, name, input, expr string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	src := string(reportJS)
	a, b := strings.Index(src, "// begin "+name+"\n"), strings.Index(src, "// end "+name+"\n")
	if a < 0 || b < a {
		t.Fatalf("script.js lacks the %s markers", name)
	}
	prog := src[a:b] + "\nvar input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\nprocess.stdout.write(" + expr + ");\n"
	file := filepath.Join(t.TempDir(), name+".js")
	if err := os.WriteFile(file, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, file)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	return string(out)
}
