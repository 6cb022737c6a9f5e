// Package sdk is the public contract between TradAI and a strategy written in
// Go: a [Frame] of candle columns, a [Strategy] that declares itself with a
// [Spec] and fills the frame's signal columns, the [Param] declarations the
// optimizer searches, and the default [Risk] settings the trade manager
// applies.
//
// The contract is vectorized, in the style of Freqtrade: Populate sees the
// whole frame at once and sets EnterLong, ExitLong, EnterShort and ExitShort
// per candle. A signal on candle i is acted on at the open of candle i+1, so a
// strategy must only use values at or before i to decide candle i. The same
// contract serves backtests, optimization, paper and live trading.
//
// Indicators for use inside Populate live in package
// github.com/tradai/tradai/sdk/ta.
package sdk
