package sandbox_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// backtest1M is one sandboxed or direct strategy process kept across the
// operations of benchBacktest1M and BenchmarkBacktest1MPaired.
type backtest1M struct {
	st       *external.Strategy
	f        *sdk.Frame
	params   sdk.Values
	settings backtest.Settings
}

func startBacktest1M(b *testing.B, sb bool) *backtest1M {
	argv, opts := sandboxed(sb)
	st, err := external.Start(context.Background(), argv, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if st.Transport() != "shm" {
		b.Fatalf("transport %s, want shm", st.Transport())
	}
	params, _ := st.Spec().Resolve(nil)
	return &backtest1M{
		st: st, f: frame(1_000_000), params: params,
		settings: backtest.Settings{
			Rules: trade.Rules{
				Risk:          sdk.Risk{Stoploss: -0.05, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.04}, {Minutes: 600, Ratio: 0.01}}},
				UseExitSignal: true, Fee: 0.001, Leverage: 1, TimeframeMinutes: 1,
			},
			StartingBalance: 10_000, TradableBalanceRatio: 0.99, MaxOpenTrades: 1,
		},
	}
}

// run is one operation: the signals over the protocol, then the
// simulation.
func (t *backtest1M) run(b *testing.B) {
	f := t.f
	f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
	if err := t.st.Populate(f, t.params); err != nil {
		b.Fatal(err)
	}
	series := []backtest.Series{{Frame: f, From: t.st.Spec().StartupCandles, To: f.Len()}}
	if _, err := backtest.Simulate(context.Background(), t.settings, series); err != nil {
		b.Fatal(err)
	}
}

// benchBacktest1M measures what internal/external's
// BenchmarkExternalSMACross1M does — the signals of one pair of 1,000,000
// one-minute candles over the protocol (shared memory), then the
// simulation — with the process started once, directly or sandboxed.
// Target: sandboxed within 5% of direct.
func benchBacktest1M(b *testing.B, sb bool) {
	t := startBacktest1M(b, sb)
	b.ResetTimer()
	for range b.N {
		t.run(b)
	}
	b.ReportMetric(float64(t.f.Len())*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

func BenchmarkBacktest1MDirect(b *testing.B)    { benchBacktest1M(b, false) }
func BenchmarkBacktest1MSandboxed(b *testing.B) { benchBacktest1M(b, true) }

// BenchmarkBacktest1MPaired runs the operation of the two benchmarks
// above alternately in one process, direct and sandboxed (which goes
// first alternating too), and reports the median of each and the
// sandbox's overhead: the machine's load and the process's own state
// (heap, page placement), which vary by ±20% between separate runs on a
// shared machine, then weigh on both alike.
func BenchmarkBacktest1MPaired(b *testing.B) {
	both := [2]*backtest1M{startBacktest1M(b, false), startBacktest1M(b, true)}
	var took [2][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for k := range 2 {
			j := (i + k) % 2
			began := time.Now()
			both[j].run(b)
			took[j] = append(took[j], time.Since(began))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / 1e6
	}
	direct, sandboxed := med(took[0]), med(took[1])
	b.ReportMetric(direct, "direct-ms")
	b.ReportMetric(sandboxed, "sandboxed-ms")
	b.ReportMetric(100*(sandboxed-direct)/direct, "overhead-%")
}
