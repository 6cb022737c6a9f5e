package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/sdk"
)

// BenchmarkStudyWorkersPostgres is the scaling of a distributed study
// from 1 to 2 workers on PostgreSQL: each worker is its own database
// handle and Worker (as a process would be) running one trial at a time,
// claiming batches of 16 through the database. The study is the issue's
// case: sma_cross on 1 pair × 100,000 5m candles (a synthetic random
// walk), searching buy, roi and stoploss at random; one op is a study of
// 256 trials, timed from the first claim to the last record: the study's
// creation and each worker's loading of its data (once per study per
// worker) are warm-up, untimed. Target: trials/s with 2 workers ≥ 80% of
// twice the rate with 1 (on 2 idle cores). cpu-ms/trial is this process's
// CPU time per trial (the workers' own work, their garbage collection
// included), pg-cpu-ms/trial that of the PostgreSQL backends serving them,
// both over the timed part: on 2 idle cores the 2-worker rate is at most
// about 2000 / (cpu-ms/trial + pg-cpu-ms/trial).
func BenchmarkStudyWorkersPostgres(b *testing.B) {
	base := os.Getenv(dbtest.EnvPostgres)
	if base == "" {
		b.Skipf("set %s to run it", dbtest.EnvPostgres)
	}
	// The handles name themselves, so that PostgreSQL's backends serving
	// them can be told from others' (pgBackendsCPU).
	app := fmt.Sprintf("studybench-%d", os.Getpid())
	tg := dbtest.Target{Dialect: db.Postgres, URL: dbtest.FreshSchema(b, base) + "&application_name=" + app}
	d := tg.Open(b)
	if err := d.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	f := setup(b, d)
	raw, err := os.ReadFile("../../examples/backtest.json")
	if err != nil {
		b.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		b.Fatal(err)
	}
	cfg["strategy"] = "sma_cross"
	cfg["exchange"] = map[string]any{"name": "binance", "pair_whitelist": []string{"BTC/USDT"}}
	cfg["stake_currency"], cfg["dry_run_wallet"] = "USDT", 1000
	full, _ := json.Marshal(cfg)
	data := b.TempDir()
	store, err := market.Open(data, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Append(context.Background(), market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "5m"}, synthetic(100_000)); err != nil {
		b.Fatal(err)
	}
	const epochs = 256
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ws := make([]*Worker, workers)
			for i := range ws {
				h := tg.Open(b)
				w, err := NewWorker(NewStore(h, runs.New(h, nil, 3, nil), nil), WorkerOptions{DataDir: data, Jobs: 1})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(w.Close)
				ws[i] = w
			}
			b.ResetTimer()
			var cpu, pg time.Duration
			for n := range b.N {
				// Warm-up, untimed: the study is created and every worker
				// loads its data (as a worker does once per study).
				b.StopTimer()
				st, err := f.store.Create(context.Background(), f.p, Request{Strategy: "sma_cross", Config: full,
					Spec: Spec{Spaces: []string{"buy", "roi", "stoploss"}, Epochs: epochs, Seed: uint64(n), Batch: 16}}, "", nil)
				if err != nil {
					b.Fatal(err)
				}
				for _, w := range ws {
					e, err := w.acquire(context.Background(), f.p, st.ID())
					if err != nil {
						b.Fatal(err)
					}
					w.releaseEnv(st.ID(), e)
				}
				cpu0, pg0 := cpuTime(b), pgBackendsCPU(b, d, app)
				b.StartTimer()
				var wg sync.WaitGroup
				errs := make([]error, workers)
				for i, w := range ws {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = drain(context.Background(), w, f.p, st.ID(), fmt.Sprintf("w%d", i))
					}()
				}
				wg.Wait()
				b.StopTimer()
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime(b) - cpu0
				pg += pgCPUSince(b, d, app, pg0)
				b.StartTimer()
			}
			b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "trials/s")
			b.ReportMetric(float64(cpu)/1e6/float64(epochs*b.N), "cpu-ms/trial")
			b.ReportMetric(float64(pg)/1e6/float64(epochs*b.N), "pg-cpu-ms/trial")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgBackendsCPU is the CPU time (user and system) so far of each of the
// PostgreSQL backends serving connections named app, by process id, read
// from /proc (PostgreSQL on this machine).
func pgBackendsCPU(tb testing.TB, d *db.DB, app string) map[int]time.Duration {
	rows, err := d.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = ?`, app)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // ended, or on another machine
		}
		// The fields after the command's closing parenthesis: utime and
		// stime are the 12th and 13th, in clock ticks (100 a second).
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(u+s) * 10 * time.Millisecond
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// pgCPUSince is the CPU time the backends serving app spent since before
// (pgBackendsCPU); a backend started since counts whole.
func pgCPUSince(tb testing.TB, d *db.DB, app string, before map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, c := range pgBackendsCPU(tb, d, app) {
		sum += c - before[pid]
	}
	return sum
}

// synthetic is n 5m candles of BTC/USDT: a seeded random walk.
func synthetic(n int) *sdk.Frame {
	r := rand.New(rand.NewPCG(1, 7))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "5m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	for i := range n {
		o := price
		price *= math.Exp(r.NormFloat64() * 0.003)
		f.Time[i] = 1_600_000_200_000 + int64(i)*300_000
		f.Open[i], f.Close[i] = o, price
		f.High[i] = math.Max(o, price) * (1 + r.Float64()*0.002)
		f.Low[i] = math.Min(o, price) * (1 - r.Float64()*0.002)
		f.Volume[i] = 1 + r.Float64()*10
	}
	return f
}
