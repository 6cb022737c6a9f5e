package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

type env struct {
	t     testing.TB
	url   string
	db    *db.DB
	token string // tenant acme
	other string // tenant globex
}

// newEnv serves the API over d with running workers (clienttest's server,
// as tradai serve wires it); opts tune it.
func newEnv(t testing.TB, d *db.DB, opts clienttest.Options) *env {
	t.Helper()
	opts.DB = d
	s := clienttest.Start(t, opts)
	return &env{t: t, url: s.URL, db: d, token: s.NewToken(t, "alice", "acme"), other: s.NewToken(t, "bob", "globex")}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) problem(t testing.TB) apitype.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("error content type %q, body %s", ct, r.body)
	}
	var p apitype.Problem
	r.decode(t, &p)
	if p.Status != r.status || p.Code == "" {
		t.Fatalf("problem %+v for status %d", p, r.status)
	}
	return p
}

// do sends a request with token (none when empty) and a JSON body (none
// when nil; a string is sent as is).
func (e *env) do(method, path, token string, body any, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func submission(t testing.TB) apitype.SubmitRequest {
	return apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180112", Pairs: []string{"ETH/BTC", "LTC/BTC"}}
}

func (e *env) submit(token string, req apitype.SubmitRequest) apitype.Ticket {
	e.t.Helper()
	r := e.do("POST", "/api/v1/backtests", token, req)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var tk apitype.Ticket
	r.decode(e.t, &tk)
	if r.header.Get("Location") != tk.StatusURL || tk.Status != "queued" {
		e.t.Fatalf("ticket %+v, Location %q", tk, r.header.Get("Location"))
	}
	return tk
}

func (e *env) wait(token, url string) apitype.Run {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", url, token, nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", url, r.status, r.body)
		}
		var run apitype.Run
		r.decode(e.t, &run)
		if runs.Status(run.Status).Terminal() {
			return run
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run still %s after 30s", run.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubmitFollowAndFetchResults(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{})
		tk := e.submit(e.token, submission(t))
		run := e.wait(e.token, tk.StatusURL)
		if run.Status != "completed" || run.Progress != 1 || run.Attempts != 1 || run.StartedAt == nil || run.FinishedAt == nil {
			t.Fatalf("run %+v", run)
		}
		var m map[string]any
		if err := json.Unmarshal(run.Metrics, &m); err != nil || m["total_trades"] == nil {
			t.Fatalf("metrics %s: %v", run.Metrics, err)
		}
		if !strings.HasPrefix(run.Fingerprint, "sha256:") || !strings.HasPrefix(run.DataFingerprint, "xxh64:") {
			t.Fatalf("fingerprints %q, %q", run.Fingerprint, run.DataFingerprint)
		}
		var names []string
		for _, s := range run.Steps {
			names = append(names, s.Name+":"+s.Status)
			if s.FinishedAt == nil {
				t.Fatalf("step %s not finished", s.Name)
			}
		}
		if got := strings.Join(names, " "); got != "validate:completed ensure_data:completed run:completed record:completed" {
			t.Fatalf("steps %s", got)
		}
		for _, link := range []string{"self", "result", "report", "trades"} {
			if run.Links[link] == "" {
				t.Fatalf("no %s link in %v", link, run.Links)
			}
		}
		rep := e.do("GET", run.Links["report"], e.token, nil)
		if rep.status != http.StatusOK || rep.header.Get("Content-Type") != "text/html" || !bytes.Contains(rep.body, []byte("<html")) {
			t.Fatalf("report: %d %s %.100s", rep.status, rep.header.Get("Content-Type"), rep.body)
		}
		var trades struct {
			Trades []map[string]any `json:"trades"`
		}
		e.do("GET", run.Links["trades"], e.token, nil).decode(t, &trades)
		if n := int(m["total_trades"].(float64)); len(trades.Trades) != n || n == 0 {
			t.Fatalf("%d trades served, metrics say %v", len(trades.Trades), m["total_trades"])
		}
		if pair := trades.Trades[0]["pair"]; pair != "ETH/BTC" && pair != "LTC/BTC" {
			t.Fatalf("trade on %v: the pairs override was not applied", pair)
		}
		if r := e.do("GET", run.Links["self"]+"/artifacts/nope.txt", e.token, nil); r.status != http.StatusNotFound {
			t.Fatalf("missing artifact: %d", r.status)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	d := sqliteDB(t)
	e := newEnv(t, d, clienttest.Options{})
	req := submission(t)
	first := e.do("POST", "/api/v1/backtests", e.token, req, "Idempotency-Key", "k1")
	again := e.do("POST", "/api/v1/backtests", e.token, req, "Idempotency-Key", "k1")
	var a, b apitype.Ticket
	first.decode(t, &a)
	again.decode(t, &b)
	if first.status != http.StatusAccepted || again.status != http.StatusAccepted || a.RunID != b.RunID {
		t.Fatalf("repeat gave %d %s and %d %s", first.status, a.RunID, again.status, b.RunID)
	}
	req.Timerange = "20180111-20180112"
	r := e.do("POST", "/api/v1/backtests", e.token, req, "Idempotency-Key", "k1")
	if r.status != http.StatusConflict || r.problem(t).Code != apitype.CodeIdempotency {
		t.Fatalf("reused key: %d %s", r.status, r.body)
	}
	// Keys are per tenant: another tenant's k1 is its own.
	o := e.do("POST", "/api/v1/backtests", e.other, submission(t), "Idempotency-Key", "k1")
	var c apitype.Ticket
	o.decode(t, &c)
	if o.status != http.StatusAccepted || c.RunID == a.RunID {
		t.Fatalf("other tenant's k1: %d %s", o.status, o.body)
	}
}

func sqliteDB(t testing.TB) *db.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tradai.db")
	dbtest.SeedSQLite(t, path)
	d, err := db.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBadSubmissionsAreNamed(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{MaxBody: 64 << 10})
	cfg := clienttest.Config(t)
	cfg["stake_amount"] = -3
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		want   string // in detail
	}{
		{"unknown field", `{"strategy":"rsi_bollinger","timerang":"20180101-"}`, 422, apitype.CodeInvalidRequest, "timerang"},
		{"wrong type", `{"strategy":"rsi_bollinger","pairs":"ETH/BTC"}`, 422, apitype.CodeInvalidRequest, "body.pairs"},
		{"no strategy", `{"config":{}}`, 422, apitype.CodeInvalidRequest, "strategy"},
		{"unknown strategy", `{"strategy":"nope"}`, 422, apitype.CodeInvalidRequest, `unknown strategy "nope"`},
		{"external strategy", `{"strategy":"exec:/bin/sh"}`, 422, apitype.CodeStrategyForbidden, "ask the server's operator to start it with --allow-external-strategies"},
		{"python strategy", `{"strategy":"./x.py"}`, 422, apitype.CodeStrategyForbidden, "built-in"},
		{"bad config value", apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: cfg}, 422, apitype.CodeInvalidRequest, "stake_amount"},
		{"bad timerange", `{"strategy":"rsi_bollinger","timerange":"2018-01-01"}`, 422, apitype.CodeInvalidRequest, "timerange"},
		{"tag key with =", `{"strategy":"rsi_bollinger","tags":{"a=b":"c"}}`, 422, apitype.CodeInvalidRequest, `body.tags: tag key "a=b": must be non-empty, without '='`},
		{"empty tag key", `{"strategy":"rsi_bollinger","tags":{"":"c"}}`, 422, apitype.CodeInvalidRequest, `tag key ""`},
		{"not JSON", `{"strategy":`, 400, apitype.CodeBadRequest, ""},
		{"too large", `{"strategy":"rsi_bollinger","tags":{"x":"` + strings.Repeat("a", 70<<10) + `"}}`, 413, apitype.CodeBodyTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/backtests", e.token, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			p := r.problem(t)
			if p.Code != c.code || !strings.Contains(p.Detail, c.want) {
				t.Fatalf("code %q detail %q; want %q containing %q", p.Code, p.Detail, c.code, c.want)
			}
		})
	}
	var page apitype.RunPage
	e.do("GET", "/api/v1/backtests", e.token, nil).decode(t, &page)
	if len(page.Runs) != 0 {
		t.Fatalf("rejected submissions stored %d runs", len(page.Runs))
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	for _, path := range []string{"/api/v1/backtests", "/api/v1/strategies", "/api/v1/data", "/api/v1/runs/compare?ids=a,b"} {
		for _, tok := range []string{"", "tdi_wrong", "garbage"} {
			r := e.do("GET", path, tok, nil)
			if r.status != http.StatusUnauthorized || r.problem(t).Code != apitype.CodeUnauthenticated || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("GET %s with token %q: %d %s", path, tok, r.status, r.body)
			}
		}
	}
	r := e.do("GET", "/api/v1/backtests", "", nil, "Authorization", "Basic YTpi")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.problem(t).Detail, "Bearer") {
		t.Fatalf("basic auth: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/health", "/ready", "/openapi.json", "/metrics"} {
		if r := e.do("GET", path, "", nil); r.status != http.StatusOK {
			t.Fatalf("GET %s without a token: %d %s", path, r.status, r.body)
		}
	}
}

// Every endpoint naming a run answers 404 to another tenant, exactly as
// for a run that does not exist, and changes nothing.
func TestOtherTenantGetsNotFound(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{})
		done := e.submit(e.token, submission(t))
		e.wait(e.token, done.StatusURL)
		failed := e.submit(e.token, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: map[string]any{"exchange": map[string]any{"name": "binance", "pair_whitelist": []string{"NOPE/BTC"}}, "stake_currency": "BTC"}})
		if r := e.wait(e.token, failed.StatusURL); r.Status != "failed" {
			t.Fatalf("run on missing data: %s", r.Status)
		}
		for _, id := range []string{done.RunID, failed.RunID, "run_nonexistent"} {
			base := "/api/v1/backtests/" + id
			for _, c := range []struct{ method, path string }{
				{"GET", base}, {"POST", base + "/cancel"}, {"POST", base + "/retry"}, {"GET", base + "/trades"},
				{"GET", base + "/artifacts/result.json"}, {"GET", base + "/artifacts/report.html"},
				{"GET", "/api/v1/runs/compare?ids=" + id + ",run_nonexistent2"}, {"DELETE", base},
			} {
				r := e.do(c.method, c.path, e.other, nil)
				if r.status != http.StatusNotFound || r.problem(t).Code != apitype.CodeNotFound || bytes.Contains(r.body, []byte("rsi_bollinger")) {
					t.Fatalf("%s %s as another tenant: %d %s", c.method, c.path, r.status, r.body)
				}
			}
		}
		var page apitype.RunPage
		e.do("GET", "/api/v1/backtests", e.other, nil).decode(t, &page)
		if len(page.Runs) != 0 {
			t.Fatalf("other tenant lists %d runs", len(page.Runs))
		}
		if r := e.wait(e.token, failed.StatusURL); r.Status != "failed" {
			t.Fatalf("another tenant's retry changed the run to %s", r.Status)
		}
		if r := e.wait(e.token, done.StatusURL); r.Status != "completed" {
			t.Fatalf("another tenant's delete changed the run to %s", r.Status)
		}
	})
}

func TestCancelRetryAndConflicts(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	tk := e.submit(e.token, submission(t))
	done := e.wait(e.token, tk.StatusURL)
	if done.Status != "completed" {
		t.Fatalf("run %s", done.Status)
	}
	for _, op := range []string{"cancel", "retry"} {
		r := e.do("POST", tk.StatusURL+"/"+op, e.token, nil)
		if r.status != http.StatusConflict || r.problem(t).Code != apitype.CodeConflict || !strings.Contains(r.problem(t).Detail, "completed") {
			t.Fatalf("%s a completed run: %d %s", op, r.status, r.body)
		}
	}
	// A run that fails at once (no data for its pair) can be retried.
	bad := submission(t)
	bad.Pairs = []string{"NOPE/BTC"}
	tk = e.submit(e.token, bad)
	failed := e.wait(e.token, tk.StatusURL)
	if failed.Status != "failed" || !strings.Contains(failed.Error, "NOPE/BTC") || failed.Links["retry"] == "" {
		t.Fatalf("failed run %+v", failed)
	}
	r := e.do("POST", failed.Links["retry"], e.token, nil)
	var again apitype.Run
	r.decode(t, &again)
	if r.status != http.StatusAccepted || again.Status != "queued" || again.Attempts != 0 || again.Error != "" {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if after := e.wait(e.token, tk.StatusURL); after.Status != "failed" || after.Attempts != 1 {
		t.Fatalf("retried run %s after %d attempts", after.Status, after.Attempts)
	}
	// Audit: every mutating call left a row.
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE target = ? AND action IN ('run.create', 'run.retry')`, tk.RunID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("audit rows: %d, %v", n, err)
	}
}

func TestDeleteRun(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	tk := e.submit(e.token, submission(t))
	if done := e.wait(e.token, tk.StatusURL); done.Status != "completed" {
		t.Fatalf("run %s", done.Status)
	}
	// An artifact recorded as a file before migration 12 is a 404 that says what to do.
	if _, err := e.db.Exec(context.Background(), `INSERT INTO artifacts (run_id, name, media_type, size, sha256) VALUES (?, 'old.html', 'text/html', 10, 'ab')`, tk.RunID); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", tk.StatusURL+"/artifacts/old.html", e.token, nil); r.status != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "submit the run again") {
		t.Fatalf("a file-era artifact: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", tk.StatusURL, e.token, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE a completed run: %d %s", r.status, r.body)
	}
	for _, path := range []string{tk.StatusURL, tk.StatusURL + "/artifacts/report.html", tk.StatusURL + "/trades"} {
		if r := e.do("GET", path, e.token, nil); r.status != http.StatusNotFound {
			t.Fatalf("GET %s after DELETE: %d %s", path, r.status, r.body)
		}
	}
	if r := e.do("DELETE", tk.StatusURL, e.token, nil); r.status != http.StatusNotFound {
		t.Fatalf("second DELETE: %d %s", r.status, r.body)
	}
	// An unfinished run is a 409 that says what to do.
	stopped := newEnv(t, sqliteDB(t), clienttest.Options{NoWorkers: true})
	q := stopped.submit(stopped.token, submission(t))
	r := stopped.do("DELETE", q.StatusURL, stopped.token, nil)
	if r.status != http.StatusConflict || r.problem(t).Code != apitype.CodeConflict || !strings.Contains(r.problem(t).Detail, "queued (cancel it first)") {
		t.Fatalf("DELETE a queued run: %d %s", r.status, r.body)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	var ids []string
	for i := range 5 {
		req := submission(t)
		req.Tags = map[string]string{"i": strconv.Itoa(i)}
		if i == 4 {
			req.Strategy = "macd_trend"
		}
		ids = append(ids, e.submit(e.token, req).RunID)
		if i == 4 {
			break
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times: the order is checked
	}
	var seen []string
	cursor := ""
	for {
		var page apitype.RunPage
		r := e.do("GET", "/api/v1/backtests?limit=2&cursor="+cursor, e.token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		r.decode(t, &page)
		for _, run := range page.Runs {
			seen = append(seen, run.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	want := slices.Clone(ids)
	slices.Reverse(want) // newest first
	if !slices.Equal(seen, want) {
		t.Fatalf("paged %v, submitted %v", seen, ids)
	}
	var page apitype.RunPage
	e.do("GET", "/api/v1/backtests?strategy=macd_trend", e.token, nil).decode(t, &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != ids[4] {
		t.Fatalf("strategy filter: %+v", page.Runs)
	}
	page = apitype.RunPage{}
	e.do("GET", "/api/v1/backtests?tag=i%3D2", e.token, nil).decode(t, &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != ids[2] || page.Runs[0].Tags["i"] != "2" {
		t.Fatalf("tag filter: %+v", page.Runs)
	}
	for q, want := range map[string]string{"?tag=i=2&tag=nokey": "query.tag[1]: want key=value", "?tag=i=2&tag=i=3": "query.tag[1]: tag i given twice"} {
		if r := e.do("GET", "/api/v1/backtests"+q, e.token, nil); r.status != http.StatusUnprocessableEntity ||
			r.problem(t).Code != apitype.CodeInvalidRequest || !strings.Contains(r.problem(t).Detail, want) {
			t.Fatalf("list%s: %d %s", q, r.status, r.body)
		}
	}
	for _, q := range []string{"?cursor=bogus", "?status=finished", "?limit=0", "?limit=5000", "?colour=red"} {
		r := e.do("GET", "/api/v1/backtests"+q, e.token, nil)
		if r.status != http.StatusUnprocessableEntity || r.problem(t).Code != apitype.CodeInvalidRequest {
			t.Fatalf("list%s: %d %s", q, r.status, r.body)
		}
	}
}

func TestCompare(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	a := submission(t)
	b := submission(t)
	b.Params = map[string]any{"rsi_buy": 25}
	b.Timerange = "20180110-20180111"
	ta, tb := e.submit(e.token, a), e.submit(e.token, b)
	e.wait(e.token, ta.StatusURL)
	e.wait(e.token, tb.StatusURL)
	var c apitype.Comparison
	r := e.do("GET", "/api/v1/runs/compare?ids="+ta.RunID+","+tb.RunID, e.token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("compare: %d %s", r.status, r.body)
	}
	r.decode(t, &c)
	if len(c.Runs) != 2 || c.Runs[0].ID != ta.RunID {
		t.Fatalf("runs %+v", c.Runs)
	}
	found := false
	for _, row := range c.Metrics {
		if row.Name == "total_trades" && len(row.Values) == 2 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no total_trades row in %+v", c.Metrics)
	}
	if got := strings.Join(c.Differ, " "); !strings.Contains(got, "params.rsi_buy") || !strings.Contains(got, "config.timerange") || !strings.Contains(got, "data") || strings.Contains(got, "config.stake_currency") {
		t.Fatalf("differ %q", got)
	}
	if r := e.do("GET", "/api/v1/runs/compare?ids="+ta.RunID, e.token, nil); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("compare one run: %d", r.status)
	}
}

func TestRateLimitPerUser(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{RateLimit: 0.5, RateBurst: 2})
	for i := range 2 {
		if r := e.do("GET", "/api/v1/strategies", e.token, nil); r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := e.do("GET", "/api/v1/strategies", e.token, nil)
	if r.status != http.StatusTooManyRequests || r.problem(t).Code != apitype.CodeRateLimited {
		t.Fatalf("third request: %d %s", r.status, r.body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another token has its own budget.
	if r := e.do("GET", "/api/v1/strategies", e.other, nil); r.status != http.StatusOK {
		t.Fatalf("other token: %d", r.status)
	}
}

func TestReadyNamesTheFailingCheck(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	if r := e.do("GET", "/ready", "", nil); r.status != http.StatusOK {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	// A server on a missing data folder.
	s, _ := newServer(t, sqliteDB(t), "/nonexistent/data", api.Options{}, nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	var rd apitype.Readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &rd); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || rd.Status != "not_ready" || rd.Checks["database"] != "ok" || !strings.Contains(rd.Checks["data"], "/nonexistent/data") {
		t.Fatalf("ready: %d %+v", rec.Code, rd)
	}
}

func TestOpenAPIAndOperations(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	e.do("GET", "/openapi.json", "", nil).decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, p := range []string{"/api/v1/backtests", "/api/v1/backtests/{id}", "/api/v1/backtests/{id}/cancel", "/api/v1/backtests/{id}/retry",
		"/api/v1/runs/compare", "/api/v1/strategies", "/api/v1/data", "/api/v1/data/freshness", "/health", "/ready"} {
		if doc.Paths[p] == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	if doc.Components.Schemas["ErrorModel"].Properties["code"] == nil {
		t.Errorf("the error schema does not document code")
	}
	// The server mounts the web app (Mount) outside /api/: it renders the
	// docs page (huma's would load a CDN) and answers unknown pages;
	// unknown API paths stay problems.
	if r := e.do("GET", "/docs", "", nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`id="op-submit-backtest"`)) {
		t.Errorf("docs page: %d", r.status)
	}
	if r := e.do("GET", "/nope", "", nil); r.status != http.StatusNotFound || !bytes.Contains(r.body, []byte("<html")) {
		t.Errorf("unknown page: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/nope", "", nil); r.status != http.StatusNotFound || r.problem(t).Code != apitype.CodeNotFound {
		t.Errorf("unknown API path: %d %s", r.status, r.body)
	}
	e.do("GET", "/api/v1/strategies", e.token, nil)
	m := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{`tradai_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/strategies"} 1`, "tradai_runs", "go_goroutines"} {
		if !bytes.Contains(m.body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestStrategiesAndData(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	var st struct {
		Strategies []struct {
			Name string `json:"name"`
		} `json:"strategies"`
	}
	e.do("GET", "/api/v1/strategies", e.token, nil).decode(t, &st)
	if len(st.Strategies) < 3 {
		t.Fatalf("strategies %+v", st)
	}
	var data struct {
		Series []struct {
			Pair  string `json:"pair"`
			Count int    `json:"count"`
		} `json:"series"`
	}
	e.do("GET", "/api/v1/data?exchange=binance", e.token, nil).decode(t, &data)
	if len(data.Series) < 5 || data.Series[0].Count == 0 {
		t.Fatalf("data %+v", data)
	}
	r := e.do("POST", "/api/v1/data/freshness", e.token, apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{"ETH/BTC", "NOPE/BTC"}, Timeframes: []string{"5m"}})
	var fr struct {
		Series []apitype.SeriesFreshness `json:"series"`
		Fresh  bool                      `json:"fresh"`
	}
	r.decode(t, &fr)
	if r.status != http.StatusOK || fr.Fresh || len(fr.Series) != 2 || fr.Series[0].Status != "stale" || fr.Series[1].Status != "missing" || fr.Series[0].AgeSeconds == nil {
		t.Fatalf("freshness: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/data/freshness", e.token, apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{"ETH/BTC"}, Timeframes: []string{"7m"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.problem(t).Detail, "body.timeframes[0]") {
		t.Fatalf("bad timeframe: %d %s", r.status, r.body)
	}
}
