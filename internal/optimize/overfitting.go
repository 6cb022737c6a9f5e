package optimize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize/overfit"
)

// What a study keeps for its overfitting figures. The deflated Sharpe
// ratio needs, of every trial, only its Sharpe ratio (kept as a running
// mean and variance) and, of the best trial, its daily returns. The
// probability of backtest overfitting needs whole daily return series:
// the study keeps those of its OverfitTop best trials and of a uniform
// sample of all its trials (reservoir sampling) of at most OverfitSample
// trials and ReturnsBudget values in all. While a study has no more trials
// than the sample holds, the PBO is computed on every trial; beyond, on
// the best and the sample, so memory and the PBO's cost stay flat however
// many trials run.
const (
	OverfitTop    = 20
	OverfitSample = 500
	// ReturnsBudget bounds the daily returns kept, (OverfitTop + sample)
	// × days: 2²¹ values, 16 MiB. A backtest of more than about 4,000
	// days keeps a smaller sample.
	ReturnsBudget = 1 << 21
	// PBOSplits is CSCV's number of blocks (the paper's 16); a backtest
	// shorter than 4 days per block uses fewer, at least PBOMinSplits.
	PBOSplits    = 16
	PBOMinSplits = 4
)

// Overfitting is how much of a study's best result is luck (package
// overfit), from the trials' daily returns (docs/optimisation.md).
type Overfitting struct {
	// Trials is the number of trials with daily returns (those that did
	// not fail): the N the deflated Sharpe ratio pays for.
	Trials int
	// Periods is the number of daily returns per trial.
	Periods int
	// SharpeVariance is the variance of the trials' daily Sharpe ratios.
	SharpeVariance float64
	// Best is the number of the trial the figures judge: the best by the
	// loss.
	Best int
	// DSR is the best trial's deflated Sharpe ratio (NaN: not measured),
	// Deflated its figures.
	DSR      float64
	Deflated overfit.Deflated
	// Kept lists, in order, the trials whose returns the PBO ranked.
	Kept []int
	// PBO is the probability of backtest overfitting by CSCV (NaN: not
	// measured), CSCV its figures.
	PBO  float64
	CSCV overfit.CSCV
	// Verdict is overfit.Verdict(DSR, PBO).
	Verdict string
	// Notes say why a figure was not measured.
	Notes []string
}

// keptReturns is one trial's daily returns.
type keptReturns struct {
	number  int
	loss    float64
	returns []float64
}

// returnsKeeper keeps what the overfitting figures need, bounded.
type returnsKeeper struct {
	periods   int
	top       []keptReturns // the best by loss, lowest first (ties: earlier)
	sample    []keptReturns // a uniform sample of every trial offered
	capSample int
	seen      int // trials offered to the sample
	rng       *rand.Rand
	// The running mean and sum of squares of the trials' Sharpe ratios
	// (Welford).
	n        int
	mean, m2 float64
}

func newReturnsKeeper() *returnsKeeper {
	// A fixed seed: the trials arrive in trial order, so a study keeps
	// the same sample every time it is repeated.
	return &returnsKeeper{rng: rand.New(rand.NewPCG(0x5eed, 16))}
}

// dailyReturns are a trial's daily mark-to-market returns.
func dailyReturns(m *metrics.Report) []float64 {
	r := make([]float64, len(m.Daily))
	for i, d := range m.Daily {
		r[i] = d.Return
	}
	return r
}

// add offers the daily returns of trial number (1-based) with loss.
func (k *returnsKeeper) add(number int, loss float64, returns []float64) {
	sr, ok := k.accept(returns)
	if !ok {
		return
	}
	k.addSharpe(sr)
	k.keepReturns(number, loss, returns)
}

// accept reports whether returns count (finite, as many days as the
// study's first, which sets the days) and their DailySharpe.
func (k *returnsKeeper) accept(returns []float64) (float64, bool) {
	if len(returns) == 0 || slices.ContainsFunc(returns, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }) {
		return 0, false
	}
	if k.periods == 0 {
		k.periods = len(returns)
		k.capSample = max(0, min(OverfitSample, ReturnsBudget/k.periods-OverfitTop))
	}
	if len(returns) != k.periods {
		// One study's trials share their candles and so their days.
		return 0, false
	}
	return DailySharpe(returns)
}

// DailySharpe is the Sharpe ratio of a trial's daily returns as the
// overfitting figures count it (0 when they vary too little to tell); ok
// is false when the returns cannot be judged (none, a NaN or infinity, or
// fewer than 3 days) and the trial does not count.
func DailySharpe(returns []float64) (sr float64, ok bool) {
	if len(returns) == 0 || slices.ContainsFunc(returns, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }) {
		return 0, false
	}
	if m, err := overfit.Describe(returns); err == nil {
		return m.Sharpe, true
	}
	return 0, len(returns) >= 3
}

// addSharpe folds a trial's DailySharpe into the running mean and
// variance (Welford).
func (k *returnsKeeper) addSharpe(sr float64) {
	k.n++
	d := sr - k.mean
	k.mean += d / float64(k.n)
	k.m2 += d * (sr - k.mean)
}

// keepReturns keeps a trial's accepted daily returns when it is among the
// best or drawn into the sample.
func (k *returnsKeeper) keepReturns(number int, loss float64, returns []float64) {
	kr := keptReturns{number: number, loss: loss, returns: returns}
	i, _ := slices.BinarySearchFunc(k.top, loss, func(r keptReturns, l float64) int {
		if r.loss <= l {
			return -1
		}
		return 1
	})
	if i < OverfitTop {
		k.top = slices.Insert(k.top, i, kr)
		if len(k.top) > OverfitTop {
			k.top[OverfitTop] = keptReturns{}
			k.top = k.top[:OverfitTop]
		}
	}
	// Algorithm R: after s trials, each is in the sample with the same
	// probability capSample/s.
	k.seen++
	switch {
	case len(k.sample) < k.capSample:
		k.sample = append(k.sample, kr)
	case k.capSample > 0:
		if j := k.rng.IntN(k.seen); j < k.capSample {
			k.sample[j] = kr
		}
	}
}

// retained is the number of daily return values k holds.
func (k *returnsKeeper) retained() int {
	n := 0
	for _, r := range k.top {
		n += len(r.returns)
	}
	for _, r := range k.sample {
		n += len(r.returns)
	}
	return n
}

// kept is the union of the best and the sample, by trial number.
func (k *returnsKeeper) kept() []keptReturns {
	out := slices.Concat(k.top, k.sample)
	slices.SortFunc(out, func(a, b keptReturns) int { return a.number - b.number })
	return slices.CompactFunc(out, func(a, b keptReturns) bool { return a.number == b.number })
}

// pboSplits is the number of CSCV blocks for periods days: PBOSplits, or
// fewer so that a block holds at least 4 days; 0 when fewer than
// PBOMinSplits blocks fit.
func pboSplits(periods int) int {
	s := min(PBOSplits, periods/4)
	s -= s % 2
	if s < PBOMinSplits {
		return 0
	}
	return s
}

// Overfitting measures the study's overfitting figures: the deflated
// Sharpe ratio of its best trial given the number of trials, the PBO over
// the trials whose returns it kept, and the verdict. It is computed on
// demand: the PBO of a large study takes a couple of seconds (12,870
// splits × up to 520 trials).
func (st *Study) Overfitting() Overfitting {
	o := Overfitting{DSR: math.NaN(), PBO: math.NaN()}
	k := st.keep
	if k == nil || k.n == 0 || len(k.top) == 0 {
		o.Notes = append(o.Notes, "no trial has daily returns to judge")
		o.Verdict = overfit.Verdict(o.DSR, o.PBO)
		return o
	}
	o.Trials, o.Periods, o.Best = k.n, k.periods, k.top[0].number
	if k.n > 1 {
		o.SharpeVariance = k.m2 / float64(k.n-1)
	}
	if m, err := overfit.Describe(k.top[0].returns); err != nil {
		o.Notes = append(o.Notes, "deflated Sharpe ratio: the best trial's "+err.Error())
	} else if d, err := overfit.DeflatedSharpe(m, k.n, o.SharpeVariance); err != nil {
		o.Notes = append(o.Notes, "deflated Sharpe ratio: "+err.Error())
	} else {
		o.DSR, o.Deflated = d.DSR, d
	}
	kept := k.kept()
	splits := pboSplits(k.periods)
	switch {
	case len(kept) < 2:
		o.Notes = append(o.Notes, "probability of backtest overfitting: needs at least 2 trials")
	case splits == 0:
		o.Notes = append(o.Notes, fmt.Sprintf("probability of backtest overfitting: needs at least %d days, the backtest has %d", 4*PBOMinSplits, k.periods))
	default:
		series := make([][]float64, len(kept))
		for i, r := range kept {
			series[i] = r.returns
			o.Kept = append(o.Kept, r.number)
		}
		c, err := overfit.PBO(series, splits)
		if err != nil {
			o.Notes = append(o.Notes, "probability of backtest overfitting: "+err.Error())
		} else {
			o.PBO, o.CSCV = c.PBO, c
		}
	}
	o.Verdict = overfit.Verdict(o.DSR, o.PBO)
	return o
}

// KeptReturns are the daily returns a store kept of one trial.
type KeptReturns struct {
	Number  int
	Loss    float64
	Returns []float64
}

// RestoreStudy rebuilds a study from what a store kept of it (a study
// shared by many workers, internal/study): its finished trials by number,
// the DailySharpe of every trial that has one, and the daily returns of
// the trials it kept, by number (at least every trial that was among the
// OverfitTop best when it finished, and a sample). Overfitting and
// FillStudyReport read it as a study Run returned; Best is empty.
func RestoreStudy(trials []Trial, sharpes []float64, kept []KeptReturns) *Study {
	st := &Study{Trials: trials, keep: newReturnsKeeper()}
	for i := range trials {
		if trials[i].Failed() {
			st.Failed++
		}
	}
	for _, sr := range sharpes {
		st.keep.addSharpe(sr)
	}
	for _, r := range kept {
		if _, ok := st.keep.accept(r.Returns); ok {
			st.keep.keepReturns(r.Number, r.Loss, r.Returns)
		}
	}
	return st
}
