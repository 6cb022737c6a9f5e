package report

import (
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// manyTradesFixture is a backtest of the engine benchmark's size: 19,484
// trades on one pair over 694 days of one-minute candles (1,000,000
// candles), with a daily equity curve and the pair's prices.
func manyTradesFixture() (*result.Result, metrics.Report) {
	const n = 19_484
	rng := rand.New(rand.NewPCG(3, 5))
	start := ms("2022-01-01 00:00")
	end := start + 1_000_000*minuteMs
	res := &result.Result{
		Strategy: "sma_cross", Timeframe: "1m", Pairs: []string{"BTC/USDT"}, Exchange: "binance",
		StakeCurrency: "USDT", TradingMode: "spot", StartingBalance: 1000, MaxOpenTrades: 1,
		Start: start, End: end, Candles: 1_000_000,
		MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.10}, {Minutes: 240, Ratio: 0.04}, {Minutes: 720, Ratio: 0.01}}, // sma_cross's
	}
	step := (end - start) / n
	bal := res.StartingBalance
	px := 40000.0
	for i := range n {
		open := start + int64(i)*step
		closeT := open + step/2 + rng.Int64N(step/3)
		closeRate := px * math.Exp(0.004*rng.NormFloat64())
		ratio := closeRate*0.999/(px*1.001) - 1
		t := trade.Trade{
			Pair: "BTC/USDT", Leverage: 1, OpenTime: open, OpenRate: px, Amount: 100 / px, Stake: 100,
			FeeOpen: 0.001, FeeClose: 0.001, CloseTime: closeT, CloseRate: closeRate,
			ProfitRatio: ratio, ProfitAbs: 100 * ratio, ExitReason: trade.ExitSignal,
			InitialStopLoss: px * 0.92, StopLoss: px * 0.92, // sma_cross's stop-loss
		}
		res.Trades = append(res.Trades, t)
		bal += t.ProfitAbs
		px = closeRate
	}
	res.FinalBalance = bal
	// The prices as the backtester gives them: the minute candles merged
	// into result.PriceBuckets rows.
	// Each minute's close runs from the trade's open rate to its close
	// rate, then on to the next trade's, with noise.
	minutes := result.PriceSeries{Pair: "BTC/USDT"}
	px = 40000
	j := 0
	for i := range 1_000_000 {
		at := start + int64(i)*minuteMs
		for j < n && res.Trades[j].OpenTime+step <= at {
			j++
		}
		o := px
		px = 40000
		if j < n {
			t := &res.Trades[j]
			from, to, a, b := t.OpenTime, t.CloseTime, t.OpenRate, t.CloseRate
			if at >= t.CloseTime {
				from, to, a = t.CloseTime, t.OpenTime+step, t.CloseRate
			}
			px = a + (b-a)*float64(at-from)/float64(max(to-from, 1))
		}
		px *= 1 + 0.0005*rng.NormFloat64()
		minutes.Time = append(minutes.Time, at)
		minutes.Open, minutes.Close = append(minutes.Open, o), append(minutes.Close, px)
		minutes.High, minutes.Low = append(minutes.High, max(o, px)*1.0003), append(minutes.Low, min(o, px)*0.9997)
	}
	res.Prices = []result.PriceSeries{minutes.Downsample(result.PriceBuckets)}
	eq := res.StartingBalance
	k := 0
	for d := start + clock.DayMs; d <= end+clock.DayMs; d += clock.DayMs {
		for ; k < n && res.Trades[k].CloseTime <= d; k++ {
			eq += res.Trades[k].ProfitAbs
		}
		res.Equity = append(res.Equity, result.EquityPoint{Time: min(d, end), Equity: eq})
	}
	return res, metrics.Compute(res)
}

// compoundingFixture is manyTradesFixture staking 99 % of the balance on
// every trade, as the 1M-candle process benchmark's run ("stake_amount":
// "unlimited") does: every stake and profit differs and carries all its
// digits.
func compoundingFixture() (*result.Result, metrics.Report) {
	res, _ := manyTradesFixture()
	res.StartingBalance = 10_000
	bal := res.StartingBalance
	for i := range res.Trades {
		t := &res.Trades[i]
		t.Stake = bal * 0.99
		t.Amount = t.Stake / t.OpenRate
		t.ProfitAbs = t.Stake * t.ProfitRatio
		bal += t.ProfitAbs
	}
	res.FinalBalance = bal
	res.Equity = res.Equity[:0]
	eq := res.StartingBalance
	k := 0
	for d := res.Start + clock.DayMs; d <= res.End+clock.DayMs; d += clock.DayMs {
		for ; k < len(res.Trades) && res.Trades[k].CloseTime <= d; k++ {
			eq += res.Trades[k].ProfitAbs
		}
		res.Equity = append(res.Equity, result.EquityPoint{Time: min(d, res.End), Equity: eq})
	}
	return res, metrics.Compute(res)
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkWriteHTML19k renders the HTML report of a 19,484-trade backtest
// and reports its size (docs/BENCHMARKS.md).
func BenchmarkWriteHTML19k(b *testing.B) {
	res, m := manyTradesFixture()
	var size int64
	b.ResetTimer()
	for range b.N {
		var w countingWriter
		if err := NewFiles(res, known(m), nil).WriteHTML(&w); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size)/1e6, "MB/report")
}

// BenchmarkMetrics19k computes the metrics of a 19,484-trade backtest,
// which every run's summary waits for and both files begin beside.
func BenchmarkMetrics19k(b *testing.B) {
	res, _ := manyTradesFixture()
	b.ResetTimer()
	for range b.N {
		metrics.Compute(res)
	}
}

// BenchmarkWriteJSON19k writes the --export-json document of a
// 19,484-trade backtest and reports its size.
func BenchmarkWriteJSON19k(b *testing.B) {
	res, m := manyTradesFixture()
	var size int64
	b.ResetTimer()
	for range b.N {
		var w countingWriter
		if err := NewFiles(res, known(m), nil).WriteJSON(&w); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size)/1e6, "MB/export")
}

// The HTML report of a 19,484-trade backtest stays within 3 MB (issue
// 20), so that a browser opens it quickly: with a fixed stake and with
// every stake and profit different.
func TestWriteHTML19kSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-candle fixture")
	}
	for name, fixture := range map[string]func() (*result.Result, metrics.Report){"fixed stake": manyTradesFixture, "compounding": compoundingFixture} {
		res, m := fixture()
		var w countingWriter
		if err := NewFiles(res, known(m), nil).WriteHTML(&w); err != nil {
			t.Fatal(err)
		}
		if w.n > 3_000_000 {
			t.Errorf("%s: the report is %d bytes, more than 3 MB", name, w.n)
		}
		t.Logf("%s: %d bytes", name, w.n)
	}
}
