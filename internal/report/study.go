package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/optimize/overfit"
	"github.com/tradai/tradai/internal/optimize/sample"
)

//go:embed templates/study.html.tmpl
var studyTmplText string

var studyTmpl = template.Must(template.New("study").Parse(studyTmplText))

// StudyTop is how many of the best trials the study report lists.
const StudyTop = 20

// StudyReport is what WriteStudyHTML shows of a hyperopt study.
type StudyReport struct {
	Title         string // the strategy
	Loss, Sampler string
	Seed          uint64
	Jobs, Epochs  int
	Spaces        []string
	// Dims are the study's dimensions, in the order of a trial's point.
	Dims sample.Space
	// Trials are every finished trial, by number; Failed counts those
	// that failed.
	Trials []StudyTrial
	Failed int
	// Importance is each dimension's importance, most important first.
	Importance  []StudyImportance
	Overfitting StudyOverfitting
}

// StudyTrial is one trial of a study as the report shows it. The report
// takes plain figures, not the optimiser's types, so that it never
// imports the backtester (internal/optimize fills these).
type StudyTrial struct {
	Number int
	// Point is the sampled point, in the order of Dims.
	Point []float64
	Loss  float64
	// Failed: the trial's backtest failed; Capped: it had too few trades
	// and got the largest loss (counted, not plotted).
	Failed, Capped                   bool
	Trades                           int
	ProfitTotal, MaxDrawdown, Sharpe float64
}

// StudyImportance is how much of the loss a dimension explains: Share of
// the variance of the loss ranks (η² over Bins bins), against Chance, the
// share noise alone gives.
type StudyImportance struct {
	Name          string
	Share, Chance float64
	Bins          int
}

// StudyOverfitting is the overfitting figures of a study's best trial.
type StudyOverfitting struct {
	// Trials judged, Periods of daily returns each, the variance of their
	// Sharpe ratios; Best is the judged trial's number.
	Trials, Periods int
	SharpeVariance  float64
	Best            int
	// DSR is the deflated Sharpe ratio (NaN: not measured), Deflated its
	// figures; PBO the probability of backtest overfitting over Ranked
	// trials (NaN: not measured), CSCV its figures.
	DSR      float64
	Deflated overfit.Deflated
	PBO      float64
	Ranked   int
	CSCV     overfit.CSCV
	Verdict  string
	Notes    []string
}

// WriteStudyHTML writes a self-contained HTML report of a study, in the
// backtest report's style (inline CSS and SVG, no script, no network): the
// StudyTop best trials with their parameter values, the convergence of the
// loss over the trials (every trial and the best so far), each
// parameter's importance, a plot of the loss against
// each parameter, and the overfitting figures with the verdict explained.
// Failed trials and trials with too few trades (the loss 100000) are
// counted but not plotted.
func WriteStudyHTML(w io.Writer, r *StudyReport) error {
	if r == nil {
		return fmt.Errorf("report: no study")
	}
	v := buildStudyView(r)
	var buf bytes.Buffer
	if err := studyTmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: rendering the study report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type studyView struct {
	CSS                    template.CSS
	Title, Loss, Sampler   string
	Seed                   uint64
	Jobs, Epochs           int
	Spaces                 []string
	Trials, Failed, Capped int
	Cards                  []card
	Columns                []string
	Top                    []studyRow
	Convergence            template.HTML
	Importance             []importanceRow
	Scatter                []scatterView
	Overfit                overfitView
}

type studyRow struct {
	Number                           int
	Loss, Trades, Profit, DD, Sharpe string
	Values                           []string
	ProfitTone                       string
}

type importanceRow struct {
	Name, Share, Chance string
	Width               string // of the bar, percent
	Bins                int
	AboveChance         bool
}

type scatterView struct {
	Name  string
	Chart template.HTML
}

type overfitView struct {
	Cards   []card
	Verdict string
	Tone    string
	Notes   []string
	Facts   []keyValue
}

// plottable reports whether a trial's loss is drawn: it did not fail and
// had enough trades.
func plottable(t *StudyTrial) bool {
	return !t.Failed && !t.Capped && isFinite(t.Loss)
}

func buildStudyView(r *StudyReport) *studyView {
	st := r
	v := &studyView{CSS: template.CSS(reportCSS), Title: r.Title, Loss: r.Loss, Sampler: r.Sampler, Seed: r.Seed,
		Jobs: r.Jobs, Epochs: r.Epochs, Spaces: r.Spaces, Trials: len(st.Trials), Failed: st.Failed}
	for i := range st.Trials {
		if t := &st.Trials[i]; !t.Failed && t.Capped {
			v.Capped++
		}
	}
	for _, d := range r.Dims {
		v.Columns = append(v.Columns, d.Name)
	}
	// The best trials: the summaries sorted by loss (ties: earlier).
	idx := make([]int, 0, len(st.Trials))
	for i := range st.Trials {
		if !st.Trials[i].Failed {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(st.Trials[a].Loss, st.Trials[b].Loss) })
	for _, i := range idx[:min(len(idx), StudyTop)] {
		t := &st.Trials[i]
		row := studyRow{Number: t.Number, Loss: fixed(t.Loss, 5), Trades: strconv.Itoa(t.Trades),
			Profit: pctSigned(t.ProfitTotal, 2), DD: pctS(t.MaxDrawdown, 2), Sharpe: fixed(t.Sharpe, 2),
			ProfitTone: tone(t.ProfitTotal)}
		for d, dim := range r.Dims {
			if d < len(t.Point) {
				row.Values = append(row.Values, dimValue(dim, t.Point[d]))
			}
		}
		v.Top = append(v.Top, row)
	}
	if len(idx) > 0 {
		best := &st.Trials[idx[0]]
		v.Cards = []card{
			{"Best loss", fixed(best.Loss, 5), "trial " + strconv.Itoa(best.Number), ""},
			{"Best profit", pctSigned(best.ProfitTotal, 2), plural(best.Trades, "trade"), tone(best.ProfitTotal)},
			{"Trials", strconv.Itoa(len(st.Trials)), fmt.Sprintf("%d failed · %d too few trades", st.Failed, v.Capped), ""},
			{"Verdict", verdictWord(r.Overfitting.Verdict), "see Overfitting", verdictTone(r.Overfitting.Verdict)},
		}
	}
	lo, hi := lossRange(st.Trials)
	v.Convergence = convergenceChart(st.Trials, lo, hi)
	for _, p := range r.Importance {
		v.Importance = append(v.Importance, importanceRow{Name: p.Name, Share: pctS(p.Share, 1), Chance: pctS(p.Chance, 1),
			Width: fixed(100*p.Share, 1), Bins: p.Bins, AboveChance: p.Share > 2*p.Chance})
	}
	for d, dim := range r.Dims {
		v.Scatter = append(v.Scatter, scatterView{Name: dim.Name, Chart: scatterChart(dim, d, st.Trials, lo, hi)})
	}
	v.Overfit = overfitViewOf(r.Overfitting)
	return v
}

// dimValue writes a point's value of dim.
func dimValue(dim sample.Dim, x float64) string {
	switch {
	case dim.Categorical():
		i := min(max(int(x), 0), len(dim.Choices)-1)
		return dim.Choices[i]
	case dim.Int:
		return strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 5, 64)
}

// verdictWord is the verdict's first words: "Likely overfit".
func verdictWord(v string) string {
	w, _, _ := strings.Cut(v, ":")
	return w
}

func verdictTone(v string) string {
	switch {
	case strings.HasPrefix(v, "Likely genuine"):
		return "pos"
	case strings.HasPrefix(v, "Likely overfit"):
		return "neg"
	}
	return ""
}

func overfitViewOf(o StudyOverfitting) overfitView {
	ov := overfitView{Verdict: o.Verdict, Tone: verdictTone(o.Verdict), Notes: o.Notes}
	ov.Cards = []card{
		{"Deflated Sharpe ratio", fixed(o.DSR, 2), "probability the edge beats luck", toneAt(o.DSR, 0.95, 0.5)},
		{"Probability of overfitting", pctS(o.PBO, 0), "CSCV over " + plural(o.Ranked, "trial"), toneAt(-o.PBO, -0.25, -0.5)},
		{"Trials judged", strconv.Itoa(o.Trials), plural(o.Periods, "day") + " of daily returns", ""},
	}
	if isFinite(o.DSR) {
		ov.Facts = append(ov.Facts,
			keyValue{"Best trial (by the loss)", strconv.Itoa(o.Best)},
			keyValue{"Its daily Sharpe ratio", fixed(o.Deflated.Sharpe, 3)},
			keyValue{"The luckiest of as many worthless trials", fixed(o.Deflated.Benchmark, 3)},
			keyValue{"Skew · kurtosis of its daily returns", fixed(o.Deflated.Skew, 2) + " · " + fixed(o.Deflated.Kurtosis, 2)},
			keyValue{"Variance of the trials' Sharpe ratios", strconv.FormatFloat(o.SharpeVariance, 'g', 3, 64)})
	}
	if isFinite(o.PBO) {
		ov.Facts = append(ov.Facts,
			keyValue{"CSCV blocks · splits", strconv.Itoa(o.CSCV.Splits) + " · " + grouped(float64(o.CSCV.Combinations), 0)},
			keyValue{"Out-of-sample against in-sample Sharpe (slope)", fixed(o.CSCV.Slope, 2)},
			keyValue{"Splits whose pick loses money out of sample", pctS(o.CSCV.ProbLoss, 0)})
	}
	return ov
}

// toneAt is "pos" at or above good, "neg" below bad, else "".
func toneAt(x, good, bad float64) string {
	switch {
	case !isFinite(x):
		return ""
	case x >= good:
		return "pos"
	case x < bad:
		return "neg"
	}
	return ""
}

// lossRange is the loss axis of the study's plots: the lowest plotted
// loss to the 98th percentile (a few extreme losses would flatten the
// rest; they are drawn at the top edge).
func lossRange(trials []StudyTrial) (lo, hi float64) {
	var ls []float64
	for i := range trials {
		if plottable(&trials[i]) {
			ls = append(ls, trials[i].Loss)
		}
	}
	if len(ls) == 0 {
		return 0, 1
	}
	slices.Sort(ls)
	lo, hi = ls[0], ls[min(len(ls)-1, int(0.98*float64(len(ls))))]
	if hi <= lo {
		hi = lo + math.Max(1e-9, math.Abs(lo)*0.1)
	}
	pad := (hi - lo) * 0.04
	return lo - pad, hi + pad
}

// xy is one point of an x–y plot.
type xy struct{ x, y float64 }

// xyPlot is an inline SVG plot with numeric axes: dots and an optional
// step line, y clipped to [lo, hi].
type xyPlot struct {
	id, aria      string
	width, height float64
	x0, x1        float64
	lo, hi        float64
	dots          []xy
	line          []xy // a step line (the best so far)
	xLabels       []string
}

func (p *xyPlot) render() template.HTML {
	if len(p.dots) == 0 {
		return template.HTML(`<div class="chart-empty">Not enough trials to draw this chart.</div>`)
	}
	if p.x1 <= p.x0 {
		p.x1 = p.x0 + 1
	}
	plotW, plotH := p.width-marginL-marginR, p.height-marginT-marginB
	xOf := func(x float64) float64 { return marginL + (x-p.x0)/(p.x1-p.x0)*plotW }
	yOf := func(y float64) float64 {
		y = math.Min(math.Max(y, p.lo), p.hi)
		return marginT + (1-(y-p.lo)/(p.hi-p.lo))*plotH
	}
	var b strings.Builder
	w := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	w(`<svg class="chart xy" id="`, html.EscapeString(p.id), `" viewBox="0 0 `, num(p.width), ` `, num(p.height),
		`" preserveAspectRatio="xMidYMid meet" role="img" aria-label="`, html.EscapeString(p.aria), `">`)
	yStep := niceStep((p.hi-p.lo)/5, 0)
	w(`<g class="grid">`)
	for y := math.Ceil(p.lo/yStep) * yStep; y <= p.hi; y += yStep {
		w(`<line x1="`, num(marginL), `" x2="`, num(p.width-marginR), `" y1="`, num(yOf(y)), `" y2="`, num(yOf(y)), `"/>`)
	}
	w(`</g><g class="axis">`)
	for y := math.Ceil(p.lo/yStep) * yStep; y <= p.hi; y += yStep {
		w(`<text x="`, num(marginL-8), `" y="`, num(yOf(y)+4), `" text-anchor="end">`, fmtAxisNumber(y, yStep), `</text>`)
	}
	if p.xLabels != nil {
		for i, l := range p.xLabels {
			w(`<text x="`, num(xOf(float64(i))), `" y="`, num(p.height-8), `" text-anchor="middle">`, html.EscapeString(l), `</text>`)
		}
	} else {
		xStep := niceStep((p.x1-p.x0)/6, 0)
		for x := math.Ceil(p.x0/xStep) * xStep; x <= p.x1+xStep*1e-9; x += xStep {
			w(`<text x="`, num(xOf(x)), `" y="`, num(p.height-8), `" text-anchor="middle">`, fmtAxisNumber(x, xStep), `</text>`)
		}
	}
	w(`</g><g class="dots">`)
	for _, d := range p.dots {
		w(`<circle cx="`, num(xOf(d.x)), `" cy="`, num(yOf(d.y)), `" r="2.2"/>`)
	}
	w(`</g>`)
	if len(p.line) > 0 {
		var path strings.Builder
		for i, q := range p.line {
			if i == 0 {
				path.WriteString("M" + num(xOf(q.x)) + " " + num(yOf(q.y)))
				continue
			}
			path.WriteString("H" + num(xOf(q.x)) + "V" + num(yOf(q.y)))
		}
		path.WriteString("H" + num(xOf(p.x1)))
		w(`<path class="line-best" d="`, path.String(), `"/>`)
	}
	w(`</svg>`)
	return template.HTML(b.String())
}

// stride keeps at most maxChartPoints of n items, evenly.
func stride(n int) int { return max(1, (n+maxChartPoints-1)/maxChartPoints) }

// convergenceChart plots each trial's loss against its number and the
// best loss so far.
func convergenceChart(trials []StudyTrial, lo, hi float64) template.HTML {
	p := &xyPlot{id: "convergence-chart", aria: "Loss per trial and best so far", width: 1200, height: 320,
		x0: 1, x1: float64(max(len(trials), 2)), lo: lo, hi: hi}
	s := stride(len(trials))
	best := math.Inf(1)
	for i := range trials {
		t := &trials[i]
		if !plottable(t) {
			continue
		}
		if i%s == 0 {
			p.dots = append(p.dots, xy{float64(t.Number), t.Loss})
		}
		if t.Loss < best {
			best = t.Loss
			p.line = append(p.line, xy{float64(t.Number), best})
		}
	}
	return p.render()
}

// scatterChart plots the loss against dimension d's value.
func scatterChart(dim sample.Dim, d int, trials []StudyTrial, lo, hi float64) template.HTML {
	p := &xyPlot{id: "scatter-" + dim.Name, aria: "Loss against " + dim.Name, width: 600, height: 240, lo: lo, hi: hi,
		x0: dim.Low, x1: dim.High}
	if dim.Categorical() {
		p.x0, p.x1, p.xLabels = -0.5, float64(len(dim.Choices))-0.5, dim.Choices
	}
	s := stride(len(trials))
	for i := range trials {
		t := &trials[i]
		if i%s == 0 && plottable(t) && d < len(t.Point) {
			p.dots = append(p.dots, xy{t.Point[d], t.Loss})
		}
	}
	return p.render()
}
