package platform

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/runner"
)

// staleList is a deploy.Store's Stale answering what the test sets.
type staleList struct {
	mu     sync.Mutex
	stale  []deploy.Deployment
	before []time.Time
}

func (s *staleList) set(ds ...deploy.Deployment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale = ds
}

func (s *staleList) Stale(_ context.Context, before time.Time) ([]deploy.Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = append(s.before, before)
	return slices.Clone(s.stale), nil
}

// receiver is an alert webhook answering the statuses in answers, then
// 200, and keeping the bodies it got.
type receiver struct {
	mu      sync.Mutex
	answers []int
	bodies  []StaleAlert
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var a StaleAlert
	if err := json.Unmarshal(b, &a); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, a)
	code := http.StatusOK
	if len(rc.answers) > 0 {
		code, rc.answers = rc.answers[0], rc.answers[1:]
	}
	w.WriteHeader(code)
}

func (rc *receiver) got() []StaleAlert {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

func sameAlert(a, b StaleAlert) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A deployment without a heartbeat for three intervals is POSTed to the
// alert webhook as JSON (deployment, tenant, last heartbeat, age), once
// per staleness episode, retried while the receiver fails, not retried
// when it refuses; a new episode after a recovery alerts again.
func TestStaleAlertWebhook(t *testing.T) {
	ctx := t.Context()
	clk := clock.NewSkipping(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rc := &receiver{answers: []int{http.StatusServiceUnavailable, http.StatusBadGateway}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	list := &staleList{}
	w, err := newHeartbeatWatch(list, clk, slog.New(slog.DiscardHandler), srv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	hb := clk.Now().Add(-45 * time.Second)
	held := deploy.Deployment{ID: "dep_a", Tenant: "ten_1", Runner: "r1", Heartbeat: hb}
	orphan := deploy.Deployment{ID: "dep_b", Tenant: "ten_2", Created: clk.Now().Add(-time.Minute)}
	check := func() {
		w.check(ctx)
		w.wg.Wait()
	}

	// Stale: alerted after two failed attempts (waits 2 s, then 4 s).
	list.set(held)
	check()
	got := rc.got()
	if len(got) != 3 || !sameAlert(got[0], got[1]) || !sameAlert(got[0], got[2]) {
		t.Fatalf("%d POSTs, want 3 of the same alert: %+v", len(got), got)
	}
	a := got[0]
	if a.Type != "deployment.stale" || a.Deployment != "dep_a" || a.Tenant != "ten_1" || a.Runner != "r1" ||
		a.LastHeartbeat == nil || !a.LastHeartbeat.Equal(hb) || a.Age != 45 {
		t.Fatalf("alert %+v", a)
	}
	if s := clk.Sleeps(); !slices.Equal(s, []time.Duration{2 * time.Second, 4 * time.Second}) {
		t.Fatalf("waits between attempts %v", s)
	}
	if b := list.before[0]; !b.Equal(clk.Now().Add(-6*time.Second - 30*time.Second)) {
		t.Fatalf("stale before %v: want three heartbeats (30 s) before the check", b)
	}

	// Still stale: not alerted again; a second deployment no runner took
	// is (no heartbeat: age since its creation).
	list.set(held, orphan)
	check()
	if got = rc.got(); len(got) != 4 || got[3].Deployment != "dep_b" || got[3].LastHeartbeat != nil || got[3].Age != 66 {
		t.Fatalf("after the second check: %+v", got)
	}

	// Recovered, then stale again: a new episode, a new alert.
	list.set(orphan)
	check()
	list.set(held, orphan)
	check()
	if got = rc.got(); len(got) != 5 || got[4].Deployment != "dep_a" {
		t.Fatalf("after a recovery and a new episode: %+v", got)
	}

	// A receiver refusing the alert (a 4xx) is not asked again.
	rc.mu.Lock()
	rc.answers = []int{http.StatusNotFound}
	rc.mu.Unlock()
	list.set(orphan)
	check()
	list.set(held, orphan)
	check()
	if got = rc.got(); len(got) != 6 {
		t.Fatalf("a refused alert was sent %d times", len(got)-5)
	}
}

// The webhook must be an http(s) URL: a platform refuses another.
func TestAlertWebhookChecked(t *testing.T) {
	for _, u := range []string{"ftp://x", "hooks.example.com", "http://"} {
		if _, err := New(Config{DataDir: t.TempDir(), Database: "x.db", Addr: ":0", AlertWebhook: u}); err == nil {
			t.Errorf("alert webhook %q accepted", u)
		}
	}
}

// A runner's risk alert (the job's runner.Config.Alert) is POSTed to the
// alert webhook as it is (its JSON).
func TestRiskAlertWebhook(t *testing.T) {
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	h, err := newAlertHook(srv.URL, clock.Real(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	j := &deploymentJob{alerts: h}
	j.alert(t.Context(), runner.Alert{Type: runner.AlertAccountBreach, Tenant: "t1", Deployment: "d1", Account: "sim/main", Limit: "max_daily_loss",
		Message: "account sim/main: risk_limits.max_daily_loss: …"})
	h.wg.Wait()
	want := `{"type":"account.risk_breach","tenant":"t1","deployment":"d1","account":"sim/main","limit":"max_daily_loss","message":"account sim/main: risk_limits.max_daily_loss: …"}`
	if b := <-got; string(b) != want {
		t.Fatalf("posted %s\nwant   %s", b, want)
	}
	(&deploymentJob{}).alert(t.Context(), runner.Alert{}) // no hook: nothing
}
