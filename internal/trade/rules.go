package trade

import (
	"math"

	"github.com/tradai/tradai/sdk"
)

// Rules are the resolved trade-management settings of one run.
type Rules struct {
	Risk sdk.Risk

	UseExitSignal          bool
	ExitProfitOnly         bool
	ExitProfitOffset       float64
	IgnoreROIIfEntrySignal bool

	Fee      float64 // ratio charged on entry and on exit
	Slippage float64 // adverse price move on market-style fills
	Leverage float64 // 1 in spot mode
	Futures  bool    // futures mode: liquidation price is tracked

	// Liquidation places the liquidation price of futures trades.
	Liquidation Liquidation

	// TimeframeMinutes is the candle length, used by the ROI rules.
	TimeframeMinutes int64
}

// Candle is what the manager sees of one candle for one open trade: its
// prices, and the signals of the previous candle in the trade's direction
// (Enter is enter_long for a long trade, enter_short for a short one).
type Candle struct {
	Time                   int64
	Open, High, Low, Close float64
	Enter, Exit            bool
}

// Open starts a trade at price (slippage is applied here) with stake as
// margin.
func (r *Rules) Open(pair string, short bool, at int64, price, stake float64, tag string) Trade {
	rate := price
	if short {
		rate *= 1 - r.Slippage
	} else {
		rate *= 1 + r.Slippage
	}
	t := Trade{
		Pair: pair, IsShort: short, Leverage: r.Leverage, EnterTag: tag,
		OpenTime: at, OpenRate: rate, Stake: stake,
		Amount:  stake * r.Leverage / rate,
		FeeOpen: r.Fee, FeeClose: r.Fee,
		MaxRate: rate, MinRate: rate,
	}
	if r.Futures {
		t.LiquidationPrice = r.Liquidation.Price(pair, short, rate, t.Amount, stake)
	}
	t.StopLoss = r.stopFrom(&t, rate, r.Risk.Stoploss)
	t.InitialStopLoss = t.StopLoss
	t.stopLossPct = r.Risk.Stoploss
	return t
}

// stopFrom returns the stop price sl (a negative ratio of the stake) away
// from price.
func (r *Rules) stopFrom(t *Trade, price, sl float64) float64 {
	if t.IsShort {
		return price * (1 + math.Abs(sl)/r.Leverage)
	}
	return price * (1 - math.Abs(sl)/r.Leverage)
}

// Check looks at one candle of an open trade and reports whether the trade
// exits on it, why, and at which price (before exit slippage), the price as
// fill decides it. It updates the trade's trailing stop and its highest and
// lowest seen prices.
//
// Within the candle the open comes first, then the low is assumed before
// the high for stop-loss purposes. When several exits fire in one candle the
// first in this order wins: exit signal, stop-loss (or liquidation), ROI,
// trailing stop.
func (r *Rules) Check(t *Trade, c Candle, fill FillModel) (ExitReason, float64, bool) {
	dur := (c.Time - t.OpenTime) / 60_000
	t.MaxRate = max(t.MaxRate, c.High)
	t.MinRate = min(t.MinRate, c.Low)
	startStop := t.StopLoss

	short := t.IsShort
	bound := c.High
	if short {
		bound = c.Low
	}
	// Trailing: the favourable extreme of the candle moves the stop first.
	risk := &r.Risk
	if risk.TrailingStop && (short && t.StopLoss > c.High || !short && t.StopLoss < c.Low) {
		boundProfit := t.ProfitRatioAt(bound)
		offset := risk.TrailingStopPositiveOffset
		if !(risk.TrailingOnlyOffsetIsReached && boundProfit < offset) {
			sl := risk.Stoploss
			if risk.TrailingStopPositive > 0 && boundProfit > offset {
				sl = -risk.TrailingStopPositive
			}
			if ns := r.stopFrom(t, bound, sl); short && ns < t.StopLoss || !short && ns > t.StopLoss {
				t.StopLoss = ns
				t.stopLossPct = sl
			}
		}
	}

	var stopReason ExitReason
	stopHit := short && t.StopLoss <= c.High || !short && t.StopLoss >= c.Low
	liq := t.LiquidationPrice
	liqHit := liq > 0 && (short && liq <= c.High || !short && liq >= c.Low)
	switch {
	case liqHit && (!stopHit || fill.liquidationFirst(t)):
		stopReason = ExitLiquidation
	case stopHit && t.StopLoss != t.InitialStopLoss:
		stopReason = ExitTrailingStop
	case stopHit:
		stopReason = ExitStopLoss
	}

	if r.UseExitSignal && c.Exit && !c.Enter &&
		(!r.ExitProfitOnly || t.ProfitRatioAt(c.Open) > r.ExitProfitOffset) {
		return ExitSignal, c.Open, true
	}
	if stopReason == ExitStopLoss || stopReason == ExitLiquidation {
		return stopReason, fill.stopRate(r, t, c, startStop, dur, stopReason), true
	}
	if !(c.Enter && r.IgnoreROIIfEntrySignal) {
		if step, ok := risk.MinimalROI.At(dur); ok && t.ProfitRatioAt(bound) > step.Ratio {
			if rate, ok := fill.roiRate(r, t, c, step, dur); ok {
				return ExitROI, rate, true
			}
		}
	}
	if stopReason == ExitTrailingStop {
		return stopReason, fill.stopRate(r, t, c, startStop, dur, stopReason), true
	}
	return "", 0, false
}

// Close ends the trade at rate; exit slippage applies to every exit but
// ROI, which is treated as a limit order at its price.
func (r *Rules) Close(t *Trade, at int64, rate float64, reason ExitReason) {
	if reason != ExitROI {
		if t.IsShort {
			rate *= 1 + r.Slippage
		} else {
			rate *= 1 - r.Slippage
		}
	}
	t.CloseTime, t.CloseRate, t.ExitReason = at, rate, reason
	t.ProfitAbs = t.ProfitAbsAt(rate)
	t.ProfitRatio = t.ProfitRatioAt(rate)
}

// openValue is what entering cost, fees included (fees reduce a short's
// proceeds).
func (t *Trade) openValue() float64 {
	if t.IsShort {
		return t.Amount * t.OpenRate * (1 - t.FeeOpen)
	}
	return t.Amount * t.OpenRate * (1 + t.FeeOpen)
}

func (t *Trade) closeValue(rate float64) float64 {
	if t.IsShort {
		return t.Amount * rate * (1 + t.FeeClose)
	}
	return t.Amount * rate * (1 - t.FeeClose)
}

// ProfitAbsAt is the profit in the stake currency if the trade closed at
// rate, after both fees.
func (t *Trade) ProfitAbsAt(rate float64) float64 {
	if t.IsShort {
		return t.openValue() - t.closeValue(rate)
	}
	return t.closeValue(rate) - t.openValue()
}

// ProfitRatioAt is the profit relative to the margin if the trade closed at
// rate, after both fees; leverage scales it.
func (t *Trade) ProfitRatioAt(rate float64) float64 {
	ov := t.openValue()
	if ov == 0 {
		return 0
	}
	if t.IsShort {
		return (1 - t.closeValue(rate)/ov) * t.Leverage
	}
	return (t.closeValue(rate)/ov - 1) * t.Leverage
}
