//go:build linux

package backtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/strategy"
)

// BenchmarkPortfolio20x5M is issue 20's large run: 20 pairs of 5,000,000
// one-minute candles (100M candles, 4.8 GB of candle columns), sma_cross,
// max_open_trades 5, through the stages `tradai backtest` runs: Load from a
// market store, Prepare, Simulate. The store is written once, before the
// timer, into a temporary directory (about 5 GB of disk); the files are in
// the page cache when the run reads them. Each iteration starts on a
// collected heap with its memory returned to the system (a fresh run's
// page faults included).
//
// Besides candles/s it reports, for the timed iterations:
//   - peak-MB: the process's peak resident memory (VmHWM of
//     /proc/self/status, reset before the run through clear_refs): it is
//     process-wide, the benchmark's own few MB included;
//   - peak/columns: that peak over the bytes of the candle columns (time and
//     five float64 prices and volume: 48 bytes a candle, what the store
//     holds); target 1.2;
//   - cpu/wall: the process's user and system CPU time over the wall time:
//     2.0 is both cores busy all along;
//   - sys-share: the system (kernel: page faults) part of that CPU time;
//   - load-cpu-s, prepare-cpu-s, simulate-cpu-s: the process's CPU time
//     during each stage (the candle summary, computed in the background
//     from the end of Load, falls into Prepare's and Simulate's).
//
// It needs about 7 GB of memory, so it runs only with TRADAI_BENCH_BIG=1
// (`make bench` and CI skip it): TRADAI_BENCH_BIG=1 go test -run '^$'
// -bench Portfolio20x5M -benchtime 1x -count 3 ./internal/backtest/
func BenchmarkPortfolio20x5M(b *testing.B) {
	if os.Getenv("TRADAI_BENCH_BIG") != "1" {
		b.Skip("needs about 7 GB of memory and 5 GB of disk; set TRADAI_BENCH_BIG=1 to run it")
	}
	const pairs, candles = 20, 5_000_000
	ctx := context.Background()
	cfg := &config.Config{Timeframe: "1m", Datadir: b.TempDir(), Exchange: config.Exchange{Name: "bench"}}
	store, err := market.Open(cfg.Datadir, quiet())
	if err != nil {
		b.Fatal(err)
	}
	for k := range pairs {
		pair := fmt.Sprintf("P%02d/USDT", k)
		cfg.Exchange.PairWhitelist = append(cfg.Exchange.PairWhitelist, pair)
		f := synthetic(pair, candles, uint64(k+1))
		off := f.Time[0] % 60_000
		for i := range f.Time { // onto the 1m grid the store keeps
			f.Time[i] -= off
		}
		if _, err := store.Append(ctx, market.Key{Exchange: "bench", Pair: pair, Timeframe: "1m", Type: market.Spot}, f); err != nil {
			b.Fatal(err)
		}
	}
	st := strategy.SMACross{}
	plan, err := NewPlan(cfg, st.Spec())
	if err != nil {
		b.Fatal(err)
	}
	var (
		trades                  int
		user, sys               time.Duration
		load, prepare, simulate time.Duration
		peak                    int64
	)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		u0, s0 := cpuTimes(b)
		b.StartTimer()
		data, err := Load(ctx, store, plan, quiet())
		if err != nil {
			b.Fatal(err)
		}
		u1, s1 := cpuTimes(b)
		prep, err := data.Prepare(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		u2, s2 := cpuTimes(b)
		s := benchSettings(5)
		s.ScanAhead = true // as `tradai backtest` runs
		res, err := prep.Simulate(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		u3, s3 := cpuTimes(b)
		if err := data.Close(); err != nil {
			b.Fatal(err)
		}
		load, prepare, simulate = load+u1+s1-u0-s0, prepare+u2+s2-u1-s1, simulate+u3+s3-u2-s2
		user, sys = user+u3-u0, sys+s3-s0
		peak = max(peak, peakRSS(b))
		trades = len(res.Trades)
		b.StartTimer()
	}
	wall := b.Elapsed()
	columns := float64(pairs * candles * (8 + 5*8))
	b.ReportMetric(float64(pairs*candles)*float64(b.N)/wall.Seconds(), "candles/s")
	b.ReportMetric(float64(trades), "trades")
	b.ReportMetric(float64(peak)/1e6, "peak-MB")
	b.ReportMetric(float64(peak)/columns, "peak/columns")
	b.ReportMetric((user+sys).Seconds()/wall.Seconds(), "cpu/wall")
	b.ReportMetric(sys.Seconds()/(user+sys).Seconds(), "sys-share")
	for _, m := range []struct {
		unit string
		cpu  time.Duration
	}{{"load-cpu-s", load}, {"prepare-cpu-s", prepare}, {"simulate-cpu-s", simulate}} {
		b.ReportMetric(m.cpu.Seconds()/float64(b.N), m.unit)
	}
}

// resetPeakRSS resets the process's peak resident memory (VmHWM) to its
// current resident memory.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak resident memory: %v", err)
	}
}

// peakRSS returns the process's peak resident memory in bytes (VmHWM).
func peakRSS(b *testing.B) int64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// cpuTimes returns the process's user and system CPU time so far.
func cpuTimes(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
