package sandbox_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/sandbox"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// sandboxed returns the options that run the Go example sma_cross in a
// sandbox (sb) or directly.
func sandboxed(sb bool) ([]string, external.Options) {
	prog := filepath.Join(bins, "sma_cross")
	var opts external.Options
	if sb {
		opts.Sandbox = (&sandbox.Config{}).With(prog)
	}
	return []string{prog}, opts
}

// benchStart measures starting a strategy process, its handshake and its
// end. Target: sandboxed ≤ 50 ms over direct.
func benchStart(b *testing.B, sb bool) {
	argv, opts := sandboxed(sb)
	for range b.N {
		st, err := external.Start(context.Background(), argv, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStartDirect(b *testing.B)    { benchStart(b, false) }
func BenchmarkStartSandboxed(b *testing.B) { benchStart(b, true) }

// benchBacktest1M measures what internal/external's
// BenchmarkExternalSMACross1M does — the signals of one pair of 1,000,000
// one-minute candles over the protocol (shared memory), then the
// simulation — with the process started once, directly or sandboxed.
// Target: sandboxed within 5% of direct.
func benchBacktest1M(b *testing.B, sb bool) {
	argv, opts := sandboxed(sb)
	st, err := external.Start(context.Background(), argv, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if st.Transport() != "shm" {
		b.Fatalf("transport %s, want shm", st.Transport())
	}
	f := frame(1_000_000)
	params, _ := st.Spec().Resolve(nil)
	settings := backtest.Settings{
		Rules: trade.Rules{
			Risk:          sdk.Risk{Stoploss: -0.05, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.04}, {Minutes: 600, Ratio: 0.01}}},
			UseExitSignal: true, Fee: 0.001, Leverage: 1, TimeframeMinutes: 1,
		},
		StartingBalance: 10_000, TradableBalanceRatio: 0.99, MaxOpenTrades: 1,
	}
	b.ResetTimer()
	for range b.N {
		f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
		if err := st.Populate(f, params); err != nil {
			b.Fatal(err)
		}
		series := []backtest.Series{{Frame: f, From: st.Spec().StartupCandles, To: f.Len()}}
		if _, err := backtest.Simulate(context.Background(), settings, series); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Len())*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

func BenchmarkBacktest1MDirect(b *testing.B)    { benchBacktest1M(b, false) }
func BenchmarkBacktest1MSandboxed(b *testing.B) { benchBacktest1M(b, true) }
