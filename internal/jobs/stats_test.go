package jobs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
)

func TestCountJobs(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		ctx := context.Background()
		if got, err := e.svc.CountJobs(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty queue: %v, %v", got, err)
		}
		for range 2 {
			if _, err := e.svc.Submit(ctx, e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := e.svc.CountJobs(ctx); err != nil || len(got) != 1 || got[0] != (jobs.QueueCount{State: "available", Kind: "backtest", Jobs: 2}) {
			t.Fatalf("two submitted runs: %v, %v; want 2 available backtests", got, err)
		}
		if kinds := e.svc.Kinds(); !slices.Contains(kinds, "backtest") || !slices.Contains(kinds, "notify") {
			t.Errorf("kinds %v", kinds)
		}
	})
}
