package runs_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// ticking is a fake clock that moves one millisecond on at each reading,
// so that stamps differ.
type ticking struct{ *clock.Fake }

func (c ticking) Now() time.Time {
	c.Advance(time.Millisecond)
	return c.Fake.Now()
}

func newTicking() ticking { return ticking{clock.NewFake(time.UnixMilli(1700000000000))} }

func setup(t *testing.T, d *db.DB) (*runs.Store, tenancy.Principal, tenancy.Principal) {
	t.Helper()
	ctx := context.Background()
	ten := tenancy.New(d, newTicking(), nil)
	a, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ten.CreateUser(ctx, "bob", "globex")
	if err != nil {
		t.Fatal(err)
	}
	return runs.New(d, newTicking(), 2, nil), tenancy.Principal{Tenant: a.Tenant, User: a.ID}, tenancy.Principal{Tenant: b.Tenant, User: b.ID}
}

func spec(strategy string) runs.RunSpec {
	return runs.RunSpec{Strategy: strategy, Params: json.RawMessage(`{"fast": 10, "slow":30}`), Fingerprint: "fp1", Tags: map[string]string{"k": "v"}}
}

func auditCount(t *testing.T, d *db.DB, action string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotencyAndTenants(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		r1, created, err := s.Create(ctx, alice, spec("sma"), "key-1")
		if err != nil || !created || r1.Status != runs.Queued {
			t.Fatalf("Create = %+v, %v, %v", r1, created, err)
		}
		// Same key, same body (formatted differently) → the same run.
		same := spec("sma")
		same.Params = json.RawMessage(`{"fast":10,"slow":30}`)
		r2, created, err := s.Create(ctx, alice, same, "key-1")
		if err != nil || created || r2.ID != r1.ID {
			t.Fatalf("repeat Create = %s, %v, %v; want %s", r2.ID, created, err, r1.ID)
		}
		// Same key, different body → conflict.
		if _, _, err := s.Create(ctx, alice, spec("rsi"), "key-1"); !errors.Is(err, runs.ErrConflict) {
			t.Fatalf("conflicting Create = %v, want ErrConflict", err)
		}
		// The key is per tenant.
		rb, created, err := s.Create(ctx, bob, spec("rsi"), "key-1")
		if err != nil || !created {
			t.Fatalf("bob's Create = %v, %v", created, err)
		}
		if n := auditCount(t, d, "run.create"); n != 2 {
			t.Errorf("run.create audit rows = %d, want 2", n)
		}

		got, err := s.Get(ctx, alice, r1.ID)
		if err != nil || got.Spec.Strategy != "sma" || got.Spec.Tags["k"] != "v" || string(got.Spec.Params) != `{"fast":10,"slow":30}` || got.IdempotencyKey != "key-1" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx, bob, r1.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("cross-tenant Get = %v, want ErrNotFound", err)
		}
		if _, err := s.Cancel(ctx, bob, r1.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("cross-tenant Cancel = %v, want ErrNotFound", err)
		}
		page, err := s.List(ctx, bob, runs.Filter{}, "", 10)
		if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != rb.ID {
			t.Fatalf("bob's List = %+v, %v", page, err)
		}
		page, err = s.List(ctx, alice, runs.Filter{Strategy: "rsi"}, "", 10)
		if err != nil || len(page.Runs) != 0 {
			t.Fatalf("alice's rsi List = %+v, %v", page, err)
		}
		// Without a key, every Create is a new run.
		n1, _, _ := s.Create(ctx, alice, spec("sma"), "")
		n2, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if n1.ID == n2.ID {
			t.Fatal("keyless Creates returned one run")
		}
	})
}

func TestTransitions(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		illegal := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, runs.ErrIllegalTransition) {
				t.Fatalf("%s = %v, want ErrIllegalTransition", what, err)
			}
		}
		_, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Metrics: json.RawMessage(`{}`)})
		illegal("Complete queued", err)
		illegal("FinishStep queued", s.FinishStep(ctx, alice, r.ID, "load", "", nil, 0.25, ""))

		if r, err = s.MarkRunning(ctx, alice, r.ID, "load"); err != nil || r.Status != runs.Running || r.Attempts != 1 || r.Started.IsZero() {
			t.Fatalf("MarkRunning = %+v, %v", r, err)
		}
		if steps, err := s.Steps(ctx, alice, r.ID); err != nil || len(steps) != 1 || steps[0].Name != "load" || steps[0].Status != runs.Running {
			t.Fatalf("steps after MarkRunning = %+v, %v", steps, err)
		}
		_, err = s.MarkRunning(ctx, alice, r.ID, "load")
		illegal("MarkRunning running", err)
		if err := s.FinishStep(ctx, alice, r.ID, "load", "", nil, 0.25, "simulate"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, alice, r.ID); got.Progress != 0.25 {
			t.Fatalf("progress after the step = %v, want 0.25", got.Progress)
		}
		illegal("FinishStep twice", s.FinishStep(ctx, alice, r.ID, "load", "", nil, 0.5, ""))
		s.FinishStep(ctx, alice, r.ID, "simulate", "", errors.New("boom"), 0.9, "never")
		if got, _ := s.Get(ctx, alice, r.ID); got.Progress != 0.25 {
			t.Fatalf("a failed step moved progress to %v", got.Progress)
		}
		steps, err := s.Steps(ctx, alice, r.ID)
		if err != nil || len(steps) != 2 || steps[0].Status != runs.Completed || steps[1].Status != runs.Failed || steps[1].Error != "boom" {
			t.Fatalf("Steps = %+v, %v", steps, err)
		}

		arts := []runs.Artifact{{Name: "report.html", MediaType: "text/html", Content: []byte("<p>hi</p>\x00\xff")}}
		done, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Metrics: json.RawMessage(`{"profit": 1.5}`), DataFingerprint: "xxh64:0123456789abcdef", Artifacts: arts})
		if err != nil || done.Status != runs.Completed || string(done.Metrics) != `{"profit":1.5}` || done.Progress != 1 || done.Finished.IsZero() {
			t.Fatalf("Complete = %+v, %v", done, err)
		}
		// The second Complete is refused and changes nothing.
		_, err = s.Complete(ctx, alice, r.ID, runs.Outcome{Metrics: json.RawMessage(`{"profit": 99}`), Artifacts: []runs.Artifact{{Name: "other"}}})
		illegal("Complete twice", err)
		again, _ := s.Get(ctx, alice, r.ID)
		if string(again.Metrics) != `{"profit":1.5}` || !again.Finished.Equal(done.Finished) || again.DataFingerprint != "xxh64:0123456789abcdef" {
			t.Fatalf("stored result changed: %+v", again)
		}
		want := runs.Artifact{Name: "report.html", MediaType: "text/html", Size: 11, SHA256: fmt.Sprintf("%x", sha256.Sum256(arts[0].Content))}
		if got, err := s.Artifacts(ctx, alice, r.ID); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("Artifacts = %+v, %v; want %+v", got, err, want)
		}
		want.Content = arts[0].Content
		if got, err := s.ArtifactContent(ctx, alice, r.ID, "report.html"); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("ArtifactContent = %+v, %v", got, err)
		}
		if _, err := s.ArtifactContent(ctx, bob, r.ID, "report.html"); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("another tenant's ArtifactContent = %v, want ErrNotFound", err)
		}
		if _, err := s.ArtifactContent(ctx, alice, r.ID, "other"); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("ArtifactContent of a missing artifact = %v, want ErrNotFound", err)
		}
		// A row from before migration 12 has no content: a clear error, not an empty file.
		if _, err := d.Exec(ctx, `INSERT INTO artifacts (run_id, name, media_type, size, sha256) VALUES (?, 'old.html', 'text/html', 10, 'ab')`, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ArtifactContent(ctx, alice, r.ID, "old.html"); !errors.Is(err, runs.ErrArtifactNotStored) || !strings.Contains(err.Error(), `artifact "old.html" of run `+r.ID) {
			t.Fatalf("ArtifactContent of a file-era artifact = %v", err)
		}
		_, err = s.Cancel(ctx, alice, r.ID)
		illegal("Cancel completed", err)
		_, err = s.Fail(ctx, alice, r.ID, errors.New("x"), false)
		illegal("Fail completed", err)
		if n := auditCount(t, d, "run.complete"); n != 1 {
			t.Errorf("run.complete audit rows = %d, want 1", n)
		}

		// Retryable failures requeue until attempts (2) are used up.
		f, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, f.ID, "")
		if f, err = s.Fail(ctx, alice, f.ID, errors.New("worker lost"), true); err != nil || f.Status != runs.Queued || f.Error != "worker lost" {
			t.Fatalf("first retryable Fail = %+v, %v", f, err)
		}
		s.MarkRunning(ctx, alice, f.ID, "")
		if f, err = s.Fail(ctx, alice, f.ID, errors.New("worker lost"), true); err != nil || f.Status != runs.DeadLetter || f.Attempts != 2 {
			t.Fatalf("last retryable Fail = %+v, %v", f, err)
		}
		g, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, g.ID, "")
		if g, err = s.Fail(ctx, alice, g.ID, errors.New("bad config"), false); err != nil || g.Status != runs.Failed {
			t.Fatalf("Fail = %+v, %v", g, err)
		}
		c, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if c, err = s.Cancel(ctx, alice, c.ID); err != nil || c.Status != runs.Cancelled {
			t.Fatalf("Cancel = %+v, %v", c, err)
		}
		_, err = s.MarkRunning(ctx, alice, c.ID, "")
		illegal("MarkRunning cancelled", err)
		dl, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if dl, err = s.DeadLetter(ctx, alice, dl.ID, "job discarded"); err != nil || dl.Status != runs.DeadLetter {
			t.Fatalf("DeadLetter = %+v, %v", dl, err)
		}
		for action, want := range map[string]int{"run.start": 4, "run.fail": 3, "run.cancel": 1, "run.dead_letter": 1} {
			if n := auditCount(t, d, action); n != want {
				t.Errorf("%s audit rows = %d, want %d", action, n, want)
			}
		}
		page, err := s.List(ctx, alice, runs.Filter{Status: runs.DeadLetter}, "", 10)
		if err != nil || len(page.Runs) != 2 {
			t.Fatalf("List dead letters = %d, %v", len(page.Runs), err)
		}
	})
}

func TestCompleteRace(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, r.ID, "")
		const n = 4
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Metrics: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
				errs <- err
			}()
		}
		ok := 0
		for range n {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, runs.ErrIllegalTransition):
				t.Errorf("racing Complete: %v", err)
			}
		}
		if ok != 1 || auditCount(t, d, "run.complete") != 1 {
			t.Fatalf("%d Completes succeeded, want exactly 1", ok)
		}
	})
}

func TestListPaginationStableUnderInserts(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		want := map[string]bool{}
		for range 7 {
			r, _, err := s.Create(ctx, alice, spec("sma"), "")
			if err != nil {
				t.Fatal(err)
			}
			want[r.ID] = true
		}
		seen := map[string]bool{}
		cursor := ""
		var last runs.Run
		for pages := 0; ; pages++ {
			page, err := s.List(ctx, alice, runs.Filter{Strategy: "sma"}, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Runs {
				if seen[r.ID] {
					t.Fatalf("run %s listed twice", r.ID)
				}
				if last.ID != "" && (r.Created.After(last.Created) || (r.Created.Equal(last.Created) && r.ID > last.ID)) {
					t.Fatalf("order broken at %s", r.ID)
				}
				seen[r.ID], last = true, r
			}
			// New runs arriving between pages do not shift later pages.
			s.Create(ctx, alice, spec("sma"), "")
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if len(seen) != len(want) {
			t.Fatalf("listed %d runs, want the %d that existed at the start", len(seen), len(want))
		}
		for id := range want {
			if !seen[id] {
				t.Fatalf("run %s missing", id)
			}
		}
		if _, err := s.List(ctx, alice, runs.Filter{}, "garbage!", 3); err == nil {
			t.Fatal("bad cursor accepted")
		}
	})
}

func TestListByCreationTime(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		var made []runs.Run
		for range 4 {
			r, _, err := s.Create(ctx, alice, spec("sma"), "")
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, r)
		}
		// The store's clock ticks between runs: [second, fourth) holds the
		// second and the third.
		page, err := s.List(ctx, alice, runs.Filter{CreatedFrom: made[1].Created, CreatedTo: made[3].Created}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 2 || page.Runs[0].ID != made[2].ID || page.Runs[1].ID != made[1].ID {
			t.Fatalf("runs in [%v, %v): %+v", made[1].Created, made[3].Created, page.Runs)
		}
		if page, err := s.List(ctx, alice, runs.Filter{CreatedFrom: made[3].Created.Add(time.Millisecond)}, "", 10); err != nil || len(page.Runs) != 0 {
			t.Fatalf("runs after the last: %+v, %v", page.Runs, err)
		}
	})
}

func TestCreateSameKeyConcurrently(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		const n = 6
		ids := make(chan string, n)
		for range n {
			go func() {
				r, _, err := s.Create(ctx, alice, spec("sma"), "same")
				if err != nil {
					t.Errorf("Create: %v", err)
				}
				ids <- r.ID
			}()
		}
		first := <-ids
		for range n - 1 {
			if id := <-ids; id != first {
				t.Fatalf("same key gave runs %s and %s", first, id)
			}
		}
		page, _ := s.List(ctx, alice, runs.Filter{}, "", 10)
		if len(page.Runs) != 1 {
			t.Fatalf("%d runs stored, want 1", len(page.Runs))
		}
	})
}

func TestCreateWithRollsBackOnItsError(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		s, alice, _ := setup(t, d)
		ctx := context.Background()
		boom := errors.New("queue unavailable")
		_, _, err := s.CreateWith(ctx, alice, spec("sma_cross"), "k1", func(tx *db.Tx, r runs.Run) error { return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("CreateWith = %v, want the hook's error", err)
		}
		page, err := s.List(ctx, alice, runs.Filter{}, "", 10)
		if err != nil || len(page.Runs) != 0 {
			t.Fatalf("runs after a failed CreateWith: %d, %v", len(page.Runs), err)
		}
		calls := 0
		hook := func(tx *db.Tx, r runs.Run) error { calls++; return nil }
		r1, created, err := s.CreateWith(ctx, alice, spec("sma_cross"), "k1", hook)
		if err != nil || !created {
			t.Fatalf("CreateWith = %v, %v", created, err)
		}
		r2, created, err := s.CreateWith(ctx, alice, spec("sma_cross"), "k1", hook)
		if err != nil || created || r2.ID != r1.ID || calls != 1 {
			t.Fatalf("repeat: created %v, %s vs %s, hook calls %d, %v", created, r2.ID, r1.ID, calls, err)
		}
	})
}

func TestOnFinishRunsInTheTerminalTransition(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		base, alice, _ := setup(t, d)
		ctx := context.Background()
		var seen []string
		var fail error
		s := base.OnFinish(func(ctx context.Context, tx *db.Tx, r runs.Run) error {
			if fail != nil {
				return fail
			}
			// The hook sees the run as its transaction stored it.
			var st string
			if err := tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = ?`, r.ID).Scan(&st); err != nil || st != string(r.Status) {
				t.Errorf("in the hook the stored status is %q (%v), the run says %s", st, err, r.Status)
			}
			seen = append(seen, string(r.Status)+":"+r.Error)
			return nil
		})

		done, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, done.ID, "")
		fail = errors.New("queue unavailable")
		if _, err := s.Complete(ctx, alice, done.ID, runs.Outcome{}); !errors.Is(err, fail) {
			t.Fatalf("Complete with a failing hook = %v", err)
		}
		if r, _ := s.Get(ctx, alice, done.ID); r.Status != runs.Running {
			t.Fatalf("a failing hook left the run %s, want it rolled back to running", r.Status)
		}
		fail = nil
		if _, err := s.Complete(ctx, alice, done.ID, runs.Outcome{}); err != nil {
			t.Fatal(err)
		}
		retried, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, retried.ID, "")
		s.Fail(ctx, alice, retried.ID, errors.New("disk full"), true) // back to queued: not terminal
		s.MarkRunning(ctx, alice, retried.ID, "")
		s.Fail(ctx, alice, retried.ID, errors.New("disk full"), true) // attempts used up
		bad, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, bad.ID, "")
		s.Fail(ctx, alice, bad.ID, errors.New("bad config"), false)
		c, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.Cancel(ctx, alice, c.ID)
		want := []string{"completed:", "dead_letter:disk full", "failed:bad config", "cancelled:"}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("hook saw %v, want %v", seen, want)
		}
		// The Store it came from has no hook.
		plain, _, _ := base.Create(ctx, alice, spec("sma"), "")
		base.Cancel(ctx, alice, plain.ID)
		if len(seen) != len(want) {
			t.Fatalf("the original store called the hook: %v", seen)
		}
	})
}

func TestStepDetailAndPutStep(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		s, alice, bob := setup(t, d)
		ctx := context.Background()
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, r.ID, "ensure_data")
		if err := s.FinishStep(ctx, alice, r.ID, "ensure_data", "downloaded 10 candles", nil, 0.2, "record"); err != nil {
			t.Fatal(err)
		}
		// A step of earlier work still running (a webhook delivery being
		// retried) is not the one the completion ends.
		if err := s.PutStep(ctx, alice, r.ID, runs.Step{Name: "notify", Status: runs.Running, Started: time.UnixMilli(1)}); err != nil {
			t.Fatal(err)
		}
		s.Complete(ctx, alice, r.ID, runs.Outcome{Step: "record"})
		steps, _ := s.Steps(ctx, alice, r.ID)
		if len(steps) != 3 || steps[0].Name != "notify" || steps[0].Status != runs.Running || steps[2].Name != "record" || steps[2].Status != runs.Completed || steps[2].Finished.IsZero() {
			t.Fatalf("steps after Complete: %+v", steps)
		}
		at := time.UnixMilli(1700000100000)
		// After the run's end.
		if err := s.PutStep(ctx, alice, r.ID, runs.Step{Name: "notify", Status: runs.Running, Started: at, Detail: "attempt 1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutStep(ctx, alice, r.ID, runs.Step{Name: "notify", Status: runs.Failed, Started: at, Finished: at.Add(time.Second), Error: "HTTP 500", Detail: "attempt 2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutStep(ctx, bob, r.ID, runs.Step{Name: "notify", Status: runs.Completed, Started: at}); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("PutStep on another tenant's run = %v, want ErrNotFound", err)
		}
		steps, err := s.Steps(ctx, alice, r.ID)
		if err != nil || len(steps) != 3 {
			t.Fatalf("Steps = %+v, %v", steps, err)
		}
		if st := steps[0]; st.Name != "ensure_data" || st.Detail != "downloaded 10 candles" {
			t.Errorf("step %+v", st)
		}
		if st := steps[2]; st.Name != "notify" || st.Status != runs.Failed || st.Error != "HTTP 500" || st.Detail != "attempt 2" || !st.Finished.Equal(at.Add(time.Second)) {
			t.Errorf("step %+v", st)
		}
	})
}

func TestDelete(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		done, _, _ := s.Create(ctx, alice, spec("sma"), "key-1")
		s.MarkRunning(ctx, alice, done.ID, "validate")
		if _, err := s.Complete(ctx, alice, done.ID, runs.Outcome{Artifacts: []runs.Artifact{{Name: "result.json", MediaType: "application/json", Content: []byte("{}")}}}); err != nil {
			t.Fatal(err)
		}
		running, _, _ := s.Create(ctx, alice, spec("sma"), "")
		s.MarkRunning(ctx, alice, running.ID, "validate")
		queued, _, _ := s.Create(ctx, alice, spec("sma"), "")

		for _, id := range []string{running.ID, queued.ID} {
			if err := s.Delete(ctx, alice, id); !errors.Is(err, runs.ErrIllegalTransition) || !strings.Contains(err.Error(), "cancel it first") {
				t.Fatalf("Delete of an unfinished run = %v, want ErrIllegalTransition", err)
			}
		}
		if err := s.Delete(ctx, bob, done.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("Delete of another tenant's run = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, alice, done.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, alice, done.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("Get after Delete = %v", err)
		}
		if err := s.Delete(ctx, alice, done.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("second Delete = %v, want ErrNotFound", err)
		}
		for _, table := range []string{"run_steps", "artifacts"} {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE run_id = ?`, done.ID).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s rows left for the deleted run: %d, %v", table, n, err)
			}
		}
		var audits int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'run.delete' AND target = ?`, done.ID).Scan(&audits); err != nil || audits != 1 {
			t.Errorf("run.delete audit rows = %d, %v", audits, err)
		}
		// The idempotency key is free again: a new submission is a new run.
		again, created, err := s.Create(ctx, alice, spec("sma"), "key-1")
		if err != nil || !created || again.ID == done.ID {
			t.Fatalf("Create with the deleted run's key = %+v, %v, %v", again, created, err)
		}
	})
}

func TestListByTags(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		create := func(p tenancy.Principal, tags map[string]string) string {
			t.Helper()
			sp := spec("sma")
			sp.Tags = tags
			r, _, err := s.Create(ctx, p, sp, "")
			if err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		a := create(alice, map[string]string{"experiment": "rsi sweep", "fold": "1"})
		b := create(alice, map[string]string{"experiment": "rsi sweep", "fold": "2"})
		create(alice, map[string]string{"experiment": "rsi sweep 2", "fold": "1"})
		odd := create(alice, map[string]string{`we"ird'key`: `va"l\ue`, "$.x": "1"})
		create(alice, nil)
		create(bob, map[string]string{"experiment": "rsi sweep", "fold": "1"})
		list := func(tags map[string]string) []string {
			t.Helper()
			page, err := s.List(ctx, alice, runs.Filter{Tags: tags}, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range page.Runs {
				ids = append(ids, r.ID)
			}
			slices.Sort(ids)
			return ids
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		for _, c := range []struct {
			tags map[string]string
			want []string
		}{
			{map[string]string{"experiment": "rsi sweep"}, sorted(a, b)},
			{map[string]string{"experiment": "rsi sweep", "fold": "1"}, sorted(a)},
			{map[string]string{"experiment": "rsi"}, nil},
			{map[string]string{"fold": "3"}, nil},
			{map[string]string{`we"ird'key`: `va"l\ue`, "$.x": "1"}, sorted(odd)},
			{map[string]string{"$.x": "2"}, nil},
		} {
			if got := list(c.tags); !slices.Equal(got, c.want) {
				t.Errorf("tags %v: %v, want %v", c.tags, got, c.want)
			}
		}
	})
}
