package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
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
	submitter, err := jobs.New(d, runs.New(d, time.Now, 3, nil), data, slog.New(slog.DiscardHandler), jobs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	spec, _ := json.Marshal(clienttest.Config(b, func(m map[string]any) {
		m["timerange"] = "20180110-20180111"
		m["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC"}
	}))
	for range b.N {
		if _, err := submitter.SubmitBacktest(ctx, tenancy.Principal{Tenant: u.Tenant}, runs.RunSpec{Strategy: "rsi_bollinger", Config: spec}, ""); err != nil {
			b.Fatal(err)
		}
	}
	bin := buildTradai(b)
	b.ResetTimer()
	for range 2 {
		startProcess(b, bin, "worker", "--database", tg.URL, "--datadir", data, "--workers", workersPerProcess, "--log-level", "warn")
	}
	waitAllTerminal(b, d, b.N, 10*time.Minute)
	b.StopTimer()
	if done := countWhere(b, d, `SELECT COUNT(*) FROM runs WHERE status = 'completed'`); done != b.N {
		b.Fatalf("%d of %d completed", done, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "backtests/s")
}
