package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
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
	tg := dbtest.Target{Dialect: db.Postgres, URL: dbtest.FreshSchema(b, base)}
	d, data, submit := workerQueue(b, tg)
	spec, _ := json.Marshal(clienttest.Config(b, func(m map[string]any) {
		m["timerange"] = "20180110-20180111"
		m["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC"}
	}))
	for range b.N {
		submit(runs.RunSpec{Strategy: "rsi_bollinger", Config: spec})
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
