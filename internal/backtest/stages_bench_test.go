package backtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// memLoader serves frames held in memory, by pair.
type memLoader map[string]*sdk.Frame

func (m memLoader) Map(_ context.Context, k market.Key, _ market.Range) (*datafile.Mapped, error) {
	f, ok := m[k.Pair]
	if !ok {
		return nil, fmt.Errorf("%s: %w", k.Pair, market.ErrNotFound)
	}
	return &datafile.Mapped{Frame: f}, nil
}

// loadMem plans st's run of cfg and loads its series from mem.
func loadMem(tb testing.TB, cfg *config.Config, st sdk.Strategy, mem memLoader) *Data {
	tb.Helper()
	plan, err := NewPlan(cfg, st.Spec())
	if err != nil {
		tb.Fatal(err)
	}
	data, err := Load(context.Background(), mem, plan, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// prepareSimulate prepares st's signals with params on data, then
// simulates them with s.
func prepareSimulate(tb testing.TB, data *Data, st sdk.Strategy, params sdk.Values, s Settings) *result.Result {
	tb.Helper()
	prep, err := data.Prepare(context.Background(), st, params)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := prep.Simulate(context.Background(), s)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// BenchmarkTrials20x500k is one optimiser trial: BenchmarkPortfolio20x500k's
// work (sma_cross on 20 pairs of 500,000 candles, max_open_trades 5)
// through Data.Prepare and Prepared.Simulate on data loaded once, as an
// optimiser runs its trials: a warm heap after the first.
func BenchmarkTrials20x500k(b *testing.B) {
	mem := memLoader{}
	cfg := &config.Config{Timeframe: "1m", Exchange: config.Exchange{Name: "bench"}}
	for k := range 20 {
		pair := fmt.Sprintf("P%02d/USDT", k)
		mem[pair] = synthetic(pair, 500_000, uint64(k+1))
		cfg.Exchange.PairWhitelist = append(cfg.Exchange.PairWhitelist, pair)
	}
	st := strategy.SMACross{}
	data := loadMem(b, cfg, st, mem)
	frames := data.Frames()
	var trades int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		trades = len(prepareSimulate(b, data, st, nil, benchSettings(5)).Trades)
	}
	reportCandles(b, frames)
	b.ReportMetric(float64(trades), "trades")
}

// BenchmarkPrepareSimulate100k is one optimiser trial on one pair: sma_cross
// on 100,000 one-minute candles loaded once, through Data.Prepare and
// Prepared.Simulate, each trial reusing the previous one's signal columns
// and result lists (PrepareReusing, SimulateReusing) as an optimiser's
// trials do. Target (issue 20): at most 1 ms an op. Warm heap after the
// first iteration.
func BenchmarkPrepareSimulate100k(b *testing.B) {
	mem := memLoader{"BTC/USDT": synthetic("BTC/USDT", 100_000, 1)}
	cfg := &config.Config{Timeframe: "1m", Exchange: config.Exchange{Name: "bench", PairWhitelist: []string{"BTC/USDT"}}}
	st := strategy.SMACross{}
	data := loadMem(b, cfg, st, mem)
	var trades int
	var use usage
	var prep *Prepared
	var res *result.Result
	var err error
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		before := processUsage(b)
		prep, err = data.PrepareReusing(context.Background(), st, nil, prep)
		if err != nil {
			b.Fatal(err)
		}
		res, err = prep.SimulateReusing(context.Background(), benchSettings(1), res)
		if err != nil {
			b.Fatal(err)
		}
		trades = len(res.Trades)
		use.add(processUsage(b), before)
	}
	reportCandles(b, data.Frames())
	b.ReportMetric(float64(trades), "trades")
	use.report(b, data.Frames())
}
