// Package trade is the trade manager: the one piece of code that opens
// positions and decides when and at what price they close (ROI table,
// stop-loss, trailing stop, exit signals, liquidation). The backtest engine
// and the live runners both call it, so a backtest and a live run of the same
// strategy make the same decisions on the same candles.
//
// The rules follow Freqtrade's documented backtesting assumptions, with the
// deviations listed in docs/backtesting.md.
package trade
