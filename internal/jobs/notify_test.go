package jobs_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
)

var secret = []byte("s3cret-for-tests")

// delivery is one request the receiver got.
type delivery struct {
	header http.Header
	body   []byte
	event  jobs.Event
}

// receiver is a webhook endpoint answering request n (1-based) with
// status(n).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	status func(n int) int

	mu  sync.Mutex
	got []delivery
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	rc := &receiver{t: t, status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{header: r.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &d.event); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		n := len(rc.got)
		rc.mu.Unlock()
		w.WriteHeader(rc.status(n))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// checkSigned verifies a delivery as the docs tell receivers to: the
// HMAC-SHA256 of "<timestamp>.<body>", and a timestamp within 5 minutes.
func checkSigned(t *testing.T, d delivery) {
	t.Helper()
	ts := d.header.Get("X-TradAI-Timestamp")
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "." + string(d.body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := d.header.Get("X-TradAI-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("signature %q, want %q", got, want)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("timestamp %q: %v", ts, err)
	}
	if got := d.header.Get("X-TradAI-Delivery"); got == "" || got != d.event.DeliveryID {
		t.Errorf("delivery header %q, body says %q", got, d.event.DeliveryID)
	}
	if got := d.header.Get("X-TradAI-Event"); got != d.event.Type {
		t.Errorf("event header %q, body says %q", got, d.event.Type)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
}

func webhookOpts(url string) jobs.Options {
	opts := fast()
	opts.Webhook = jobs.WebhookOptions{URL: url, Secret: secret, PublicURL: "https://tradai.example.com/", Attempts: 3, RetryBase: 10 * time.Millisecond}
	return opts
}

// waitStep polls until the run's step name is completed or failed.
func (e *env) waitStep(t testing.TB, id, name string, within time.Duration) runs.Step {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		steps, err := e.store.Steps(context.Background(), e.p(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Name == name && (s.Status == runs.Completed || s.Status == runs.Failed) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: step %s not finished after %s: %+v", id, name, within, steps)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) delivery(t testing.TB, runID string) (status string, attempts int) {
	t.Helper()
	if err := e.db.QueryRow(context.Background(), `SELECT status, attempts FROM webhook_deliveries WHERE run_id = ?`, runID).Scan(&status, &attempts); err != nil {
		t.Fatal(err)
	}
	return status, attempts
}

func TestWebhookSignedEventOncePerRun(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, func(int) int { return http.StatusNoContent })
		// Deliveries are signed with the service's clock, standing still
		// here.
		t0 := time.Now().Add(-time.Minute).Truncate(time.Second).UTC() // a minute behind the system clock
		opts := webhookOpts(rc.srv.URL)
		opts.Clock = clock.NewFake(t0)
		e := newEnv(t, d, opts, false)
		ctx := context.Background()
		// Cancelled before any worker took it.
		cancelled := e.submit(t, runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
		if _, err := e.svc.Cancel(ctx, e.p(), cancelled.ID); err != nil {
			t.Fatal(err)
		}
		e.start(t)
		completed := e.submit(t, runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
		failed := e.submit(t, runs.RunSpec{Strategy: "no_such_strategy", Config: exampleConfig(t)})
		want := map[string]string{completed.ID: "run.completed", failed.ID: "run.failed", cancelled.ID: "run.cancelled"}
		for id := range want {
			e.waitTerminal(t, id, 30*time.Second)
			if st := e.waitStep(t, id, jobs.StepNotify, 30*time.Second); st.Status != runs.Completed || !strings.Contains(st.Detail, "on attempt 1 of 3 (HTTP 204)") {
				t.Fatalf("notify step of %s: %+v", id, st)
			}
			if status, attempts := e.delivery(t, id); status != "delivered" || attempts != 1 {
				t.Fatalf("delivery of %s: %s after %d attempts", id, status, attempts)
			}
		}
		got := rc.deliveries()
		if len(got) != 3 {
			t.Fatalf("%d deliveries, want one per run (3)", len(got))
		}
		for _, dl := range got {
			checkSigned(t, dl)
			ev := dl.event
			if want[ev.RunID] != ev.Type || ev.Status != strings.TrimPrefix(ev.Type, "run.") || ev.Tenant != e.tenant || ev.At.IsZero() {
				t.Errorf("event %+v", ev)
			}
			if ts := dl.header.Get("X-TradAI-Timestamp"); ts != strconv.FormatInt(t0.Unix(), 10) {
				t.Errorf("signed at %s, want the clock's %d", ts, t0.Unix())
			}
			if self := "https://tradai.example.com/api/v1/backtests/" + ev.RunID; ev.Links["self"] != self {
				t.Errorf("links %v", ev.Links)
			}
			switch ev.Type {
			case "run.completed":
				var m map[string]any
				if err := json.Unmarshal(ev.Metrics, &m); err != nil || m["total_trades"] == nil || ev.Links["report"] == "" || ev.Error != "" {
					t.Errorf("completed event: metrics %s (%v), links %v, error %q", ev.Metrics, err, ev.Links, ev.Error)
				}
			case "run.failed":
				if !strings.Contains(ev.Error, "no_such_strategy") || string(ev.Metrics) != "null" {
					t.Errorf("failed event: error %q, metrics %s", ev.Error, ev.Metrics)
				}
			}
		}
	})
}

func TestWebhookRetriedAfterServerError(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, func(n int) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		e := newEnv(t, d, webhookOpts(rc.srv.URL), true)
		r := e.submit(t, runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
		st := e.waitStep(t, r.ID, jobs.StepNotify, 30*time.Second)
		if st.Status != runs.Completed || !strings.Contains(st.Detail, "on attempt 2 of 3 (HTTP 200)") {
			t.Fatalf("notify step %+v", st)
		}
		got := rc.deliveries()
		if len(got) != 2 || got[0].event.DeliveryID != got[1].event.DeliveryID || string(got[0].body) != string(got[1].body) {
			t.Fatalf("%d deliveries, want the same event twice", len(got))
		}
		for _, dl := range got {
			checkSigned(t, dl)
		}
		if status, attempts := e.delivery(t, r.ID); status != "delivered" || attempts != 2 {
			t.Fatalf("delivery: %s after %d attempts", status, attempts)
		}
	})
}

func TestWebhookDownLeavesRunCompleted(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close() // nothing listens there any more
		e := newEnv(t, d, webhookOpts(down.URL), true)
		r := e.submit(t, runs.RunSpec{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
		st := e.waitStep(t, r.ID, jobs.StepNotify, 30*time.Second)
		if st.Status != runs.Failed || !strings.Contains(st.Error, "failed after 3 attempts") {
			t.Fatalf("notify step %+v", st)
		}
		if done, _ := e.store.Get(context.Background(), e.p(), r.ID); done.Status != runs.Completed || done.Error != "" {
			t.Fatalf("run %s, error %q: a failed delivery changed it", done.Status, done.Error)
		}
		if status, attempts := e.delivery(t, r.ID); status != "failed" || attempts != 3 {
			t.Fatalf("delivery: %s after %d attempts", status, attempts)
		}
	})
}

func TestWebhookNeedsASecret(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		store := runs.New(d, nil, 3, nil)
		for _, wh := range []jobs.WebhookOptions{{URL: "https://example.com/hook"}, {URL: "ftp://example.com", Secret: secret}} {
			if _, err := jobs.New(d, store, dataDir, slog.New(slog.DiscardHandler), jobs.Options{Webhook: wh}); err == nil {
				t.Errorf("New with webhook %+v: no error", wh)
			}
		}
	})
}

// A receiver recomputes the signature from the X-TradAI-Timestamp header
// and the raw body, and compares it with X-TradAI-Signature in constant
// time (hmac.Equal).
func ExampleSignWebhook() {
	body := []byte(`{"type":"run.completed","run_id":"run_1"}`)
	fmt.Println(jobs.SignWebhook([]byte("my secret"), "1700000000", body))
	// Output: sha256=07200d70471c5d535a63ccf1f978d616aa91ebeb21c39c5a9aeed24ded3a0637
}

// The Python verifier in docs/operations.md accepts what SignWebhook signs
// and refuses a changed body or an old timestamp.
func TestDocsPythonVerifier(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "### Verifying a webhook")
	_, code, _ := strings.Cut(after, "```python\n")
	code, _, ok := strings.Cut(code, "```")
	if !ok || !strings.Contains(code, "def verify(") {
		t.Fatal("no Python verifier under \"### Verifying a webhook\" in docs/operations.md")
	}
	harness := code + `
import json, sys
for case in json.load(sys.stdin):
    print(verify(case["secret"].encode(), case["headers"], case["body"].encode()))
`
	body := `{"type":"run.completed","run_id":"run_1"}`
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	header := func(ts, b string) map[string]string {
		return map[string]string{"X-TradAI-Timestamp": ts, "X-TradAI-Signature": jobs.SignWebhook(secret, ts, []byte(b))}
	}
	cases := []map[string]any{
		{"secret": string(secret), "headers": header(now, body), "body": body},
		{"secret": string(secret), "headers": header(now, body), "body": body + " "},
		{"secret": string(secret), "headers": header(old, body), "body": body},
		{"secret": "other", "headers": header(now, body), "body": body},
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(python, "-c", harness)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "True False False False" {
		t.Fatalf("verifier answered %q, want True False False False", out)
	}
}
