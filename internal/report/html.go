package report

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
)

//go:embed templates/report.html.tmpl templates/style.css templates/script.js
var templateFS embed.FS

var (
	reportTmpl = template.Must(template.New("report.html.tmpl").ParseFS(templateFS, "templates/report.html.tmpl"))
	reportCSS  = mustRead("templates/style.css")
	reportJS   = mustRead("templates/script.js")
)

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// WriteHTML writes the files' backtest as a self-contained HTML report:
// one file with inline CSS, inline JavaScript and inline SVG charts, which
// needs no network to view.
//
// It shows a header (strategy, pairs, timeframe, period, parameters),
// headline cards, the equity curve (with buy and hold of the pairs when the
// result has a Benchmark, and a log-scale twin), an underwater (drawdown)
// chart with the worst drawdowns, a rolling Sharpe chart, histograms of the
// trade and daily returns, a monthly-returns heatmap, the per-pair table,
// a price chart per pair with its trades' entries and exits (the result's
// Prices; the hovered trade's stop-loss and ROI levels drawn by the page's
// script) above the pair's cumulative profit, the exit-reason and
// enter-tag tables, Freqtrade's metrics side by side with
// the equity-based ones, all other metrics, and the trade list (embedded as
// JSON; the page's script draws it a page at a time, sorts it and offers
// it as CSV). Every user-supplied string is
// escaped by html/template. Zero trades, a one-day backtest and non-finite
// metrics are handled: the output never contains NaN.
//
// The metrics may still be being computed: it builds what does not need
// them (the trade list, the pair panels, the equity charts), most of a
// large report, and only then asks for them.
func (f *Files) WriteHTML(w io.Writer) error {
	if f.res == nil {
		return fmt.Errorf("report: nil backtest result")
	}
	v := buildView(f)
	v.out = w
	if err := reportTmpl.Execute(w, v); err != nil {
		return fmt.Errorf("report: rendering HTML: %w", err)
	}
	// The trade list's data, most of the file, goes straight into w, not
	// through the template (which would copy it once more).
	if v.Trades != nil {
		if _, err := io.WriteString(w, "\n  <script type=\"application/json\" id=\"trade-data\">"); err != nil {
			return fmt.Errorf("report: rendering HTML: %w", err)
		}
		if err := v.Trades.writeJSON(w); err != nil {
			return fmt.Errorf("report: rendering HTML: %w", err)
		}
		if _, err := io.WriteString(w, "</script>"); err != nil {
			return fmt.Errorf("report: rendering HTML: %w", err)
		}
	}
	if err := reportTmpl.ExecuteTemplate(w, "end", v); err != nil {
		return fmt.Errorf("report: rendering HTML: %w", err)
	}
	return nil
}

type htmlView struct {
	CSS template.CSS
	JS  template.JS

	Strategy, Timeframe, Exchange, TradingMode, Stake, MaxOpen string
	From, To                                                   string
	Days                                                       int
	PairNames                                                  []string
	Params                                                     []keyValue

	Cards                      []card
	EquityChart, DrawdownChart template.HTML
	Benchmark                  bool // the equity chart has a buy-and-hold line
	TradeHist, DayHist         template.HTML
	RollingSharpe              template.HTML // "" for backtests shorter than two windows
	EquityLogChart             template.HTML // "" when the equity is not always positive
	// EquityThinned: a line of the equity chart has more points than
	// maxChartPoints and is drawn downsampled.
	EquityThinned  bool
	MaxChartPoints int
	// MaxDDEquity is the headline drawdown (every candle close, the dashed
	// line of the drawdown chart); MaxDDDaily the deepest point the chart's
	// daily closes reach.
	MaxDDEquity, MaxDDDaily string
	Drawdowns               []ddRow // the deepest drawdowns of the daily closes
	MonthNames              []string
	Months                  []yearRow

	PerPair, PerExit, PerTag groupView
	Compare                  []compareRow
	Sections                 []metricSection

	Trades *tradeList
	Pairs  []pairPanel

	out io.Writer // what the template writes to, for Put
}

// Put writes a chart or a pair's marks (a template.HTML or a template.JS
// made by this package) straight to the page, and returns an empty value
// of its type for the template to print. Printed by the template, the
// value would be copied into a buffer of its size first: the charts and
// the marks are a large part of a report. The template's own writes go to
// the same writer as they are made, so the order is kept, and the value is
// trusted as it would be when printed.
func (v *htmlView) Put(x any) (any, error) {
	var text string
	var empty any
	switch x := x.(type) {
	case template.HTML:
		text, empty = string(x), template.HTML("")
	case template.JS:
		text, empty = string(x), template.JS("")
	default:
		return nil, fmt.Errorf("report: Put takes a chart or marks, not %T", x)
	}
	if _, err := io.WriteString(v.out, text); err != nil {
		return nil, err
	}
	return empty, nil
}

type keyValue struct{ Key, Value string }

type card struct{ Label, Value, Sub, Tone string }

type groupView struct {
	KeyHeader, Ccy string
	Rows           []groupRow
	Total          *groupRow
}

type groupRow struct {
	Key                 string
	Trades              int
	Avg, AvgV, AvgTone  string
	TotAbs, TotAbsV     string
	TotPct, TotTone     string
	Dur, DurV           string
	Wins, Draws, Losses int
	Win, WinV, WinW     string
}

type yearRow struct {
	Year  string
	Cells [12]monthCell
	Total monthCell
}

type monthCell struct {
	Text, Tone string
	Style      template.CSS
}

type compareRow struct{ Metric, Freqtrade, Equity, Note string }

type metricSection struct {
	Title string
	Rows  []metricRow
}

type metricRow struct{ Label, Value, Note, Tone string }

// tone is the CSS class for a signed number: "pos", "neg" or "".
func tone(x float64) string {
	switch {
	case !isFinite(x):
		return ""
	case x > 0:
		return "pos"
	case x < 0:
		return "neg"
	}
	return ""
}

// sortKey renders a number for a data-v sort attribute.
func sortKey(x float64) string {
	if !isFinite(x) {
		if math.IsInf(x, 1) {
			return "1e308"
		}
		return "-1e308"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// periodBounds is the backtest's time range: the metrics' if set, else the
// result's.
func periodBounds(res *result.Result, s metrics.Summary) (int64, int64) {
	if s.BacktestStart != 0 || s.BacktestEnd != 0 {
		return s.BacktestStart, s.BacktestEnd
	}
	return res.Start, res.End
}

// buildView is the report's view of the files' result; it asks for the
// metrics when what does not need them is built.
func buildView(f *Files) *htmlView {
	res := f.res
	ccy := res.StakeCurrency
	name := res.Strategy
	if name == "" {
		name = "Unnamed strategy"
	}
	v := &htmlView{
		CSS:         template.CSS(reportCSS),
		JS:          template.JS(reportJS),
		Strategy:    name,
		Timeframe:   string(res.Timeframe),
		Exchange:    res.Exchange,
		TradingMode: res.TradingMode,
		Stake:       ccy,
		MaxOpen:     maxOpenTrades(res.MaxOpenTrades),
		PairNames:   res.Pairs,
		MonthNames:  []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	}
	keys := make([]string, 0, len(res.Params))
	for k := range res.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Params = append(v.Params, keyValue{k, paramValue(res.Params[k])})
	}

	// The trade list and the pair panels, most of the work on a large
	// backtest, are built beside the rest.
	var parts sync.WaitGroup
	parts.Go(func() { v.Trades = tradeListOf(res, ccy) })
	parts.Go(func() { v.Pairs = pairPanels(res) })
	eq := equitySeries(res)
	lines := equityLines(res, eq)
	v.EquityChart, v.EquityThinned = equityChart(res, lines, false)
	if allPositive(eq) {
		v.EquityLogChart, _ = equityChart(res, lines, true)
	}
	v.MaxChartPoints = maxChartPoints
	v.Benchmark = len(res.Benchmark) > 0
	dd := drawdownSeries(eq)
	if len(eq) > 0 {
		v.Drawdowns = drawdownRows(drawdownPeriods(eq, maxDrawdownPeriods), eq[len(eq)-1].t)
	}
	v.MaxDDDaily = pctS(-minValue(dd), 2)
	v.Months = monthlyReturns(res, eq)
	tradeRets := make([]float64, 0, len(res.Trades))
	for i := range res.Trades {
		if t := &res.Trades[i]; t.CloseTime != 0 {
			tradeRets = append(tradeRets, t.ProfitRatio)
		}
	}
	v.TradeHist = histogramChart("trade-returns", "Distribution of trade returns", "trade", tradeRets)

	m := f.metrics()
	s := m.Summary
	from, to := periodBounds(res, s)
	v.From, v.To = dateMinute(from), dateMinute(to)
	v.Days = s.BacktestDays
	v.MaxDDEquity = pctS(s.MaxDrawdownEquity, 2)
	v.Cards = headlineCards(res, m)
	v.DrawdownChart = drawdownChart(dd, s.MaxDrawdownEquity)
	dayRets := make([]float64, 0, len(m.Daily))
	for _, d := range m.Daily {
		dayRets = append(dayRets, d.Return)
	}
	v.RollingSharpe = rollingSharpeChart(m.Daily)
	v.DayHist = histogramChart("day-returns", "Distribution of daily equity returns", "day", dayRets)

	v.PerPair = groupViewOf("Pair", m.PerPair, ccy)
	v.PerExit = groupViewOf("Exit reason", m.PerExitReason, ccy)
	if hasTags(m.PerEnterTag) {
		v.PerTag = groupViewOf("Enter tag", m.PerEnterTag, ccy)
	}
	v.Compare = compareRows(s, ccy)
	v.Sections = metricSections(res, m)
	parts.Wait()
	return v
}

func headlineCards(res *result.Result, m metrics.Report) []card {
	s := m.Summary
	ccy := res.StakeCurrency
	withCcy := func(x string) string {
		if ccy == "" {
			return x
		}
		return x + " " + ccy
	}
	return []card{
		{"Total profit", pctSigned(s.ProfitTotal, 2), "market " + pctSigned(s.MarketChange, 1), tone(s.ProfitTotal)},
		{"Absolute profit", signedGrouped(s.ProfitTotalAbs, autoDec(s.StartingBalance)), withCcy(grouped(s.StartingBalance, autoDec(s.StartingBalance)) + " → " + grouped(s.FinalBalance, autoDec(s.StartingBalance))), tone(s.ProfitTotalAbs)},
		{"CAGR", pctSigned(s.CAGR, 2), "over " + plural(s.BacktestDays, "day"), tone(s.CAGR)},
		{"Max drawdown", pctS(s.MaxDrawdownEquity, 2), "equity at every candle · closed trades " + pctS(s.MaxDrawdownAccount, 1), tone(-s.MaxDrawdownEquity)},
		{"Sharpe (daily)", fixed(s.SharpeDaily, 2), "equity-based · Freqtrade " + fixed(s.Sharpe, 2), ""},
		{"Win rate", pctS(s.Winrate, 1), fmt.Sprintf("%d W · %d D · %d L", s.Wins, s.Draws, s.Losses), ""},
		{"Trades", strconv.Itoa(s.TotalTrades), fixed(s.TradesPerDay, 2) + " per day · in market " + pctS(s.Exposure, 0), ""},
		{"Profit factor", fixed(s.ProfitFactor, 2), "expectancy " + fixed(s.ExpectancyRatio, 2) + " R", ""},
	}
}

// equitySeries is the daily mark-to-market equity, starting from the
// starting balance at the backtest start.
func equitySeries(res *result.Result) []pt {
	pts := make([]pt, 0, len(res.Equity)+1)
	if len(res.Equity) == 0 {
		if res.End > res.Start && res.StartingBalance > 0 {
			final := res.FinalBalance
			if final == 0 {
				final = res.StartingBalance
			}
			pts = append(pts, pt{res.Start, res.StartingBalance}, pt{res.End, final})
		}
		return pts
	}
	if res.StartingBalance > 0 && res.Start < res.Equity[0].Time {
		pts = append(pts, pt{res.Start, res.StartingBalance})
	}
	for _, e := range res.Equity {
		pts = append(pts, pt{e.Time, e.Equity})
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
	return pts
}

// allPositive reports whether pts has points and every value is above 0,
// so that a log scale can show them all.
func allPositive(pts []pt) bool {
	for _, p := range pts {
		if !(p.v > 0) {
			return false
		}
	}
	return len(pts) > 1
}

// rollingWindow is the rolling Sharpe's window in days; the chart is drawn
// when the backtest has at least two windows of days.
const rollingWindow = 30

// rollingSharpe is the Sharpe ratio of the daily returns over each window
// of the last `window` days (mean / sample std · √365, as sharpe_daily_equity;
// 0 without variation), one point per day from the window's first full day.
func rollingSharpe(days []metrics.Day, window int) []pt {
	if window < 2 || len(days) < window {
		return nil
	}
	out := make([]pt, 0, len(days)-window+1)
	for i := window - 1; i < len(days); i++ {
		var sum, ss float64
		for _, d := range days[i-window+1 : i+1] {
			sum += d.Return
		}
		m := sum / float64(window)
		for _, d := range days[i-window+1 : i+1] {
			ss += (d.Return - m) * (d.Return - m)
		}
		sharpe := 0.0
		if sd := math.Sqrt(ss / float64(window-1)); sd > 0 {
			sharpe = m / sd * math.Sqrt(365)
		}
		t, err := time.Parse(time.DateOnly, days[i].Date)
		if err != nil {
			continue
		}
		out = append(out, pt{t.UnixMilli() + clock.DayMs, sharpe})
	}
	return out
}

func rollingSharpeChart(days []metrics.Day) template.HTML {
	if len(days) < 2*rollingWindow {
		return ""
	}
	c := &chart{
		id: "rolling-sharpe", width: 1200, height: 200,
		yFmt:      func(v, step float64) string { return fixed(v, stepDecimals(step)) },
		tipFmt:    func(v float64) string { return "Sharpe " + fixed(v, 2) },
		minSpan:   1,
		ref:       []float64{0},
		ariaLabel: "Rolling Sharpe ratio",
		lines:     []chartLine{{pts: rollingSharpe(days, rollingWindow), class: "line-roll", areaTo: math.NaN()}},
	}
	return c.render()
}

// benchmarkSeries is buy and hold of the pairs from the starting balance
// at the backtest start; nil when the result carries no benchmark.
func benchmarkSeries(res *result.Result) []pt {
	if len(res.Benchmark) == 0 {
		return nil
	}
	pts := make([]pt, 0, len(res.Benchmark)+1)
	if res.StartingBalance > 0 && res.Start < res.Benchmark[0].Time {
		pts = append(pts, pt{res.Start, res.StartingBalance})
	}
	for _, e := range res.Benchmark {
		pts = append(pts, pt{e.Time, e.Equity})
	}
	return pts
}

// realisedSeries is the balance from closed trades only (Freqtrade's view).
func realisedSeries(res *result.Result, end int64) []pt {
	bal := res.StartingBalance
	pts := make([]pt, 0, len(res.Trades)+2)
	pts = append(pts, pt{res.Start, bal})
	for i := range res.Trades {
		if t := &res.Trades[i]; t.CloseTime != 0 {
			pts = append(pts, pt{t.CloseTime, t.ProfitAbs})
		}
	}
	// By closing time: the backtester's trades are in closing order.
	if closes := pts[1:]; !slices.IsSortedFunc(closes, func(a, b pt) int { return cmp.Compare(a.t, b.t) }) {
		slices.SortStableFunc(closes, func(a, b pt) int { return cmp.Compare(a.t, b.t) })
	}
	for i := 1; i < len(pts); i++ {
		bal += pts[i].v
		pts[i].v = bal
	}
	if end > pts[len(pts)-1].t {
		pts = append(pts, pt{end, bal})
	}
	return pts
}

// equityLines are the lines of the equity charts: the equity eq, the
// balance from closed trades and the benchmark.
func equityLines(res *result.Result, eq []pt) []chartLine {
	lines := []chartLine{{pts: eq, class: "line-eq", area: "area-eq", areaTo: math.NaN()}}
	if len(eq) > 0 {
		lines = append(lines, chartLine{pts: realisedSeries(res, eq[len(eq)-1].t), class: "line-real", step: true, areaTo: math.NaN()})
	}
	if b := benchmarkSeries(res); len(b) > 0 {
		lines = append(lines, chartLine{pts: b, class: "line-bench", areaTo: math.NaN()})
	}
	return lines
}

// equityChart draws lines (equityLines); logY on a log scale (id
// "equity-log"). It also reports whether a line has more than
// maxChartPoints points, so that the chart draws it downsampled.
func equityChart(res *result.Result, lines []chartLine, logY bool) (template.HTML, bool) {
	ccy := res.StakeCurrency
	id := "equity"
	if logY {
		id = "equity-log"
	}
	c := &chart{
		id: id, width: 1200, height: 360, logY: logY,
		yFmt:      fmtAxisNumber,
		tipFmt:    func(v float64) string { return money2(v, ccy) },
		minSpan:   math.Abs(res.StartingBalance) * 0.02,
		ariaLabel: "Equity curve",
		lines:     lines,
	}
	if res.StartingBalance > 0 {
		c.ref = []float64{res.StartingBalance}
	}
	return c.render(), slices.ContainsFunc(c.lines, func(l chartLine) bool { return len(l.pts) > maxChartPoints })
}

func money2(x float64, ccy string) string {
	s := grouped(x, autoDec(x))
	if ccy != "" {
		s += " " + ccy
	}
	return s
}

// drawdownSeries is the fall below the running peak, as a (negative) ratio.
func drawdownSeries(eq []pt) []pt {
	out := make([]pt, 0, len(eq))
	peak := math.Inf(-1)
	for _, p := range eq {
		if !isFinite(p.v) {
			continue
		}
		peak = math.Max(peak, p.v)
		dd := 0.0
		if peak > 0 {
			dd = p.v/peak - 1
		}
		out = append(out, pt{p.t, dd})
	}
	return out
}

// minValue is the lowest finite value of pts, 0 for none.
func minValue(pts []pt) float64 {
	lo := 0.0
	for _, p := range pts {
		if isFinite(p.v) {
			lo = math.Min(lo, p.v)
		}
	}
	return lo
}

// ddPeriod is one fall of the equity below a peak and its way back.
type ddPeriod struct {
	peak, trough, recovery int64 // times; recovery 0 while not recovered
	depth                  float64
}

// maxDrawdownPeriods is how many of the deepest drawdowns the report lists.
const maxDrawdownPeriods = 5

// drawdownPeriods splits eq into its drawdowns, each from a peak (the last
// point at the running high) through its lowest point to the first point
// back at or above the peak, deepest first (ties by time), at most n.
func drawdownPeriods(eq []pt, n int) []ddPeriod {
	var out []ddPeriod
	var cur *ddPeriod
	peakV := math.Inf(-1)
	var peakT int64
	for _, p := range eq {
		if !isFinite(p.v) {
			continue
		}
		if p.v >= peakV {
			if cur != nil {
				cur.recovery = p.t
				out = append(out, *cur)
				cur = nil
			}
			peakV, peakT = p.v, p.t
			continue
		}
		if peakV <= 0 {
			continue
		}
		d := 1 - p.v/peakV
		if cur == nil {
			cur = &ddPeriod{peak: peakT}
		}
		if d > cur.depth {
			cur.depth, cur.trough = d, p.t
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].depth > out[j].depth })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

type ddRow struct{ Depth, Peak, Trough, Recovery, Length string }

// drawdownRows renders periods; a period not recovered lasts to end.
func drawdownRows(ps []ddPeriod, end int64) []ddRow {
	rows := make([]ddRow, 0, len(ps))
	for _, p := range ps {
		r := ddRow{Depth: pctS(-p.depth, 2), Peak: dateOnly(p.peak - 1), Trough: dateOnly(p.trough - 1), Recovery: "not recovered"}
		to := end
		if p.recovery != 0 {
			r.Recovery, to = dateOnly(p.recovery-1), p.recovery
		}
		r.Length = plural(int((to-p.peak)/clock.DayMs), "day")
		rows = append(rows, r)
	}
	return rows
}

// drawdownChart plots dd (the fall of the daily-close equity below its
// peak) with the headline drawdown, measured at every candle close, as a
// dashed line: the daily points cannot reach an intraday trough.
func drawdownChart(dd []pt, headline float64) template.HTML {
	zero := 0.0
	c := &chart{
		id: "drawdown", width: 1200, height: 200,
		yFmt:      fmtAxisPct,
		tipFmt:    func(v float64) string { return pctS(v, 2) },
		maxY:      &zero,
		minSpan:   0.01,
		ariaLabel: "Underwater drawdown chart",
		lines:     []chartLine{{pts: dd, class: "line-dd", area: "area-dd", areaTo: 0}},
	}
	if headline > 0 && isFinite(headline) {
		c.ref = []float64{-headline}
	}
	return c.render()
}

// monthlyReturns buckets the equity curve by calendar month (UTC). A point
// stamped exactly at midnight closes the previous day, so points are
// bucketed by their time minus one millisecond.
func monthlyReturns(res *result.Result, eq []pt) []yearRow {
	if len(eq) < 2 {
		return nil
	}
	type month struct {
		y, m int
		end  float64
	}
	var months []month
	for i, p := range eq {
		if i == 0 {
			continue // the starting balance
		}
		t := utc(p.t - 1)
		y, mo := t.Year(), int(t.Month())
		if n := len(months); n > 0 && months[n-1].y == y && months[n-1].m == mo {
			months[n-1].end = p.v
		} else {
			months = append(months, month{y, mo, p.v})
		}
	}
	type cell struct {
		y, m int
		r    float64
	}
	var cells []cell
	prev := eq[0].v
	maxAbs := 0.0
	yearStart := map[int]float64{}
	yearEnd := map[int]float64{}
	var years []int
	for _, mo := range months {
		if _, ok := yearStart[mo.y]; !ok {
			yearStart[mo.y] = prev
			years = append(years, mo.y)
		}
		yearEnd[mo.y] = mo.end
		r := math.NaN()
		if prev > 0 {
			r = mo.end/prev - 1
		}
		if isFinite(r) {
			maxAbs = math.Max(maxAbs, math.Abs(r))
		}
		cells = append(cells, cell{mo.y, mo.m, r})
		prev = mo.end
	}
	yearMax := 0.0
	yearRet := map[int]float64{}
	for _, y := range years {
		r := math.NaN()
		if s := yearStart[y]; s > 0 {
			r = yearEnd[y]/s - 1
		}
		yearRet[y] = r
		if isFinite(r) {
			yearMax = math.Max(yearMax, math.Abs(r))
		}
	}
	rows := make([]yearRow, 0, len(years))
	idx := map[int]int{}
	for _, y := range years {
		idx[y] = len(rows)
		rows = append(rows, yearRow{Year: strconv.Itoa(y), Total: heatCell(yearRet[y], yearMax)})
	}
	for _, c := range cells {
		rows[idx[c.y]].Cells[c.m-1] = heatCell(c.r, maxAbs)
	}
	return rows
}

// heatCell colours a return by its size relative to the largest one.
func heatCell(r, maxAbs float64) monthCell {
	c := monthCell{Text: pctSigned(r, 1), Tone: tone(r)}
	if !isFinite(r) || maxAbs <= 0 || r == 0 {
		return c
	}
	a := 0.10 + 0.55*math.Min(1, math.Abs(r)/maxAbs)
	rgb := "22, 163, 74"
	if r < 0 {
		rgb = "220, 38, 38"
	}
	c.Style = template.CSS("background: rgba(" + rgb + ", " + strconv.FormatFloat(a, 'f', 2, 64) + ")")
	return c
}

func groupViewOf(keyHeader string, gs []metrics.Group, ccy string) groupView {
	gv := groupView{KeyHeader: keyHeader, Ccy: ccy}
	rows, total := splitTotal(gs)
	for _, g := range rows {
		gv.Rows = append(gv.Rows, groupRowOf(g))
	}
	if total != nil && len(rows) > 0 {
		t := groupRowOf(*total)
		gv.Total = &t
	}
	return gv
}

func groupRowOf(g metrics.Group) groupRow {
	winW := 0.0
	if isFinite(g.Winrate) {
		winW = math.Max(0, math.Min(100, g.Winrate*100))
	}
	return groupRow{
		Key:     groupKey(g.Key),
		Trades:  g.Trades,
		Avg:     pctSigned(g.ProfitMean, 2),
		AvgV:    sortKey(g.ProfitMean),
		AvgTone: tone(g.ProfitMean),
		TotAbs:  signedGrouped(g.ProfitTotalAbs, autoDec(g.ProfitTotalAbs)),
		TotAbsV: sortKey(g.ProfitTotalAbs),
		TotPct:  pctSigned(g.ProfitTotal, 2),
		TotTone: tone(g.ProfitTotalAbs),
		Dur:     duration(g.DurationAvg),
		DurV:    sortKey(g.DurationAvg),
		Wins:    g.Wins,
		Draws:   g.Draws,
		Losses:  g.Losses,
		Win:     pctS(g.Winrate, 1),
		WinV:    sortKey(g.Winrate),
		WinW:    strconv.FormatFloat(winW, 'f', 1, 64),
	}
}

func compareRows(s metrics.Summary, ccy string) []compareRow {
	ddPeriod := func(a, b int64) string {
		if a == 0 && b == 0 {
			return "–"
		}
		return dateOnly(a) + " → " + dateOnly(b)
	}
	return []compareRow{
		{"Sharpe ratio", fixed(s.Sharpe, 2), fixed(s.SharpeDaily, 2),
			"Return per unit of volatility. Freqtrade divides the average return per day by the spread of individual trade returns; the equity version uses the mean and standard deviation of daily equity returns, annualised with √365."},
		{"Sortino ratio", fixed(s.Sortino, 2), fixed(s.SortinoDaily, 2),
			"Like Sharpe, but only losses count as risk (downside deviation)."},
		{"Calmar ratio", fixed(s.Calmar, 2), fixed(s.CalmarEquity, 2),
			"Annual return divided by the maximum drawdown. Higher means the returns came with shallower falls."},
		{"Max drawdown", pctS(s.MaxDrawdownAccount, 2), pctS(s.MaxDrawdownEquity, 2),
			"Largest fall from a peak. Freqtrade only sees balances after trades close; the equity figure is the account marked to market at every candle close, so it also counts intraday losses of positions that were still open. It is usually larger and closer to what you would have lived through."},
		{"Max drawdown (" + orWord(ccy, "abs") + ")", grouped(s.MaxDrawdownAbs, 2), grouped(s.MaxDrawdownEquityAbs, 2),
			"The same falls in the stake currency."},
		{"Drawdown period", ddPeriod(s.DrawdownStart, s.DrawdownEnd), ddPeriod(s.DrawdownEquityStart, s.DrawdownEquityEnd),
			"From the peak to the bottom of the largest drawdown."},
		{"Volatility (annual)", "–", pctS(s.VolatilityAnnual, 2),
			"Standard deviation of daily equity returns, annualised with √365."},
	}
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func metricSections(res *result.Result, m metrics.Report) []metricSection {
	s := m.Summary
	ccy := res.StakeCurrency
	return []metricSection{
		{"Returns", []metricRow{
			{"Starting balance", money2(s.StartingBalance, ccy), "", ""},
			{"Final balance", money2(s.FinalBalance, ccy), "", ""},
			{"Absolute profit", money2(s.ProfitTotalAbs, ccy), "Sum of closed-trade profits after fees", tone(s.ProfitTotalAbs)},
			{"Total profit", pctSigned(s.ProfitTotal, 2), "Absolute profit ÷ starting balance", tone(s.ProfitTotal)},
			{"CAGR", pctSigned(s.CAGR, 2), "Compound annual growth rate", tone(s.CAGR)},
			{"Market change", pctSigned(s.MarketChange, 2), "Average buy-and-hold change of the pairs", tone(s.MarketChange)},
			{"Min / max balance", money2(s.MinBalance, ccy) + " / " + money2(s.MaxBalance, ccy), "Balance after each closed trade", ""},
			{"Best day", money2(s.BestDayAbs, ccy), "Closed trades' profit on one UTC day", tone(s.BestDayAbs)},
			{"Worst day", money2(s.WorstDayAbs, ccy), "", tone(s.WorstDayAbs)},
			{"Days win / draw / lose", fmt.Sprintf("%d / %d / %d", s.WinningDays, s.DrawDays, s.LosingDays), "Days without a closed trade are draws", ""},
			{"Best pair", pairResult(s.BestPair, m.PerPair), "", ""},
			{"Worst pair", pairResult(s.WorstPair, m.PerPair), "", ""},
		}},
		{"Trades", []metricRow{
			{"Trades", strconv.Itoa(s.TotalTrades), "", ""},
			{"Trades per day", fixed(s.TradesPerDay, 2), "", ""},
			{"Wins / draws / losses", fmt.Sprintf("%d / %d / %d", s.Wins, s.Draws, s.Losses), "", ""},
			{"Win rate", pctS(s.Winrate, 2), "", ""},
			{"Profit factor", fixed(s.ProfitFactor, 2), "Gross profit ÷ gross loss", ""},
			{"Expectancy", money2(s.Expectancy, ccy), "Average profit per trade", tone(s.Expectancy)},
			{"Expectancy ratio", fixed(s.ExpectancyRatio, 2), "Expectancy in units of the average loss", ""},
			{"SQN", fixed(s.SQN, 2), "System quality number: √trades × mean ÷ std of trade returns", ""},
			{"Average stake", money2(s.AvgStake, ccy), "", ""},
			{"Total trade volume", money2(s.TotalVolume, ccy), "Entry and exit orders", ""},
			{"Mean / median profit", pctSigned(s.ProfitMean, 2) + " / " + pctSigned(s.ProfitMedian, 2), "Per trade, relative to its stake", ""},
			{"Best / worst trade", pctSigned(s.BestTrade, 2) + " / " + pctSigned(s.WorstTrade, 2), "", ""},
			{"Max consecutive wins / losses", fmt.Sprintf("%d / %d", s.MaxConsecutiveWins, s.MaxConsecutiveLosses), "", ""},
		}},
		{"Holding & period", []metricRow{
			{"Time in market", pctS(s.Exposure, 1), "Share of the backtest with a trade open", ""},
			{"Average holding", duration(s.HoldingAvg), "", ""},
			{"Average holding, winners", duration(s.WinnerHoldingAvg), "", ""},
			{"Average holding, losers", duration(s.LoserHoldingAvg), "", ""},
			{"Backtest from", dateTime(periodStart(res, s)), "", ""},
			{"Backtest to", dateTime(periodEnd(res, s)), "", ""},
			{"Backtest days", strconv.Itoa(s.BacktestDays), "", ""},
			{"Candles simulated", grouped(float64(res.Candles), 0), "Summed over pairs", ""},
			{"Max open trades", maxOpenTrades(res.MaxOpenTrades), "", ""},
		}},
	}
}

func periodStart(res *result.Result, s metrics.Summary) int64 {
	a, _ := periodBounds(res, s)
	return a
}
func periodEnd(res *result.Result, s metrics.Summary) int64 { _, b := periodBounds(res, s); return b }

// rawNum is a number as the CSV carries it: every digit, "" when not finite.
func rawNum(x float64) string {
	if !isFinite(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// csvFileName is "<strategy>_trades.csv" with every character but letters,
// digits, '-' and '_' replaced by '_'.
func csvFileName(strategy string) string {
	b := []byte(strategy)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "trades.csv"
	}
	return string(b) + "_trades.csv"
}

// plural is "1 day", "3 days".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
