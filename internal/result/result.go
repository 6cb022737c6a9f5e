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
	"math"

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

	// MinimalROI is the ROI table the trades ran under (empty: none), for
	// drawing each trade's take-profit levels.
	MinimalROI sdk.ROITable
	// Prices is, per traded pair in the order of Pairs, its candles over
	// the range traded merged into at most PriceBuckets rows
	// ([PriceSeries.Downsample]): what a chart of the pair's price with
	// the trades on it needs. Empty when the producer does not have the
	// candles. The results of one backtest's parameter sets share it: it
	// is read, never changed. The JSON export (result.json) leaves it and
	// MinimalROI out; the HTML report draws them.
	Prices []PriceSeries
}

// EquityPoint is the account value at one time.
type EquityPoint struct {
	Time   int64   // Unix ms, the close time of the candle it was marked at
	Equity float64 // wallet plus open positions at their close price, after exit fees
}

// PriceBuckets bounds the rows of each [PriceSeries] a producer puts in a
// Result: enough for a chart as wide as a screen, small enough that a
// long one-minute backtest's price charts stay small.
const PriceBuckets = 1000

// PriceSeries is one pair's prices in time order as columns of equal
// length. Each row is one candle or a bucket of consecutive ones: the
// open time and open of its first candle, the highest high, the lowest low
// and the close of its last candle.
type PriceSeries struct {
	Pair                   string
	Time                   []int64 // Unix ms
	Open, High, Low, Close []float64
}

// Len is the number of rows.
func (s *PriceSeries) Len() int { return len(s.Time) }

// Downsample returns s merged into at most n rows (n < 1 counts as 1):
// runs of ceil(Len/n) consecutive rows become one, so the first open, the
// last close, the highest high and the lowest low survive. The result
// never shares memory with s, so a series viewing a whole frame's columns
// does not keep them alive.
func (s *PriceSeries) Downsample(n int) PriceSeries {
	rows := s.Len()
	k := 1
	if n < 1 {
		n = 1
	}
	if rows > n {
		k = (rows + n - 1) / n
	}
	m := (rows + k - 1) / k
	out := PriceSeries{Pair: s.Pair, Time: make([]int64, m),
		Open: make([]float64, m), High: make([]float64, m), Low: make([]float64, m), Close: make([]float64, m)}
	for b := range m {
		lo, hi := b*k, min((b+1)*k, rows)
		h, l := math.Inf(-1), math.Inf(1)
		for _, v := range s.High[lo:hi] {
			h = max(h, v)
		}
		for _, v := range s.Low[lo:hi] {
			l = min(l, v)
		}
		out.Time[b], out.Open[b], out.High[b], out.Low[b], out.Close[b] = s.Time[lo], s.Open[lo], h, l, s.Close[hi-1]
	}
	return out
}

// TakeCurveDrawdown raises the result's largest drawdown to that of curve
// if the curve's is larger: the largest fall of the curve's points from
// their running peak (which starts at the starting balance, at Start), as
// a ratio of the peak, with the peak's and the trough's times. For
// producers that know the account's value only at some points (a
// deployment's marks, stitched tests), not at every candle close.
func (r *Result) TakeCurveDrawdown(curve []EquityPoint) {
	peak, peakAt := r.StartingBalance, r.Start
	for _, p := range curve {
		if p.Equity > peak {
			peak, peakAt = p.Equity, p.Time
		}
		if peak <= 0 {
			continue
		}
		if dd := (peak - p.Equity) / peak; dd > r.MaxDrawdownEquity {
			r.MaxDrawdownEquity, r.MaxDrawdownEquityAbs = dd, peak-p.Equity
			r.MaxDrawdownEquityPeak, r.MaxDrawdownEquityTrough = peakAt, p.Time
		}
	}
}
