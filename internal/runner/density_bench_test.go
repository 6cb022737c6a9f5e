package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/simexchange"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/wasm"
	"github.com/tradai/tradai/sdk"
)

// densityCount is how many deployments BenchmarkDensity runs of a
// runtime: $TRADAI_BENCH_DEPLOYMENTS for the built-in and wasm,
// $TRADAI_BENCH_PY_DEPLOYMENTS for Python (defaults 50 and 10, so that
// make bench stays short; the figures are 500 and 100).
func densityCount(b *testing.B, name string) int {
	env, def := "TRADAI_BENCH_DEPLOYMENTS", 50
	if name == "python" {
		env, def = "TRADAI_BENCH_PY_DEPLOYMENTS", 10
	}
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		b.Fatalf("$%s=%q: want a count of 2 or more", env, v)
	}
	return n
}

// densitySymbols is how many pairs the simulator replays; deployment i
// trades pair i modulo it.
const densitySymbols = 10

const (
	tf1m  = sdk.Timeframe("1m")
	dur1m = 60_000
)

// walk1m is a pair's 1m candles from 240 minutes before start for n
// minutes after it: a seeded random walk on a 0.01 tick.
func walk1m(pair string, seed uint64, n int) *sdk.Frame {
	rng := rand.New(rand.NewPCG(seed, 11))
	f := &sdk.Frame{Pair: pair, Timeframe: tf1m}
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	price := 100.0
	for t := start - 240*dur1m; t < start+int64(n)*dur1m; t += dur1m {
		open := price
		cl := round(open * math.Exp(rng.NormFloat64()*0.002))
		f.Time = append(f.Time, t)
		f.Open, f.Close = append(f.Open, open), append(f.Close, cl)
		f.High = append(f.High, round(max(open, cl)*(1+math.Abs(rng.NormFloat64())*0.001)))
		f.Low = append(f.Low, round(min(open, cl)*(1-math.Abs(rng.NormFloat64())*0.001)))
		f.Volume = append(f.Volume, 1000+float64(rng.IntN(1000)))
		price = cl
	}
	return f
}

// densityStore tells when a deployment started (its cold start: from its
// job's start to MarkRunning) and when it recorded a tick.
type densityStore struct {
	runner.Store
	began  time.Time
	events chan<- densityEvent
}

type densityEvent struct {
	started bool
	took    time.Duration // a start: since the job began
	at      time.Time     // a tick: when it was recorded
}

func (s *densityStore) MarkRunning(ctx context.Context, l deploy.Lease) error {
	err := s.Store.MarkRunning(ctx, l)
	if err == nil {
		s.events <- densityEvent{started: true, took: time.Since(s.began)}
	}
	return err
}

func (s *densityStore) RecordLater(ctx context.Context, l deploy.Lease, w deploy.Write) error {
	err := s.Store.RecordLater(ctx, l, w)
	if err == nil && !w.Tick.IsZero() {
		s.events <- densityEvent{at: time.Now()}
	}
	return err
}

// BenchmarkDensity runs many paper deployments of sma_cross (one pair
// each, 1m candles) on one Host against one in-process simulator: tick-p50/p99-ms from a candle close on the stream to
// each deployment's tick recorded (one op is one close, every deployment
// ticking; the store on SQLite, or PostgreSQL: densityDatabase), heap-MB/dep and rss-MB/dep (live heap and resident set
// grown by starting them and their ticks, ÷ N; a Python strategy's process is not in the
// runner's: strategy-MB/dep is the peak the runtimes reported),
// cpu-ms/tick (the process's CPU time per deployment tick: what
// the figures are on a busy machine), cold-start-ms of one deployment alone (its job: open the strategy and
// the venue, restore, warm up, reconcile, mark running) and the p50/p99
// of the rest started at once (Python four at a time), restarts (jobs
// that failed while ticking). N: densityCount.
func BenchmarkDensity(b *testing.B) {
	for _, name := range []string{"builtin", "wasm", "python"} {
		b.Run(name, func(b *testing.B) { benchDensity(b, name, densityCount(b, name)) })
	}
}

func benchDensity(b *testing.B, name string, n int) {
	ctx := context.Background()
	cache := b.TempDir() // the Python SDK, unpacked by this first open
	if name == "python" {
		if _, err := exec.LookPath("python3"); err != nil {
			b.Skip("no python3 on the PATH")
		}
		_, closeFn, err := startRuntime(ctx, name, nil, cache)
		if err != nil {
			b.Fatal(err)
		}
		closeFn()
	}
	// The simulator: densitySymbols pairs of 1m candles, an account per
	// deployment.
	const minutes = 2 * 24 * 60
	var syms []sim.Symbol
	var series []replay.Series
	var symPairs []string
	for i := range densitySymbols {
		pair := fmt.Sprintf("P%02d/USDT", i)
		f := walk1m(pair, uint64(i+1), minutes)
		sym, err := replay.DefaultSymbol(pair, f)
		if err != nil {
			b.Fatal(err)
		}
		s, err := replay.FromFrame(sym.Name, f, sym.TickSize)
		if err != nil {
			b.Fatal(err)
		}
		syms, series, symPairs = append(syms, sym), append(series, s), append(symPairs, pair)
	}
	simCfg := sim.DefaultConfig()
	simCfg.HistoryLimit = 1 << 20
	eng, err := sim.New(simCfg, syms, nil)
	if err != nil {
		b.Fatal(err)
	}
	feed, err := replay.New(eng, series, replay.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := feed.AdvanceTo(start); err != nil {
		b.Fatal(err)
	}
	clk := clock.NewSkipping(time.UnixMilli(start))
	d, err := db.Open(ctx, densityDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	u, err := tenancy.New(d, clk, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		b.Fatal(err)
	}
	store, err := deploy.New(deploy.Config{DB: d, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`{"strategy": "sma_cross", "timeframe": "1m", "stake_currency": "USDT", "stake_amount": 100,
		"max_open_trades": 1, "dry_run_wallet": 1000, "fee": 0.001}`), "density.json")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		acct := fmt.Sprintf("acct-%d", i)
		if err := eng.CreateAccount(acct); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Fund(feed.Now(), acct, "USDT", fixed.MustParse("1000")); err != nil {
			b.Fatal(err)
		}
		if _, err := store.Create(ctx, tenancy.Principal{Tenant: u.Tenant, User: u.ID}, deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim",
			Account: acct, Pairs: []string{symPairs[i%densitySymbols]}, Timeframe: tf1m}); err != nil {
			b.Fatal(err)
		}
	}
	var rt *wasm.Runtime
	if name == "wasm" {
		// As the platform's: machine code cached on disk, here compiled
		// once before (a deployment's start loads it from the cache).
		if rt, err = wasm.New(ctx, wasm.Options{CacheDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		_, closeFn, err := startRuntime(ctx, name, rt, cache)
		if err != nil {
			b.Fatal(err)
		}
		closeFn()
	}
	heap0, rss0 := memNow()

	events := make(chan densityEvent, 2*n)
	job := func(ctx context.Context, l deploy.Lease) error {
		began := time.Now()
		dep, err := store.Deployment(ctx, l)
		if err != nil {
			return err
		}
		x, err := simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: dep.Spec.Account, Clock: clk})
		if err != nil {
			return err
		}
		strat, closeFn, err := startRuntime(ctx, name, rt, cache)
		if err != nil {
			return err
		}
		defer closeFn()
		spec := strat.Spec()
		params, err := spec.Resolve(nil)
		if err != nil {
			return err
		}
		rules, acct, err := cfg.Trading(spec)
		if err != nil {
			return err
		}
		r, err := runner.New(runner.Config{Store: &densityStore{Store: store, began: began, events: events}, Lease: l, Pairs: dep.Spec.Pairs,
			Timeframe: tf1m, Exchange: x, Strategy: strat, Params: params, Rules: rules, Account: acct, Clock: clk, StreamWait: time.Hour})
		if err != nil {
			return err
		}
		return r.Run(ctx)
	}
	// wait takes events until f counted k of them.
	wait := func(what string, k int, f func(densityEvent) bool) {
		b.Helper()
		for i := 0; i < k; {
			select {
			case e := <-events:
				if f(e) {
					i++
				}
			case <-time.After(5 * time.Minute):
				b.Fatalf("%s: %d of %d after 5 minutes", what, i, k)
			}
		}
	}
	hctx, stop := context.WithCancel(ctx)
	var hosts []chan error
	host := func(name string, max int) {
		h, err := runner.NewHost(runner.HostConfig{Name: name, Leases: store, Job: job, Max: max, TTL: 24 * time.Hour, Heartbeat: time.Hour, Clock: clk,
			Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- h.Run(hctx) }()
		hosts = append(hosts, done)
	}
	defer func() {
		stop()
		for _, h := range hosts {
			<-h
		}
	}()
	// One deployment alone, then the rest at once (a second host in the
	// same process: one runner process's memory and CPU).
	var solo time.Duration
	host("solo", 1)
	wait("the first deployment's start", 1, func(e densityEvent) bool { solo = e.took; return true })
	var starts []time.Duration
	host("rest", n-1)
	wait("the deployments' starts", n-1, func(e densityEvent) bool { starts = append(starts, e.took); return true })

	now, last := start, start+minutes*dur1m
	restarts := 0
	close := func() []time.Duration {
		b.Helper()
		if now += dur1m; now > last {
			b.Fatal("out of candles: run with a smaller -benchtime")
		}
		clk.Set(time.UnixMilli(now))
		began := time.Now()
		if err := feed.AdvanceTo(now); err != nil {
			b.Fatal(err)
		}
		var ticks []time.Duration
		wait("the ticks at "+time.UnixMilli(now).UTC().String(), n, func(e densityEvent) bool {
			if e.started { // its job failed (the host logged why) and was restarted
				restarts++
				return false
			}
			ticks = append(ticks, e.at.Sub(began))
			return true
		})
		return ticks
	}
	// The first close after the start is apart: a runtime's first call
	// (a wasm module's runtime initialising) is part of its start.
	first := close()
	var ticks []time.Duration
	cpu0 := processCPU()
	for b.Loop() {
		ticks = append(ticks, close()...)
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	heap1, rss1 := memNow() // the deployments started and ticking
	var peak int64
	var stratCPU time.Duration
	deps, err := store.List(ctx, tenancy.Principal{Tenant: u.Tenant})
	if err != nil {
		b.Fatal(err)
	}
	for _, dep := range deps {
		peak += dep.Cost.PeakMemory
		stratCPU += dep.Cost.CPU
	}
	b.ReportMetric(float64(n), "deployments")
	b.ReportMetric(float64(restarts), "restarts")
	reportPercentiles(b, "tick", ticks)
	reportPercentiles(b, "first-tick", first)
	b.ReportMetric(float64(cpu)/1e6/float64(len(ticks)), "cpu-ms/tick")
	b.ReportMetric(float64(heap1-heap0)/float64(n)/(1<<20), "heap-MB/dep")
	b.ReportMetric(float64(rss1-rss0)/float64(n)/(1<<20), "rss-MB/dep")
	b.ReportMetric(float64(peak)/float64(len(deps))/(1<<20), "strategy-MB/dep")
	if name == "python" { // its processes' CPU is not the runner's: the cost recorded over the run, its start included
		b.ReportMetric(float64(stratCPU)/1e6/float64(len(deps)), "strategy-cpu-ms/dep")
	}
	b.ReportMetric(float64(solo)/1e6, "cold-start-ms")
	reportPercentiles(b, "cold-start-burst", starts)
}

// densityDatabase is the store's database: SQLite (the embedded
// runner's), or with $TRADAI_BENCH_DB=postgres a fresh schema on
// $TRADAI_TEST_POSTGRES (a runner tier's).
func densityDatabase(b *testing.B) string {
	switch v := os.Getenv("TRADAI_BENCH_DB"); v {
	case "", "sqlite":
		return "sqlite://" + filepath.Join(b.TempDir(), "tradai.db")
	case "postgres":
		base := os.Getenv(dbtest.EnvPostgres)
		if base == "" {
			b.Fatalf("$TRADAI_BENCH_DB=postgres needs $%s", dbtest.EnvPostgres)
		}
		return dbtest.FreshSchema(b, base)
	default:
		b.Fatalf("$TRADAI_BENCH_DB=%q: want sqlite or postgres", v)
		return ""
	}
}

// processCPU is the CPU time this process used so far (user and system;
// its children's not).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memNow is the live heap after a collection and the process's resident
// set, in bytes.
func memNow() (heap, rss int64) {
	runtime.GC()
	runtime.GC() // what a finalizer kept goes in the second
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				rss = kb * 1024
			}
		}
	}
	return int64(m.HeapAlloc), rss
}
