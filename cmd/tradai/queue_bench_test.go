package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// BenchmarkQueuePostgresTwoWorkers measures small backtests (one pair, one
// day of 5m candles) per second through the PostgreSQL queue with two
// "tradai worker" processes (the real binary, 2 jobs at a time each): b.N
// runs are queued first, then the clock runs from the workers' start until
// the last run completes. Needs TRADAI_TEST_POSTGRES.
func BenchmarkQueuePostgresTwoWorkers(b *testing.B) {
	workersPerProcess := "8"
	if v := os.Getenv("TRADAI_BENCH_WORKERS"); v != "" {
		workersPerProcess = v
	}
	base := os.Getenv(dbtest.EnvPostgres)
	if base == "" {
		b.Skipf("set %s to a PostgreSQL URL", dbtest.EnvPostgres)
	}
	ctx := context.Background()
	tg := dbtest.Target{Dialect: db.Postgres, URL: dbtest.FreshSchema(b, base)}
	d := tg.Open(b)
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	u, err := tenancy.New(d, time.Now, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		b.Fatal(err)
	}
	data, _ := filepath.Abs("../../examples/data")
	arts := b.TempDir()
	submitter, err := jobs.New(d, runs.New(d, time.Now, 3, nil), data, arts, slog.New(slog.DiscardHandler), jobs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var cfg map[string]any
	raw, _ := os.ReadFile("../../examples/backtest.json")
	if err := json.Unmarshal(raw, &cfg); err != nil {
		b.Fatal(err)
	}
	cfg["timerange"] = "20180110-20180111"
	cfg["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC"}
	spec, _ := json.Marshal(cfg)
	for range b.N {
		if _, err := submitter.SubmitBacktest(ctx, tenancy.Principal{Tenant: u.Tenant}, runs.RunSpec{Strategy: "rsi_bollinger", Config: spec}, ""); err != nil {
			b.Fatal(err)
		}
	}
	bin := filepath.Join(b.TempDir(), "tradai")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build tradai: %v\n%s", err, out)
	}
	b.ResetTimer()
	for range 2 {
		startProcess(b, bin, "worker", "--database", tg.URL, "--datadir", data, "--artifacts", arts, "--workers", workersPerProcess, "--log-level", "warn")
	}
	for {
		var open int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		if open == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	var done int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE status = 'completed'`).Scan(&done); err != nil || done != b.N {
		b.Fatalf("%d of %d completed (%v)", done, b.N, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "backtests/s")
}
