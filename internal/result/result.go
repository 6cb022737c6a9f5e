// Package result holds what a finished set of trades is, whoever traded
// them: the Result of a run (its settings, its closed trades, its equity
// curve and drawdown) and the EquityPoint of that curve. The backtester
// produces one; metrics and reports read one, so a paper or live
// deployment's trades feed the same metrics and report as a backtest's.
//
// It imports only the trade record and the strategy contract, never the
// backtester, the store or the configuration.
package result

import (
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Result is everything one run produced, before metrics.
type Result struct {
	Strategy        string
	Timeframe       sdk.Timeframe
	Params          sdk.Values
	Pairs           []string
	Exchange        string
	StakeCurrency   string
	TradingMode     string  // "spot" or "futures"
	StartingBalance float64 // dry_run_wallet
	MaxOpenTrades   int     // -1 = unlimited
	Start, End      int64   // first and last candle open time traded, Unix ms
	Candles         int     // candles simulated, summed over pairs
	// DataFingerprint identifies the candles the run read (startup
	// included), over all pairs: equal fingerprints, same data.
	DataFingerprint string

	// Trades in the order they closed (ties broken by pair order).
	Trades []trade.Trade
	// Equity is the account value marked to market at the close of the last
	// candle of each UTC day (and at the final candle), open positions
	// valued at that close.
	Equity []EquityPoint
	// Benchmark is buy and hold of the traded pairs, equal weight: the
	// starting balance split equally over the pairs at their first close
	// (the one MarketChange starts from), each share marked at its pair's
	// latest close, at the times of Equity. Empty when the producer does
	// not compute it.
	Benchmark []EquityPoint
	// MaxDrawdownEquity is the largest peak-to-trough fall of the account
	// value marked to market at every candle close, as a ratio of the peak,
	// with the times of the peak and the trough.
	MaxDrawdownEquity       float64
	MaxDrawdownEquityPeak   int64
	MaxDrawdownEquityTrough int64
	MaxDrawdownEquityAbs    float64
	FinalBalance            float64
	// MarketChange is the mean over pairs of last close / first close - 1
	// within the range traded.
	MarketChange float64
}

// EquityPoint is the account value at one time.
type EquityPoint struct {
	Time   int64   // Unix ms, the close time of the candle it was marked at
	Equity float64 // wallet plus open positions at their close price, after exit fees
}
