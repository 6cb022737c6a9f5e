package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// BenchmarkBacktestProcess1M is the speed a user timing the command sees:
// the real binary (built without the race detector) runs `tradai backtest`
// of sma_cross on one pair of 1,000,000 one-minute candles from a store in
// a temporary folder, terminal summary only, once per iteration, each run a
// fresh process (a cold heap; the candle file is in the page cache). Besides
// candles/s of wall time it reports, per run, the child's CPU time per
// candle (user and system), minor page faults and peak RSS, from its
// rusage. TRADAI_BENCH_BIN runs another build of tradai instead, to compare
// builds on the same data.
func BenchmarkBacktestProcess1M(b *testing.B) { benchBacktestProcess(b, "sma_cross", nil, nil) }

// BenchmarkBacktestProcessReports1M is BenchmarkBacktestProcess1M with
// --export-json and --report (issue 20: together they may add at most 30 %
// to the run); it also reports the two files' sizes.
func BenchmarkBacktestProcessReports1M(b *testing.B) {
	benchBacktestProcess(b, "sma_cross", nil, func(dir string) []string {
		return []string{"--export-json", filepath.Join(dir, "result.json"), "--report", filepath.Join(dir, "report.html")}
	})
}

// BenchmarkBacktestProcessPython1M is BenchmarkBacktestProcess1M with the
// Python port examples/strategies/python/sma_cross.py (same trades), on
// the first interpreter that has numpy (TRADAI_PYTHON, python3 on the
// PATH, /usr/bin/python3; skipped when none does): "computed" as it runs,
// TradAI computing its indicators (candles.ta over the compute
// extension); "numpy" with the SDK computing them itself with numpy
// (TRADAI_NO_COMPUTE=1 hides TradAI's offer), "pure" in pure Python
// (TRADAI_NO_NUMPY=1 as well). Target: at least half the built-in's
// candles/s.
func BenchmarkBacktestProcessPython1M(b *testing.B) {
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "strategies", "python", "sma_cross.py"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("computed", func(b *testing.B) {
		benchBacktestProcess(b, script, []string{"TRADAI_PYTHON=" + numpyPython(b)}, nil)
	})
	// TradAI passes none of its environment on to a strategy: the
	// interpreter is started by a script that sets the SDK's switches.
	for _, v := range []struct{ name, env string }{
		{"numpy", "TRADAI_NO_COMPUTE=1"},
		{"pure", "TRADAI_NO_COMPUTE=1 TRADAI_NO_NUMPY=1"},
	} {
		b.Run(v.name, func(b *testing.B) {
			wrap := filepath.Join(b.TempDir(), "python3")
			sh := "#!/bin/sh\n" + v.env + " exec " + numpyPython(b) + ` "$@"` + "\n"
			if err := os.WriteFile(wrap, []byte(sh), 0o755); err != nil {
				b.Fatal(err)
			}
			benchBacktestProcess(b, script, []string{"TRADAI_PYTHON=" + wrap}, nil)
		})
	}
}

// numpyPython returns the interpreter of the first of $TRADAI_PYTHON,
// python3 on the PATH and /usr/bin/python3 (where CI installs Debian's
// python3-numpy) that has numpy, by its own path (sys.executable: not a
// launcher such as a pyenv shim, whose start every run would pay), and
// skips the benchmark when none has.
func numpyPython(b *testing.B) string {
	var candidates []string
	if p := os.Getenv("TRADAI_PYTHON"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range append(candidates, "/usr/bin/python3") {
		if out, err := exec.Command(p, "-c", "import sys, numpy; print(sys.executable)").Output(); err == nil {
			return string(bytes.TrimSpace(out))
		}
	}
	b.Skip("no python3 with numpy (apt install python3-numpy, or pip install numpy)")
	return ""
}

// benchBacktestProcess runs `tradai backtest` of strategy on one pair of
// 1,000,000 one-minute candles, once per iteration, with env added to the
// environment; files, when set, gives the arguments that write files into
// the run's temporary folder.
func benchBacktestProcess(b *testing.B, strategy string, env []string, files func(dir string) []string) {
	const n = 1_000_000
	dir := b.TempDir()
	datadir := filepath.Join(dir, "data")
	writeWalk(b, datadir, "BTC/USDT", n)
	cfg := filepath.Join(dir, "config.json")
	writeJSONFile(b, cfg, map[string]any{
		"strategy": strategy, "timeframe": "1m", "datadir": datadir,
		"exchange":       map[string]any{"name": "binance", "pair_whitelist": []string{"BTC/USDT"}},
		"stake_currency": "USDT", "stake_amount": "unlimited", "dry_run_wallet": 10_000,
		"max_open_trades": 1, "fee": 0.001, "tradable_balance_ratio": 0.99,
	})
	bin := os.Getenv("TRADAI_BENCH_BIN")
	if bin == "" {
		bin = buildTradai(b)
	}
	args := []string{"backtest", "--config", cfg}
	if v := os.Getenv("TRADAI_BENCH_ARGS"); v != "" {
		var extra []string
		if err := json.Unmarshal([]byte(v), &extra); err != nil {
			b.Fatalf("TRADAI_BENCH_ARGS: %v", err)
		}
		args = append(args, extra...)
	}
	if files != nil {
		args = append(args, files(dir)...)
	}
	var user, sys time.Duration
	var faults, rss int64
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v\n%s", err, out.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		user += time.Duration(ru.Utime.Nano())
		sys += time.Duration(ru.Stime.Nano())
		faults += ru.Minflt
		rss = max(rss, ru.Maxrss)
	}
	runs := float64(b.N)
	b.ReportMetric(n*runs/b.Elapsed().Seconds(), "candles/s")
	b.ReportMetric(float64(user.Nanoseconds())/runs/n, "user-ns/candle")
	b.ReportMetric(float64(sys.Nanoseconds())/runs/n, "sys-ns/candle")
	b.ReportMetric(float64(faults)/runs, "minflt/run")
	b.ReportMetric(float64(rss)/1024, "peak-RSS-MB")
	if files != nil {
		for _, f := range []struct{ name, unit string }{{"result.json", "MB-json"}, {"report.html", "MB-html"}} {
			fi, err := os.Stat(filepath.Join(dir, f.name))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/1e6, f.unit)
		}
	}
}

// writeJSONFile writes v as JSON to path.
func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, js, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeWalk stores n one-minute candles of a seeded random walk for pair
// on exchange binance under datadir.
func writeWalk(t testing.TB, datadir, pair string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 7))
	f := &sdk.Frame{Pair: pair, Timeframe: "1m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	t0 := int64(1_599_999_960_000) // on the minute grid
	for i := range n {
		o := price
		price *= math.Exp(r.NormFloat64() * 0.0015)
		f.Time[i] = t0 + int64(i)*60_000
		f.Open[i], f.Close[i], f.Volume[i] = o, price, 1+r.Float64()*10
		f.High[i] = math.Max(o, price) * (1 + r.Float64()*0.001)
		f.Low[i] = math.Min(o, price) * (1 - r.Float64()*0.001)
	}
	st, err := market.Open(datadir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	k := market.Key{Exchange: "binance", Pair: pair, Timeframe: "1m", Type: market.Spot}
	if _, err := st.Append(context.Background(), k, f); err != nil {
		t.Fatal(err)
	}
}
