package runs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

// Text PostgreSQL refuses (a NUL byte, invalid UTF-8) and SQLite stores
// behaves the same on both: names, keys and tags are refused, ids and
// filters find nothing, and error messages are cleaned before they are
// written, so a run whose error holds a NUL is recorded with its error.
func TestTextTheDatabasesDisagreeOn(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		for name, change := range map[string]func(*runs.RunSpec, *string){
			"NUL in strategy":         func(sp *runs.RunSpec, _ *string) { sp.Strategy = "sma\x00" },
			"invalid UTF-8 strategy":  func(sp *runs.RunSpec, _ *string) { sp.Strategy = "sma\xff" },
			"NUL in tag key":          func(sp *runs.RunSpec, _ *string) { sp.Tags = map[string]string{"a\x00": "b"} },
			"NUL in tag value":        func(sp *runs.RunSpec, _ *string) { sp.Tags = map[string]string{"a": "b\x00"} },
			"newline in tag value":    func(sp *runs.RunSpec, _ *string) { sp.Tags = map[string]string{"a": "b\nc"} },
			"NUL in idempotency key":  func(_ *runs.RunSpec, key *string) { *key = "k\x00" },
			"invalid UTF-8 in key":    func(_ *runs.RunSpec, key *string) { *key = "k\xc3\x28" },
			"control char in key":     func(_ *runs.RunSpec, key *string) { *key = "k\x1b[2J" },
			"NUL in fingerprint only": func(sp *runs.RunSpec, _ *string) { sp.Fingerprint = "\x00" },
		} {
			sp, key := spec("sma"), "key"
			change(&sp, &key)
			if _, _, err := s.Create(ctx, alice, sp, key); !errors.Is(err, runs.ErrInvalidText) {
				t.Errorf("%s: Create = %v, want ErrInvalidText", name, err)
			}
		}

		r, _, err := s.Create(ctx, alice, spec("sma"), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{r.ID + "\x00", "run\xff", "\x00"} {
			if _, err := s.Get(ctx, alice, id); !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
			}
			if _, err := s.Cancel(ctx, alice, id); !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("Cancel(%q) = %v, want ErrNotFound", id, err)
			}
			if err := s.Delete(ctx, alice, id); !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("Delete(%q) = %v, want ErrNotFound", id, err)
			}
			if _, err := s.ArtifactContent(ctx, alice, id, "result.json"); !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("ArtifactContent(%q) = %v, want ErrNotFound", id, err)
			}
			if steps, err := s.Steps(ctx, alice, id); err != nil || len(steps) != 0 {
				t.Errorf("Steps(%q) = %v, %v", id, steps, err)
			}
		}
		if _, err := s.ArtifactContent(ctx, alice, r.ID, "result\x00.json"); !errors.Is(err, runs.ErrNotFound) {
			t.Errorf("ArtifactContent of a NUL name = %v, want ErrNotFound", err)
		}
		for _, f := range []runs.Filter{{Strategy: "sma\x00"}, {Strategy: "\xff"}, {Tags: map[string]string{"k": "v\x00"}}, {Tags: map[string]string{"k\xff": "v"}}} {
			if page, err := s.List(ctx, alice, f, "", 10); err != nil || len(page.Runs) != 0 {
				t.Errorf("List(%+v) = %d runs, %v; want none", f, len(page.Runs), err)
			}
		}
		if _, err := s.List(ctx, alice, runs.Filter{}, "MTIzOnJ1bgA", 10); !errors.Is(err, runs.ErrBadCursor) { // "123:run\x00"
			t.Errorf("List with a NUL cursor = %v, want ErrBadCursor", err)
		}

		// A run failing with a NUL, invalid UTF-8 and escape codes in its
		// error is recorded, with the error readable.
		if _, err := s.MarkRunning(ctx, alice, r.ID, "run"); err != nil {
			t.Fatal(err)
		}
		cause := errors.New("strategy said \x00 bad \xff bytes\x1b[31m\nline two\tend")
		if err := s.FinishStep(ctx, alice, r.ID, "run", "detail\x00", cause, 0, ""); err != nil {
			t.Fatalf("FinishStep with a NUL error: %v", err)
		}
		failed, err := s.Fail(ctx, alice, r.ID, cause, false)
		if err != nil {
			t.Fatalf("Fail with a NUL error: %v", err)
		}
		want := "strategy said  bad \uFFFD bytes[31m\nline two\tend"
		if failed.Error != want {
			t.Errorf("stored error %q, want %q", failed.Error, want)
		}
		steps, err := s.Steps(ctx, alice, r.ID)
		if err != nil || len(steps) != 1 || steps[0].Error != want || steps[0].Detail != "detail" {
			t.Errorf("steps %+v, %v", steps, err)
		}

		// DeadLetter and PutStep clean and bound what they store.
		q, _, _ := s.Create(ctx, alice, spec("sma"), "")
		long := strings.Repeat("é", 10_000) + "\x00"
		dl, err := s.DeadLetter(ctx, alice, q.ID, long)
		if err != nil {
			t.Fatalf("DeadLetter: %v", err)
		}
		if !utf8.ValidString(dl.Error) || len(dl.Error) > 8<<10 || !strings.HasSuffix(dl.Error, "…") {
			t.Errorf("dead letter reason: %d bytes, valid UTF-8 %v, ends %q", len(dl.Error), utf8.ValidString(dl.Error), dl.Error[len(dl.Error)-5:])
		}
		if err := s.PutStep(ctx, alice, q.ID, runs.Step{Name: "notify", Status: runs.Failed, Started: dl.Finished, Error: "HTTP \x00 500\xfe"}); err != nil {
			t.Fatalf("PutStep with a NUL error: %v", err)
		}
		if steps, _ := s.Steps(ctx, alice, q.ID); len(steps) != 1 || steps[0].Error != "HTTP  500\uFFFD" {
			t.Errorf("put step %+v", steps)
		}
	})
}

// Concurrent submissions with one idempotency key and different requests:
// one run is created, every other answer is that run (same request) or
// ErrConflict (another request), never another error.
func TestCreateSameKeyDifferentRequestsConcurrently(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		for round := range 10 {
			key := fmt.Sprintf("key-%d", round)
			const n = 8
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				ids   = make([]string, n)
				errs  = make([]error, n)
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sp := spec("sma")
					if i%2 == 1 {
						sp = spec("rsi")
					}
					<-start
					r, _, err := s.Create(ctx, alice, sp, key)
					ids[i], errs[i] = r.ID, err
				}()
			}
			close(start)
			wg.Wait()
			var winner string
			for i := range n {
				switch {
				case errors.Is(errs[i], runs.ErrConflict):
				case errs[i] != nil:
					t.Fatalf("round %d: Create %d = %v, want a run or ErrConflict", round, i, errs[i])
				case winner == "":
					winner = ids[i]
				case ids[i] != winner:
					t.Fatalf("round %d: one key gave runs %s and %s", round, winner, ids[i])
				}
			}
			if winner == "" {
				t.Fatalf("round %d: no submission got a run", round)
			}
		}
	})
}
