package runs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

// A run may belong to a parent run of its tenant: Get and List show it,
// List filters by it, and a parent outlives its children.
func TestParentRuns(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		study, _, err := s.Create(ctx, alice, spec("sma"), "")
		if err != nil {
			t.Fatal(err)
		}
		if study.Spec.Parent != "" {
			t.Fatalf("a run without a parent has parent %q", study.Spec.Parent)
		}
		trial := spec("sma")
		trial.Parent = study.ID
		var children []string
		for range 2 {
			r, _, err := s.Create(ctx, alice, trial, "")
			if err != nil {
				t.Fatal(err)
			}
			children = append(children, r.ID)
		}
		got, err := s.Get(ctx, alice, children[0])
		if err != nil || got.Spec.Parent != study.ID {
			t.Fatalf("child's parent = %q, %v; want %s", got.Spec.Parent, err, study.ID)
		}
		page, err := s.List(ctx, alice, runs.Filter{Parent: study.ID}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 2 || page.Runs[0].ID != children[1] || page.Runs[1].ID != children[0] {
			t.Fatalf("children listed: %v", page.Runs)
		}
		if page, err := s.List(ctx, alice, runs.Filter{}, "", 10); err != nil || len(page.Runs) != 3 {
			t.Fatalf("unfiltered list: %d runs, %v", len(page.Runs), err)
		}
		for _, parent := range []string{children[0], "run_none", "bad\x00id"} {
			if page, err := s.List(ctx, alice, runs.Filter{Parent: parent}, "", 10); err != nil || len(page.Runs) != 0 {
				t.Fatalf("children of %q: %d runs, %v", parent, len(page.Runs), err)
			}
		}

		// Another tenant's run, or none, cannot be a parent.
		for _, parent := range []string{study.ID, "run_none"} {
			orphan := spec("sma")
			orphan.Parent = parent
			if _, _, err := s.Create(ctx, bob, orphan, "k"); !errors.Is(err, runs.ErrNotFound) {
				t.Fatalf("bob's run under %q: %v, want ErrNotFound", parent, err)
			}
		}
		// The parent is part of the request an idempotency key stands for.
		if _, _, err := s.Create(ctx, alice, trial, "key"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Create(ctx, alice, spec("sma"), "key"); !errors.Is(err, runs.ErrConflict) {
			t.Fatalf("same key without the parent: %v, want ErrConflict", err)
		}

		// A parent is deleted after its children.
		if _, err := s.Cancel(ctx, alice, study.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, alice, study.ID); !errors.Is(err, runs.ErrIllegalTransition) {
			t.Fatalf("deleting a parent with children: %v, want ErrIllegalTransition", err)
		}
		page, err = s.List(ctx, alice, runs.Filter{Parent: study.ID}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			if _, err := s.Cancel(ctx, alice, r.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, alice, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, alice, study.ID); err != nil {
			t.Fatalf("deleting a parent without children: %v", err)
		}
	})
}
