// Package overfit measures how much of an optimisation's best result is
// luck, from the per-period returns of its trials: the deflated Sharpe
// ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014) and
// the probability of backtest overfitting by combinatorially symmetric
// cross-validation (Bailey, Borwein, López de Prado & Zhu, "The
// Probability of Backtest Overfitting", 2017), and a Verdict in plain
// words from the two. It is pure arithmetic on plain slices.
//
// Units: returns are per period (daily returns in TradAI's reports:
// 0.01 is 1 %), in excess of the risk-free rate (taken as 0). Sharpe
// ratios here are per period too, never annualised: a daily Sharpe of
// 0.1 is about 1.6 a year (× √252).
package overfit

import (
	"errors"
	"fmt"
	"math"
)

// EulerGamma is the Euler–Mascheroni constant of the expected maximum.
const EulerGamma = 0.5772156649015329

// Moments are the figures of one return series the probabilistic Sharpe
// ratio needs.
type Moments struct {
	// Periods is the number of returns, T.
	Periods int
	// Sharpe is the mean over the sample standard deviation (n−1).
	Sharpe float64
	// Skew is the third standardised moment, 0 for a normal series.
	Skew float64
	// Kurtosis is the fourth standardised moment, 3 for a normal series
	// (not the excess).
	Kurtosis float64
}

// Describe computes the moments of returns. Skew and kurtosis are the
// moment estimators (dividing by T), which keep kurtosis ≥ skew² + 1 so
// the Sharpe ratio's variance stays positive.
func Describe(returns []float64) (Moments, error) {
	t := len(returns)
	if t < 3 {
		return Moments{}, fmt.Errorf("returns: %d periods, need at least 3", t)
	}
	mean := 0.0
	for i, r := range returns {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return Moments{}, fmt.Errorf("returns: period %d is %v", i, r)
		}
		mean += r
	}
	mean /= float64(t)
	var m2, m3, m4 float64
	for _, r := range returns {
		d := r - mean
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	m2, m3, m4 = m2/float64(t), m3/float64(t), m4/float64(t)
	if m2 == 0 {
		return Moments{}, errors.New("returns: every period has the same return, so the Sharpe ratio is undefined")
	}
	sd := math.Sqrt(m2 * float64(t) / float64(t-1))
	return Moments{
		Periods:  t,
		Sharpe:   mean / sd,
		Skew:     m3 / math.Pow(m2, 1.5),
		Kurtosis: m4 / (m2 * m2),
	}, nil
}

// ProbabilisticSharpe is the probability that the true Sharpe ratio of a
// series with moments m is above benchmark (per period):
//
//	Φ( (SR − SR*)·√(T−1) / √(1 − skew·SR + (kurtosis−1)/4·SR²) )
func ProbabilisticSharpe(m Moments, benchmark float64) (float64, error) {
	if m.Periods < 2 {
		return 0, fmt.Errorf("moments: %d periods, need at least 2", m.Periods)
	}
	v := 1 - m.Skew*m.Sharpe + (m.Kurtosis-1)/4*m.Sharpe*m.Sharpe
	if !(v > 0) {
		return 0, fmt.Errorf("moments: skew %v and kurtosis %v give the Sharpe ratio no positive variance", m.Skew, m.Kurtosis)
	}
	z := (m.Sharpe - benchmark) * math.Sqrt(float64(m.Periods-1)) / math.Sqrt(v)
	return normCDF(z), nil
}

// ExpectedMaxSharpe is the Sharpe ratio the best of trials independent
// trials reaches by luck alone, when their Sharpe ratios vary with
// variance around a true Sharpe of 0:
//
//	√variance · ((1−γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))
//
// One trial has nothing to be lucky against: 0.
func ExpectedMaxSharpe(trials int, variance float64) (float64, error) {
	switch {
	case trials < 1:
		return 0, fmt.Errorf("trials: %d, need at least 1", trials)
	case math.IsNaN(variance) || math.IsInf(variance, 0) || variance < 0:
		return 0, fmt.Errorf("variance of the trials' Sharpe ratios: %v is not a number at or above 0", variance)
	case trials == 1:
		return 0, nil
	}
	n := float64(trials)
	return math.Sqrt(variance) * ((1-EulerGamma)*normQuantile(1-1/n) + EulerGamma*normQuantile(1-1/(n*math.E))), nil
}

// Deflated is the deflated Sharpe ratio of a best trial.
type Deflated struct {
	Moments
	// Trials is N, the number of trials the best was chosen from.
	Trials int
	// Variance is the variance of the trials' Sharpe ratios (per period).
	Variance float64
	// Benchmark is ExpectedMaxSharpe(Trials, Variance).
	Benchmark float64
	// DSR is the probability that the best trial's true Sharpe ratio is
	// above what the best of Trials lucky trials would show.
	DSR float64
}

// DeflatedSharpe deflates the Sharpe ratio of the best trial (moments m)
// chosen among trials whose Sharpe ratios have the given variance.
func DeflatedSharpe(m Moments, trials int, variance float64) (Deflated, error) {
	sr0, err := ExpectedMaxSharpe(trials, variance)
	if err != nil {
		return Deflated{}, err
	}
	p, err := ProbabilisticSharpe(m, sr0)
	if err != nil {
		return Deflated{}, err
	}
	return Deflated{Moments: m, Trials: trials, Variance: variance, Benchmark: sr0, DSR: p}, nil
}

// DeflateBest takes every trial's returns (trials[i][t]: trial i's
// return in period t), picks the trial of highest Sharpe ratio and
// deflates it against all of them. It also returns the best's index.
// A trial whose returns never change (no trades) has a Sharpe ratio of 0.
func DeflateBest(trials [][]float64) (Deflated, int, error) {
	if len(trials) == 0 {
		return Deflated{}, 0, errors.New("trials: none given")
	}
	sharpes := make([]float64, len(trials))
	best, varied := -1, false
	var bestM Moments
	for i, r := range trials {
		m, err := Describe(r)
		switch {
		case err != nil && len(r) >= 3 && constant(r):
			m = Moments{Periods: len(r)}
		case err != nil:
			return Deflated{}, 0, fmt.Errorf("trial %d: %w", i, err)
		default:
			varied = true
		}
		sharpes[i] = m.Sharpe
		if best < 0 || m.Sharpe > bestM.Sharpe {
			best, bestM = i, m
		}
	}
	if !varied {
		return Deflated{}, 0, errors.New("trials: every trial's returns are constant")
	}
	d, err := DeflatedSharpe(bestM, len(trials), variance(sharpes))
	return d, best, err
}

func constant(r []float64) bool {
	for _, x := range r {
		if x != r[0] {
			return false
		}
	}
	return true
}

// variance is the sample variance (n−1), 0 for fewer than two values.
func variance(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - mean) * (v - mean)
	}
	return s / float64(len(x)-1)
}

func normCDF(z float64) float64 { return math.Erfc(-z/math.Sqrt2) / 2 }

func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }
