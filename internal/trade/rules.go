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

	Fee float64 // ratio charged on entry and on exit
	// Slippage is the backtest's adverse price move on market-style fills,
	// applied by Open and Close (a runner recording real fills sets 0).
	Slippage float64
	Leverage float64 // 1 in spot mode
	Futures  bool    // futures mode: liquidation price is tracked

	// Liquidation places the liquidation price of futures trades.
	Liquidation Liquidation

	// TimeframeMinutes is the candle length, used by the ROI rules.
	TimeframeMinutes int64
}

// Candle is what [Policy.Exit] sees for one open trade: the prices traded
// since the last check (in a backtest, the candle being simulated), and
// the signals of the latest closed candle before it in the trade's
// direction (Enter is enter_long for a long trade, enter_short for a short
// one).
type Candle struct {
	Time                   int64
	Open, High, Low, Close float64
	Enter, Exit            bool
}

// Open starts a trade that filled at price (the backtest's slippage is
// applied here) with stake as margin: entry intent [Enter] filled.
func (r *Rules) Open(pair string, short bool, at int64, price, stake float64, tag string) Trade {
	rate := price
	if short {
		rate *= 1 - r.Slippage
	} else {
		rate *= 1 + r.Slippage
	}
	amount := stake * r.Leverage / rate
	var liq float64
	if r.Futures {
		liq = r.Liquidation.Price(pair, short, rate, amount, stake)
	}
	stop := r.stopAt(short, rate, r.Risk.Stoploss)
	// One literal, its fields computed before: the trade is built where
	// the caller receives it, not built and then copied there.
	return Trade{
		Pair: pair, IsShort: short, Leverage: r.Leverage, EnterTag: tag,
		OpenTime: at, OpenRate: rate, Stake: stake, Amount: amount,
		FeeOpen: r.Fee, FeeClose: r.Fee,
		StopLoss: stop, InitialStopLoss: stop, LiquidationPrice: liq,
		MaxRate: rate, MinRate: rate,
		stopLossPct: r.Risk.Stoploss,
	}
}

// stopAt returns the stop price sl (a negative ratio of the stake) away
// from price for a trade on the side short says.
func (r *Rules) stopAt(short bool, price, sl float64) float64 {
	if short {
		return price * (1 + math.Abs(sl)/r.Leverage)
	}
	return price * (1 - math.Abs(sl)/r.Leverage)
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
