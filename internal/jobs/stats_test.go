package jobs_test

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

func TestCountByState(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		ctx := context.Background()
		if got, err := e.svc.CountByState(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty queue: %v, %v", got, err)
		}
		for range 2 {
			if _, err := e.svc.Submit(ctx, e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := e.svc.CountByState(ctx); err != nil || len(got) != 1 || got["available"] != 2 {
			t.Fatalf("two submitted runs: %v, %v; want 2 available", got, err)
		}
	})
}
