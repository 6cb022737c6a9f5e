package optimize

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/strategy"
)

// cpuTime is the process's user and system CPU time so far: on a shared
// machine, trials per CPU-second say more than trials per wall second.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHyperoptSMACross100k is one study of sma_cross on 1 pair ×
// 100,000 5m candles searching its 2 parameters (buy) plus roi and
// stoploss with random search: one op is 200 trials, GOMAXPROCS at a
// time, with a MemoryLimit as `tradai hyperopt` has (unless GOGC or
// GOMEMLIMIT is set). Target: ≥ 500 trials/s on 2 cores. cpu-ms/trial is
// the CPU time a trial costs (2000 / cpu-ms/trial is the rate on two idle
// cores).
func BenchmarkHyperoptSMACross100k(b *testing.B) {
	const epochs = 200
	fx := setup(b, 1, 100_000, []string{"buy", "roi", "stoploss"}, 1)
	fx.opts.Epochs, fx.opts.Jobs = epochs, 0
	fx.opts.Memory = NewMemoryLimit(os.Getenv)
	b.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var failed int
	for range b.N {
		st, err := Run(context.Background(), fx.opts)
		if err != nil {
			b.Fatal(err)
		}
		failed = st.Failed
	}
	b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "trials/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(epochs*b.N), "cpu-ms/trial")
	b.ReportMetric(float64(failed), "failed")
}

// BenchmarkWalkForwardExamples is a walk-forward of sma_cross on the
// bundled examples/data (5 pairs × 5m, three weeks): rolling windows of
// 8 days' training and 4 days' test, 50 random trials each over buy, roi
// and stoploss. One op is the whole analysis, the candles loaded once
// outside the loop.
func BenchmarkWalkForwardExamples(b *testing.B) {
	cfg, err := config.Load("../../examples/backtest.json")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Strategy, cfg.Datadir = "sma_cross", "../../examples/data"
	strat, _ := strategy.Lookup("sma_cross")
	spec := strat.Spec()
	plan, err := backtest.NewPlan(cfg, spec)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := market.Open(cfg.Datadir, log)
	if err != nil {
		b.Fatal(err)
	}
	data, err := backtest.Load(context.Background(), store, plan, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = data.Close() })
	settings, err := backtest.ConfigSettings(cfg, spec)
	if err != nil {
		b.Fatal(err)
	}
	space, err := NewSpace(spec, plan.Timeframe, []string{"buy", "roi", "stoploss"})
	if err != nil {
		b.Fatal(err)
	}
	loss, _ := LossNamed("sharpe")
	windows, err := Windows(data.Span(), 8*24*time.Hour, 4*24*time.Hour, 4*24*time.Hour, false)
	if err != nil {
		b.Fatal(err)
	}
	o := WalkOptions{
		Study:   Options{Strategy: strat, Data: data, Settings: settings, Space: space, Loss: loss, Epochs: 50},
		Windows: windows,
		Sampler: func(i int) (sample.Sampler, error) { return sample.New("random", space.Dims(), uint64(i)) },
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := RunWalkForward(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(windows)*50*b.N)/b.Elapsed().Seconds(), "trials/s")
}

// startPython runs testdata/sma_cross_np.py (numpy) with the Python SDK of
// this checkout, speaking protocol version protocol (1: every request
// sends the columns; 2: each pair's once). The interpreter is the first
// of $TRADAI_PYTHON, python3 and /usr/bin/python3 that has numpy; without
// one it skips.
func startPython(b *testing.B, protocol int) *external.Strategy {
	var py string
	for _, c := range []string{os.Getenv("TRADAI_PYTHON"), "python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); c != "" && err == nil && exec.Command(p, "-c", "import numpy").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		b.Skip("no python3 with numpy")
	}
	sdkDir, _ := filepath.Abs("../../sdk/python")
	s, err := external.Start(context.Background(), []string{py, "testdata/sma_cross_np.py"}, external.Options{
		Env: []string{"PYTHONPATH=" + sdkDir, "PYTHONDONTWRITEBYTECODE=1", "SMA_CROSS_NP_PROTOCOL=" + strconv.Itoa(protocol)},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkHyperoptPython is BenchmarkHyperoptSMACross100k's study with
// sma_cross written in Python with numpy (testdata/sma_cross_np.py), one
// process: 1 pair × 100,000 5m candles, the 2 parameters + roi +
// stoploss, random search, 200 trials per op. protocol=2 sends the
// candles once per process and then only parameter sets; protocol=1 is a
// strategy of before version 2, sent the candles with every trial.
// Target: ≥ 50 trials/s. populates/op counts the Python calls (a trial
// whose parameters were prepared before reuses their signals).
func BenchmarkHyperoptPython(b *testing.B) {
	const epochs = 200
	for _, protocol := range []int{2, 1} {
		b.Run(fmt.Sprintf("protocol=%d", protocol), func(b *testing.B) {
			fx := setupStrategy(b, startPython(b, protocol), 1, 100_000, []string{"buy", "roi", "stoploss"}, 1)
			fx.opts.Epochs, fx.opts.Jobs = epochs, 0
			b.ResetTimer()
			var failed int
			for range b.N {
				st, err := Run(context.Background(), fx.opts)
				if err != nil {
					b.Fatal(err)
				}
				failed = st.Failed
			}
			b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "trials/s")
			b.ReportMetric(float64(fx.strat.calls.Load())/float64(b.N), "populates/op")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}

// heapPeak samples the heap every 2 ms until stop is called, which
// returns the highest values seen of the heap's objects (live ones and
// garbage not yet collected: what the process holds) and of the live heap
// (as the last garbage collection found it: what the study keeps).
func heapPeak() (stop func() (objects, live uint64)) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peak [2]uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			for i := range s {
				peak[i] = max(peak[i], s[i].Value.Uint64())
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) { close(done); <-finished; return peak[0], peak[1] }
}

// columnBytes is the size of the candle columns of data.
func columnBytes(data *backtest.Data) uint64 {
	var n uint64
	for _, f := range data.Frames() {
		n += uint64(f.Len()) * 6 * 8
	}
	return n
}

// BenchmarkHyperopt20x1y is the large study: sma_cross on 20
// pairs × a year of 5m candles (105,120 each), 1,000 trials of random
// search over buy, roi and stoploss, GOMAXPROCS at a time. One op is the
// whole study; target: within 60 s, memory within 2× the candle columns.
// cpu-s/op is the CPU time it costs (half of it is the time on two idle
// cores).
// live-peak/columns is the highest live heap (as each garbage collection
// found it: the data, the prepared signals kept, the trials in flight and
// the study's records) over the columns' bytes; heap-peak/columns the
// highest heap including garbage not yet collected, which the Go
// runtime lets grow to about twice the live heap (GOGC=100) unless a
// memory limit holds it: the study runs with a MemoryLimit, as `tradai
// hyperopt` does (limit/columns is the limit it set), unless GOGC or
// GOMEMLIMIT is set. rss-peak/columns is the process's peak resident
// memory over the study (Linux: reset before it) over the columns' bytes:
// what a user sees, the columns and the runtime's own memory included.
// TRADAI_BENCH_EPOCHS=N runs N trials instead (to profile).
func BenchmarkHyperopt20x1y(b *testing.B) {
	epochs := 1000
	if e, err := strconv.Atoi(os.Getenv("TRADAI_BENCH_EPOCHS")); err == nil {
		epochs = e
	}
	fx := setup(b, 20, 105_120, []string{"buy", "roi", "stoploss"}, 1)
	fx.opts.Epochs, fx.opts.Jobs = epochs, 0
	fx.opts.Memory = NewMemoryLimit(os.Getenv)
	b.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	cols := columnBytes(fx.opts.Data)
	runtime.GC()
	debug.FreeOSMemory() // the fixture's garbage
	rss := resetRSSPeak()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	stop := heapPeak()
	for range b.N {
		if _, err := Run(context.Background(), fx.opts); err != nil {
			b.Fatal(err)
		}
	}
	objects, live := stop()
	if rss {
		if peak := rssPeak(b); peak > 0 {
			b.ReportMetric(float64(peak)/float64(cols), "rss-peak/columns")
		}
	}
	b.ReportMetric(float64(fx.opts.Memory.Limit())/float64(cols), "limit/columns")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "trials/s")
	b.ReportMetric(float64(cols)/(1<<20), "columns-MiB")
	b.ReportMetric(float64(objects)/float64(cols), "heap-peak/columns")
	b.ReportMetric(float64(live)/float64(cols), "live-peak/columns")
}

// resetRSSPeak resets the process's peak resident memory (Linux's
// VmHWM), reporting whether it could.
func resetRSSPeak() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// rssPeak is the process's peak resident memory in bytes (VmHWM), 0 when
// not known.
func rssPeak(tb testing.TB) uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("VmHWM: %v", err)
			}
			return kb << 10
		}
	}
	return 0
}

// heapAfterGC is the live heap after a collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkStudy100kTrials runs 100,000 trials of sma_cross on 1 pair ×
// 2,000 5m candles with random search over buy, roi and stoploss, and
// measures the live heap after a collection at trial 10,000 and at the
// end: heap-B/trial is its growth per trial over the last 90,000 trials,
// which must stay at the size of a trial's summary (its point, figures,
// loss and duration, about 230 B), not of its result. (With TPE the same
// study grew by 228 B/trial too, its history being bounded, but took 7
// minutes.)
func BenchmarkStudy100kTrials(b *testing.B) {
	const epochs, at = 100_000, 10_000
	for range b.N {
		fx := setup(b, 1, 2000, []string{"buy", "roi", "stoploss"}, 1)
		fx.opts.Epochs = epochs
		var h0 uint64
		fx.opts.OnTrial = func(t *Trial, _ bool) {
			if t.Number == at {
				h0 = heapAfterGC()
			}
		}
		st, err := Run(context.Background(), fx.opts)
		if err != nil {
			b.Fatal(err)
		}
		h1 := heapAfterGC()
		runtime.KeepAlive(st)
		b.ReportMetric((float64(h1)-float64(h0))/(epochs-at), "heap-B/trial")
		b.ReportMetric(float64(h1)/(1<<20), "heap-MiB")
	}
}
