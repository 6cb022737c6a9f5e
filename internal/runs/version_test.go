package runs_test

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

// A run records the registry version and code hash it runs; Get and List
// return them, and List filters by strategy and version.
func TestRunRecordsStrategyVersion(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		var ids []string
		for v := 1; v <= 2; v++ {
			sp := spec("mystrat")
			sp.StrategyVersion, sp.CodeSHA256 = v, "abc"+string(rune('0'+v))
			r, _, err := s.Create(ctx, alice, sp, "")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if _, _, err := s.Create(ctx, alice, spec("sma_cross"), ""); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, alice, ids[1])
		if err != nil || got.Spec.StrategyVersion != 2 || got.Spec.CodeSHA256 != "abc2" {
			t.Fatalf("stored run: version %d, hash %q, %v", got.Spec.StrategyVersion, got.Spec.CodeSHA256, err)
		}
		page, err := s.List(ctx, alice, runs.Filter{Strategy: "mystrat", StrategyVersion: 1}, "", 10)
		if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != ids[0] || page.Runs[0].Spec.CodeSHA256 != "abc1" {
			t.Fatalf("runs of mystrat@1: %+v, %v", page.Runs, err)
		}
		if page, err := s.List(ctx, alice, runs.Filter{Strategy: "mystrat"}, "", 10); err != nil || len(page.Runs) != 2 {
			t.Fatalf("runs of mystrat: %d, %v", len(page.Runs), err)
		}
		if page, err := s.List(ctx, alice, runs.Filter{Strategy: "sma_cross"}, "", 10); err != nil || len(page.Runs) != 1 || page.Runs[0].Spec.StrategyVersion != 0 {
			t.Fatalf("a built-in's run: %+v, %v", page.Runs, err)
		}
	})
}
