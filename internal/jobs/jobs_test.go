package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

const dataDir = "../../examples/data"

// exampleConfig is examples/backtest.json cut to two days.
func exampleConfig(t testing.TB) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("../../examples/backtest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["timerange"] = "20180110-20180112"
	out, _ := json.Marshal(m)
	return out
}

type env struct {
	db     *db.DB
	store  *runs.Store
	svc    *jobs.Service
	tenant string
}

func newEnv(t testing.TB, d *db.DB, opts jobs.Options, start bool) *env {
	t.Helper()
	return newEnvIn(t, d, dataDir, opts, start)
}

// newEnvIn is newEnv on the market data folder data.
func newEnvIn(t testing.TB, d *db.DB, data string, opts jobs.Options, start bool) *env {
	t.Helper()
	ctx := context.Background()
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	store := runs.New(d, nil, 3, nil)
	svc, err := jobs.New(d, store, data, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: d, store: store, svc: svc, tenant: u.Tenant}
	if start {
		e.start(t)
	}
	return e
}

func (e *env) start(t testing.TB) {
	t.Helper()
	if err := e.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.svc.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

func (e *env) p() tenancy.Principal { return tenancy.Principal{Tenant: e.tenant} }

// waitStatus polls the run until it is terminal or the deadline passes.
func (e *env) waitTerminal(t testing.TB, id string, within time.Duration) runs.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := e.store.Get(context.Background(), e.p(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Terminal() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after %s (error %q)", id, r.Status, within, r.Error)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) auditCount(t testing.TB, id, action string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE target = ? AND action = ?`, id, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func fast() jobs.Options {
	return jobs.Options{FetchPoll: 10 * time.Millisecond, RetryBase: 10 * time.Millisecond}
}

func TestBacktestCompletes(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), true)
		ctx := context.Background()
		spec := runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}
		r, err := e.svc.Submit(ctx, e.p(), spec, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.Submit(ctx, e.p(), spec, "key-1")
		if err != nil || again.ID != r.ID {
			t.Fatalf("resubmit = %s, %v; want the same run %s", again.ID, err, r.ID)
		}
		var jobsQueued int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'backtest'`).Scan(&jobsQueued); err != nil || jobsQueued != 1 {
			t.Fatalf("%d jobs queued for one run submitted twice, %v; want 1", jobsQueued, err)
		}
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed || done.Progress != 1 || done.Attempts != 1 {
			t.Fatalf("run %s, progress %v, attempts %d, error %q", done.Status, done.Progress, done.Attempts, done.Error)
		}
		var m map[string]any
		if err := json.Unmarshal(done.Metrics, &m); err != nil || m["total_trades"] == nil {
			t.Fatalf("metrics %s: %v", done.Metrics, err)
		}
		steps, err := e.store.Steps(ctx, e.p(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range steps {
			names = append(names, s.Name)
			if s.Status != runs.Completed || s.Finished.Before(s.Started) {
				t.Errorf("step %+v", s)
			}
		}
		slices.Sort(names)
		if want := []string{"ensure_data", "record", "run", "validate"}; !slices.Equal(names, want) {
			t.Errorf("steps %v, want %v", names, want)
		}
		arts, err := e.store.Artifacts(ctx, e.p(), r.ID)
		if err != nil || len(arts) != 2 {
			t.Fatalf("artifacts %+v, %v", arts, err)
		}
		for _, a := range arts {
			got, err := e.store.ArtifactContent(ctx, e.p(), r.ID, a.Name)
			if err != nil || int64(len(got.Content)) != a.Size || a.Size == 0 || len(a.SHA256) != 64 {
				t.Errorf("artifact %+v stored: %d bytes, %v", a, len(got.Content), err)
			}
		}
		stored, err := e.store.ArtifactContent(ctx, e.p(), r.ID, "result.json")
		if err != nil {
			t.Fatal(err)
		}
		if res, m, err := report.ReadJSON(bytes.NewReader(stored.Content)); err != nil || res.Strategy != "rsi_bollinger" || m.Summary.TotalTrades != len(res.Trades) {
			t.Errorf("result.json read back: %v", err)
		}
		if n := e.auditCount(t, r.ID, "run.start"); n != 1 {
			t.Errorf("%d starts, want 1 (resubmission enqueued again?)", n)
		}
	})
}

func TestBadStrategyFailsAtOnce(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), true)
		r, err := e.svc.Submit(context.Background(), e.p(), runs.RunSpec{Strategy: "no_such_strategy", Config: exampleConfig(t)}, "")
		if err != nil {
			t.Fatal(err)
		}
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Failed || done.Attempts != 1 || !strings.Contains(done.Error, "no_such_strategy") {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		steps, _ := e.store.Steps(context.Background(), e.p(), r.ID)
		if len(steps) != 1 || steps[0].Name != "validate" || steps[0].Status != runs.Failed || steps[0].Error == "" {
			t.Fatalf("steps %+v", steps)
		}
	})
}

// runHeldInRunStep submits a run whose run step blocks until its context
// ends, and waits until it is there; stopped receives when the step ended.
func runHeldInRunStep(t *testing.T, e *env) (r runs.Run, stopped <-chan time.Time) {
	t.Helper()
	started := make(chan struct{})
	ended := make(chan time.Time, 1)
	e.svc.SetBeforeRun(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		ended <- time.Now()
		return ctx.Err()
	})
	e.start(t)
	r, err := e.svc.Submit(context.Background(), e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the run step never started")
	}
	return r, ended
}

func TestCancelRunningStopsWithinASecond(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		r, stopped := runHeldInRunStep(t, e)
		at := time.Now()
		if _, err := e.svc.Cancel(context.Background(), e.p(), r.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case when := <-stopped:
			if d := when.Sub(at); d > time.Second {
				t.Errorf("worker stopped %s after the cancel, want ≤ 1s", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("worker did not stop after the cancel")
		}
		done := e.waitTerminal(t, r.ID, 5*time.Second)
		if done.Status != runs.Cancelled {
			t.Fatalf("run %s, want cancelled", done.Status)
		}
		if n := e.auditCount(t, r.ID, "run.complete"); n != 0 {
			t.Fatalf("cancelled run completed %d times", n)
		}
	})
}

// A run cancelled and deleted at once (before the worker's next status
// poll) still stops its job: the vanished row counts as "no longer running".
func TestCancelAndDeleteStopsTheJob(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		r, stopped := runHeldInRunStep(t, e)
		ctx := context.Background()
		if _, err := e.svc.Cancel(ctx, e.p(), r.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Delete(ctx, e.p(), r.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("the job of a deleted run kept running")
		}
	})
}

func TestRetriesExhaustedDeadLetter(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		var calls atomic.Int32
		var fixed atomic.Bool
		e.svc.SetBeforeRun(func(context.Context) error {
			if fixed.Load() {
				return nil
			}
			calls.Add(1)
			return errors.New("object store unavailable")
		})
		e.start(t)
		r, err := e.svc.Submit(context.Background(), e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, "")
		if err != nil {
			t.Fatal(err)
		}
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.DeadLetter || done.Attempts != 3 || !strings.Contains(done.Error, "object store unavailable") {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		if n := calls.Load(); n != 3 {
			t.Fatalf("%d attempts ran, want 3", n)
		}

		// The cause is fixed: a retry re-queues the dead letter with fresh
		// attempts and it completes.
		fixed.Store(true)
		again, err := e.svc.Retry(context.Background(), e.p(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != runs.Queued || again.Attempts != 0 || again.Error != "" {
			t.Fatalf("after retry: %s, %d attempts, error %q", again.Status, again.Attempts, again.Error)
		}
		done = e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed || done.Attempts != 1 {
			t.Fatalf("retried run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		if _, err := e.svc.Retry(context.Background(), e.p(), r.ID); !errors.Is(err, runs.ErrIllegalTransition) {
			t.Fatalf("retrying a completed run: %v, want ErrIllegalTransition", err)
		}
	})
}

func TestOrphanIsRerunOnce(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		opts := fast()
		// The re-run beats well within StaleAfter (as tradai serve sets it,
		// a quarter of it at most): a re-run slower than StaleAfter on a
		// loaded machine is not taken for an orphan again.
		opts.StaleAfter, opts.Heartbeat, opts.RescueEvery = time.Second, 100*time.Millisecond, 50*time.Millisecond
		e := newEnv(t, d, opts, false)
		ctx := context.Background()
		// A run whose worker died: running, last heartbeat long ago, and
		// its River job stuck in running.
		r, _, err := e.store.Create(ctx, e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.MarkRunning(ctx, e.p(), r.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ?`, time.Now().Add(-time.Hour).UnixMilli(), r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, fmt.Sprintf(`INSERT INTO river_job (args, attempt, kind, max_attempts, priority, queue, state, tags, metadata)
			VALUES ('{"run_id":"%s","tenant":"%s"}', 1, 'backtest', 3, 1, 'default', 'running', '[]', '{}')`, r.ID, e.tenant)); err != nil {
			// river_job's tags column is an array on PostgreSQL.
			if _, err2 := d.Exec(ctx, fmt.Sprintf(`INSERT INTO river_job (args, attempt, kind, max_attempts, priority, queue, state, tags, metadata)
				VALUES ('{"run_id":"%s","tenant":"%s"}', 1, 'backtest', 3, 1, 'default', 'running', '{}', '{}')`, r.ID, e.tenant)); err2 != nil {
				t.Fatalf("insert stuck job: %v; %v", err, err2)
			}
		}
		at := time.Now()
		e.start(t)
		done := e.waitTerminal(t, r.ID, 60*time.Second)
		if done.Status != runs.Completed || done.Attempts != 2 {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		if took := time.Since(at); took > 60*time.Second {
			t.Errorf("orphan re-run took %s", took)
		}
		if n := e.auditCount(t, r.ID, "run.complete"); n != 1 {
			t.Fatalf("completed %d times, want once", n)
		}
		// Rescuing again finds nothing.
		if n, err := e.svc.RescueOrphans(ctx); err != nil || n != 0 {
			t.Fatalf("second rescue = %d, %v", n, err)
		}
	})
}

// Re-queueing an orphan and inserting its new job are one transaction: a
// crash between the two leaves the run running (an orphan the next rescue
// finds), never queued without a job that would run it.
func TestOrphanRescueIsAtomic(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		ctx := context.Background()
		r, _, err := e.store.Create(ctx, e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.MarkRunning(ctx, e.p(), r.ID, ""); err != nil {
			t.Fatal(err)
		}
		// Its worker died an hour ago.
		long := time.Now().Add(-time.Hour).UnixMilli()
		if _, err := d.Exec(ctx, `UPDATE runs SET heartbeat_at = ?, started_at = ? WHERE id = ?`, long, long, r.ID); err != nil {
			t.Fatal(err)
		}
		jobs := func() int {
			t.Helper()
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'backtest'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		crash := errors.New("crash between re-queue and enqueue")
		e.svc.SetBeforeRequeueInsert(func(string) error { return crash })
		if _, err := e.svc.RescueOrphans(ctx); !errors.Is(err, crash) {
			t.Fatalf("rescue with a crash = %v, want the crash", err)
		}
		got, err := e.store.Get(ctx, e.p(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != runs.Running || jobs() != 0 {
			t.Fatalf("after the crash: run %s with %d jobs, want running with none (rolled back)", got.Status, jobs())
		}

		e.svc.SetBeforeRequeueInsert(nil)
		if n, err := e.svc.RescueOrphans(ctx); err != nil || n != 1 {
			t.Fatalf("rescue = %d, %v; want 1", n, err)
		}
		if got, _ := e.store.Get(ctx, e.p(), r.ID); got.Status != runs.Queued || jobs() != 1 {
			t.Fatalf("after the rescue: run %s with %d jobs, want queued with one", got.Status, jobs())
		}
		e.start(t)
		if done := e.waitTerminal(t, r.ID, 60*time.Second); done.Status != runs.Completed {
			t.Fatalf("rescued run %s (error %q)", done.Status, done.Error)
		}
		if n := e.auditCount(t, r.ID, "run.complete"); n != 1 {
			t.Fatalf("completed %d times, want once", n)
		}
	})
}

// A worker re-queues a run after a retryable failure with its new job in
// the same transaction: a crash there leaves the run running, the orphan
// rescuer puts it back, and it completes once.
func TestRetryRequeueIsAtomic(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		opts := fast()
		opts.StaleAfter, opts.Heartbeat, opts.RescueEvery = time.Second, 100*time.Millisecond, 50*time.Millisecond
		e := newEnv(t, d, opts, false)
		var failed atomic.Bool
		e.svc.SetBeforeRun(func(context.Context) error {
			if failed.CompareAndSwap(false, true) {
				return errors.New("object store unavailable")
			}
			return nil
		})
		var crashed atomic.Bool
		e.svc.SetBeforeRequeueInsert(func(string) error {
			if crashed.CompareAndSwap(false, true) {
				return errors.New("crash between re-queue and enqueue")
			}
			return nil
		})
		e.start(t)
		r, err := e.svc.Submit(context.Background(), e.p(), runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)}, "")
		if err != nil {
			t.Fatal(err)
		}
		done := e.waitTerminal(t, r.ID, 60*time.Second)
		if done.Status != runs.Completed || !crashed.Load() {
			t.Fatalf("run %s after %d attempts (error %q), crash injected: %v", done.Status, done.Attempts, done.Error, crashed.Load())
		}
		if n := e.auditCount(t, r.ID, "run.complete"); n != 1 {
			t.Fatalf("completed %d times, want once", n)
		}
		if n := e.auditCount(t, r.ID, "run.fail"); n != 1 {
			t.Fatalf("%d failures recorded, want 1 (the rescue; the crashed re-queue rolled back)", n)
		}
	})
}
