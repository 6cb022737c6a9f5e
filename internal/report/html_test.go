package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

func writeHTML(t *testing.T, res *result.Result, m metrics.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := NewFiles(res, known(m), nil).WriteHTML(&buf); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.String()
}

// TestWriteHTMLSample writes the realistic fixture's report to the file
// named by TRADAI_REPORT_HTML, for looking at it in a browser:
//
//	TRADAI_REPORT_HTML=/tmp/report.html go test -run TestWriteHTMLSample ./internal/report/
func TestWriteHTMLSample(t *testing.T) {
	res, m := largeFixture()
	out := writeHTML(t, res, m)
	if path := os.Getenv("TRADAI_REPORT_HTML"); path != "" {
		empty, em := emptyFixture()
		if err := os.WriteFile(strings.TrimSuffix(path, ".html")+"_empty.html", []byte(writeHTML(t, empty, em)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"EMACrossover_v3", "<svg", `id="equity"`, `id="drawdown"`, "Monthly returns", `id="trade-returns"`, `id="day-returns"`, "Worst drawdowns",
		"Results per pair", "Exit reasons", "Enter tags", "Freqtrade vs equity-based", "SOL/USDT", "table class=\"data sortable trades\""} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if tt := tradeData(t, out); len(tt.Rows) != len(res.Trades) {
		t.Errorf("%d trade rows for %d trades", len(tt.Rows), len(res.Trades))
	}
}

// tradeData decodes the trade list embedded in a report.
func tradeData(t *testing.T, out string) tradeTable {
	t.Helper()
	const open = `<script type="application/json" id="trade-data">`
	i := strings.Index(out, open)
	if i < 0 {
		t.Fatal("no embedded trade data")
	}
	s := out[i+len(open):]
	s = s[:strings.Index(s, "</script>")]
	var w tradeWire
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		t.Fatalf("trade data: %v", err)
	}
	return tradeTable{File: w.File, Cols: w.Cols, Rows: expandWire(t, w)}
}

func TestWriteHTMLTradeData(t *testing.T) {
	res, m := smallFixture()
	res.Trades = append(res.Trades, trade.Trade{Pair: "ETH/USDT", OpenTime: ms("2024-01-10 12:00"), OpenRate: 2400, Stake: 100, Leverage: 1})
	out := writeHTML(t, res, m)
	tt := tradeData(t, out)
	if tt.File != "SampleStrategy_trades.csv" {
		t.Errorf("file %q", tt.File)
	}
	var csv []string
	for _, c := range tt.Cols {
		csv = append(csv, c.CSV)
	}
	// No leverage column: every trade is 1×; tags are shown.
	if got := strings.Join(csv, ","); got != "n,pair,side,open_date,close_date,trade_duration,open_rate,close_rate,stake_amount,profit_ratio,profit_abs,exit_reason,enter_tag" {
		t.Errorf("columns %s", got)
	}
	if len(tt.Rows) != 6 {
		t.Fatalf("%d rows", len(tt.Rows))
	}
	want := []string{"1", "1", "BTC/USDT", "BTC/USDT", "long", "long",
		"2024-01-02 07:25", "2024-01-02T07:25:00Z", "2024-01-02 08:30", "2024-01-02T08:30:00Z", "1h 05m", "65",
		"42000.00", "42000", "42500.00", "42500", "100.00", "100",
		"+0.99%", "0.009883", "+0.9883", "0.9883", "roi", "roi", "rsi", "rsi", "pos"}
	if got := tt.Rows[0]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("first row\n got %q\nwant %q", got, want)
	}
	last := tt.Rows[5]
	if last[8] != "open" || last[9] != "" || last[11] != "" || last[22] != "open" {
		t.Errorf("open trade row %q", last)
	}
	if strings.Contains(out, "trades-scroll") || strings.Contains(out, "max-height: 720px") {
		t.Error("trade list still in a fixed-height box")
	}
}

func TestWriteHTMLSelfContained(t *testing.T) {
	res, m := largeFixture()
	out := writeHTML(t, res, m)
	for _, s := range []string{"http://", "https://", "//cdn", "<link", "@import", "@font-face"} {
		if strings.Contains(out, s) {
			t.Errorf("report references %q", s)
		}
	}
	for _, re := range []string{`\ssrc\s*=`, `\shref\s*=`, `url\((?:'|")?[a-z]+:`} {
		if regexp.MustCompile(re).MatchString(out) {
			t.Errorf("report matches %s", re)
		}
	}
	if !strings.Contains(out, "<style>") || !strings.Contains(out, "<script>") {
		t.Error("CSS or JS not inline")
	}
}

func TestWriteHTMLDeterministic(t *testing.T) {
	res, m := largeFixture()
	a := writeHTML(t, res, m)
	res2, m2 := largeFixture()
	if b := writeHTML(t, res2, m2); a != b {
		t.Fatal("two writes of equal inputs differ")
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	const evil = "<script>alert(1)</script>"
	res, m := smallFixture()
	res.Strategy = evil
	res.Pairs[0] = evil
	res.Trades[0].Pair = evil
	res.Trades[0].EnterTag = evil
	res.Exchange = `"><img onerror=x>`
	res.Params["<b>"] = evil
	m.PerPair[0].Key = evil
	m.PerEnterTag[0].Key = evil
	m.Summary.BestPair = evil
	out := writeHTML(t, res, m)
	if strings.Contains(out, evil) || strings.Contains(out, "<img") || !strings.Contains(out, "&lt;b&gt;") {
		t.Error("user-supplied string not escaped")
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("escaped pair name missing")
	}
	if tt := tradeData(t, out); tt.Rows[0][2] != evil || tt.Rows[0][len(tt.Rows[0])-3] != evil {
		t.Errorf("trade data does not carry the pair and tag as given: %q", tt.Rows[0])
	}
	if n := strings.Count(out, "<script>"); n != 1 {
		t.Errorf("%d <script> tags, want only the report's own", n)
	}
}

func TestWriteHTMLEmptyAndOneDay(t *testing.T) {
	res, m := emptyFixture()
	out := writeHTML(t, res, m)
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Error("output contains NaN or Inf")
	}
	if !strings.Contains(out, "No trades were made") {
		t.Error("no empty-trades message")
	}
	// A truly empty result too.
	out = writeHTML(t, &result.Result{}, metrics.Report{})
	if strings.Contains(out, "NaN") {
		t.Error("empty result output contains NaN")
	}
	if !strings.Contains(out, "Not enough data") {
		t.Error("no placeholder for the missing equity chart")
	}
}

func TestWriteHTMLNoNaN(t *testing.T) {
	res, m := smallFixture()
	m.Summary.Sharpe = math.NaN()
	m.Summary.ProfitFactor = math.Inf(1)
	m.PerPair[0].Winrate = math.NaN()
	res.Equity[3].Equity = math.NaN()
	res.Trades[1].ProfitRatio = math.NaN()
	out := writeHTML(t, res, m)
	if strings.Contains(out, "NaN") {
		i := strings.Index(out, "NaN")
		t.Errorf("output contains NaN: %q", out[max(0, i-80):i+20])
	}
	// A single equity point, equal start and end.
	res, m = smallFixture()
	res.Start, res.End = res.Equity[0].Time, res.Equity[0].Time
	res.Equity = res.Equity[:1]
	m.Summary.BacktestStart, m.Summary.BacktestEnd = 0, 0
	out = writeHTML(t, res, m)
	if strings.Contains(out, "NaN") {
		t.Error("single-point output contains NaN")
	}
}

func TestWriteHTMLDownsamples(t *testing.T) {
	res, m := smallFixture()
	res.Equity = nil
	for i := 0; i < 9000; i++ {
		res.Equity = append(res.Equity, result.EquityPoint{Time: res.Start + int64(i+1)*hourMs, Equity: 1000 + 50*math.Sin(float64(i)/300)})
	}
	out := writeHTML(t, res, m)
	i := strings.Index(out, `class="line-eq" d="`)
	if i < 0 {
		t.Fatal("no equity line")
	}
	d := out[i+len(`class="line-eq" d="`):]
	d = d[:strings.IndexByte(d, '"')]
	if n := strings.Count(d, "L") + 1; n > maxChartPoints {
		t.Errorf("equity path has %d points, want at most %d", n, maxChartPoints)
	}
	// The report says so, and where the exact curve is.
	if !strings.Contains(out, `<p class="thinned">Lines of more than 2000 points are drawn downsampled`) || !strings.Contains(out, "<code>--export-json</code>") {
		t.Error("the report does not say that the equity is drawn downsampled")
	}
	if res, m := smallFixture(); strings.Contains(writeHTML(t, res, m), `class="thinned"`) {
		t.Error("a short equity curve is said to be drawn downsampled")
	}
}

// TestWriteHTMLDrawdownLabels: the drawdown chart plots daily closes, the
// headline is measured at every candle close; both figures are labelled
// and the headline is drawn as the chart's dashed line.
func TestWriteHTMLDrawdownLabels(t *testing.T) {
	res, _ := smallFixture()
	// Daily closes: peak 1000.9883 (Jan 2), trough 997.7883 (Jan 4):
	// 3.2 / 1000.9883 = 0.3197%. The engine saw a deeper intraday trough.
	res.MaxDrawdownEquity = 0.0061
	m := metrics.Compute(res)
	out := writeHTML(t, res, m)
	for _, s := range []string{
		"below its running peak · deepest 0.32%",
		"Max drawdown at every candle close (the headline) · 0.61%",
		`<div class="card-label">Max drawdown</div>
    <div class="card-value neg">0.61%</div>`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	dd := out[strings.Index(out, `id="drawdown"`):]
	dd = dd[:strings.Index(dd, "</svg>")]
	if strings.Count(dd, `class="ref"`) != 1 {
		t.Error("drawdown chart has no dashed line for the headline drawdown")
	}
}

func TestDrawdownChartHeadlineLine(t *testing.T) {
	dd := []pt{{0, 0}, {clock.DayMs, -0.01}, {2 * clock.DayMs, 0}}
	svg := string(drawdownChart(dd, 0.04))
	// y axis from -4% (padded down to -5%) to 0: the dashed line lies
	// below the series' lowest point.
	ref := regexp.MustCompile(`class="ref" x1="[0-9.]+" x2="[0-9.]+" y1="([0-9.]+)"`).FindStringSubmatch(svg)
	if ref == nil {
		t.Fatal("no headline line")
	}
	if !strings.Contains(svg, ">-4%<") && !strings.Contains(svg, ">-5%<") {
		t.Errorf("y axis does not reach the headline: %s", svg)
	}
	if svg0 := string(drawdownChart(dd, 0)); strings.Contains(svg0, `class="ref"`) {
		t.Error("dashed line without a headline drawdown")
	}
}

func TestWriteHTMLBenchmark(t *testing.T) {
	res, m := smallFixture()
	out := writeHTML(t, res, m)
	eq := out[strings.Index(out, `id="equity"`):]
	eq = eq[:strings.Index(eq, "</svg>")]
	if !strings.Contains(eq, `class="line-bench"`) || !strings.Contains(out, "Buy and hold of the pairs, equal weight") {
		t.Error("no buy-and-hold line on the equity chart")
	}
	res.Benchmark = nil
	out = writeHTML(t, res, m)
	if strings.Contains(out, `class="line-bench"`) || strings.Contains(out, "Buy and hold of the pairs, equal weight") {
		t.Error("buy-and-hold line without a benchmark")
	}
}

func TestDrawdownPeriods(t *testing.T) {
	// Daily closes 100, 110, 99, 105, 111, 90, 95: a 10% fall from day 1
	// to day 2, back above 110 on day 4; then 18.92% from day 4 to day 5,
	// not recovered.
	var eq []pt
	for i, v := range []float64{100, 110, 99, 105, 111, 90, 95} {
		eq = append(eq, pt{ms("2024-03-01 00:00") + int64(i+1)*clock.DayMs, v})
	}
	got := drawdownRows(drawdownPeriods(eq, 5), eq[6].t)
	want := []ddRow{
		{Depth: "-18.92%", Peak: "2024-03-05", Trough: "2024-03-06", Recovery: "not recovered", Length: "2 days"},
		{Depth: "-10.00%", Peak: "2024-03-02", Trough: "2024-03-03", Recovery: "2024-03-05", Length: "3 days"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if n := len(drawdownPeriods(eq, 1)); n != 1 {
		t.Errorf("%d periods, want the deepest only", n)
	}
}

func TestRollingSharpe(t *testing.T) {
	days := []metrics.Day{
		{Date: "2024-01-01", Return: 0.01}, {Date: "2024-01-02", Return: -0.01},
		{Date: "2024-01-03", Return: 0.03}, {Date: "2024-01-04", Return: 0.03},
	}
	got := rollingSharpe(days, 3)
	// Window 1: 0.01, -0.01, 0.03: mean 0.01, sample std 0.02 → 0.5·√365.
	// Window 2: -0.01, 0.03, 0.03: mean 0.016667, sample std 0.023094 →
	// 0.721688·√365.
	if len(got) != 2 || got[0].t != ms("2024-01-04 00:00") || got[1].t != ms("2024-01-05 00:00") {
		t.Fatalf("points %+v", got)
	}
	if math.Abs(got[0].v-0.5*math.Sqrt(365)) > 1e-9 || math.Abs(got[1].v-0.7216878364870323*math.Sqrt(365)) > 1e-9 {
		t.Errorf("values %g, %g", got[0].v, got[1].v)
	}
	if rollingSharpe(days[:2], 3) != nil {
		t.Error("a window longer than the days")
	}
	res, m := largeFixture() // 366 days
	if out := writeHTML(t, res, m); !strings.Contains(out, `id="rolling-sharpe"`) {
		t.Error("no rolling Sharpe chart for a year")
	}
	res, m = smallFixture() // 10 days
	if out := writeHTML(t, res, m); strings.Contains(out, `id="rolling-sharpe"`) {
		t.Error("rolling Sharpe chart for ten days")
	}
}
