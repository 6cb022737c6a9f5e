package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// pairPanelHTML is pair panel k of a report: its HTML and its hover data.
func pairPanelHTML(t *testing.T, out string, k int) (string, []chartTrade) {
	t.Helper()
	open := fmt.Sprintf(`<div class="pair-panel" id="pair-%d"`, k)
	i := strings.Index(out, open)
	if i < 0 {
		t.Fatalf("no panel for pair %d", k)
	}
	s := out[i:]
	const marks = `<script type="application/json" class="pair-marks">`
	j := strings.Index(s, marks)
	if j < 0 {
		t.Fatalf("panel %d has no hover data", k)
	}
	data := s[j+len(marks):]
	data = data[:strings.Index(data, "</script>")]
	var w marksWire
	if err := json.Unmarshal([]byte(data), &w); err != nil {
		t.Fatalf("panel %d hover data: %v", k, err)
	}
	return s[:j], expandMarks(w)
}

var subpath = regexp.MustCompile(`M`)

// markCount is how many markers of class the panel's price chart draws
// (one subpath each).
func markCount(panel, class string) int {
	m := regexp.MustCompile(`<path class="mark (?:dense )?` + class + `" d="([^"]*)"`).FindStringSubmatch(panel)
	if m == nil {
		return 0
	}
	return len(subpath.FindAllString(m[1], -1))
}

// Every pair gets a price chart with one entry marker per trade (▲ long,
// ▼ short) and one exit marker per closed trade, and its hover data names
// exactly its trades.
func TestPairChartsMarkEveryTrade(t *testing.T) {
	res, m := largeFixture()
	res.Trades[3].IsShort = true
	res.Trades[5].CloseTime = 0 // still open
	out := writeHTML(t, res, m)
	for k, pair := range res.Pairs {
		panel, marks := pairPanelHTML(t, out, k)
		if !strings.Contains(panel, fmt.Sprintf(`<svg class="chart" id="price-%d"`, k)) || !strings.Contains(panel, fmt.Sprintf(`id="pair-equity-%d"`, k)) {
			t.Errorf("%s: price or cumulative profit chart missing", pair)
		}
		var long, short, closed, win, loss int
		want := map[int]bool{}
		for i := range res.Trades {
			tr := &res.Trades[i]
			if tr.Pair != pair {
				continue
			}
			want[i+1] = true
			if tr.IsShort {
				short++
			} else {
				long++
			}
			if tr.CloseTime != 0 {
				closed++
				switch tone(tr.ProfitAbs) {
				case "pos":
					win++
				case "neg":
					loss++
				}
			}
		}
		if long+short == 0 {
			t.Fatalf("%s: the fixture has no trades", pair)
		}
		if got := markCount(panel, "entry long"); got != long {
			t.Errorf("%s: %d long entry markers for %d long trades", pair, got, long)
		}
		if got := markCount(panel, "entry short"); got != short {
			t.Errorf("%s: %d short entry markers for %d short trades", pair, got, short)
		}
		exits := markCount(panel, "exit pos") + markCount(panel, "exit neg") + markCount(panel, "exit flat")
		if exits != closed || markCount(panel, "exit pos") != win || markCount(panel, "exit neg") != loss {
			t.Errorf("%s: %d exit markers (%d won, %d lost) for %d closed trades (%d won, %d lost)",
				pair, exits, markCount(panel, "exit pos"), markCount(panel, "exit neg"), closed, win, loss)
		}
		if len(marks) != long+short {
			t.Errorf("%s: hover data for %d trades, want %d", pair, len(marks), long+short)
		}
		for _, c := range marks {
			if !want[c.N] {
				t.Errorf("%s: hover data names trade %d of another pair", pair, c.N)
			}
			if c.Stop0 == nil || len(c.ROI) == 0 {
				t.Errorf("%s: trade %d without its stop or ROI levels: %+v", pair, c.N, c)
			}
		}
	}
}

// A pair without trades still gets its price chart and a flat cumulative
// profit; a result without prices (read back from JSON) says so.
func TestPairChartsWithoutTradesOrPrices(t *testing.T) {
	res, m := emptyFixture()
	res.Prices = []result.PriceSeries{walk("BTC/USDT", res.Start, hourMs, 24, 60000, 1)}
	out := writeHTML(t, res, m)
	panel, marks := pairPanelHTML(t, out, 0)
	if !strings.Contains(panel, `id="price-0"`) || !strings.Contains(panel, `class="candle up"`) || !strings.Contains(panel, `id="pair-equity-0"`) {
		t.Errorf("pair without trades lacks its charts:\n%s", panel)
	}
	if len(marks) != 0 || strings.Contains(panel, "mark entry") {
		t.Errorf("markers without trades: %v", marks)
	}

	res, m = smallFixture()
	out = writeHTML(t, res, m)
	panel, marks = pairPanelHTML(t, out, 1)
	if !strings.Contains(panel, "carries no prices of ETH/USDT") || len(marks) != 0 {
		t.Errorf("a result without prices:\n%s", panel)
	}
}

// The prices are not part of the JSON export: result.json stays as it
// was, whatever prices the result carries.
func TestWriteJSONLeavesPricesOut(t *testing.T) {
	res, m := largeFixture()
	with := writeJSON(t, res, m)
	res.Prices, res.MinimalROI = nil, nil
	if without := writeJSON(t, res, m); !bytes.Equal(with, without) {
		t.Error("the JSON export changes with the result's prices")
	}
}

// However many pairs and rows, the price charts draw a bounded number of
// rows: result.PriceBuckets per pair at most, and their sum within the
// report's budget (or minPairRows per pair when there are many pairs).
func TestPairChartsStayBounded(t *testing.T) {
	for _, pairs := range []int{1, 40, 400} {
		res, m := emptyFixture()
		res.Pairs, res.Prices = nil, nil
		for k := range pairs {
			pair := fmt.Sprintf("P%03d/USDT", k)
			res.Pairs = append(res.Pairs, pair)
			res.Prices = append(res.Prices, walk(pair, res.Start, minuteMs, result.PriceBuckets, 100, uint64(k)))
		}
		out := writeHTML(t, res, m)
		var rows int
		for _, band := range regexp.MustCompile(`<path class="price-band" d="([^"]*)"`).FindAllStringSubmatch(out, -1) {
			rows += (strings.Count(band[1], "L") + 1) / 2
		}
		for _, c := range regexp.MustCompile(`<path class="candle (?:up|down)" d="([^"]*)"`).FindAllStringSubmatch(out, -1) {
			rows += strings.Count(c[1], "M") / 3 // wick above, wick below, body
		}
		limit := max(priceRowBudget, pairs*minPairRows)
		if rows == 0 || rows > limit {
			t.Errorf("%d pairs: %d price rows drawn, limit %d", pairs, rows, limit)
		}
		res.Prices = nil
		perPair := (len(out) - len(writeHTML(t, res, m))) / pairs
		t.Logf("%d pairs: %d price rows, %d bytes per pair, %d bytes in all", pairs, rows, perPair, len(out))
		if perPair > 60_000 {
			t.Errorf("%d pairs: %d bytes of report per pair", pairs, perPair)
		}
	}
}

// A trade's ROI levels are the prices at which its profit ratio after
// fees reaches each step of the table, each from its age to the next
// step's, cut at the trade's end; a step of -1 ends them.
func TestROILevels(t *testing.T) {
	open := ms("2024-01-01 00:00")
	for _, short := range []bool{false, true} {
		tr := trade.Trade{IsShort: short, Leverage: 2, OpenTime: open, OpenRate: 100, Amount: 2, Stake: 100, FeeOpen: 0.001, FeeClose: 0.002}
		res := &result.Result{MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.1}, {Minutes: 60, Ratio: 0.05}, {Minutes: 180, Ratio: -1}, {Minutes: 240, Ratio: 0}}}
		levels := ROILevels(res.MinimalROI, &tr, open+120*minuteMs)
		if len(levels) != 2 {
			t.Fatalf("short %v: %d levels: %+v", short, len(levels), levels)
		}
		wantT := [][2]int64{{open, open + 60*minuteMs}, {open + 60*minuteMs, open + 120*minuteMs}}
		for i, lv := range levels {
			if r := tr.ProfitRatioAt(lv.Price); math.Abs(r-res.MinimalROI[i].Ratio) > 1e-12 {
				t.Errorf("short %v: level %d at %v makes %v, want %v", short, i, lv.Price, r, res.MinimalROI[i].Ratio)
			}
			if lv.From != wantT[i][0] || lv.To != wantT[i][1] {
				t.Errorf("short %v: level %d from %d to %d, want %v", short, i, lv.From, lv.To, wantT[i])
			}
		}
		if short == (levels[0].Price > tr.OpenRate) {
			t.Errorf("short %v: take-profit %v on the wrong side of %v", short, levels[0].Price, tr.OpenRate)
		}
		if got := ROILevels(res.MinimalROI, &tr, open+500*minuteMs); len(got) != 2 || got[1].To != open+180*minuteMs {
			t.Errorf("short %v: a -1 step does not end the levels: %+v", short, got)
		}
	}
}
