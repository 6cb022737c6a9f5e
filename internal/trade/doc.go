// Package trade is the trade core: the one piece of code that opens
// positions and decides when and at what price they close (Rules: ROI
// table, stop-loss, trailing stop, exit signals, liquidation), and the
// portfolio that decides whether a position may open and with how much
// money (Portfolio: wallet, stake sizing, max_open_trades slots, one open
// trade per pair). The backtest engine and the live runners both call it,
// so a backtest and a live run of the same strategy make the same decisions
// on the same candles.
//
// It takes plain settings (Rules, Account) and imports no config, store,
// database or HTTP package; config.Config.Trading maps a config to them.
//
// The rules follow Freqtrade's documented backtesting assumptions, with the
// deviations listed in docs/backtesting.md.
package trade
