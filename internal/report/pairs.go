package report

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

const (
	// priceRowBudget bounds the price rows all pair charts of a report
	// draw together: each pair gets an equal share, at least minPairRows
	// and at most result.PriceBuckets, so many pairs keep the file small.
	priceRowBudget = 40_000
	minPairRows    = 120
	// candleRows: up to this many rows are drawn as candles; more as the
	// high–low band with the close line.
	candleRows = 160
	// minTradeSpan is the shortest a trade's stop and ROI lines are drawn,
	// in viewBox units, so a short trade's levels can be seen.
	minTradeSpan = 24.0
	// denseTrades: a chart of more trades draws them smaller.
	denseTrades = 300
	// denseGrid is the grid, in viewBox units, a dense chart's markers
	// are drawn on.
	denseGrid = 2
)

// pairPanel is one pair's part of the report: its price chart with the
// trades on it, its cumulative profit below on the same time axis, and
// what the page's script needs to show a trade's levels on hover.
type pairPanel struct {
	Pair        string
	Trades      int
	Profit      string // closed trades' profit in the stake currency
	Tone        string
	Candles     bool // the price is drawn as candles, not a band
	PriceChart  template.HTML
	EquityChart template.HTML
	Marks       template.JS // the trades' marksWire, for the hover
}

// pairPanels builds a panel per pair: the result's pairs in order, then
// any other pair a trade or a price series names.
func pairPanels(res *result.Result) []pairPanel {
	pairs := slices.Clone(res.Pairs)
	seen := map[string]bool{}
	for _, p := range pairs {
		seen[p] = true
	}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	for i := range res.Prices {
		add(res.Prices[i].Pair)
	}
	// The trades' indexes per pair (a backtest's trades come in runs of a
	// pair: the last pair's count is kept at hand).
	count := map[string]int{}
	last, run := "", 0
	for i := range res.Trades {
		p := res.Trades[i].Pair
		if i > 0 && p == last {
			run++
			continue
		}
		if run > 0 {
			count[last] += run
		}
		add(p)
		last, run = p, 1
	}
	if run > 0 {
		count[last] += run
	}
	byPair := make(map[string][]int, len(count))
	var at []int // the indexes of last's trades
	for i := range res.Trades {
		p := res.Trades[i].Pair
		if i == 0 || p != last {
			if i > 0 {
				byPair[last] = at
			}
			if at = byPair[p]; at == nil {
				at = make([]int, 0, count[p])
			}
			last = p
		}
		at = append(at, i)
	}
	if len(res.Trades) > 0 {
		byPair[last] = at
	}
	if len(pairs) == 0 {
		return nil
	}
	rows := min(max(priceRowBudget/len(pairs), minPairRows), result.PriceBuckets)
	out := make([]pairPanel, 0, len(pairs))
	for k, pair := range pairs {
		var ps result.PriceSeries
		for i := range res.Prices {
			if res.Prices[i].Pair == pair {
				ps = res.Prices[i].Downsample(rows)
				break
			}
		}
		out = append(out, pairPanelOf(res, k, pair, ps, byPair[pair]))
	}
	return out
}

func pairPanelOf(res *result.Result, k int, pair string, ps result.PriceSeries, idx []int) pairPanel {
	pp := pairPanel{Pair: pair, Trades: len(idx), Candles: ps.Len() > 0 && ps.Len() <= candleRows}
	pp.Marks = embedJSON(newChartMarks(0).json(nil))
	// The time axis: the prices' and the trades' times.
	tFrom, tTo := int64(math.MaxInt64), int64(math.MinInt64)
	var bucketMs int64 // a row's length, for drawing candles
	if n := ps.Len(); n > 0 {
		tFrom, tTo = ps.Time[0], ps.Time[n-1]
		if n > 1 {
			bucketMs = ps.Time[1] - ps.Time[0]
		}
		if pp.Candles {
			tTo += bucketMs
		}
	}
	// The values the price axis shows: the prices' and the trades' rates,
	// by their lowest and highest (finite) ones.
	lo, hi := math.Inf(1), math.Inf(-1)
	spanOf := func(x float64) {
		if isFinite(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	for _, i := range idx {
		t := &res.Trades[i]
		tFrom, tTo = min(tFrom, t.OpenTime), max(tTo, t.OpenTime)
		spanOf(t.OpenRate)
		if t.CloseTime != 0 {
			tTo = max(tTo, t.CloseTime)
			spanOf(t.CloseRate)
		}
	}
	if tFrom > tTo {
		tFrom, tTo = res.Start, res.End
	}
	for i := range ps.Len() {
		spanOf(ps.High[i])
		spanOf(ps.Low[i])
	}
	var span []float64
	if lo <= hi {
		span = []float64{lo, hi}
	}

	closes := make([]pt, ps.Len())
	for i := range closes {
		closes[i] = pt{ps.Time[i], ps.Close[i]}
	}
	lineClass := "line-price"
	if pp.Candles {
		lineClass = "line-price faint"
	}
	id := "price-" + strconv.Itoa(k)
	price := &chart{
		id: id, width: 1200, height: 380,
		yFmt:      fmtAxisNumber,
		ariaLabel: "Price of " + pair + " with its trades",
		lines:     []chartLine{{pts: closes, class: lineClass, areaTo: math.NaN()}},
		tFrom:     tFrom, tTo: tTo,
		span: span,
	}
	price.layers = func(m *plotMap) ([]byte, []byte) {
		var under []byte
		if pp.Candles {
			under = []byte(candlePaths(ps, bucketMs, m))
		} else {
			under = appendBandPath(nil, ps, m)
		}
		over, marks := tradeMarks(res, idx, m)
		pp.Marks = embedJSON(marks)
		return under, append(over, hoverLayer(id, m)...)
	}
	// The price chart, most of the panel's work, is drawn beside the
	// cumulative profit.
	var priceDone sync.WaitGroup
	if ps.Len() == 0 {
		pp.PriceChart = template.HTML(`<div class="chart-empty">This result carries no prices of ` + template.HTMLEscapeString(pair) +
			` (a result read back from its JSON export has none); its trades are in the list below.</div>`)
	} else {
		priceDone.Go(func() { pp.PriceChart = price.render() })
	}

	// Cumulative profit of the pair's closed trades.
	var total float64
	eq := make([]pt, 1, len(idx)+2)
	eq[0] = pt{tFrom, 0}
	for _, i := range idx {
		if t := &res.Trades[i]; t.CloseTime != 0 {
			total += t.ProfitAbs
			eq = append(eq, pt{t.CloseTime, total})
		}
	}
	slices.SortStableFunc(eq, func(a, b pt) int { return int(a.t - b.t) })
	eq = append(eq, pt{max(tTo, eq[len(eq)-1].t), total})
	ccy := res.StakeCurrency
	pp.Profit, pp.Tone = signedGrouped(total, autoDec(total)), tone(total)
	if ccy != "" {
		pp.Profit += " " + ccy
	}
	pc := &chart{
		id: "pair-equity-" + strconv.Itoa(k), width: 1200, height: 170,
		yFmt:      fmtAxisNumber,
		tipFmt:    func(v float64) string { return "cumulative profit " + money2(v, ccy) },
		minSpan:   math.Max(math.Abs(res.StartingBalance)*0.002, 1e-9),
		ref:       []float64{0},
		ariaLabel: "Cumulative profit of " + pair,
		lines:     []chartLine{{pts: eq, class: "line-pair", step: true, area: "area-pair", areaTo: 0}},
		tFrom:     tFrom, tTo: tTo,
	}
	pp.EquityChart = pc.render()
	priceDone.Wait()
	return pp
}

// appendBandPath appends the high–low band of ps.
func appendBandPath(b []byte, ps result.PriceSeries, m *plotMap) []byte {
	n := ps.Len()
	if n == 0 {
		return b
	}
	b = slices.Grow(b, n*24+40)
	b = append(b, `<path class="price-band" d="`...)
	for i := range n {
		op := byte('L')
		if i == 0 {
			op = 'M'
		}
		b = appendPoint(append(b, op), m.xOf(ps.Time[i]), m.yOf(ps.High[i]))
	}
	for i := n - 1; i >= 0; i-- {
		b = appendPoint(append(b, 'L'), m.xOf(ps.Time[i]), m.yOf(ps.Low[i]))
	}
	return append(b, `Z"/>`...)
}

// candlePaths draws ps as candles: wicks and bodies, rising and falling.
func candlePaths(ps result.PriceSeries, bucketMs int64, m *plotMap) string {
	n := ps.Len()
	w := m.width / float64(max(n, 1)) * 0.35 // half a body's width
	var up, down strings.Builder
	for i := range n {
		x := m.xOf(ps.Time[i] + bucketMs/2)
		o, c := m.yOf(ps.Open[i]), m.yOf(ps.Close[i])
		b := &up
		if ps.Close[i] < ps.Open[i] {
			b = &down
		}
		top, bot := math.Min(o, c), math.Max(o, c)
		if bot-top < 0.6 {
			top, bot = top-0.3, bot+0.3
		}
		b.WriteString("M" + num(x) + "," + num(m.yOf(ps.High[i])) + "V" + num(top) +
			"M" + num(x) + "," + num(bot) + "V" + num(m.yOf(ps.Low[i])) +
			"M" + num(x-w) + "," + num(top) + "H" + num(x+w) + "V" + num(bot) + "H" + num(x-w) + "Z")
	}
	return `<path class="candle up" d="` + up.String() + `"/><path class="candle down" d="` + down.String() + `"/>`
}

// tradeMarks draws the trades idx of res on a price chart: an entry
// marker each (▲ long, ▼ short, its tip at the entry price), an exit
// marker each closed trade (a diamond at the exit price coloured by
// profit) and a line from entry to exit; and the marks of every trade for
// the hover, as JSON (chartMarks).
func tradeMarks(res *result.Result, idx []int, m *plotMap) ([]byte, string) {
	// The markers' paths.
	const (
		long = iota
		short
		win
		loss
		flat
		linkWin
		linkLoss
		paths
	)
	var d [paths][]byte
	marks := newChartMarks(len(idx))
	var levels []ROILevel // a trade's, reused
	// Many trades get smaller markers and no entry-to-exit lines.
	dense := len(idx) > denseTrades
	up, down, diamond := "l4.5,8h-9Z", "l4.5,-8h-9Z", "l5,5l-5,5l-5,-5Z"
	dy := 5.0
	if dense {
		up, down, diamond, dy = "l2.5,4.5h-5Z", "l2.5,-4.5h-5Z", "l3,3l-3,3l-3,-3Z", 3
		for p := range linkWin {
			d[p] = make([]byte, 0, 16*len(idx)/4) // merged on the grid: a fraction of the trades
		}
	}
	// A dense chart draws its markers on a grid of denseGrid viewBox
	// units, each spot once (a marker drawn over an equal one adds nothing
	// to see), each from the one before. The spots of the plot (and a
	// margin) are bits of a map per path; others, from numbers that are
	// not finite or prices outside the plot, are kept apart.
	var drawn []uint64
	var drawnFar map[[3]int]bool
	var kx0, ky0, kw, kh int
	if dense {
		kx0, ky0 = int(math.Floor(m.left/denseGrid))-8, int(math.Floor(m.top/denseGrid))-8
		kw, kh = int(math.Ceil(m.width/denseGrid))+16, int(math.Ceil(m.height/denseGrid))+16
		drawn = make([]uint64, (paths*kw*kh+63)/64)
	}
	var last [paths][2]int
	var begun [paths]bool
	mark := func(p int, x, y float64, shape string) {
		if !dense {
			d[p] = append(appendPoint(append(d[p], 'M'), x, y), shape...)
			return
		}
		fx, fy := math.Round(x/denseGrid), math.Round(y/denseGrid)
		kx, ky := int(fx), int(fy)
		if i, j := kx-kx0, ky-ky0; fx == fx && fy == fy && i >= 0 && i < kw && j >= 0 && j < kh {
			bit := (p*kh+j)*kw + i
			if drawn[bit/64]&(1<<(bit%64)) != 0 {
				return
			}
			drawn[bit/64] |= 1 << (bit % 64)
		} else {
			k := [3]int{p, kx, ky}
			if drawnFar[k] {
				return
			}
			if drawnFar == nil {
				drawnFar = map[[3]int]bool{}
			}
			drawnFar[k] = true
		}
		op := byte('m')
		if !begun[p] {
			op = 'M'
		}
		at := last[p]
		b := strconv.AppendInt(append(d[p], op), int64((kx-at[0])*denseGrid), 10)
		b = strconv.AppendInt(append(b, ','), int64((ky-at[1])*denseGrid), 10)
		d[p] = append(b, shape...)
		last[p], begun[p] = [2]int{kx, ky}, true
	}
	for _, i := range idx {
		t := &res.Trades[i]
		x0, y0 := m.xOf(t.OpenTime), m.yOf(t.OpenRate)
		if t.IsShort {
			mark(short, x0, y0, down)
		} else {
			mark(long, x0, y0, up)
		}
		end := m.tmax
		if t.CloseTime != 0 {
			end = t.CloseTime
			x1, y1 := m.xOf(t.CloseTime), m.yOf(t.CloseRate)
			mk, link := flat, linkWin
			switch tone(t.ProfitAbs) {
			case "pos":
				mk = win
			case "neg":
				mk, link = loss, linkLoss
			}
			mark(mk, x1, y1-dy, diamond)
			if !dense {
				d[link] = appendPoint(append(appendPoint(append(d[link], 'M'), x0, y0), 'L'), x1, y1)
			}
		}
		var stop0, stop, liq float64
		if sl := t.InitialStopLoss; sl > 0 && isFinite(sl) {
			stop0 = sl
			if t.StopLoss != sl && t.StopLoss > 0 && isFinite(t.StopLoss) {
				stop = t.StopLoss
			}
		}
		if l := t.LiquidationPrice; l > 0 && isFinite(l) {
			liq = l
		}
		levels = appendROILevels(levels[:0], res.MinimalROI, t, end)
		marks.add(i+1, stop0, stop, liq, levels)
	}
	cls := "mark "
	if dense {
		cls = "mark dense "
	}
	classes := [paths]string{long: cls + "entry long", short: cls + "entry short", win: cls + "exit pos", loss: cls + "exit neg",
		flat: cls + "exit flat", linkWin: "trade-link pos", linkLoss: "trade-link neg"}
	size := 256 // and the hover layer
	for p := range d {
		size += len(d[p]) + len(classes[p]) + 24
	}
	b := make([]byte, 0, size)
	for _, p := range [paths]int{linkWin, linkLoss, long, short, win, loss, flat} {
		if len(d[p]) > 0 {
			b = append(append(append(append(b, `<path class="`...), classes[p]...), `" d="`...), d[p]...)
			b = append(b, `"/>`...)
		}
	}
	return b, marks.json(res.MinimalROI)
}

// ROILevel is one take-profit level of a trade: from a time to a time
// (Unix ms), the price at which its profit reaches the ROI table's ratio.
type ROILevel struct {
	From, To int64
	Price    float64
	Step     int // the step of the ROI table
}

// ROILevels are the ROI table's levels over t's life up to end: each step
// in force from its age to the next step's (a step of -1, an exit at that
// age, ends them). The price is where the trade's profit ratio after fees
// reaches the step's ratio, from its own profit formula (linear in the
// price).
func ROILevels(roi sdk.ROITable, t *trade.Trade, end int64) []ROILevel {
	return appendROILevels(nil, roi, t, end)
}

// appendROILevels appends ROILevels(roi, t, end) to dst.
func appendROILevels(dst []ROILevel, roi sdk.ROITable, t *trade.Trade, end int64) []ROILevel {
	a := t.ProfitRatioAt(0)
	slope := t.ProfitRatioAt(1) - a
	if slope == 0 || !isFinite(slope) {
		return dst
	}
	for i, step := range roi {
		from := t.OpenTime + step.Minutes*60_000
		if from >= end || step.Ratio <= -1 {
			break
		}
		to := end
		if i+1 < len(roi) {
			to = min(to, t.OpenTime+roi[i+1].Minutes*60_000)
		}
		if p := (step.Ratio - a) / slope; p > 0 && isFinite(p) {
			dst = append(dst, ROILevel{from, to, p, i})
		}
	}
	return dst
}

// hoverLayer is what the page's script draws a hovered trade's levels
// into, with the chart's mapping (plot left, top, width, height, first
// and last time, lowest and highest value) for its cross-hair read-out.
func hoverLayer(id string, m *plotMap) string {
	return `<g class="trade-sel" data-map="[` + num(m.left) + `,` + num(m.top) + `,` + num(m.width) + `,` + num(m.height) + `,` +
		strconv.FormatInt(m.tmin, 10) + `,` + strconv.FormatInt(m.tmax, 10) + `,` +
		strconv.FormatFloat(m.lo, 'g', 10, 64) + `,` + strconv.FormatFloat(m.hi, 'g', 10, 64) + `]" data-chart="` + id + `"></g>`
}
