package trade

import (
	"fmt"
	"math"

	"github.com/tradai/tradai/sdk"
)

// A FillModel is the backtest's answer to the questions a finished candle
// leaves open about the exit intents the [Policy] made for it: which of
// them fills first, and at which price inside the candle. Live runners
// have no fill model: the exchange answers. Config key fill_model names
// one ([FillModelNamed]); [FillExit] applies it.
//
// A new fill model is a new type in this package: the methods are
// unexported so that every model is covered by the package's property
// tests.
type FillModel interface {
	// Name is the model's fill_model value.
	Name() string
	// stopBeforeLiquidation reports whether a stop that the candle
	// reaches fills before a liquidation price that lies between the
	// price and the stop.
	stopBeforeLiquidation() bool
	// stopRate is the fill price of a stop-loss, trailing stop or
	// liquidation; startStop is the stop in force at the candle's open.
	stopRate(r *Rules, t *Trade, c Candle, startStop float64, dur int64, reason ExitReason) float64
	// roiRate is the fill price of the ROI intent x of step; ok is false
	// when the ROI cannot fill on this candle after all.
	roiRate(r *Rules, t *Trade, c Candle, x Exit, step sdk.ROIStep, dur int64) (rate float64, ok bool)
}

// FillExit is where the backtest fills trade t's exit intents xs on
// candle c (see [Policy.Exit]) under model m: the intent that fills and its
// price before exit slippage ([Rules.Close] applies it). An exit signal
// fills at the open; stops and the ROI where m says; ok is false when none
// fills (a ROI that the model finds unreachable, with no stop after it).
func FillExit(m FillModel, r *Rules, t *Trade, c Candle, xs *Exits) (Exit, float64, bool) {
	dur := (c.Time - t.OpenTime) / 60_000
	for _, in := range xs.list[:xs.n] {
		x := in.exit()
		switch in.kind {
		case signalExit:
			return x, x.Price, true
		case liquidationExit:
			if m.stopBeforeLiquidation() && (xs.has(stopLossExit) || xs.has(trailingExit)) {
				continue
			}
			return x, m.stopRate(r, t, c, xs.stopAtOpen, dur, x.Reason), true
		case roiLimitExit, roiMarketExit:
			step, _ := r.Risk.MinimalROI.At(dur)
			if rate, ok := m.roiRate(r, t, c, x, step, dur); ok {
				return x, rate, true
			}
		default:
			return x, m.stopRate(r, t, c, xs.stopAtOpen, dur, x.Reason), true
		}
	}
	return Exit{}, 0, false
}

// FillModelNamed returns the fill model called name: "realistic" or
// "freqtrade".
func FillModelNamed(name string) (FillModel, error) {
	switch name {
	case Realistic{}.Name():
		return Realistic{}, nil
	case Freqtrade{}.Name():
		return Freqtrade{}, nil
	}
	return nil, fmt.Errorf("unknown fill model %q (known: realistic, freqtrade)", name)
}

// Realistic is TradAI's default fill model: an exit fills only at a price
// the candle traded. A stop-loss or liquidation that the candle opens
// beyond fills at the open; a liquidation price lying between the price
// and the stop is reached first; a ROI ratio of -1 exits at the open.
type Realistic struct{}

// Name implements [FillModel].
func (Realistic) Name() string { return "realistic" }

func (Realistic) stopBeforeLiquidation() bool { return false }

func (Realistic) stopRate(r *Rules, t *Trade, c Candle, startStop float64, dur int64, reason ExitReason) float64 {
	short := t.IsShort
	if reason == ExitLiquidation {
		if short && c.Open > t.LiquidationPrice || !short && c.Open < t.LiquidationPrice {
			return c.Open
		}
		return t.LiquidationPrice
	}
	// The candle opened beyond the stop that was in force: fill at the open.
	if short && c.Open > startStop || !short && c.Open < startStop {
		return c.Open
	}
	if reason == ExitTrailingStop && dur == 0 {
		// The offset is a profit ratio: the price moves offset / leverage
		// to reach it.
		rate := r.entryCandleTrailRate(t, c, r.Risk.TrailingStopPositiveOffset/r.Leverage)
		return min(max(rate, c.Low), c.High)
	}
	return t.StopLoss
}

func (Realistic) roiRate(r *Rules, t *Trade, c Candle, x Exit, step sdk.ROIStep, dur int64) (float64, bool) {
	if x.Order == MarketOrder {
		return c.Open, true
	}
	rate := x.Price
	beyond := !t.IsShort && c.Open > rate || t.IsShort && c.Open < rate
	if dur > 0 && dur == step.Minutes && r.onCandleOpen(step) && beyond {
		return c.Open, true
	}
	if dur == 0 && beyond {
		// On the entry candle, an entry filled above the open (slippage)
		// cannot have reached a ROI price that lies below the close.
		if !t.IsShort && c.Open < c.Close && t.OpenRate > c.Open && rate > c.Close ||
			t.IsShort && c.Open > c.Close && t.OpenRate < c.Open && rate < c.Close {
			return 0, false
		}
	}
	return min(max(rate, c.Low), c.High), true
}

// Freqtrade is Freqtrade's backtesting fill model, for results that match
// Freqtrade's: a stop-loss or liquidation fills at its price whenever the
// candle's range reaches it, and at the open only when the whole candle is
// beyond it; a stop that the candle reaches wins over the liquidation
// price even when it lies beyond it; a ROI ratio of -1 exits at the open
// when its age is a multiple of the timeframe and at the candle's low
// (short: high) otherwise.
type Freqtrade struct{}

// Name implements [FillModel].
func (Freqtrade) Name() string { return "freqtrade" }

func (Freqtrade) stopBeforeLiquidation() bool { return true }

func (Freqtrade) stopRate(r *Rules, t *Trade, c Candle, _ float64, dur int64, reason ExitReason) float64 {
	stop := t.StopLoss
	if reason == ExitLiquidation {
		stop = t.LiquidationPrice
	}
	if t.IsShort && stop < c.Low || !t.IsShort && stop > c.High {
		return c.Open
	}
	if reason == ExitTrailingStop && dur == 0 {
		// Freqtrade moves the price by the whole offset, whatever the
		// leverage, and bounds the fill on one side only.
		rate := r.entryCandleTrailRate(t, c, r.Risk.TrailingStopPositiveOffset)
		if t.IsShort {
			return min(c.High, rate)
		}
		return max(c.Low, rate)
	}
	return stop
}

func (Freqtrade) roiRate(r *Rules, t *Trade, c Candle, x Exit, step sdk.ROIStep, dur int64) (float64, bool) {
	onOpen := r.onCandleOpen(step)
	if x.Order == MarketOrder && onOpen {
		return c.Open, true
	}
	rate := x.Price
	if x.Order == MarketOrder {
		// Freqtrade prices the forced exit as a ROI of -1.
		rate = roiPrice(t, step.Ratio)
	}
	beyond := !t.IsShort && c.Open > rate || t.IsShort && c.Open < rate
	if dur > 0 && dur == step.Minutes && onOpen && beyond {
		return c.Open, true
	}
	return min(max(rate, c.Low), c.High), true
}

// onCandleOpen reports whether step takes effect at a candle's open: its
// age is a whole number of candles.
func (r *Rules) onCandleOpen(step sdk.ROIStep) bool {
	tf := r.TimeframeMinutes
	return tf > 0 && step.Minutes%tf == 0
}

// roiPrice is the price at which the trade's profit after both fees is
// exactly ratio.
func roiPrice(t *Trade, ratio float64) float64 {
	side := 1.0
	if t.IsShort {
		side = -1
	}
	roi := t.OpenRate * ratio / t.Leverage
	openFee := side * t.OpenRate * (1 + side*t.FeeOpen)
	return -(roi + openFee) / (t.FeeClose - side)
}

// entryCandleTrailRate is the fill of a trailing stop that moved and fired
// within the entry candle: the worst path, the price moving from the open
// just enough to arm the stop (by armMove, a price ratio), then back to
// it. It is not bounded by the candle.
func (r *Rules) entryCandleTrailRate(t *Trade, c Candle, armMove float64) float64 {
	side := 1.0
	if t.IsShort {
		side = -1
	}
	risk := &r.Risk
	if risk.TrailingOnlyOffsetIsReached && risk.TrailingStopPositive > 0 {
		return c.Open * (1 + side*armMove - side*risk.TrailingStopPositive/r.Leverage)
	}
	return c.Open * (1 - side*math.Abs(t.stopLossPct)/r.Leverage)
}
