package backtest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// synthetic returns n one-minute candles of a seeded random walk with
// realistic intrabar ranges.
func synthetic(pair string, n int, seed uint64) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := &sdk.Frame{Pair: pair, Timeframe: "1m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	t0 := int64(1_600_000_000_000)
	for i := 0; i < n; i++ {
		o := price
		price *= math.Exp(r.NormFloat64() * 0.0015)
		hi := math.Max(o, price) * (1 + r.Float64()*0.001)
		lo := math.Min(o, price) * (1 - r.Float64()*0.001)
		f.Time[i] = t0 + int64(i)*60_000
		f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i] = o, hi, lo, price, 1+r.Float64()*10
	}
	return f
}

func benchSettings(maxOpen int) Settings {
	return Settings{
		Rules: trade.Rules{
			Risk:          sdk.Risk{Stoploss: -0.05, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.04}, {Minutes: 600, Ratio: 0.01}}},
			UseExitSignal: true, Fee: 0.001, Leverage: 1, TimeframeMinutes: 1,
		},
		StartingBalance: 10_000, TradableBalanceRatio: 0.99, MaxOpenTrades: maxOpen,
	}
}

// runSMACross is the end-to-end work measured: signals, then simulation.
func runSMACross(b *testing.B, frames []*sdk.Frame, maxOpen int) *result.Result {
	st := strategy.SMACross{}
	params, err := st.Spec().Resolve(nil)
	if err != nil {
		b.Fatal(err)
	}
	series := make([]Series, len(frames))
	for k, f := range frames {
		f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
		if err := st.Populate(f, params); err != nil {
			b.Fatal(err)
		}
		series[k] = Series{Frame: f, From: st.Spec().StartupCandles, To: f.Len()}
	}
	s := benchSettings(maxOpen)
	s.ScanAhead = true // as `tradai backtest` runs
	res, err := Simulate(context.Background(), s, series)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func candleBytes(frames []*sdk.Frame) float64 {
	var n int
	for _, f := range frames {
		n += f.Len()
	}
	return float64(n) * (8 + 5*8)
}

func reportCandles(b *testing.B, frames []*sdk.Frame) {
	var n int
	for _, f := range frames {
		n += f.Len()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkSMACross1M: one pair, 1,000,000 one-minute candles, sma_cross,
// signals plus simulation. Target: 20 million candles/s on one core. Warm
// heap: after the first iteration the signal and trade buffers of the
// previous one are reused by the allocator, without page faults (see
// BenchmarkSMACross1MFresh for a fresh process, BenchmarkSMACross1MCold
// for a scavenged heap).
func BenchmarkSMACross1M(b *testing.B) {
	benchSMACross1M(b, false)
}

// BenchmarkSMACross1MCold is BenchmarkSMACross1M on a cold heap: before
// each iteration (untimed) the free memory of the heap goes back to the
// operating system, as a long-running worker's does when it is scavenged,
// so what the run allocates is faulted in anew. Reused addresses keep
// their page tables, so the kernel backs them with 4 KB pages, not huge
// ones: slower than a fresh process, whose heap is new address space (see
// BenchmarkSMACross1MFresh).
func BenchmarkSMACross1MCold(b *testing.B) {
	benchSMACross1M(b, true)
}

// freshEngineEnv makes the test binary a child of BenchmarkSMACross1MFresh:
// TestFreshEngine then runs the engine once and prints what it used.
const freshEngineEnv = "TRADAI_BENCH_FRESH_ENGINE"

// BenchmarkSMACross1MFresh is the engine in a fresh process, as `tradai
// backtest` runs it: each iteration starts this test binary anew
// (TestFreshEngine), which makes 1,000,000 one-minute candles and then,
// timed, prepares sma_cross's signals and simulates through Data.Prepare
// and Prepared.Simulate, with the scans ahead. ns/op, candles/s, faults
// and CPU are the timed stages' alone, in the child. Target (issue 20):
// 50 million candles/s, page faults a small constant.
func BenchmarkSMACross1MFresh(b *testing.B) {
	var wall, cpu time.Duration
	var faults, trades int64
	for range b.N {
		cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run", "^TestFreshEngine$", "-test.count", "1")
		cmd.Env = append(os.Environ(), freshEngineEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("fresh engine process: %v\n%s", err, out)
		}
		var w, c, f, t int64
		i := bytes.Index(out, []byte("fresh engine: "))
		if i < 0 {
			b.Fatalf("fresh engine process printed no figures:\n%s", out)
		}
		if _, err := fmt.Sscanf(string(out[i:]), "fresh engine: wall-ns %d cpu-ns %d minflt %d trades %d", &w, &c, &f, &t); err != nil {
			b.Fatalf("fresh engine process's figures: %v\n%s", err, out)
		}
		wall += time.Duration(w)
		cpu += time.Duration(c)
		faults += f
		trades = t
	}
	const candles = 1_000_000
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(candles*float64(b.N)/wall.Seconds(), "candles/s")
	b.ReportMetric(float64(faults)/float64(b.N), "minflt/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/candles, "cpu-ns/candle")
	b.ReportMetric(float64(trades), "trades")
}

// TestFreshEngine is BenchmarkSMACross1MFresh's child process (and skips
// otherwise): the candles made, then Prepare and Simulate timed once.
func TestFreshEngine(t *testing.T) {
	if os.Getenv(freshEngineEnv) == "" {
		t.Skip("the child process of BenchmarkSMACross1MFresh")
	}
	mem := memLoader{"BTC/USDT": synthetic("BTC/USDT", 1_000_000, 1)}
	cfg := &config.Config{Timeframe: "1m", Exchange: config.Exchange{Name: "bench", PairWhitelist: []string{"BTC/USDT"}}}
	st := strategy.SMACross{}
	data := loadMem(t, cfg, st, mem)
	s := benchSettings(1)
	s.ScanAhead = true // as `tradai backtest` runs
	before, began := processUsage(t), time.Now()
	res := prepareSimulate(t, data, st, nil, s)
	wall, after := time.Since(began), processUsage(t)
	fmt.Printf("fresh engine: wall-ns %d cpu-ns %d minflt %d trades %d\n", wall.Nanoseconds(), (after.cpu - before.cpu).Nanoseconds(), after.faults-before.faults, len(res.Trades))
}

func benchSMACross1M(b *testing.B, cold bool) {
	frames := []*sdk.Frame{synthetic("BTC/USDT", 1_000_000, 1)}
	var trades int
	var use usage
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if cold {
			b.StopTimer()
			debug.FreeOSMemory()
			b.StartTimer()
		}
		before := processUsage(b)
		trades = len(runSMACross(b, frames, 1).Trades)
		use.add(processUsage(b), before)
	}
	reportCandles(b, frames)
	b.ReportMetric(float64(trades), "trades")
	b.ReportMetric(candleBytes(frames)/1e6, "candle-MB")
	use.report(b, frames)
}

// usage is what a process used: minor page faults and CPU time (user and
// system), of all its threads, the garbage collector's included.
type usage struct {
	faults int64
	cpu    time.Duration
}

func processUsage(tb testing.TB) usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return usage{faults: ru.Minflt, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// add adds the usage between before and now to u.
func (u *usage) add(now, before usage) {
	u.faults += now.faults - before.faults
	u.cpu += now.cpu - before.cpu
}

// report reports u per op: minor faults, and CPU time per candle (steadier
// than wall time on a shared machine).
func (u *usage) report(b *testing.B, frames []*sdk.Frame) {
	var n int
	for _, f := range frames {
		n += f.Len()
	}
	b.ReportMetric(float64(u.faults)/float64(b.N), "minflt/op")
	b.ReportMetric(float64(u.cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/candle")
}

// BenchmarkSimulate1M is BenchmarkSMACross1M's simulation alone, on
// signals computed once: the per-candle loop. Warm heap.
func BenchmarkSimulate1M(b *testing.B) {
	frames := []*sdk.Frame{synthetic("BTC/USDT", 1_000_000, 1)}
	res := runSMACross(b, frames, 1)
	series := []Series{{Frame: frames[0], From: strategy.SMACross{}.Spec().StartupCandles, To: frames[0].Len()}}
	var use usage
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		before := processUsage(b)
		var err error
		if res, err = Simulate(context.Background(), benchSettings(1), series); err != nil {
			b.Fatal(err)
		}
		use.add(processUsage(b), before)
	}
	reportCandles(b, frames)
	b.ReportMetric(float64(len(res.Trades)), "trades")
	use.report(b, frames)
}

// BenchmarkSimulate20x500k is BenchmarkPortfolio20x500k's simulation
// alone, on signals computed once: the ordered pass alone, and with the
// scans ahead (what Simulate runs on two cores). Besides CPU time per
// candle it reports cpu/wall: 2.0 is both cores busy. Warm heap.
func BenchmarkSimulate20x500k(b *testing.B) {
	frames := make([]*sdk.Frame, 20)
	for k := range frames {
		frames[k] = synthetic(fmt.Sprintf("P%02d/USDT", k), 500_000, uint64(k+1))
	}
	runSMACross(b, frames, 5)
	series := make([]Series, len(frames))
	for k, f := range frames {
		series[k] = Series{Frame: f, From: strategy.SMACross{}.Spec().StartupCandles, To: f.Len()}
	}
	for _, ahead := range []bool{false, true} {
		name := "ordered"
		if ahead {
			name = "ahead"
		}
		b.Run(name, func(b *testing.B) {
			var (
				use    usage
				trades int
			)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				before := processUsage(b)
				res, err := simulate(context.Background(), benchSettings(5), series, ahead, nil)
				if err != nil {
					b.Fatal(err)
				}
				trades = len(res.Trades)
				use.add(processUsage(b), before)
			}
			reportCandles(b, frames)
			b.ReportMetric(float64(trades), "trades")
			use.report(b, frames)
			b.ReportMetric(float64(use.cpu)/float64(b.Elapsed()), "cpu/wall")
		})
	}
}

// BenchmarkPortfolio20x500k: 20 pairs of 500,000 candles, max_open_trades
// 5. Target: 10 million candles/s. Warm heap after the first iteration, as
// BenchmarkSMACross1M.
func BenchmarkPortfolio20x500k(b *testing.B) {
	frames := make([]*sdk.Frame, 20)
	for k := range frames {
		frames[k] = synthetic(fmt.Sprintf("P%02d/USDT", k), 500_000, uint64(k+1))
	}
	var trades int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		trades = len(runSMACross(b, frames, 5).Trades)
	}
	reportCandles(b, frames)
	b.ReportMetric(float64(trades), "trades")
	b.ReportMetric(candleBytes(frames)/1e6, "candle-MB")
}
