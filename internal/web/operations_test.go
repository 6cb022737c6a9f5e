package web_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
)

// The operations page is the operators' alone: it lists every tenant's
// failed runs with a retry, which queues the run again; anyone else finds
// no page and no link to it.
func TestOperationsPageForOperatorsOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tradai.db")
	dbtest.SeedSQLite(t, path) // migrated already: Migrate below finds it current
	d, err := db.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := clienttest.Start(t, clienttest.Options{DB: d, Operator: true})
	token := s.NewToken(t, "alice", "acme")
	alice := signedIn(t, s.URL, token)
	id := alice.submit(backtestForm("pairs", "NOPE/BTC"))
	if st := alice.waitDone(id); !strings.Contains(st, "failed") {
		t.Fatalf("run status %s", st)
	}

	if a := alice.get("/operations"); a.status != http.StatusNotFound {
		t.Fatalf("a tenant's user: %d", a.status)
	}
	if strings.Contains(alice.get("/runs").body, `href="/operations"`) {
		t.Fatal("a tenant's user is shown the operations link")
	}
	form := url.Values{"csrf": {alice.csrf()}, "tenant": {"x"}, "id": {id}}
	if a := alice.post("/operations/retry", form); a.status != http.StatusNotFound {
		t.Fatalf("a tenant's user retries: %d", a.status)
	}

	op := signedIn(t, s.URL, s.Token)
	if !strings.Contains(op.get("/runs").body, `href="/operations"`) {
		t.Fatal("the operator is not shown the operations link")
	}
	a := op.get("/operations")
	if a.status != http.StatusOK || !strings.Contains(a.body, id) || !strings.Contains(a.body, "NOPE/BTC") || !strings.Contains(a.body, "backtest") {
		t.Fatalf("operations page: %d\n%s", a.status, a.body)
	}
	m := regexp.MustCompile(`name="tenant" value="([^"]+)"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no retry form:\n%s", a.body)
	}
	tenant := m[1]
	if a := op.post("/operations/retry", url.Values{"tenant": {tenant}, "id": {id}}); a.status != http.StatusForbidden {
		t.Fatalf("retry without the form token: %d", a.status)
	}
	a = op.post("/operations/retry", url.Values{"csrf": {op.csrf()}, "tenant": {tenant}, "id": {id}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/operations?done=") {
		t.Fatalf("retry: %d %s\n%s", a.status, a.location, a.body)
	}
	if st := alice.waitDone(id); !strings.Contains(st, "failed") {
		t.Fatalf("retried run status %s", st)
	}
	var retries int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE target = ? AND action = 'run.retry'`, id).Scan(&retries); err != nil || retries != 1 {
		t.Fatalf("retries in the audit log: %d %v", retries, err)
	}
	if p := op.get(a.location).body; !strings.Contains(p, "is queued again") {
		t.Fatalf("after the retry:\n%s", p)
	}
}
