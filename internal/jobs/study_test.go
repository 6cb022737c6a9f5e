package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/study"
)

func TestStudyRunsOnTheQueue(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		var ran atomic.Int64 // the trials the metrics are told of
		opts := fast()
		opts.Trials = func(n int) { ran.Add(int64(n)) }
		e := newEnv(t, d, opts, true)
		ctx := context.Background()
		st, err := e.svc.SubmitStudy(ctx, e.p(), study.Request{Strategy: "sma_cross", Config: exampleConfig(t),
			Spec: study.Spec{Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 24, Sampler: "tpe", Seed: 1, Batch: 5, Parallel: 2}}, "")
		if err != nil {
			t.Fatal(err)
		}
		r := e.waitTerminal(t, st.ID(), 60*time.Second)
		if r.Status != runs.Completed {
			t.Fatalf("study %s: %s", r.Status, r.Error)
		}
		got, err := e.svc.Studies().Get(ctx, e.p(), st.ID())
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts.Done() != 24 || got.Counts.Running+got.Counts.Pending != 0 {
			t.Fatalf("counts %+v, want 24 trials told", got.Counts)
		}
		// The batch that completes the study tells the metrics after its
		// last trial is stored, so the count may trail the study's status
		// by a moment.
		deadline := time.Now().Add(10 * time.Second)
		for ran.Load() < 24 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := ran.Load(); n != 24 {
			t.Errorf("the metrics were told of %d trials, want 24", n)
		}
		// Resuming a completed study is refused; a cancelled one resumes.
		if _, err := e.svc.ResumeStudy(ctx, e.p(), st.ID()); err == nil {
			t.Fatal("a completed study resumed")
		}
	})
}

func TestCancelledStudyResumesOnTheQueue(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		ctx := context.Background()
		st, err := e.svc.SubmitStudy(ctx, e.p(), study.Request{Strategy: "sma_cross", Config: exampleConfig(t),
			Spec: study.Spec{Spaces: []string{"roi", "stoploss"}, Epochs: 12, Seed: 1, Batch: 4}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CancelStudy(ctx, e.p(), st.ID()); err != nil {
			t.Fatal(err)
		}
		e.start(t)
		if _, err := e.svc.ResumeStudy(ctx, e.p(), st.ID()); err != nil {
			t.Fatal(err)
		}
		if r := e.waitTerminal(t, st.ID(), 60*time.Second); r.Status != runs.Completed {
			t.Fatalf("study %s: %s", r.Status, r.Error)
		}
		got, _ := e.svc.Studies().Get(ctx, e.p(), st.ID())
		if got.Counts.Done() != 12 {
			t.Fatalf("counts %+v", got.Counts)
		}
	})
}

// A batch job that fails its last attempt tells its trials as failed with
// the error and queues the study's next batch: the study moves on and
// completes (or fails past its failure share) instead of waiting for ever
// on trials left running.
func TestStudyBatchGivenUpTellsItsTrialsFailed(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		var calls atomic.Int32
		attempts := int32(e.store.MaxAttempts())
		e.svc.SetBeforeStudyEnqueue(func() error {
			if calls.Add(1) <= attempts {
				return errors.New("queue unavailable")
			}
			return nil
		})
		e.start(t)
		ctx := context.Background()
		st, err := e.svc.SubmitStudy(ctx, e.p(), study.Request{Strategy: "sma_cross", Config: exampleConfig(t),
			Spec: study.Spec{Spaces: []string{"roi", "stoploss"}, Epochs: 12, Seed: 1, Batch: 4, Parallel: 1}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r := e.waitTerminal(t, st.ID(), 20*time.Second); r.Status != runs.Completed {
			t.Fatalf("study %s: %s", r.Status, r.Error)
		}
		got, err := e.svc.Studies().Get(ctx, e.p(), st.ID())
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts != (study.Counts{Completed: 8, Failed: 4}) {
			t.Fatalf("counts %+v, want 8 completed and the given-up batch's 4 failed", got.Counts)
		}
		trials, err := e.svc.Studies().Trials(ctx, e.p(), st.ID(), study.ByNumber, 0, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trials {
			if tr.Status != study.TrialFailed || !strings.Contains(tr.Error, "queue unavailable") {
				t.Errorf("trial %d: %s, error %q", tr.Number, tr.Status, tr.Error)
			}
		}
	})
}
