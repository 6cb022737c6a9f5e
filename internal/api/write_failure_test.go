package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
)

// logCount counts log records by message.
type logCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Message]++
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }
func (l *logCount) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// A database that cannot write (a full disk): reads keep working, writes
// fail, /ready says not ready and names why, and the log gets each
// repeated error once a minute, not once per request.
func TestReadsWorkWhenTheDatabaseCannotWrite(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(time.Unix(1_700_000_000, 0))
		logs := &logCount{n: map[string]int{}}
		e := newBare(t, d, api.Options{Clock: clk}, slog.New(logs))
		tk := e.submit(e.token, submission(t))
		fresh := e.newToken(t, "carol", "acme") // never used: its first use would be recorded
		ready := func() (int, apitype.Readiness) {
			r := e.do("GET", "/ready", "", nil)
			var rd apitype.Readiness
			r.decode(t, &rd)
			return r.status, rd
		}
		if st, rd := ready(); st != http.StatusOK || rd.Checks["database_write"] != "ok" {
			t.Fatalf("ready before: %d %+v", st, rd)
		}

		restore := dbtest.FailWrites(t, d, "api_tokens", "runs", "audit_log", "write_probe")
		clk.Advance(time.Minute)
		for _, tok := range []string{e.token, fresh} {
			for _, path := range []string{tk.StatusURL, "/api/v1/backtests", "/api/v1/strategies"} {
				if r := e.do("GET", path, tok, nil); r.status != http.StatusOK {
					t.Fatalf("GET %s with the database unable to write: %d %s", path, r.status, r.body)
				}
			}
		}
		for range 50 {
			if r := e.do("POST", "/api/v1/backtests", e.token, submission(t)); r.status != http.StatusInternalServerError {
				t.Fatalf("submission with the database unable to write: %d %s", r.status, r.body)
			}
		}
		if n, m := logs.count("submit backtest"), logs.count("request failed"); n != 1 || m != 1 {
			t.Fatalf("50 identical failures logged %d and %d times in a minute, want once each", n, m)
		}
		clk.Advance(5 * time.Second)
		st, rd := ready()
		if st != http.StatusServiceUnavailable || rd.Status != "not_ready" || rd.Checks["database"] != "ok" ||
			!strings.Contains(rd.Checks["database_write"], "cannot write") {
			b, _ := json.Marshal(rd)
			t.Fatalf("ready with the database unable to write: %d %s", st, b)
		}

		restore()
		if st, _ := ready(); st != http.StatusServiceUnavailable {
			t.Fatalf("ready probed again within 5 s: %d", st)
		}
		clk.Advance(5 * time.Second)
		if st, rd := ready(); st != http.StatusOK {
			t.Fatalf("ready once the database writes again: %d %+v", st, rd)
		}
	})
}
