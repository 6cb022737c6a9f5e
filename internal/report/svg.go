package report

import (
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxChartPoints caps the points per series drawn in an SVG chart; longer
// series are downsampled, keeping each bucket's extremes.
const maxChartPoints = 2000

// pt is one chart point: a Unix-ms time and a value.
type pt struct {
	t int64
	v float64
}

// chartLine is one series of a chart.
type chartLine struct {
	pts   []pt
	class string // CSS class of the stroke
	step  bool   // draw as a step function (value holds until the next point)
	area  string // CSS class of a fill between the line and areaTo; "" for none
	// areaTo is the value the area fill reaches down (or up) to; NaN means
	// the bottom of the plot.
	areaTo float64
}

// chart describes an inline SVG line chart with time on the x axis.
type chart struct {
	id            string
	width, height float64
	lines         []chartLine // the first one gets the hover read-out
	ref           []float64   // dashed horizontal reference lines
	yFmt          func(v, step float64) string
	tipFmt        func(v float64) string // hover value format
	maxY          *float64               // pin the top of the y axis (e.g. 0 for drawdowns)
	minSpan       float64                // smallest y span shown, so flat lines are not blown up
	ariaLabel     string
	// logY draws the y axis on a log scale; points and reference lines
	// at or below 0 are dropped, and minSpan and maxY are ignored.
	logY bool
	// tFrom, tTo, when tFrom < tTo, widen the x axis to at least that
	// time range (charts stacked on one time axis).
	tFrom, tTo int64
	// span lists more values the y axis shows (e.g. a price chart's highs
	// and lows, drawn by layers).
	span []float64
	// layers, when set, draws more: under the lines and over them, inside
	// the plot's clip, with the chart's mapping.
	layers func(m *plotMap) (under, over []byte)
}

// plotMap is a rendered chart's mapping from times and values to viewBox
// coordinates.
type plotMap struct {
	xOf                      func(int64) float64
	yOf                      func(float64) float64
	tmin, tmax               int64
	left, top, width, height float64 // the plot area
	lo, hi                   float64 // the values at its bottom and top
}

const (
	marginL = 78.0
	marginR = 18.0
	marginT = 14.0
	marginB = 30.0
)

// render returns the chart as inline SVG, or a placeholder when there is
// nothing to draw. All coordinates are finite: non-finite values are dropped.
func (c *chart) render() template.HTML {
	// Clean and downsample.
	var lines []chartLine
	var tmin, tmax int64 = math.MaxInt64, math.MinInt64
	vmin, vmax := math.Inf(1), math.Inf(-1)
	// plot maps a value to the y axis's space: itself, or its log10.
	plot := func(v float64) float64 { return v }
	if c.logY {
		plot = math.Log10
	}
	for _, l := range c.lines {
		keep := func(p pt) bool { return isFinite(p.v) && (!c.logY || p.v > 0) }
		clean := l.pts
		if !all(clean, keep) {
			clean = make([]pt, 0, len(l.pts))
			for _, p := range l.pts {
				if keep(p) {
					clean = append(clean, p)
				}
			}
		}
		clean = downsample(clean, maxChartPoints)
		for _, p := range clean {
			tmin, tmax = min(tmin, p.t), max(tmax, p.t)
			vmin, vmax = math.Min(vmin, plot(p.v)), math.Max(vmax, plot(p.v))
		}
		l.pts = clean
		lines = append(lines, l)
	}
	if tmin > tmax || len(lines) == 0 || len(lines[0].pts) == 0 {
		return template.HTML(`<div class="chart-empty">Not enough data to draw this chart.</div>`)
	}
	if c.tFrom < c.tTo {
		tmin, tmax = min(tmin, c.tFrom), max(tmax, c.tTo)
	}
	for _, v := range c.span {
		if isFinite(v) && (!c.logY || v > 0) {
			vmin, vmax = math.Min(vmin, plot(v)), math.Max(vmax, plot(v))
		}
	}
	var refs []float64
	for _, r := range c.ref {
		if isFinite(r) && (!c.logY || r > 0) {
			refs = append(refs, r)
			vmin, vmax = math.Min(vmin, plot(r)), math.Max(vmax, plot(r))
		}
	}
	maxY, minSpan := c.maxY, c.minSpan
	if c.logY {
		maxY, minSpan = nil, 0.004 // 1% in log10 units
	}
	if maxY != nil {
		vmax = *maxY
		vmin = math.Min(vmin, vmax)
	}
	// Give flat series some room.
	if span := vmax - vmin; span < minSpan || span <= 0 {
		need := math.Max(minSpan, math.Max(math.Abs(vmax)*0.01, 1e-9))
		if maxY != nil {
			vmin = vmax - need
		} else {
			mid := (vmin + vmax) / 2
			vmin, vmax = mid-need/2, mid+need/2
		}
	}
	if tmax == tmin {
		tmin -= 12 * 3600_000
		tmax += 12 * 3600_000
	}
	// Keep lines off the plot's edges.
	pad := (vmax - vmin) * 0.04
	if maxY == nil {
		vmax += pad
	}
	vmin -= pad
	// Ticks: at multiples of a nice step, or on a log axis at round values.
	var yTicks []float64 // in plot space
	var labels []string
	var lo, hi float64
	if c.logY {
		lo, hi = vmin, vmax
		vals, gap := logTicks(math.Pow(10, lo), math.Pow(10, hi))
		for _, v := range vals {
			yTicks = append(yTicks, math.Log10(v))
			labels = append(labels, c.yFmt(v, gap))
		}
	} else {
		step := niceStep((vmax-vmin)/5, 0)
		lo = math.Floor(vmin/step) * step
		hi = math.Ceil(vmax/step) * step
		if maxY != nil {
			hi = *maxY
		}
		if hi <= lo {
			hi = lo + step
		}
		for i := 0; i <= int(math.Round((hi-lo)/step)); i++ {
			v := lo + float64(i)*step
			yTicks = append(yTicks, v)
			labels = append(labels, c.yFmt(v, step))
		}
	}

	plotW := c.width - marginL - marginR
	plotH := c.height - marginT - marginB
	xOf := func(t int64) float64 { return marginL + float64(t-tmin)/float64(tmax-tmin)*plotW }
	yOf := func(v float64) float64 { return marginT + (hi-plot(v))/(hi-lo)*plotH }
	yOfPlot := func(v float64) float64 { return marginT + (hi-v)/(hi-lo)*plotH }

	var under, over []byte
	if c.layers != nil {
		under, over = c.layers(&plotMap{xOf: xOf, yOf: yOf, tmin: tmin, tmax: tmax,
			left: marginL, top: marginT, width: plotW, height: plotH, lo: lo, hi: hi})
	}
	// Written once into a string of about its size: per point of a line
	// about 14 bytes (twice with its area, twice more as a step), per point
	// of the read-out about 70.
	size := 4096 + len(under) + len(over)
	for i, l := range lines {
		per := 14
		if l.step {
			per *= 2
		}
		if l.area != "" {
			per *= 2
		}
		size += per * len(l.pts)
		if i == 0 && c.tipFmt != nil {
			size += 70 * len(l.pts)
		}
	}
	var b strings.Builder
	b.Grow(size)
	w := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	w(`<svg class="chart" id="`, html.EscapeString(c.id), `" viewBox="0 0 `, num(c.width), ` `, num(c.height),
		`" preserveAspectRatio="xMidYMid meet" role="img" aria-label="`, html.EscapeString(c.ariaLabel), `">`)
	w(`<defs><linearGradient id="`, c.id, `-grad" x1="0" y1="0" x2="0" y2="1">`,
		`<stop offset="0" class="grad-top"/><stop offset="1" class="grad-bottom"/></linearGradient>`,
		`<clipPath id="`, c.id, `-clip"><rect x="`, num(marginL), `" y="`, num(marginT), `" width="`, num(plotW), `" height="`, num(plotH), `"/></clipPath></defs>`)

	// Horizontal grid and y labels.
	w(`<g class="grid">`)
	for _, v := range yTicks {
		y := yOfPlot(v)
		w(`<line x1="`, num(marginL), `" x2="`, num(c.width-marginR), `" y1="`, num(y), `" y2="`, num(y), `"/>`)
	}
	ticks, tfmt := timeTicks(tmin, tmax, int(plotW/120))
	for _, t := range ticks {
		x := xOf(t)
		w(`<line class="v" x1="`, num(x), `" x2="`, num(x), `" y1="`, num(marginT), `" y2="`, num(marginT+plotH), `"/>`)
	}
	w(`</g><g class="axis">`)
	for i, v := range yTicks {
		w(`<text x="`, num(marginL-8), `" y="`, num(yOfPlot(v)+4), `" text-anchor="end">`, html.EscapeString(labels[i]), `</text>`)
	}
	for _, t := range ticks {
		w(`<text x="`, num(xOf(t)), `" y="`, num(c.height-8), `" text-anchor="middle">`, html.EscapeString(utc(t).Format(tfmt)), `</text>`)
	}
	w(`<line class="baseline" x1="`, num(marginL), `" x2="`, num(c.width-marginR), `" y1="`, num(marginT+plotH), `" y2="`, num(marginT+plotH), `"/>`)
	w(`</g>`)

	// Series.
	w(`<g clip-path="url(#`, c.id, `-clip)">`)
	b.Write(under)
	for _, r := range refs {
		{
			y := yOf(r)
			w(`<line class="ref" x1="`, num(marginL), `" x2="`, num(c.width-marginR), `" y1="`, num(y), `" y2="`, num(y), `"/>`)
		}
	}
	var path []byte // a line's path, reused
	for _, l := range lines {
		if per := 14 * len(l.pts); cap(path) < per {
			path = make([]byte, 0, 2*per) // twice for a step
		}
		if len(l.pts) == 0 {
			continue
		}
		path = appendLinePath(path[:0], l.pts, l.step, xOf, yOf)
		if l.area != "" {
			base := marginT + plotH
			if isFinite(l.areaTo) && (!c.logY || l.areaTo > 0) {
				base = yOf(l.areaTo)
			}
			first, last := l.pts[0], l.pts[len(l.pts)-1]
			w(`<path class="`, l.area, `" d="`)
			b.Write(path)
			w(`L`, num(xOf(last.t)), `,`, num(base), `L`, num(xOf(first.t)), `,`, num(base), `Z"/>`)
		}
		w(`<path class="`, l.class, `" d="`)
		b.Write(path)
		w(`"/>`)
	}
	b.Write(over)
	w(`</g>`)

	// Hover read-out: the first series' points in viewBox coordinates.
	if c.tipFmt != nil {
		// [[x, y, text], ...] as encoding/json writes it, escaped for
		// the attribute as html.EscapeString does, a point at a time.
		w(`<g class="hover" data-pts="[`)
		var data, esc []byte
		for i, p := range lines[0].pts {
			data = append(data[:0], '[')
			data = appendTenths(data, xOf(p.t), true)
			data = append(data, ',')
			data = appendTenths(data, yOf(p.v), true)
			data = append(data, ',')
			data = appendDateMinute(append(data, '"'), p.t)
			data = append(appendJSONText(append(data, " · "...), true, c.tipFmt(p.v)), '"')
			data = append(data, ']')
			if i > 0 {
				b.WriteByte(',')
			}
			esc = appendHTMLEscaped(esc[:0], data)
			b.Write(esc)
		}
		w(`]">`,
			`<line class="hover-line" x1="0" x2="0" y1="`, num(marginT), `" y2="`, num(marginT+plotH), `"/>`,
			`<circle class="hover-dot" r="4" cx="0" cy="0"/>`,
			`<rect class="hover-catch" x="`, num(marginL), `" y="`, num(marginT), `" width="`, num(plotW), `" height="`, num(plotH), `"/></g>`)
	}
	w(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it is escaped
}

// all reports whether keep holds for every point of pts.
func all(pts []pt, keep func(pt) bool) bool {
	for _, p := range pts {
		if !keep(p) {
			return false
		}
	}
	return true
}

// logTicks picks round tick values between lo and hi (both > 0) for a log
// axis: the finest of the mantissa sets 1-1.2-1.5-…, 1-1.5-2-3-5-7, 1-2-5,
// 1-3, 1 (times powers of ten) that gives at most seven ticks; with fewer
// than two, linear nice steps. gap is the smallest distance between two
// ticks, for choosing label decimals.
func logTicks(lo, hi float64) (vals []float64, gap float64) {
	sets := [][]float64{{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8}, {1, 1.5, 2, 3, 5, 7}, {1, 2, 5}, {1, 3}, {1}}
	for _, set := range sets {
		vals = vals[:0]
		for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
			for _, m := range set {
				if v := m * math.Pow(10, e); v >= lo && v <= hi {
					vals = append(vals, v)
				}
			}
		}
		if len(vals) <= 7 {
			break
		}
	}
	if len(vals) < 2 {
		step := niceStep((hi-lo)/5, 0)
		vals = vals[:0]
		for v := math.Ceil(lo/step) * step; v <= hi; v += step {
			vals = append(vals, v)
		}
	}
	gap = math.Inf(1)
	for i := 1; i < len(vals); i++ {
		gap = math.Min(gap, vals[i]-vals[i-1])
	}
	if !isFinite(gap) {
		gap = 1
	}
	return vals, gap
}

// appendLinePath appends the path of pts (a step function when step).
func appendLinePath(b []byte, pts []pt, step bool, xOf func(int64) float64, yOf func(float64) float64) []byte {
	var prevY float64
	for i, p := range pts {
		x, y := xOf(p.t), yOf(p.v)
		switch {
		case i == 0:
			b = appendPoint(append(b, 'M'), x, y)
		case step:
			b = appendPoint(append(appendPoint(append(b, 'L'), x, prevY), 'L'), x, y)
		default:
			b = appendPoint(append(b, 'L'), x, y)
		}
		prevY = y
	}
	return b
}

// appendPoint appends "x,y" for a path point, as num formats them.
func appendPoint(b []byte, x, y float64) []byte {
	return appendNum(append(appendNum(b, x), ','), y)
}

// num formats an SVG coordinate with one decimal (appendNum).
func num(x float64) string { return string(appendNum(make([]byte, 0, 24), x)) }

// appendNum appends x, an SVG coordinate, with one decimal: x·10 rounded
// half away from zero, the precision of the drawing; 0 for a number that
// is not finite (never NaN into SVG; callers keep this from happening),
// never "-0.0".
func appendNum(b []byte, x float64) []byte { return appendTenths(b, x, false) }

// appendTenths appends x rounded to tenths as appendNum does; bare, a
// whole number without its ".0" (as encoding/json writes the rounded
// number, but for -0).
func appendTenths(b []byte, x float64, bare bool) []byte {
	t := math.Round(x * 10)
	if !isFinite(t) {
		t = 0
	}
	if math.Abs(t) >= 1e17 { // far outside any chart: as strconv writes it
		return strconv.AppendFloat(b, t/10, 'f', 1, 64)
	}
	k := int64(t)
	if k < 0 {
		b = append(b, '-')
		k = -k
	}
	b = strconv.AppendInt(b, k/10, 10)
	if bare && k%10 == 0 {
		return b
	}
	return append(b, '.', byte('0'+k%10))
}

// appendHTMLEscaped appends s escaped as html.EscapeString escapes it.
func appendHTMLEscaped(b, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '&':
			b = append(b, "&amp;"...)
		case '\'':
			b = append(b, "&#39;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&#34;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// niceStep rounds a raw tick step up to 1, 2, 2.5 or 5 times a power of ten.
// The second argument is unused headroom for future tuning.
func niceStep(raw float64, _ int) float64 {
	if !(raw > 0) || !isFinite(raw) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	f := raw / mag
	switch {
	case f <= 1:
		f = 1
	case f <= 2:
		f = 2
	case f <= 2.5:
		f = 2.5
	case f <= 5:
		f = 5
	default:
		f = 10
	}
	return f * mag
}

// stepDecimals is how many decimals show a tick step exactly (0..6).
func stepDecimals(step float64) int {
	for d := 0; d < 6; d++ {
		s := step * math.Pow(10, float64(d))
		if math.Abs(s-math.Round(s)) < 1e-6*math.Max(1, s) {
			return d
		}
	}
	return 6
}

// downsample keeps at most maxN points: the first, the last, and for each of
// the buckets in between its lowest and highest point, in time order, so
// peaks and troughs (and so drawdowns) survive.
func downsample(pts []pt, maxN int) []pt {
	if len(pts) <= maxN || maxN < 4 {
		return pts
	}
	inner := pts[1 : len(pts)-1]
	buckets := (maxN - 2) / 2
	out := make([]pt, 0, maxN)
	out = append(out, pts[0])
	for b := 0; b < buckets; b++ {
		lo, hi := b*len(inner)/buckets, (b+1)*len(inner)/buckets
		if lo >= hi {
			continue
		}
		iMin, iMax := lo, lo
		for i := lo; i < hi; i++ {
			if inner[i].v < inner[iMin].v {
				iMin = i
			}
			if inner[i].v > inner[iMax].v {
				iMax = i
			}
		}
		switch {
		case iMin == iMax:
			out = append(out, inner[iMin])
		case iMin < iMax:
			out = append(out, inner[iMin], inner[iMax])
		default:
			out = append(out, inner[iMax], inner[iMin])
		}
	}
	return append(out, pts[len(pts)-1])
}

// timeTicks picks calendar-aligned tick times between tmin and tmax, at
// most maxTicks of them, and the Go time layout to label them with.
func timeTicks(tmin, tmax int64, maxTicks int) ([]int64, string) {
	maxTicks = max(maxTicks, 2)
	const hour = int64(3600_000)
	const day = 24 * hour
	span := tmax - tmin
	fixedSteps := []struct {
		ms     int64
		offset int64 // alignment offset from the epoch
		layout string
	}{
		{hour, 0, "Jan 2 15:04"},
		{3 * hour, 0, "Jan 2 15:04"},
		{6 * hour, 0, "Jan 2 15:04"},
		{12 * hour, 0, "Jan 2 15:04"},
		{day, 0, "Jan 2"},
		{2 * day, 0, "Jan 2"},
		{7 * day, 4 * day, "Jan 2"}, // Mondays (1970-01-01 was a Thursday)
		{14 * day, 4 * day, "Jan 2"},
	}
	for _, s := range fixedSteps {
		if span/s.ms <= int64(maxTicks) {
			first := ceilDiv(tmin-s.offset, s.ms)*s.ms + s.offset
			var out []int64
			for t := first; t <= tmax; t += s.ms {
				out = append(out, t)
			}
			return out, s.layout
		}
	}
	spanMonths := float64(span) / float64(30*day)
	for _, months := range []int{1, 2, 3, 6, 12, 24, 60, 120} {
		if spanMonths/float64(months) > float64(maxTicks) {
			continue
		}
		layout := "Jan 2006"
		if months >= 12 {
			layout = "2006"
		}
		start := utc(tmin)
		y, mo := start.Year(), int(start.Month())
		// First month boundary at or after tmin that sits on the step grid.
		t := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		if t.UnixMilli() < tmin {
			t = t.AddDate(0, 1, 0)
		}
		for (int(t.Month())-1+12*t.Year())%months != 0 {
			t = t.AddDate(0, 1, 0)
		}
		var out []int64
		for ; t.UnixMilli() <= tmax; t = t.AddDate(0, months, 0) {
			out = append(out, t.UnixMilli())
		}
		return out, layout
	}
	return []int64{tmin, tmax}, "2006"
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}

// fmtAxisNumber formats a y tick for values in the stake currency.
func fmtAxisNumber(v, step float64) string { return grouped(v, stepDecimals(step)) }

// fmtAxisPct formats a y tick for ratios as percentages.
func fmtAxisPct(v, step float64) string {
	return fixed(v*100, stepDecimals(step*100)) + "%"
}
