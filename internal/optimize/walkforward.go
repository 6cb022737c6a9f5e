package optimize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/result"
)

// ParseSpan reads a walk-forward length: a whole number and a unit, m
// (minutes), h (hours), d (days) or w (weeks): "90d", "12h", "2w".
func ParseSpan(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a length such as 90d (a whole number and m, h, d or w)", s)
	}
	unit, ok := units[s[len(s)-1]]
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if !ok || err != nil || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a length such as 90d (a whole number and m, h, d or w)", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("%q is empty: the length must be above 0", s)
	}
	if n > uint64(100*365*24*time.Hour/unit) {
		return 0, fmt.Errorf("%q is longer than 100 years", s)
	}
	return time.Duration(n) * unit, nil
}

// Window is one walk-forward window: an optimisation on Train, the best
// parameters tested on Test, which follows it. Ranges are candle open
// times, end exclusive.
type Window struct {
	Index       int // from 0
	Train, Test market.Range
}

// Windows lays walk-forward windows over span: the first trains on
// [span.Start, span.Start + train) and tests on the test length after it;
// each next window moves step later. Rolling windows move the training
// start too (every window trains on train); anchored windows keep it at
// span.Start (the training range grows by step). Only windows whose test
// range ends within span are made. step must be at least test, so that the
// test ranges, stitched together, never overlap (a longer step leaves
// gaps). Errors name the flag at fault.
func Windows(span market.Range, train, test, step time.Duration, anchored bool) ([]Window, error) {
	for _, f := range []struct {
		flag string
		d    time.Duration
	}{{"--train", train}, {"--test", test}, {"--step", step}} {
		if f.d <= 0 {
			return nil, fmt.Errorf("%s: %s is not a positive length", f.flag, f.d)
		}
	}
	if step < test {
		return nil, fmt.Errorf("--step: %s is shorter than --test %s, so the out-of-sample tests would overlap", spanText(step), spanText(test))
	}
	tr, te, st := train.Milliseconds(), test.Milliseconds(), step.Milliseconds()
	var out []Window
	for i := 0; ; i++ {
		w := Window{Index: i}
		w.Train.Start, w.Train.End = span.Start+int64(i)*st, span.Start+int64(i)*st+tr
		if anchored {
			w.Train.Start = span.Start
		}
		w.Test = market.Range{Start: w.Train.End, End: w.Train.End + te}
		if w.Test.End > span.End {
			break
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--train %s and --test %s need %s of candles, the data has %s (%s to %s)",
			spanText(train), spanText(test), spanText(train+test), spanText(time.Duration(span.End-span.Start)*time.Millisecond),
			dateText(span.Start), dateText(span.End))
	}
	return out, nil
}

// spanText writes d in ParseSpan's units where it divides: "90d".
func spanText(d time.Duration) string {
	switch day := 24 * time.Hour; {
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func dateText(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }

// WalkOptions configure a walk-forward analysis.
type WalkOptions struct {
	// Study is every window's study: Data holds the candles of the whole
	// range (loaded once; each window views its part), Sampler is
	// unused, OnTrial is called for every window's trials.
	Study Options
	// Sampler makes window i's sampler (seeded per window).
	Sampler func(window int) (sample.Sampler, error)
	Windows []Window
	// OnWindow, when set, is called as each window is done.
	OnWindow func(w *WindowResult)
}

// WindowSamplers makes window i's sampler: the sampler called name over
// dims, seeded with seed + i, so a seed (and the study's Jobs) repeats the
// analysis (tradai walkforward, locally and on a server's worker).
func WindowSamplers(name string, dims sample.Space, seed uint64) func(window int) (sample.Sampler, error) {
	return func(i int) (sample.Sampler, error) { return sample.New(name, dims, seed+uint64(i)) }
}

// WindowResult is one window's optimisation and test.
type WindowResult struct {
	Window
	Trials, Failed int
	// Best is the best trial of the window's optimisation on Train: its
	// in-sample result and metrics.
	Best Ranked
	// Overfitting are the window study's figures.
	Overfitting Overfitting
	// OOS is the backtest of Best's parameters on Test: out of sample.
	OOS        *result.Result
	OOSMetrics metrics.Report
	// Efficiency is the walk-forward efficiency: the test's profit per
	// day over the training's (NaN when the training made no profit).
	Efficiency float64
}

// WalkForward is a finished walk-forward analysis.
type WalkForward struct {
	Windows []WindowResult
	// OOS is the out-of-sample tests stitched into one result (Stitch),
	// OOSMetrics its metrics.
	OOS        *result.Result
	OOSMetrics metrics.Report
	// Efficiency is the whole analysis's walk-forward efficiency: the
	// out-of-sample profit per day (summed over the windows) over the
	// in-sample profit per day (NaN when that is not above 0).
	Efficiency float64
}

// RunWalkForward optimises each window on its training range (a study of
// o.Study with the window's sampler), backtests the best parameters on
// its test range and stitches the tests. The windows run one after the
// other, each study o.Study.Jobs trials at a time. The candles are
// o.Study.Data's, viewed per window, never reloaded.
func RunWalkForward(ctx context.Context, o WalkOptions) (*WalkForward, error) {
	if o.Study.Data == nil || o.Sampler == nil || len(o.Windows) == 0 {
		return nil, errors.New("optimize: walk-forward needs Data, Sampler and Windows")
	}
	wf := &WalkForward{}
	var tests []*result.Result
	for _, w := range o.Windows {
		wr, err := runWindow(ctx, o, w)
		if err != nil {
			return nil, fmt.Errorf("window %d (train %s to %s): %w", w.Index+1, dateText(w.Train.Start), dateText(w.Train.End), err)
		}
		wf.Windows = append(wf.Windows, *wr)
		tests = append(tests, wr.OOS)
		if o.OnWindow != nil {
			o.OnWindow(&wf.Windows[len(wf.Windows)-1])
		}
	}
	oos, err := Stitch(tests)
	if err != nil {
		return nil, err
	}
	wf.OOS, wf.OOSMetrics = oos, metrics.Compute(oos)
	var isRate, oosRate, isDays, oosDays float64
	for _, w := range wf.Windows {
		d := days(w.Train)
		isRate += w.Best.Metrics.Summary.ProfitTotal
		isDays += d
		oosRate += w.OOSMetrics.Summary.ProfitTotal
		oosDays += days(w.Window.Test)
	}
	wf.Efficiency = efficiency(isRate/isDays, oosRate/oosDays)
	return wf, nil
}

func days(r market.Range) float64 {
	return float64(r.End-r.Start) / float64(24*time.Hour/time.Millisecond)
}

// efficiency is oos / is, NaN unless is > 0.
func efficiency(is, oos float64) float64 {
	if !(is > 0) {
		return math.NaN()
	}
	return oos / is
}

func runWindow(ctx context.Context, o WalkOptions, w Window) (*WindowResult, error) {
	train, err := o.Study.Data.Window(w.Train)
	if err != nil {
		return nil, fmt.Errorf("training range: %w", err)
	}
	// A window's Close waits for its candle summary, computed in the
	// background from the study's candles, and unmaps nothing.
	defer func() { _ = train.Close() }()
	test, err := o.Study.Data.Window(w.Test)
	if err != nil {
		return nil, fmt.Errorf("test range: %w", err)
	}
	defer func() { _ = test.Close() }()
	sampler, err := o.Sampler(w.Index)
	if err != nil {
		return nil, err
	}
	so := o.Study
	so.Data, so.Sampler, so.Keep = train, sampler, 1
	st, err := Run(ctx, so)
	if err != nil {
		return nil, err
	}
	if len(st.Best) == 0 {
		return nil, errors.New("no trial succeeded")
	}
	wr := &WindowResult{Window: w, Trials: len(st.Trials), Failed: st.Failed, Best: st.Best[0], Overfitting: st.Overfitting()}
	// A copy of the best trial's summary, so the study's trials are freed.
	best := *wr.Best.Trial
	wr.Best.Trial = &best
	prep, err := test.Prepare(ctx, so.Strategy, wr.Best.Result.Params)
	if err != nil {
		return nil, fmt.Errorf("test range: %w", err)
	}
	s := so.Settings
	s.Rules.Risk = wr.Best.Point.Risk
	wr.OOS, err = prep.Simulate(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("test range: %w", err)
	}
	wr.OOSMetrics = metrics.Compute(wr.OOS)
	wr.Efficiency = efficiency(wr.Best.Metrics.Summary.ProfitTotal/days(w.Train), wr.OOSMetrics.Summary.ProfitTotal/days(w.Test))
	return wr, nil
}
