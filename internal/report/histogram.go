package report

import (
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// histBins is about how many bars a histogram has.
const histBins = 24

// bin is one bar of a histogram: the values in [lo, hi).
type bin struct {
	lo, hi float64
	n      int
}

// histogram counts the finite values of xs in bins of a rounded width
// whose edges are multiples of it (so 0 is an edge), about histBins of
// them; the highest value falls in the last bin. nil without values.
func histogram(xs []float64) []bin {
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, x := range xs {
		if isFinite(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	w := niceStep((hi-lo)/histBins, 0)
	if hi == lo {
		w = niceStep(math.Max(math.Abs(lo)*0.01, 1e-4), 0)
	}
	first := math.Floor(lo / w)
	count := int(math.Floor(hi/w)-first) + 1
	bins := make([]bin, count)
	for i := range bins {
		bins[i] = bin{lo: (first + float64(i)) * w, hi: (first + float64(i) + 1) * w}
	}
	for _, x := range xs {
		if isFinite(x) {
			i := min(max(int(math.Floor(x/w)-first), 0), count-1)
			bins[i].n++
		}
	}
	return bins
}

// histogramChart draws the distribution of ratios xs as inline SVG bars,
// losses red and gains green, each bar titled with its range and count of
// unit (singular, e.g. "trade").
func histogramChart(id, ariaLabel, unit string, xs []float64) template.HTML {
	bins := histogram(xs)
	if len(bins) == 0 {
		return template.HTML(`<div class="chart-empty">Not enough data to draw this chart.</div>`)
	}
	const width, height = 600.0, 240.0
	plotW := width - marginL - marginR
	plotH := height - marginT - marginB
	top := 0
	for _, b := range bins {
		top = max(top, b.n)
	}
	yStep := niceStep(float64(top)/4, 0)
	yStep = math.Max(1, math.Ceil(yStep))
	yMax := math.Ceil(float64(top)/yStep) * yStep
	xLo, xHi := bins[0].lo, bins[len(bins)-1].hi
	xOf := func(v float64) float64 { return marginL + (v-xLo)/(xHi-xLo)*plotW }
	yOf := func(c float64) float64 { return marginT + (1-c/yMax)*plotH }

	var b strings.Builder
	w := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	w(`<svg class="chart hist" id="`, html.EscapeString(id), `" viewBox="0 0 `, num(width), ` `, num(height),
		`" preserveAspectRatio="xMidYMid meet" role="img" aria-label="`, html.EscapeString(ariaLabel), `">`)
	w(`<g class="grid">`)
	for c := 0.0; c <= yMax; c += yStep {
		w(`<line x1="`, num(marginL), `" x2="`, num(width-marginR), `" y1="`, num(yOf(c)), `" y2="`, num(yOf(c)), `"/>`)
	}
	w(`</g><g class="axis">`)
	for c := 0.0; c <= yMax; c += yStep {
		w(`<text x="`, num(marginL-8), `" y="`, num(yOf(c)+4), `" text-anchor="end">`, strconv.Itoa(int(c)), `</text>`)
	}
	// x labels at about six edges, 0 among them when in range.
	xStep := niceStep((xHi-xLo)/6, 0)
	for v := math.Ceil(xLo/xStep) * xStep; v <= xHi+xStep*1e-9; v += xStep {
		w(`<text x="`, num(xOf(v)), `" y="`, num(height-8), `" text-anchor="middle">`, fmtAxisPct(v, xStep), `</text>`)
	}
	w(`<line class="baseline" x1="`, num(marginL), `" x2="`, num(width-marginR), `" y1="`, num(yOf(0)), `" y2="`, num(yOf(0)), `"/>`)
	w(`</g><g class="bars">`)
	for _, bn := range bins {
		if bn.n == 0 {
			continue
		}
		cls := "bar-pos"
		if bn.hi <= 0 {
			cls = "bar-neg"
		}
		x0, x1 := xOf(bn.lo), xOf(bn.hi)
		gap := math.Min(1, (x1-x0)*0.1)
		step := bn.hi - bn.lo
		w(`<rect class="`, cls, `" x="`, num(x0+gap), `" y="`, num(yOf(float64(bn.n))), `" width="`, num(math.Max(x1-x0-2*gap, 0.5)),
			`" height="`, num(yOf(0)-yOf(float64(bn.n))), `"><title>`, fmtAxisPct(bn.lo, step), ` to `, fmtAxisPct(bn.hi, step), `: `,
			html.EscapeString(plural(bn.n, unit)), `</title></rect>`)
	}
	w(`</g></svg>`)
	return template.HTML(b.String())
}
