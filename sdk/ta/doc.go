// Package ta provides technical-analysis indicators for strategies. Every
// indicator takes whole candle columns ([]float64, as in sdk.Frame) and
// returns new columns of the same length, so a strategy's Populate computes
// each indicator once for the frame.
//
// Indicators:
//
//   - Moving averages: [SMA] (also as a stream, [SMAStream], and two
//     compared in one pass, [SMAAbove]), [EMA], [WMA], [DEMA], [TEMA], [HMA]
//   - Volatility and channels: [StdDev], [BollingerBands], [TrueRange],
//     [ATR], [Keltner], [Donchian], [SuperTrend]
//   - Momentum and oscillators: [RSI], [MACD], [Stochastic], [ADX] (with
//     +DI and -DI), [CCI], [ROC], [Momentum], [WilliamsR]
//   - Volume: [MFI], [OBV], [VWAP]
//   - Rolling extremes: [Highest], [Lowest]
//   - Signals: [CrossedAbove], [CrossedBelow]
//
// Where TA-Lib has the indicator, the values match TA-Lib's (the tests
// compare them with a Go port of TA-Lib); the documentation of each function
// notes the few edge cases where they deliberately differ.
//
// # Conventions
//
// Warm-up: position i of an output is NaN until the indicator is defined
// there (TA-Lib's "lookback"; TA-Lib itself leaves 0 in those positions).
// Each function documents its warm-up; for example SMA(src, 20) is NaN at
// 0..18. An input shorter than the warm-up gives an all-NaN output, never a
// panic. Leading NaNs in the inputs, such as another indicator's warm-up, are
// skipped: the indicator starts at the first candle where all its inputs are
// numbers, so indicators compose (SMA(RSI(close, 14), 5) works). A NaN after
// that point is not supported and spoils the values that follow it.
//
// No look-ahead: the value at i depends only on inputs 0..i. Computing an
// indicator on a prefix of a series gives exactly (bit for bit) the same
// values as computing it on the whole series, which the tests check for
// every indicator.
//
// Cost: every indicator is O(n) in time, except CCI, whose mean deviation
// costs O(n*period) as in TA-Lib. Each call allocates its output slices and,
// where a window must be kept (the monotonic deques of Highest, Lowest,
// Stochastic, WilliamsR and Donchian; the ring of HMA), O(period) scratch.
// Rolling sums are compensated or periodically recomputed, so they do not
// drift over millions of candles.
//
// Misuse is a programming error and panics with a message naming the function
// and the argument: a period < 1, a negative or non-finite multiplier,
// columns of different lengths, MACD with fast > slow, or an index out of
// range in CrossedAbove and CrossedBelow.
package ta
