package jobs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
)

// BenchmarkSubmitToCompleted measures an embedded (SQLite) backtest of the
// example data (5 pairs, two days of 5m candles) from Submit until
// the run store says completed, with the default fetch intervals. It
// reports the p50 and p99 latency.
func BenchmarkSubmitToCompleted(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, d, jobs.Options{}, true)
	spec := runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(b)}
	var lat []time.Duration
	for b.Loop() {
		at := time.Now()
		r, err := e.svc.Submit(ctx, e.p(), spec, "")
		if err != nil {
			b.Fatal(err)
		}
		for {
			cur, err := e.store.Get(ctx, e.p(), r.ID)
			if err != nil {
				b.Fatal(err)
			}
			if cur.Status == runs.Completed {
				break
			}
			if cur.Status.Terminal() {
				b.Fatalf("run %s: %s", cur.Status, cur.Error)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(at))
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkThroughput measures how many small backtests (one pair, one day
// of 5m candles) the embedded queue completes per second with two workers:
// b.N runs are submitted up front, then the clock runs until all are done.
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	url := filepath.Join(b.TempDir(), "tradai.db")
	if base := os.Getenv(dbtest.EnvPostgres); base != "" && os.Getenv("TRADAI_BENCH_POSTGRES") != "" {
		url = dbtest.FreshSchema(b, base) // in-process workers on PostgreSQL
	}
	d, err := db.Open(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, d, jobs.Options{}, false)
	cfg := map[string]any{}
	if err := json.Unmarshal(exampleConfig(b), &cfg); err != nil {
		b.Fatal(err)
	}
	cfg["timerange"] = "20180110-20180111"
	cfg["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC"}
	raw, _ := json.Marshal(cfg)
	spec := runs.RunSpec{Strategy: "rsi_bollinger", Config: raw}
	for range b.N {
		if _, err := e.svc.Submit(ctx, e.p(), spec, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	e.start(b)
	for {
		var open int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		if open == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "backtests/s")
}
