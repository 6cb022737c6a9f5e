package tenancy_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/tenancy"
)

// records counts log records by message.
type records struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[rec.Message]++
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }
func (r *records) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[msg]
}

// When the database cannot write (a full disk), tokens still authenticate:
// recording their use is best effort, tried at most once a minute per
// token, and each failure is logged once.
func TestAuthenticateWhenTheDatabaseCannotWrite(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.UnixMilli(1700000000000))
		logs := &records{n: map[string]int{}}
		s := tenancy.New(d, clk, slog.New(logs))
		u, err := s.CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := s.CreateToken(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		restore := dbtest.FailWrites(t, d, "api_tokens")
		for i := range 100 {
			p, err := s.Authenticate(ctx, plain)
			if err != nil || p.User != u.ID {
				t.Fatalf("authentication %d with the database unable to write: %+v, %v", i, p, err)
			}
		}
		const warn = "cannot record an API token's use; it still authenticates"
		if n := logs.count(warn); n != 1 {
			t.Fatalf("%d warnings for 100 authentications in a minute, want 1", n)
		}
		clk.Advance(time.Minute)
		if _, err := s.Authenticate(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if n := logs.count(warn); n != 2 {
			t.Fatalf("%d warnings after a minute, want 2", n)
		}
		// Once the database writes again, the use is recorded.
		restore()
		clk.Advance(time.Minute)
		if _, err := s.Authenticate(ctx, plain); err != nil {
			t.Fatal(err)
		}
		toks, err := s.Tokens(ctx, u.ID)
		if err != nil || len(toks) != 1 || !toks[0].LastUse.Equal(clk.Now()) {
			t.Fatalf("tokens %+v, %v; want the last use recorded at %v", toks, err, clk.Now())
		}
		if _, err := s.Authenticate(ctx, "tdi_unknown"); err == nil {
			t.Fatal("unknown token authenticated")
		}
	})
}
