package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/sdk"
)

//go:embed templates/walkforward.html.tmpl
var walkTmplText string

var walkTmpl = template.Must(template.New("walkforward").Parse(walkTmplText))

// WalkForwardReport is what WriteWalkForwardHTML shows.
type WalkForwardReport struct {
	Title             string // the strategy
	Loss, Sampler     string
	Seed              uint64
	Epochs            int
	Train, Test, Step string // as given: "90d"
	Anchored          bool
	// Windows are the analysis's windows in order; OOS the out-of-sample
	// tests stitched into one result, OOSMetrics its metrics; Efficiency
	// the whole analysis's walk-forward efficiency (NaN: undefined).
	Windows    []WalkWindow
	OOS        *result.Result
	OOSMetrics metrics.Report
	Efficiency float64
}

// WalkWindow is one window of a walk-forward analysis as the report shows
// it (plain figures, so the report never imports the optimiser).
type WalkWindow struct {
	Index int // from 0
	// The training and test ranges, Unix ms, end excluded.
	TrainStart, TrainEnd, TestStart, TestEnd int64
	// Trials of the window's study; BestTrial the number of the best, whose
	// strategy parameters and risk settings were tested.
	Trials, BestTrial int
	Params            sdk.Values
	Risk              sdk.Risk
	// InSample is the best trial's figures on the training range,
	// OutOfSample its parameters' on the test range.
	InSample, OutOfSample metrics.Summary
	Efficiency            float64
	// The window study's overfitting figures (NaN: not measured).
	DSR, PBO float64
	Verdict  string
}

// OOSFiles is the files of the stitched out-of-sample result (its
// --export-json and --report, as a backtest's).
func (r *WalkForwardReport) OOSFiles() *Files {
	return NewFiles(r.OOS, func() metrics.Report { return r.OOSMetrics }, nil)
}

// WriteWalkForwardHTML writes a self-contained HTML report of a
// walk-forward analysis in the backtest report's style: headline figures
// of the stitched out-of-sample result and the walk-forward efficiency,
// the stitched out-of-sample equity, and per window the in-sample (the
// best trial on the training range) beside the out-of-sample (its
// parameters on the test range) profit, daily Sharpe ratio, drawdown and
// trades, with the efficiency, the window study's overfitting verdict and
// the chosen parameters.
func WriteWalkForwardHTML(w io.Writer, r *WalkForwardReport) error {
	if r == nil || r.OOS == nil {
		return fmt.Errorf("report: no walk-forward")
	}
	v := buildWalkView(r)
	var buf bytes.Buffer
	if err := walkTmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: rendering the walk-forward report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type walkView struct {
	CSS                        template.CSS
	Title, Loss, Sampler, Mode string
	Train, Test, Step          string
	Seed                       uint64
	Epochs                     int
	From, To                   string
	Cards                      []card
	Equity                     template.HTML
	Windows                    []walkRow
	Efficiency                 string
}

type walkRow struct {
	N                                      int
	Train, Test                            string
	ISProfit, ISSharpe, ISDD, ISTrades     string
	OOSProfit, OOSSharpe, OOSDD, OOSTrades string
	ISTone, OOSTone                        string
	Efficiency, Verdict, VerdictTone       string
	Params                                 []keyValue
}

func buildWalkView(r *WalkForwardReport) *walkView {
	wf := r
	oos, s := wf.OOS, wf.OOSMetrics.Summary
	mode := "rolling"
	if r.Anchored {
		mode = "anchored"
	}
	v := &walkView{CSS: template.CSS(reportCSS), Title: r.Title, Loss: r.Loss, Sampler: r.Sampler, Mode: mode,
		Train: r.Train, Test: r.Test, Step: r.Step, Seed: r.Seed, Epochs: r.Epochs,
		From: dateOnly(oos.Start), To: dateOnly(oos.End), Efficiency: ratioText(wf.Efficiency)}
	v.Cards = []card{
		{"Out-of-sample profit", pctSigned(s.ProfitTotal, 2), "stitched over " + plural(len(wf.Windows), "window"), tone(s.ProfitTotal)},
		{"Walk-forward efficiency", ratioText(wf.Efficiency), "out-of-sample profit per day ÷ in-sample", effTone(wf.Efficiency)},
		{"Sharpe (daily)", fixed(s.SharpeDaily, 2), "out of sample, equity-based", ""},
		{"Max drawdown", pctS(s.MaxDrawdownEquity, 2), "out of sample", tone(-s.MaxDrawdownEquity)},
		{"Trades", strconv.Itoa(s.TotalTrades), "out of sample", ""},
	}
	v.Equity, _ = equityChart(oos, equityLines(oos, equitySeries(oos)), false)
	for _, w := range wf.Windows {
		is, os := w.InSample, w.OutOfSample
		row := walkRow{N: w.Index + 1,
			Train: dateOnly(w.TrainStart) + " → " + dateOnly(w.TrainEnd), Test: dateOnly(w.TestStart) + " → " + dateOnly(w.TestEnd),
			ISProfit: pctSigned(is.ProfitTotal, 2), ISSharpe: fixed(is.SharpeDaily, 2), ISDD: pctS(is.MaxDrawdownEquity, 2), ISTrades: strconv.Itoa(is.TotalTrades),
			OOSProfit: pctSigned(os.ProfitTotal, 2), OOSSharpe: fixed(os.SharpeDaily, 2), OOSDD: pctS(os.MaxDrawdownEquity, 2), OOSTrades: strconv.Itoa(os.TotalTrades),
			ISTone: tone(is.ProfitTotal), OOSTone: tone(os.ProfitTotal),
			Efficiency: ratioText(w.Efficiency), Verdict: verdictWord(w.Verdict), VerdictTone: verdictTone(w.Verdict),
			Params: paramsOf(w.Params)}
		r := w.Risk
		if len(r.MinimalROI) > 0 {
			row.Params = append(row.Params, keyValue{"roi", roiText(r.MinimalROI)})
		}
		row.Params = append(row.Params, keyValue{"stoploss", strconv.FormatFloat(r.Stoploss, 'g', -1, 64)})
		v.Windows = append(v.Windows, row)
	}
	return v
}

// ratioText writes a ratio, "n/a" when undefined.
func ratioText(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fixed(x, 2)
}

func effTone(x float64) string {
	switch {
	case math.IsNaN(x):
		return ""
	case x >= 0.5:
		return "pos"
	case x < 0:
		return "neg"
	}
	return ""
}

func paramsOf(p sdk.Values) []keyValue {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]keyValue, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyValue{k, fmt.Sprint(p[k])})
	}
	return out
}

func roiText(t sdk.ROITable) string {
	var b bytes.Buffer
	for i, s := range t {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d:%g", s.Minutes, s.Ratio)
	}
	return b.String()
}

// WriteWalkForwardJSON writes a walk-forward analysis as JSON: its
// settings, per window the ranges (Unix ms), the chosen parameters and
// risk settings, the in-sample and out-of-sample figures, the efficiency
// and the window study's overfitting figures (null where not measured),
// the whole efficiency, and "out_of_sample": the stitched result as
// Files.WriteJSON writes a backtest.
func WriteWalkForwardJSON(w io.Writer, r *WalkForwardReport) error {
	if r == nil || r.OOS == nil {
		return fmt.Errorf("report: no walk-forward")
	}
	wf := r
	var oos bytes.Buffer
	if err := wf.OOSFiles().WriteJSON(&oos); err != nil {
		return fmt.Errorf("out_of_sample: %w", err)
	}
	type figures struct {
		ProfitTotal       float64 `json:"profit_total"`
		ProfitTotalAbs    float64 `json:"profit_total_abs"`
		SharpeDaily       float64 `json:"sharpe_daily_equity"`
		MaxDrawdownEquity float64 `json:"max_drawdown_equity"`
		Trades            int     `json:"total_trades"`
	}
	type window struct {
		Window      int          `json:"window"`
		TrainStart  int64        `json:"train_start_ts"`
		TrainEnd    int64        `json:"train_end_ts"`
		TestStart   int64        `json:"test_start_ts"`
		TestEnd     int64        `json:"test_end_ts"`
		Trials      int          `json:"trials"`
		BestTrial   int          `json:"best_trial"`
		Params      sdk.Values   `json:"params"`
		MinimalROI  sdk.ROITable `json:"minimal_roi"`
		Stoploss    float64      `json:"stoploss"`
		InSample    figures      `json:"in_sample"`
		OutOfSample figures      `json:"out_of_sample"`
		Efficiency  *float64     `json:"efficiency"`
		DSR         *float64     `json:"deflated_sharpe_ratio"`
		PBO         *float64     `json:"pbo"`
		Verdict     string       `json:"verdict"`
	}
	finite := func(x float64) *float64 {
		if !isFinite(x) {
			return nil
		}
		return &x
	}
	figs := func(s metrics.Summary) figures {
		return figures{s.ProfitTotal, s.ProfitTotalAbs, s.SharpeDaily, s.MaxDrawdownEquity, s.TotalTrades}
	}
	doc := struct {
		Strategy    string          `json:"strategy"`
		Loss        string          `json:"loss"`
		Sampler     string          `json:"sampler"`
		Seed        uint64          `json:"seed"`
		Epochs      int             `json:"epochs"`
		Train       string          `json:"train"`
		Test        string          `json:"test"`
		Step        string          `json:"step"`
		Anchored    bool            `json:"anchored"`
		Efficiency  *float64        `json:"efficiency"`
		Windows     []window        `json:"windows"`
		OutOfSample json.RawMessage `json:"out_of_sample"`
	}{Strategy: r.Title, Loss: r.Loss, Sampler: r.Sampler, Seed: r.Seed, Epochs: r.Epochs, Train: r.Train, Test: r.Test, Step: r.Step,
		Anchored: r.Anchored, Efficiency: finite(wf.Efficiency), Windows: []window{}, OutOfSample: oos.Bytes()}
	for _, w := range wf.Windows {
		doc.Windows = append(doc.Windows, window{Window: w.Index + 1, TrainStart: w.TrainStart, TrainEnd: w.TrainEnd,
			TestStart: w.TestStart, TestEnd: w.TestEnd, Trials: w.Trials, BestTrial: w.BestTrial,
			Params: w.Params, MinimalROI: w.Risk.MinimalROI, Stoploss: w.Risk.Stoploss,
			InSample: figs(w.InSample), OutOfSample: figs(w.OutOfSample), Efficiency: finite(w.Efficiency),
			DSR: finite(w.DSR), PBO: finite(w.PBO), Verdict: w.Verdict})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: walk-forward JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
