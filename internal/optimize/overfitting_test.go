package optimize

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize/overfit"
)

// The figures a study shows are overfit's functions on every trial's
// daily returns, recomputed here by backtesting each trial again.
func TestStudyOverfittingMatchesOverfit(t *testing.T) {
	fx := setup(t, 1, 20_000, []string{"buy", "roi", "stoploss"}, 4) // 69 days
	fx.opts.Epochs, fx.opts.Jobs = 30, 2
	st, err := Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	o := st.Overfitting()

	var series [][]float64
	var numbers []int
	var sharpes []float64
	for _, tr := range st.Trials {
		if tr.Failed() {
			continue
		}
		p := fx.opts.Space.Decode(tr.Point, fx.opts.Settings.Rules.Risk)
		prep, err := fx.opts.Data.Prepare(context.Background(), fx.strat, p.Params)
		if err != nil {
			t.Fatal(err)
		}
		s := fx.opts.Settings
		s.Rules.Risk = p.Risk
		res, err := prep.Simulate(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		m := metrics.Compute(res)
		r := dailyReturns(&m)
		series, numbers = append(series, r), append(numbers, tr.Number)
		sr := 0.0
		if d, err := overfit.Describe(r); err == nil {
			sr = d.Sharpe
		}
		sharpes = append(sharpes, sr)
	}
	if len(series) < 10 {
		t.Fatalf("only %d trials succeeded", len(series))
	}
	best := st.Best[0].Trial.Number
	m, err := overfit.Describe(series[slices.Index(numbers, best)])
	if err != nil {
		t.Fatal(err)
	}
	var mean, v float64
	for _, s := range sharpes {
		mean += s / float64(len(sharpes))
	}
	for _, s := range sharpes {
		v += (s - mean) * (s - mean) / float64(len(sharpes)-1)
	}
	d, err := overfit.DeflatedSharpe(m, len(series), v)
	if err != nil {
		t.Fatal(err)
	}
	if o.Best != best || o.Trials != len(series) || math.Abs(o.DSR-d.DSR) > 1e-9 || math.Abs(o.SharpeVariance-v) > 1e-12 {
		t.Errorf("study: best %d, %d trials, variance %v, DSR %v; overfit: best %d, %d trials, variance %v, DSR %v",
			o.Best, o.Trials, o.SharpeVariance, o.DSR, best, len(series), v, d.DSR)
	}
	c, err := overfit.PBO(series, pboSplits(len(series[0])))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Kept, numbers) || o.PBO != c.PBO || o.CSCV.Splits != 16 {
		t.Errorf("study: PBO %v over %v (%d splits); overfit: %v over %v", o.PBO, o.Kept, o.CSCV.Splits, c.PBO, numbers)
	}
	if o.Verdict != overfit.Verdict(d.DSR, c.PBO) {
		t.Errorf("verdict %q", o.Verdict)
	}
}

// What the keeper holds stops growing with the number of trials, and its
// sample is spread over all of them.
func TestReturnsKeeperFlat(t *testing.T) {
	const periods = 64
	k := newReturnsKeeper()
	r := rand.New(rand.NewPCG(1, 2))
	var at10k int
	for n := 1; n <= 100_000; n++ {
		ret := make([]float64, periods)
		for i := range ret {
			ret[i] = r.NormFloat64() * 0.01
		}
		k.add(n, r.Float64(), ret)
		if n == 10_000 {
			at10k = k.retained()
		}
	}
	if len(k.top) != OverfitTop || len(k.sample) != OverfitSample {
		t.Errorf("kept %d best and %d sampled, want %d and %d", len(k.top), len(k.sample), OverfitTop, OverfitSample)
	}
	if got, want := k.retained(), (OverfitTop+OverfitSample)*periods; got != want || at10k != want {
		t.Errorf("retained %d values after 100,000 trials and %d after 10,000, want %d", got, at10k, want)
	}
	if k.n != 100_000 {
		t.Errorf("Sharpe ratios of %d trials counted", k.n)
	}
	// A uniform sample of 1 … 100,000: its mean number is 50,000 ± 1,300
	// (one standard error of 500 draws) — keeping the first or the last
	// trials would be far off.
	var mean float64
	for _, s := range k.sample {
		mean += float64(s.number) / float64(len(k.sample))
	}
	if math.Abs(mean-50_000) > 5_000 {
		t.Errorf("the sample's mean trial number is %.0f, want about 50,000", mean)
	}
	for i := 1; i < len(k.top); i++ {
		if k.top[i].loss < k.top[i-1].loss {
			t.Fatal("best trials out of order")
		}
	}
}

// A long backtest keeps a smaller sample, within the budget.
func TestReturnsKeeperBudget(t *testing.T) {
	k := newReturnsKeeper()
	for n := 1; n <= 1000; n++ {
		ret := make([]float64, 10_000)
		ret[n%len(ret)] = 0.01
		k.add(n, float64(n), ret)
	}
	if k.retained() > ReturnsBudget || len(k.sample) != ReturnsBudget/10_000-OverfitTop {
		t.Errorf("retained %d values in %d sampled trials", k.retained(), len(k.sample))
	}
}

func TestPBOSplits(t *testing.T) {
	for _, c := range []struct{ periods, want int }{{365, 16}, {64, 16}, {63, 14}, {30, 6}, {16, 4}, {15, 0}, {2, 0}} {
		if got := pboSplits(c.periods); got != c.want {
			t.Errorf("%d days: %d splits, want %d", c.periods, got, c.want)
		}
	}
}

// A study without successful trials measures nothing and says so.
func TestOverfittingNotMeasured(t *testing.T) {
	o := (&Study{}).Overfitting()
	if !math.IsNaN(o.DSR) || !math.IsNaN(o.PBO) || len(o.Notes) == 0 || o.Verdict != overfit.Verdict(math.NaN(), math.NaN()) {
		t.Errorf("%+v", o)
	}
}

// A study rebuilt from what a store keeps (every trial's DailySharpe, the
// daily returns of the kept trials: all of them in a study this small)
// has the figures of the study Run returned.
func TestRestoredStudyHasTheSameOverfitting(t *testing.T) {
	fx := setup(t, 1, 20_000, []string{"buy", "roi", "stoploss"}, 4)
	fx.opts.Epochs, fx.opts.Jobs = 30, 2
	st, err := Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(fx.opts, 2)
	if err != nil {
		t.Fatal(err)
	}
	var sharpes []float64
	var kept []KeptReturns
	for _, tr := range st.Trials {
		again, _, returns, err := ev.Trial(context.Background(), tr.Number, tr.Point)
		if err != nil || again.Loss != tr.Loss {
			t.Fatalf("trial %d again: loss %v (%v), was %v", tr.Number, again.Loss, err, tr.Loss)
		}
		if sr, ok := DailySharpe(returns); ok && !tr.Failed() {
			sharpes = append(sharpes, sr)
			kept = append(kept, KeptReturns{Number: tr.Number, Loss: tr.Loss, Returns: returns})
		}
	}
	restored := RestoreStudy(st.Trials, sharpes, kept)
	if got, want := fmt.Sprintf("%+v", restored.Overfitting()), fmt.Sprintf("%+v", st.Overfitting()); got != want {
		t.Fatalf("restored study's figures\n%s\nwant\n%s", got, want)
	}
	if restored.Failed != st.Failed || len(restored.Trials) != len(st.Trials) {
		t.Fatalf("restored %d trials, %d failed; want %d, %d", len(restored.Trials), restored.Failed, len(st.Trials), st.Failed)
	}
	// Without returns kept there is nothing to judge (and no panic).
	if o := RestoreStudy(st.Trials, sharpes, nil).Overfitting(); !math.IsNaN(o.DSR) || len(o.Notes) == 0 {
		t.Fatalf("no returns kept: %+v", o)
	}
}
