package optimize

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tradai/tradai/internal/result"
)

// Stitch joins the results of consecutive, non-overlapping backtests of
// one strategy and set of pairs (a walk-forward's out-of-sample tests,
// each starting from the same balance) into one result that metrics and
// the reports read like a backtest's.
//
// The trades are the tests' trades, in order (each test closes its trades
// by its end). The money is added up, not compounded: every test traded
// from the starting balance, so each test's equity (and buy-and-hold
// benchmark) points are raised by the profit of the tests before it, and
// the final balance is the starting balance plus every test's profit. The
// largest drawdown is the larger of each test's own (over every candle
// close, moved onto the stitched curve) and the stitched daily curve's
// (which sees falls across tests at daily points only). The market change
// compounds the tests'. The price series are the tests' joined and
// downsampled again. Parameters, the ROI table and the data fingerprint,
// which differ between tests, are left empty.
func Stitch(tests []*result.Result) (*result.Result, error) {
	if len(tests) == 0 {
		return nil, errors.New("stitch: no results")
	}
	first := tests[0]
	out := &result.Result{
		Strategy: first.Strategy, Timeframe: first.Timeframe, Pairs: slices.Clone(first.Pairs), Exchange: first.Exchange,
		StakeCurrency: first.StakeCurrency, TradingMode: first.TradingMode, StartingBalance: first.StartingBalance,
		MaxOpenTrades: first.MaxOpenTrades, Start: first.Start, MarketChange: 1,
	}
	start := first.StartingBalance
	offset, benchOffset := 0.0, 0.0
	prices := make([]result.PriceSeries, len(first.Prices))
	for i, t := range tests {
		if i > 0 {
			prev := tests[i-1]
			if t.Start <= prev.End {
				return nil, fmt.Errorf("stitch: result %d starts at %d, before result %d ends (%d)", i, t.Start, i-1, prev.End)
			}
		}
		if t.StartingBalance != start || !slices.Equal(t.Pairs, first.Pairs) || t.Strategy != first.Strategy {
			return nil, fmt.Errorf("stitch: result %d is of another strategy, pairs or starting balance", i)
		}
		out.End = t.End
		out.Candles += t.Candles
		out.Trades = append(out.Trades, t.Trades...)
		for _, p := range t.Equity {
			out.Equity = append(out.Equity, result.EquityPoint{Time: p.Time, Equity: p.Equity + offset})
		}
		for _, p := range t.Benchmark {
			out.Benchmark = append(out.Benchmark, result.EquityPoint{Time: p.Time, Equity: p.Equity + benchOffset})
		}
		// The test's own drawdown, its peak raised by the offset.
		if t.MaxDrawdownEquity > 0 {
			peak := t.MaxDrawdownEquityAbs/t.MaxDrawdownEquity + offset
			if dd := t.MaxDrawdownEquityAbs / peak; dd > out.MaxDrawdownEquity {
				out.MaxDrawdownEquity, out.MaxDrawdownEquityAbs = dd, t.MaxDrawdownEquityAbs
				out.MaxDrawdownEquityPeak, out.MaxDrawdownEquityTrough = t.MaxDrawdownEquityPeak, t.MaxDrawdownEquityTrough
			}
		}
		offset += t.FinalBalance - start
		if n := len(t.Benchmark); n > 0 {
			benchOffset += t.Benchmark[n-1].Equity - start
		}
		out.MarketChange *= 1 + t.MarketChange
		for k := range prices {
			if k < len(t.Prices) {
				p, q := &prices[k], t.Prices[k]
				p.Pair = q.Pair
				p.Time, p.Open, p.High = append(p.Time, q.Time...), append(p.Open, q.Open...), append(p.High, q.High...)
				p.Low, p.Close = append(p.Low, q.Low...), append(p.Close, q.Close...)
			}
		}
	}
	out.FinalBalance = start + offset
	out.MarketChange--
	// Drawdowns across tests, at the stitched daily points.
	out.TakeCurveDrawdown(out.Equity)
	for k := range prices {
		out.Prices = append(out.Prices, prices[k].Downsample(result.PriceBuckets))
	}
	return out, nil
}
