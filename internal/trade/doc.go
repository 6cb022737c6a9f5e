// Package trade is the trade core, in three parts:
//
//   - the policy (Policy) makes the decisions: on each closed candle it
//     turns the state, the candle's prices and the strategy's signals into
//     intents — enter a pair on a side with a stake (signal, free slot,
//     stake, one open trade per pair), or exit a trade with a reason and an
//     order (exit signal at the market; stop-loss, trailing stop and
//     liquidation as stop triggers; the ROI table as a limit price);
//   - the portfolio (Portfolio) holds the money: wallet, stake sizing,
//     max_open_trades slots, the pair lock, the open trades;
//   - the backtest fill models (FillModel: Realistic, Freqtrade) turn exit
//     intents into fills inside a finished candle (FillExit).
//
// The backtest engine calls policy → fill model → portfolio on every
// candle; the live runners call the same policy and portfolio and let the
// exchange fill. A backtest and a live run of the same strategy therefore
// make the same decisions on the same candles. Rules holds the settings
// and the trade bookkeeping (Rules.Open, Rules.Close).
//
// It takes plain settings (Rules, Account) and imports no config, store,
// database or HTTP package; config.Config.Trading maps a config to them.
//
// The rules follow Freqtrade's documented backtesting assumptions, with the
// deviations listed in docs/backtesting.md.
package trade
