package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// ReadJSON reads a document Files.WriteJSON wrote (such as a remote run's
// result.json artifact) back into a result and its metrics, so that
// WriteSummary and Files.WriteHTML render it as they render a local backtest.
// What Files.WriteJSON does not export is left zero: the result's own drawdown
// fields (the metrics carry them), the trades' internal stop state, and
// the prices and ROI table the HTML report's price charts draw (a report
// of a read-back result says its pairs have no prices).
func ReadJSON(r io.Reader) (*result.Result, metrics.Report, error) {
	var doc jsonExport
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, metrics.Report{}, fmt.Errorf("report: reading a JSON export: %w", err)
	}
	s := doc.Strategy
	res := &result.Result{
		Strategy:        s.Name,
		Timeframe:       sdk.Timeframe(s.Timeframe),
		Params:          s.Params,
		Pairs:           s.Pairs,
		Exchange:        s.Exchange,
		StakeCurrency:   s.StakeCurrency,
		TradingMode:     s.TradingMode,
		StartingBalance: s.StartingBalance,
		MaxOpenTrades:   s.MaxOpenTrades,
		Start:           s.BacktestStartTs,
		End:             s.BacktestEndTs,
		Candles:         s.Candles,
		FinalBalance:    s.FinalBalance,
		Trades:          make([]trade.Trade, 0, len(doc.Trades)),
		Equity:          fromJSONCurve(doc.EquityCurve),
		Benchmark:       fromJSONCurve(doc.BenchmarkCurve),
		MarketChange:    doc.Metrics.MarketChange,
	}
	for _, t := range doc.Trades {
		res.Trades = append(res.Trades, fromJSONTrade(t))
	}
	m := metrics.Report{
		Summary:       doc.Metrics,
		PerPair:       doc.ResultsPerPair,
		PerExitReason: doc.ExitReasonSummary,
		PerEnterTag:   doc.ResultsPerEnterTag,
		Daily:         doc.DailyProfit,
	}
	return res, m, nil
}

// fromJSONTrade is the inverse of toJSONTrade.
func fromJSONTrade(j jsonTrade) trade.Trade {
	t := trade.Trade{
		Pair:             j.Pair,
		IsShort:          j.IsShort,
		Leverage:         j.Leverage,
		EnterTag:         j.EnterTag,
		OpenTime:         j.OpenTimestamp,
		OpenRate:         j.OpenRate,
		Amount:           j.Amount,
		Stake:            j.StakeAmount,
		FeeOpen:          j.FeeOpen,
		FeeClose:         j.FeeClose,
		CloseRate:        j.CloseRate,
		ProfitRatio:      j.ProfitRatio,
		ProfitAbs:        j.ProfitAbs,
		ExitReason:       trade.ExitReason(j.ExitReason),
		StopLoss:         j.StopLossAbs,
		InitialStopLoss:  j.InitialStopLossAbs,
		LiquidationPrice: j.LiquidationPrice,
		MaxRate:          j.MaxRate,
		MinRate:          j.MinRate,
	}
	if j.CloseTimestamp != nil {
		t.CloseTime = *j.CloseTimestamp
	}
	return t
}
