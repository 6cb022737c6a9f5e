package drift

import (
	"fmt"
	"math"
	"strings"

	"github.com/tradai/tradai/internal/trade"
)

// Window is the length, in candles, of the windows whose entry rates make
// the signal-frequency sample.
const Window = 24

// The features compared, as a Report names them.
const (
	Returns   = "returns"
	Holding   = "holding_time"
	Frequency = "signal_frequency"
)

// Thresholds are where drift starts. Zero fields take the defaults.
type Thresholds struct {
	// PSI is the population stability index from which a feature drifted
	// (default 0.25, the usual "significant shift").
	PSI float64
	// KSAlpha is the Kolmogorov–Smirnov p-value below which a feature
	// drifted (default 0.01).
	KSAlpha float64
	// MinTrades is how many closed live trades there must be before any
	// verdict (default 20): below it the score is 0.
	MinTrades int
}

// Defaults are the documented thresholds.
var Defaults = Thresholds{PSI: 0.25, KSAlpha: 0.01, MinTrades: 20}

func (t Thresholds) withDefaults() Thresholds {
	if t.PSI <= 0 {
		t.PSI = Defaults.PSI
	}
	if t.KSAlpha <= 0 || t.KSAlpha >= 1 {
		t.KSAlpha = Defaults.KSAlpha
	}
	if t.MinTrades <= 0 {
		t.MinTrades = Defaults.MinTrades
	}
	return t
}

// Sample is what one side (the live deployment, or its backtest) traded:
// its closed trades' returns and holding times, and its entry rates.
type Sample struct {
	Returns []float64 // profit ratio after fees, per closed trade
	Holding []float64 // minutes, per closed trade
	// Frequency is the entries per pair and candle of each window of
	// Window candles (the last, partial one counted if at least half).
	Frequency []float64
}

// Observe makes the sample of trades (open ones, CloseTime 0, count as
// entries only) traded on pairs pairs over the candles opening in [start,
// end) (Unix ms) of candleMs milliseconds.
func Observe(trades []trade.Trade, start, end, candleMs int64, pairs int) Sample {
	var s Sample
	if candleMs <= 0 || candleMs > math.MaxInt64/(2*Window) || pairs <= 0 || end <= start || end-start < 0 {
		return s
	}
	win := Window * candleMs
	n := int((end - start + win/2) / win) // windows, a last one of half or more counted
	counts := make([]float64, max(n, 1))
	for _, t := range trades {
		if t.CloseTime != 0 {
			s.Returns = append(s.Returns, t.ProfitRatio)
			s.Holding = append(s.Holding, float64(t.CloseTime-t.OpenTime)/60_000)
		}
		if t.OpenTime < start || t.OpenTime >= end {
			continue
		}
		if i := (t.OpenTime - start) / win; i < int64(len(counts)) {
			counts[i]++
		}
	}
	if n == 0 {
		return s // less than half a window: no frequency sample
	}
	for _, c := range counts {
		s.Frequency = append(s.Frequency, c/float64(Window*pairs))
	}
	return s
}

// Feature is one feature's comparison.
type Feature struct {
	Name string `json:"name"`
	// Live and Reference are the sample sizes.
	Live      int `json:"live"`
	Reference int `json:"reference"`
	// PSI is the population stability index of the live sample against
	// the reference's.
	PSI float64 `json:"psi"`
	// KS is the Kolmogorov–Smirnov statistic, KSP its p-value.
	KS  float64 `json:"ks"`
	KSP float64 `json:"ks_p"`
	// Score is the larger of PSI ÷ the PSI threshold and the KS
	// statistic ÷ its critical value at the threshold's p (1: at a
	// threshold).
	Score float64 `json:"score"`
	// Drifted says the feature crossed a threshold.
	Drifted bool `json:"drifted"`
}

// Report is a deployment's drift.
type Report struct {
	// Score is the largest feature score (1: at a threshold), 0 before
	// MinTrades closed live trades.
	Score    float64   `json:"score"`
	Features []Feature `json:"features"`
	// Enough says there were MinTrades closed live trades: the verdict
	// counts.
	Enough bool `json:"enough"`
	// Drifted says a feature crossed a threshold (with Enough trades).
	Drifted bool `json:"drifted"`
	// Verdict says it in words.
	Verdict string `json:"verdict"`
}

// Compare compares live with ref under th.
func Compare(ref, live Sample, th Thresholds) Report {
	th = th.withDefaults()
	crit := criticalLambda(th.KSAlpha)
	var r Report
	var drifted []string
	for _, f := range []struct {
		name      string
		ref, live []float64
	}{{Returns, ref.Returns, live.Returns}, {Holding, ref.Holding, live.Holding}, {Frequency, ref.Frequency, live.Frequency}} {
		ft := Feature{Name: f.name, Live: len(f.live), Reference: len(f.ref), KSP: 1}
		if len(f.live) > 0 && len(f.ref) > 0 {
			var lambda float64
			ft.PSI = PSI(f.ref, f.live)
			ft.KS, lambda = KS(f.ref, f.live)
			ft.KSP = KolmogorovQ(lambda)
			ft.Score = math.Max(ft.PSI/th.PSI, lambda/crit)
			ft.Drifted = ft.PSI >= th.PSI || ft.KSP < th.KSAlpha
		}
		r.Features = append(r.Features, ft)
		if ft.Drifted {
			drifted = append(drifted, strings.ReplaceAll(f.name, "_", " "))
		}
		r.Score = math.Max(r.Score, ft.Score)
	}
	closed := len(live.Returns)
	r.Enough = closed >= th.MinTrades
	switch {
	case !r.Enough:
		r.Score, r.Drifted = 0, false
		r.Verdict = fmt.Sprintf("not enough live trades yet: %d closed of the %d a verdict needs", closed, th.MinTrades)
	case len(ref.Returns) == 0:
		r.Score = 0
		r.Verdict = "the reference backtest made no trades: nothing to compare with"
	case len(drifted) > 0:
		r.Drifted = true
		r.Verdict = fmt.Sprintf("drift: the live %s no longer match the backtest (score %.2f)", strings.Join(drifted, ", "), r.Score)
	default:
		r.Verdict = fmt.Sprintf("no drift: the live trades match the backtest (score %.2f)", r.Score)
	}
	return r
}
