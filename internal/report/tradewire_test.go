package report

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// tradeWire is the trade list's JSON (see tradeList), for the tests.
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
	Seq  int               `json:"seq,omitempty"`
	Dict []string          `json:"dict,omitempty"`
	Idx  []int             `json:"idx,omitempty"`
	List []string          `json:"list,omitempty"`
	Num  []*float64        `json:"num,omitempty"`
	F64  *string           `json:"f64,omitempty"`
	Time *int64            `json:"time,omitempty"`
	Step int64             `json:"step,omitempty"`
	At   []*int64          `json:"at,omitempty"`
	As   string            `json:"as,omitempty"`
	None *string           `json:"none,omitempty"`
	Fmt  tradeFormat       `json:"fmt,omitempty"`
	Fix  map[string]string `json:"fix,omitempty"`
	Of   *int              `json:"of,omitempty"`
}

// expandWire is the page script's expandTrades in Go, for the tests: the
// rows of the compact trade data.
func expandWire(t *testing.T, w tradeWire) [][]string {
	t.Helper()
	decode := func(e, base wireEnc, values []string) []string {
		out := make([]string, w.N)
		if e.F64 != nil {
			raw, err := base64.StdEncoding.DecodeString(*e.F64)
			if err != nil || len(raw) != 8*w.N {
				t.Fatalf("f64 column of %d bytes: %v", len(raw), err)
			}
			for i := range out {
				if x := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])); !math.IsNaN(x) {
					out[i] = strconv.FormatFloat(x, 'g', -1, 64)
				}
			}
			return out
		}
		at, ms, step := e.At, e.Time, e.Step
		if at == nil {
			at, ms, step = base.At, base.Time, base.Step
		}
		var tm int64
		if ms != nil {
			tm = *ms
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
			case e.Num != nil && e.Num[i] == nil:
				out[i] = ""
			case e.Num != nil:
				out[i] = strconv.FormatFloat(*e.Num[i], 'g', -1, 64)
			case e.Fmt != "":
				if fix, ok := e.Fix[strconv.Itoa(i)]; ok {
					out[i] = fix
				} else if values[i] == "" && e.None != nil {
					out[i] = *e.None
				} else {
					x := math.NaN() // the script's parseFloat("")
					if values[i] != "" {
						var err error
						if x, err = strconv.ParseFloat(values[i], 64); err != nil {
							t.Fatalf("row %d: value %q: %v", i, values[i], err)
						}
					}
					out[i] = e.Fmt.goText(x)
				}
			case at[i] == nil:
				out[i] = *e.None
			default:
				tm += *at[i] * step
				if e.As == "minute" {
					out[i] = time.UnixMilli(tm).UTC().Format("2006-01-02 15:04")
				} else {
					out[i] = time.UnixMilli(tm).UTC().Format("2006-01-02T15:04:05.999Z")
				}
			}
		}
		return out
	}
	var cols [][]string
	for c := range w.Cols {
		te, ve := w.Text[c], w.Value[c]
		var text, value []string
		if te.Fmt != "" || te.As != "" && te.At == nil {
			value = decode(*ve, te, nil)
			text = decode(te, *ve, value)
		} else {
			text = decode(te, wireEnc{}, nil)
			value = text
			if ve != nil {
				value = decode(*ve, te, nil)
			}
		}
		cols = append(cols, text, value)
	}
	cols = append(cols, decode(w.Tone, wireEnc{}, cols[2**w.Tone.Of+1]))
	rows := make([][]string, w.N)
	for i := range rows {
		for _, col := range cols {
			rows[i] = append(rows[i], col[i])
		}
	}
	return rows
}

// tradeTable is the trade list as the page's script rebuilds it, for the
// tests: per row and column the text shown and the value (what sorting
// and the CSV use; "" when there is none), then the row's profit tone.
type tradeTable struct {
	File string
	Cols []tradeCol
	Rows [][]string
}

// tradeTableOf is the trade list tradeListOf encodes, row by row; the leverage and enter tag columns
// only when a trade is leveraged or tagged. nil without trades.
func tradeTableOf(res *result.Result, stake string) *tradeTable {
	if len(res.Trades) == 0 {
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
	tt := &tradeTable{File: csvFileName(res.Strategy), Cols: []tradeCol{
		{"#", "n", true, ""}, {"Pair", "pair", false, "key"}, {"Side", "side", false, "side"},
		{"Open", "open_date", false, ""}, {"Close", "close_date", false, ""}, {"Duration", "trade_duration", true, ""},
		{"Open rate", "open_rate", true, ""}, {"Close rate", "close_rate", true, ""}, {"Stake", "stake_amount", true, ""},
	}}
	if showLev {
		tt.Cols = append(tt.Cols, tradeCol{"Lev.", "leverage", true, ""})
	}
	tt.Cols = append(tt.Cols, tradeCol{"Profit", "profit_ratio", true, "tone"}, tradeCol{profitHead, "profit_abs", true, "tone"},
		tradeCol{"Exit reason", "exit_reason", false, "txt"})
	if showTags {
		tt.Cols = append(tt.Cols, tradeCol{"Enter tag", "enter_tag", false, "txt"})
	}
	tt.Rows = make([][]string, 0, len(res.Trades))
	for i := range res.Trades {
		t := &res.Trades[i]
		side := "long"
		if t.IsShort {
			side = "short"
		}
		lev := t.Leverage
		if lev == 0 {
			lev = 1
		}
		closeS, closeV, dur, durV, exit := "open", "", "–", "", "open"
		if t.CloseTime != 0 {
			closeS, closeV = dateMinute(t.CloseTime), isoTime(t.CloseTime)
			dur, durV = shortDuration(float64(t.DurationMinutes())), strconv.FormatInt(t.DurationMinutes(), 10)
			exit = string(t.ExitReason)
		}
		n := strconv.Itoa(i + 1)
		r := make([]string, 0, 2*len(tt.Cols)+1)
		r = append(r, n, n, t.Pair, t.Pair, side, side,
			dateMinute(t.OpenTime), isoTime(t.OpenTime), closeS, closeV, dur, durV,
			price(t.OpenRate), rawNum(t.OpenRate), price(t.CloseRate), rawNum(t.CloseRate),
			grouped(t.Stake, 2), rawNum(t.Stake))
		if showLev {
			r = append(r, fixed(lev, 1)+"×", rawNum(lev))
		}
		r = append(r, pctSigned(t.ProfitRatio, 2), rawNum(t.ProfitRatio),
			signedGrouped(t.ProfitAbs, autoDec(t.ProfitAbs)), rawNum(t.ProfitAbs), exit, exit)
		if showTags {
			r = append(r, t.EnterTag, t.EnterTag)
		}
		tt.Rows = append(tt.Rows, append(r, tone(t.ProfitAbs)))
	}
	return tt
}

// wireTables are trade tables whose columns hold times (one open; in the
// first also times off the minute, so that the values' times are not the
// texts'), repeated texts, numbers and text with JSON's special
// characters.
func wireTables() []*result.Result {
	var out []*result.Result
	for _, odd := range []bool{true, false} {
		res, _ := largeFixture()
		res.Trades = append(res.Trades, trade.Trade{Pair: "ETH/USDT", OpenTime: ms("2024-01-10 12:00"), OpenRate: 2400, Stake: 100, Leverage: 3, EnterTag: `a"<\u2028`})
		if odd {
			res.Trades[0].CloseTime += 7 // milliseconds
			res.Trades[len(res.Trades)-1].OpenTime += 1500
		}
		out = append(out, res)
	}
	return out
}

// The compact trade data rebuilds every row exactly, in Go and in the
// page's script (run with node, when installed), and is smaller than the
// rows.
func TestTradeWireRoundTrip(t *testing.T) {
	for _, res := range wireTables() {
		want := tradeTableOf(res, "USDT")
		l := tradeListOf(res, "USDT")
		js := wireOf(t, l)
		var w tradeWire
		if err := json.Unmarshal(js, &w); err != nil {
			t.Fatalf("%v\n%.300s", err, js)
		}
		if got := expandWire(t, w); !slices.EqualFunc(got, want.Rows, slices.Equal) {
			t.Fatalf("rows differ:\n got %q\nwant %q", got[len(got)-1], want.Rows[len(want.Rows)-1])
		}
		if w.File != want.File || !slices.Equal(w.Cols, want.Cols) {
			t.Errorf("file %q, columns %v; want %q, %v", w.File, w.Cols, want.File, want.Cols)
		}
		plain, _ := json.Marshal(want.Rows)
		if len(js) >= len(plain)/2 {
			t.Errorf("compact data %d bytes, plain rows %d", len(js), len(plain))
		}
		checkScriptRows(t, l, want.Rows)
	}
}

// wireOf is the JSON l writes.
func wireOf(t *testing.T, l *tradeList) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := l.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkScriptRows checks that the page's script rebuilds rows from the
// trade list l as the report embeds it.
func checkScriptRows(t *testing.T, l *tradeList, want [][]string) {
	t.Helper()
	out := runScript(t, []string{"expandTrades"}, string(wireOf(t, l)),
		"(function (d) { d.rows.forEach(function (r) { for (var c = 0; c < d.cols.length; c++) d.text(r, c); }); return JSON.stringify(d.rows); })(expandTrades(input))")
	var rows [][]string
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range rows {
		if !slices.Equal(rows[i], want[i]) {
			t.Fatalf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

// Numbers whose texts the script's toFixed would round otherwise than
// Go (exact ties), that are not finite or that are very large or small
// travel with their texts; the rest the script formats as Go does.
func TestTradeWireNumberTexts(t *testing.T) {
	res, _ := largeFixture()
	odd := []float64{0.125, 2.5, -0.375, 1e21, 3e22, 1e-9, -1e-9, 5e-324, 1234567.125, 0.005, -0.005, 999.995, 0.00125,
		math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 0.0000125, 100.125, 10.0625, 1.00005}
	for i, x := range odd {
		t := &res.Trades[i%len(res.Trades)]
		switch i % 5 {
		case 0:
			t.OpenRate, t.ProfitAbs = x, x
		case 1:
			t.CloseRate, t.ProfitRatio = x, x/100
		case 2:
			t.Stake, t.Leverage = x, x
		case 3:
			t.ProfitAbs, t.OpenRate = x, -x
		default:
			t.ProfitRatio, t.CloseRate = x, x
		}
	}
	want := tradeTableOf(res, "USDT")
	l := tradeListOf(res, "USDT")
	js := wireOf(t, l)
	var w tradeWire
	if err := json.Unmarshal(js, &w); err != nil {
		t.Fatalf("%v\n%.300s", err, js)
	}
	if got := expandWire(t, w); !slices.EqualFunc(got, want.Rows, slices.Equal) {
		for i := range got {
			if !slices.Equal(got[i], want.Rows[i]) {
				t.Fatalf("row %d:\n got %q\nwant %q", i, got[i], want.Rows[i])
			}
		}
	}
	checkScriptRows(t, l, want.Rows)
}

// chartTrade is one trade on a price chart as the page's script reads
// it from its chartMarks: its number and its levels' prices as the
// report shows them.
type chartTrade struct {
	N     int       // the trade's number in the trade list
	Stop0 *string   // the stop set at entry
	Stop  *string   // the final stop, when it moved
	Liq   *string   // the liquidation price
	ROI   []*string // per step of the ROI table until the levels end, its take-profit price (nil for none)
}

// wantMarks are the marks of the trades at the indexes idx of res's
// trade list on a chart ending at tmax, from their fields.
func wantMarks(res *result.Result, idx []int, tmax int64) []chartTrade {
	text := func(x float64) *string { p := price(x); return &p }
	out := make([]chartTrade, len(idx))
	for i, k := range idx {
		t := &res.Trades[k]
		c := chartTrade{N: k + 1}
		if sl := t.InitialStopLoss; sl > 0 {
			c.Stop0 = text(sl)
			if t.StopLoss != sl && t.StopLoss > 0 {
				c.Stop = text(t.StopLoss)
			}
		}
		if liq := t.LiquidationPrice; liq > 0 {
			c.Liq = text(liq)
		}
		end := tmax
		if t.CloseTime != 0 {
			end = t.CloseTime
		}
		for _, lv := range ROILevels(res.MinimalROI, t, end) {
			for len(c.ROI) < lv.Step {
				c.ROI = append(c.ROI, nil)
			}
			c.ROI = append(c.ROI, text(lv.Price))
		}
		out[i] = c
	}
	return out
}

// expandMarks is the page script's expandMarks in Go, for the tests,
// without what the script works out from the trade list and the chart.
func expandMarks(w marksWire) []chartTrade {
	out := make([]chartTrade, len(w.DN))
	n := 0
	for i := range out {
		n += w.DN[i]
		c := chartTrade{N: n}
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
			c.ROI = w.ROI[i]
		}
		out[i] = c
	}
	return out
}

// The chart marks' columns rebuild every mark, in Go and in the page's
// script (run with node, when installed), which places each trade's
// markers, the end of its levels and its levels where the chart draws
// them and names their prices, from the trade list, the chart's mapping
// and the ROI table.
func TestMarksWire(t *testing.T) {
	res, _ := largeFixture()
	res.Trades[4].CloseTime, res.Trades[4].ExitReason = 0, ""
	var idx []int
	for i := range res.Trades {
		if res.Trades[i].Pair == res.Trades[4].Pair {
			idx = append(idx, i)
		}
	}
	tr0 := &res.Trades[idx[0]]
	tr0.InitialStopLoss, tr0.StopLoss, tr0.LiquidationPrice = 0.9*tr0.OpenRate, 0.95*tr0.OpenRate, 0.5*tr0.OpenRate
	const left, top, width, height = 78, 14, 1104, 336
	tmin, tmax := res.Start, res.End
	lo, hi := 0.4*tr0.OpenRate, 1.6*tr0.OpenRate
	m := &plotMap{
		xOf:  func(ms int64) float64 { return left + float64(ms-tmin)/float64(tmax-tmin)*width },
		yOf:  func(v float64) float64 { return top + (hi-v)/(hi-lo)*height },
		tmin: tmin, tmax: tmax, left: left, top: top, width: width, height: height, lo: lo, hi: hi,
	}
	_, js := tradeMarks(res, idx, m)
	var w marksWire
	if err := json.Unmarshal([]byte(js), &w); err != nil {
		t.Fatal(err)
	}
	marks := wantMarks(res, idx, tmax)
	if got := expandMarks(w); !reflect.DeepEqual(got, marks) {
		t.Fatalf("marks\n got %+v\nwant %+v", got, marks)
	}
	if js := newChartMarks(0).json(nil); !strings.Contains(js, `"dn":[]`) {
		t.Errorf("no marks: %s", js)
	}

	layer := hoverLayer("price-0", m)
	dataMap := layer[strings.Index(layer, `data-map="`)+len(`data-map="`):]
	dataMap = dataMap[:strings.IndexByte(dataMap, '"')]
	tt := tradeTableOf(res, res.StakeCurrency)
	data, _ := json.Marshal(map[string]any{"cols": tt.Cols, "rows": tt.Rows})
	input := `{"w":` + js + `,"data":` + string(data) + `,"map":` + dataMap + `}`
	out := runScript(t, []string{"expandMarks"}, input, "JSON.stringify(expandMarks(input.w, input.data, input.map))")
	var got []struct {
		N    int          `json:"n"`
		In   [2]float64   `json:"in"`
		Out  *[2]float64  `json:"out"`
		End  float64      `json:"end"`
		Sl0  *float64     `json:"sl0"`
		Sl   *float64     `json:"sl"`
		Liq  *float64     `json:"liq"`
		ROI  [][3]float64 `json:"roi"`
		Note string       `json:"note"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(marks) {
		t.Fatalf("script's marks: %d, want %d", len(got), len(marks))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.15 }
	nearY := func(g *float64, price float64) bool { return g != nil && near(*g, m.yOf(price)) }
	for i, g := range got {
		tr := &res.Trades[marks[i].N-1]
		if g.N != marks[i].N {
			t.Fatalf("mark %d: trade %d, want %d", i, g.N, marks[i].N)
		}
		x0, y0 := m.xOf(tr.OpenTime), m.yOf(tr.OpenRate)
		if !near(g.In[0], x0) || !near(g.In[1], y0) {
			t.Errorf("trade %d: entry marker at %v, drawn at %.2f,%.2f", g.N, g.In, x0, y0)
		}
		end := tmax
		if tr.CloseTime != 0 {
			end = tr.CloseTime
			x1, y1 := m.xOf(tr.CloseTime), m.yOf(tr.CloseRate)
			if g.Out == nil || !near(g.Out[0], x1) || !near(g.Out[1], y1) {
				t.Errorf("trade %d: exit marker at %v, drawn at %.2f,%.2f", g.N, g.Out, x1, y1)
			}
		} else if g.Out != nil {
			t.Errorf("open trade %d: exit marker at %v", g.N, g.Out)
		}
		scale := math.Max(width/float64(tmax-tmin), minTradeSpan/float64(max(end-tr.OpenTime, 60_000)))
		xAt := func(ms int64) float64 { return x0 + float64(ms-tr.OpenTime)*scale }
		if !near(g.End, xAt(end)) || g.End < x0+minTradeSpan-0.15 {
			t.Errorf("trade %d: levels end at %v, want %.2f", g.N, g.End, xAt(end))
		}
		var note []string
		if sl := tr.InitialStopLoss; sl > 0 {
			note = append(note, "stop "+price(sl))
			if !nearY(g.Sl0, sl) {
				t.Errorf("trade %d: stop at %v, want %.2f", g.N, g.Sl0, m.yOf(sl))
			}
			if tr.StopLoss != sl && tr.StopLoss > 0 {
				note[0] += " → " + price(tr.StopLoss)
				if !nearY(g.Sl, tr.StopLoss) {
					t.Errorf("trade %d: moved stop at %v, want %.2f", g.N, g.Sl, m.yOf(tr.StopLoss))
				}
			}
		}
		if liq := tr.LiquidationPrice; liq > 0 {
			note = append(note, "liquidation "+price(liq))
			if !nearY(g.Liq, liq) {
				t.Errorf("trade %d: liquidation at %v, want %.2f", g.N, g.Liq, m.yOf(liq))
			}
		}
		levels := ROILevels(res.MinimalROI, tr, end)
		var roi []string
		if len(g.ROI) != len(levels) {
			t.Errorf("trade %d: %d ROI levels, want %d", g.N, len(g.ROI), len(levels))
		}
		for k, lv := range levels {
			roi = append(roi, price(lv.Price))
			if k < len(g.ROI) && (!near(g.ROI[k][0], xAt(lv.From)) || !near(g.ROI[k][1], xAt(lv.To)) || !near(g.ROI[k][2], m.yOf(lv.Price))) {
				t.Errorf("trade %d: ROI level %d at %v, want %.2f,%.2f,%.2f", g.N, k, g.ROI[k], xAt(lv.From), xAt(lv.To), m.yOf(lv.Price))
			}
		}
		if len(roi) > 0 {
			note = append(note, "ROI "+strings.Join(roi, " → "))
		}
		if want := strings.Join(note, " · "); g.Note != want {
			t.Errorf("trade %d: note %q, want %q", g.N, g.Note, want)
		}
	}
	if got[0].Sl == nil || got[0].Liq == nil {
		t.Error("the first trade's moved stop or liquidation price is not drawn")
	}
}

// runScript runs the functions between the markers "begin name" and
// "end name" of script.js in node with input (JSON) parsed as `input`, and
// returns what expr gives (or the promise it gives fulfils with). It skips
// the test when node is not installed.
func runScript(t *testing.T, names []string, input, expr string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	src := string(reportJS)
	var prog string
	for _, name := range names {
		a, b := strings.Index(src, "// begin "+name+"\n"), strings.Index(src, "// end "+name+"\n")
		if a < 0 || b < a {
			t.Fatalf("script.js lacks the %s markers", name)
		}
		prog += src[a:b]
	}
	prog += "\nvar input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n" +
		"Promise.resolve(" + expr + ").then(function (s) { process.stdout.write(s); });\n"
	file := filepath.Join(t.TempDir(), names[0]+".js")
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

// chartMarks writes the bytes encoding/json writes of their marksWire:
// with and without each column, levels missing here and there, prices of
// every magnitude.
func TestMarksJSONAsEncoded(t *testing.T) {
	roi := sdk.ROITable{{Minutes: 0, Ratio: 0.1}, {Minutes: 30, Ratio: 0.05}, {Minutes: 90, Ratio: 0}}
	type mark struct {
		n              int
		stop0, sl, liq float64
		levels         []ROILevel
	}
	lv := func(step int, p float64) ROILevel { return ROILevel{Step: step, Price: p} }
	for name, c := range map[string]struct {
		m   []mark
		roi sdk.ROITable
	}{
		"none":         {nil, nil},
		"plain":        {[]mark{{n: 1}, {n: 3}, {n: 4}}, roi},
		"stops":        {[]mark{{n: 2, stop0: 9.5}, {n: 5, stop0: 9.1, sl: 9.3}, {n: 6}}, nil},
		"liq and roi":  {[]mark{{n: 1, liq: 4.2, levels: []ROILevel{lv(0, 11), lv(2, 10.5)}}, {n: 2, levels: []ROILevel{lv(1, 10)}}, {n: 7}}, roi},
		"roi no table": {[]mark{{n: 1, levels: []ROILevel{lv(0, 11)}}}, nil},
		"magnitudes":   {[]mark{{n: 1, stop0: 64123.456, sl: 0.000012345678, liq: 0.0123}, {n: 9, stop0: 12.3456, liq: 1.5}}, roi},
	} {
		var marks chartMarks
		w := marksWire{DN: make([]int, len(c.m)), Span: minTradeSpan}
		text := func(x float64) *string {
			if x == 0 {
				return nil
			}
			p := price(x)
			return &p
		}
		var some struct{ sl0, sl, liq, roi bool }
		for _, m := range c.m {
			some.sl0, some.sl, some.liq = some.sl0 || m.stop0 != 0, some.sl || m.sl != 0, some.liq || m.liq != 0
			some.roi = some.roi || len(m.levels) > 0
		}
		if some.roi {
			for _, step := range c.roi {
				w.ROIMin = append(w.ROIMin, step.Minutes)
			}
		}
		prev := 0
		for i, m := range c.m {
			marks.add(m.n, m.stop0, m.sl, m.liq, m.levels)
			w.DN[i], prev = m.n-prev, m.n
			if some.sl0 {
				w.Stop0 = append(w.Stop0, text(m.stop0))
			}
			if some.sl {
				w.Stop = append(w.Stop, text(m.sl))
			}
			if some.liq {
				w.Liq = append(w.Liq, text(m.liq))
			}
			if some.roi {
				var r []*string
				for _, l := range m.levels {
					for len(r) < l.Step {
						r = append(r, nil)
					}
					r = append(r, text(l.Price))
				}
				w.ROI = append(w.ROI, r)
			}
		}
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if got := marks.json(c.roi); got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
