package overfit

import (
	"fmt"
	"math"
	"strings"
)

// The thresholds of Verdict.
const (
	// StrongDSR: a deflated Sharpe ratio at or above it is significant
	// at the 5 % level once the number of trials is paid for.
	StrongDSR = 0.95
	// WeakDSR: below it the best trial is more likely than not no better
	// than the luckiest of as many worthless trials.
	WeakDSR = 0.5
	// LowPBO: a probability of backtest overfitting below it means the
	// in-sample best mostly stays in the better half out of sample.
	LowPBO = 0.25
	// HighPBO: at or above it the in-sample best lands in the worse half
	// out of sample at least as often as not — the selection picks noise.
	HighPBO = 0.5
)

// Verdict puts the deflated Sharpe ratio (DSR) and the probability of
// backtest overfitting (PBO) in plain words; NaN marks a figure that was
// not measured. "Likely genuine" needs DSR ≥ StrongDSR and PBO < LowPBO;
// "Likely overfit" follows from DSR < WeakDSR or PBO ≥ HighPBO; anything
// between is "Doubtful".
func Verdict(dsr, pbo float64) string {
	noDSR, noPBO := math.IsNaN(dsr), math.IsNaN(pbo)
	if noDSR && noPBO {
		return "Not measured: too few trials or periods to judge the result."
	}
	var bad, good, middling []string
	if !noDSR {
		s := fmt.Sprintf("the deflated Sharpe ratio is %.2f", dsr)
		switch {
		case dsr < WeakDSR:
			bad = append(bad, s+": the best trial does no better than the luckiest of as many worthless ones would")
		case dsr >= StrongDSR:
			good = append(good, s+": the best trial's edge survives the number of trials tried")
		default:
			middling = append(middling, s+": the edge may be the luck of trying many parameter sets")
		}
	}
	if !noPBO {
		s := fmt.Sprintf("the probability of backtest overfitting is %.0f %%", 100*pbo)
		switch {
		case pbo >= HighPBO:
			bad = append(bad, s+": the best parameters in one half of the history mostly rank in the worse half of the other")
		case pbo < LowPBO:
			good = append(good, s+": the best parameters in one half of the history mostly stay among the better ones in the other")
		default:
			middling = append(middling, s+": the best parameters often fall behind out of sample")
		}
	}
	switch {
	case len(bad) > 0:
		return "Likely overfit: " + strings.Join(bad, "; ") + "."
	case len(middling) == 0 && !noDSR && !noPBO:
		return "Likely genuine: " + strings.Join(good, "; ") + "."
	}
	if noDSR || noPBO {
		middling = append(middling, "only one of the two figures could be measured")
	}
	return "Doubtful: " + strings.Join(append(middling, good...), "; ") + "."
}
