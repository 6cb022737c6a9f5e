package strategy

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/ta"
)

// SMACross goes long when a fast simple moving average crosses above a slow
// one and exits when it crosses back below.
type SMACross struct{}

// Spec implements sdk.Strategy.
func (SMACross) Spec() sdk.Spec {
	return sdk.Spec{
		Name:           "sma_cross",
		Description:    "Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.",
		Timeframe:      "5m",
		StartupCandles: 200,
		Params: []sdk.Param{
			{Name: "fast", Kind: sdk.Int, Default: 10, Min: 2, Max: 100, Help: "fast SMA period"},
			{Name: "slow", Kind: sdk.Int, Default: 30, Min: 5, Max: 200, Help: "slow SMA period"},
		},
		Risk: sdk.Risk{
			MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.10}, {Minutes: 240, Ratio: 0.04}, {Minutes: 720, Ratio: 0.01}},
			Stoploss:   -0.08,
		},
	}
}

// Populate implements sdk.Strategy.
func (SMACross) Populate(f *sdk.Frame, p sdk.Values) error {
	fast, slow := p.Int("fast"), p.Int("slow")
	if fast >= slow {
		return fmt.Errorf("sma_cross: fast period %d must be below slow period %d", fast, slow)
	}
	f.EnsureSignals()
	// The averages are compared in one pass, a block at a time: no column
	// of them is allocated (or faulted in) for a long series.
	above := ta.NewSMAAbove(f.Close, fast, slow)
	var blk [1024]bool
	enter, exit := f.EnterLong, f.ExitLong
	// up is 1 where the fast average was above the slow one on the candle
	// before, else 0.
	var up uint64
	for i := 0; ; {
		n := above.Read(blk[:])
		if n == 0 {
			break
		}
		// Signals are set from candle slow on.
		s := min(max(slow-i, 0), n)
		if s > 0 {
			up = uint64(boolBytes(blk[s-1 : s])[0])
		}
		up = crosses(boolBytes(enter[i+s:i+n]), boolBytes(exit[i+s:i+n]), boolBytes(blk[s:n]), up)
		i += n
	}
	return nil
}

// crosses sets en (ex) to 1 where now is 1 (0) and the value before it 0
// (1), else 0: the crosses up and down of now, a byte a value, each 0 or
// 1; before is the value before now[0]. It returns now's last value
// (before when now is empty). It compares eight values at a time.
func crosses(en, ex, now []byte, before uint64) uint64 {
	en, ex = en[:len(now)], ex[:len(now)]
	x := 0
	for ; x+8 <= len(now); x += 8 {
		w := binary.LittleEndian.Uint64(now[x:])
		prev := w<<8 | before
		binary.LittleEndian.PutUint64(en[x:], w&^prev)
		binary.LittleEndian.PutUint64(ex[x:], prev&^w)
		before = w >> 56
	}
	for ; x < len(now); x++ {
		w := uint64(now[x])
		en[x], ex[x] = byte(w&^before), byte(before&^w)
		before = w
	}
	return before
}

// boolBytes is b as it lies in memory: a byte a value, 0 or 1.
func boolBytes(b []bool) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// RSIBollinger is a mean-reversion strategy: long when the close drops
// below the lower Bollinger band with RSI oversold; exit at the middle band
// or when RSI is overbought.
type RSIBollinger struct{}

// Spec implements sdk.Strategy.
func (RSIBollinger) Spec() sdk.Spec {
	return sdk.Spec{
		Name:           "rsi_bollinger",
		Description:    "Mean reversion: long below the lower Bollinger band with RSI oversold; exit at the middle band or RSI overbought.",
		Timeframe:      "5m",
		StartupCandles: 150,
		Params: []sdk.Param{
			{Name: "rsi_period", Kind: sdk.Int, Default: 14, Min: 2, Max: 50},
			{Name: "rsi_buy", Kind: sdk.Float, Default: 30.0, Min: 5, Max: 50, Help: "RSI below this is oversold"},
			{Name: "rsi_sell", Kind: sdk.Float, Default: 70.0, Min: 50, Max: 95, Help: "RSI above this is overbought"},
			{Name: "bb_period", Kind: sdk.Int, Default: 20, Min: 5, Max: 100},
			{Name: "bb_std", Kind: sdk.Float, Default: 2.0, Min: 0.5, Max: 4},
		},
		Risk: sdk.Risk{
			MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}, {Minutes: 120, Ratio: 0.02}, {Minutes: 480, Ratio: 0}},
			Stoploss:   -0.06,
		},
	}
}

// Populate implements sdk.Strategy.
func (RSIBollinger) Populate(f *sdk.Frame, p sdk.Values) error {
	f.EnsureSignals()
	rsi := ta.RSI(f.Close, p.Int("rsi_period"))
	_, mid, lower := ta.BollingerBands(f.Close, p.Int("bb_period"), p.Float("bb_std"))
	buy, sell := p.Float("rsi_buy"), p.Float("rsi_sell")
	for i, c := range f.Close {
		if math.IsNaN(rsi[i]) || math.IsNaN(lower[i]) {
			continue
		}
		f.EnterLong[i] = c < lower[i] && rsi[i] < buy
		f.ExitLong[i] = c > mid[i] || rsi[i] > sell
	}
	return nil
}

// MACDTrend trades MACD crosses in the direction of a long EMA trend: long
// above the EMA, short below it (futures mode).
type MACDTrend struct{}

// Spec implements sdk.Strategy.
func (MACDTrend) Spec() sdk.Spec {
	return sdk.Spec{
		Name:           "macd_trend",
		Description:    "MACD crosses with the trend: long above EMA(trend) on a bullish cross, short below it on a bearish cross.",
		Timeframe:      "1h",
		StartupCandles: 800,
		CanShort:       true,
		Params: []sdk.Param{
			{Name: "fast", Kind: sdk.Int, Default: 12, Min: 2, Max: 50},
			{Name: "slow", Kind: sdk.Int, Default: 26, Min: 5, Max: 100},
			{Name: "signal", Kind: sdk.Int, Default: 9, Min: 2, Max: 50},
			{Name: "trend", Kind: sdk.Int, Default: 200, Min: 20, Max: 400, Help: "EMA period of the trend filter"},
		},
		Risk: sdk.Risk{
			MinimalROI:   sdk.ROITable{{Minutes: 0, Ratio: 0.15}},
			Stoploss:     -0.05,
			TrailingStop: true, TrailingStopPositive: 0.02, TrailingStopPositiveOffset: 0.04,
			TrailingOnlyOffsetIsReached: true,
		},
	}
}

// Populate implements sdk.Strategy.
func (MACDTrend) Populate(f *sdk.Frame, p sdk.Values) error {
	fast, slow := p.Int("fast"), p.Int("slow")
	if fast >= slow {
		return fmt.Errorf("macd_trend: fast period %d must be below slow period %d", fast, slow)
	}
	f.EnsureSignals()
	macd, sig, _ := ta.MACD(f.Close, fast, slow, p.Int("signal"))
	trend := ta.EMA(f.Close, p.Int("trend"))
	for i, c := range f.Close {
		up := ta.CrossedAbove(macd, sig, i)
		down := ta.CrossedBelow(macd, sig, i)
		if math.IsNaN(trend[i]) {
			continue
		}
		if up && c > trend[i] {
			f.EnterLong[i] = true
			f.SetEnterTag(i, "macd_long")
		}
		if down && c < trend[i] {
			f.EnterShort[i] = true
			f.SetEnterTag(i, "macd_short")
		}
		f.ExitLong[i] = down
		f.ExitShort[i] = up
	}
	return nil
}

// Signals takes entries and exits straight from the data file's signal
// columns (enter_long, exit_long, enter_short, exit_short, enter_tag), for
// signals computed elsewhere.
type Signals struct{}

// Spec implements sdk.Strategy. Its timeframe is only a default: set
// "timeframe" in the config to match the data.
func (Signals) Spec() sdk.Spec {
	return sdk.Spec{
		Name:        "signals",
		Description: "Trades the signal columns of the data file (CSV with enter_long, exit_long, ...).",
		Timeframe:   "1d",
		CanShort:    true,
		FileSignals: true,
		Risk:        sdk.Risk{MinimalROI: sdk.ROITable{}, Stoploss: -1},
	}
}

// Populate implements sdk.Strategy: it only checks the signals are there.
func (Signals) Populate(f *sdk.Frame, _ sdk.Values) error {
	if !f.HasSignals() {
		return fmt.Errorf("strategy signals: %s has no signal columns; the data file must be a CSV with enter_long, exit_long (and optionally enter_short, exit_short, enter_tag) columns", f.Pair)
	}
	return nil
}
