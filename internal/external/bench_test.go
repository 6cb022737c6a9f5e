//go:build linux

package external_test

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// benchSettings are internal/backtest's benchmark settings.
func benchSettings() backtest.Settings {
	return backtest.Settings{
		Rules: trade.Rules{
			Risk:          sdk.Risk{Stoploss: -0.05, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.04}, {Minutes: 600, Ratio: 0.01}}},
			UseExitSignal: true, Fee: 0.001, Leverage: 1, TimeframeMinutes: 1,
		},
		StartingBalance: 10_000, TradableBalanceRatio: 0.99, MaxOpenTrades: 1,
	}
}

// benchSMACross1M measures what internal/backtest's BenchmarkSMACross1M
// does — signals for one pair of 1,000,000 one-minute candles, then the
// simulation — with st computing the signals.
func benchSMACross1M(b *testing.B, st sdk.Strategy) {
	f := synthetic("BTC/USDT", 1_000_000, 1)
	params, err := st.Spec().Resolve(nil)
	if err != nil {
		b.Fatal(err)
	}
	var trades int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
		if err := st.Populate(f, params); err != nil {
			b.Fatal(err)
		}
		series := []backtest.Series{{Frame: f, From: st.Spec().StartupCandles, To: f.Len()}}
		res, err := backtest.Simulate(context.Background(), benchSettings(), series)
		if err != nil {
			b.Fatal(err)
		}
		trades = len(res.Trades)
	}
	b.ReportMetric(float64(f.Len())*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
	b.ReportMetric(float64(trades), "trades")
}

// BenchmarkBuiltinSMACross1M is the in-process baseline.
func BenchmarkBuiltinSMACross1M(b *testing.B) { benchSMACross1M(b, strategy.SMACross{}) }

// BenchmarkExternalSMACross1M runs the Go example sma_cross over the
// protocol, the process started once outside the loop. Target: within 15%
// of BenchmarkBuiltinSMACross1M.
func BenchmarkExternalSMACross1M(b *testing.B) {
	benchSMACross1M(b, startProgram(b, "sma_cross", external.Options{}))
}

// BenchmarkExternalPipeSMACross1M is BenchmarkExternalSMACross1M with the
// columns on the pipes (the shared-memory transport not offered).
func BenchmarkExternalPipeSMACross1M(b *testing.B) {
	benchSMACross1M(b, startProgram(b, "sma_cross", external.Options{PipeOnly: true}))
}

// BenchmarkExternalPipePopulate1M is BenchmarkExternalPopulate1M on the
// pipes.
func BenchmarkExternalPipePopulate1M(b *testing.B) {
	benchPopulate(b, startProgram(b, "sma_cross", external.Options{PipeOnly: true}))
}

// BenchmarkExternalPopulate1M is the protocol round trip alone (no
// simulation), against BenchmarkBuiltinPopulate1M.
func BenchmarkExternalPopulate1M(b *testing.B) {
	benchPopulate(b, startProgram(b, "sma_cross", external.Options{}))
}

// BenchmarkBuiltinPopulate1M is sma_cross's Populate in process.
func BenchmarkBuiltinPopulate1M(b *testing.B) { benchPopulate(b, strategy.SMACross{}) }

func benchPopulate(b *testing.B, st sdk.Strategy) {
	f := synthetic("BTC/USDT", 1_000_000, 1)
	params, _ := st.Spec().Resolve(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
		if err := st.Populate(f, params); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Len())*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}
