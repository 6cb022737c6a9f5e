package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// exampleConfig is examples/backtest.json as a submission's config.
func exampleConfig(t testing.TB) map[string]any { return clienttest.Config(t) }

func newClient(t testing.TB, s *clienttest.Server, o client.Options) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, s.Token, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestSubmitWaitCompleted(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)

	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: exampleConfig(t), Timerange: "20180110-20180120", Tags: map[string]string{"case": "wait"}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.RunID == "" || tk.Status != client.Queued || !strings.HasSuffix(tk.StatusURL, tk.RunID) {
		t.Fatalf("ticket %+v", tk)
	}
	var polls int
	r, err := c.Wait(ctx, tk.RunID, func(apitype.Run) { polls++ })
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != client.Completed || r.Progress != 1 || polls == 0 || len(r.Metrics) == 0 {
		t.Fatalf("run %s, progress %v after %d polls, metrics %s, error %q", r.Status, r.Progress, polls, r.Metrics, r.Error)
	}
	if got := c.URL(r.Links["report"]); got != s.URL+"/api/v1/backtests/"+r.ID+"/artifacts/report.html" {
		t.Errorf("report link %q", got)
	}

	html, err := c.Artifact(ctx, r.ID, "report.html")
	if err != nil || !bytes.Contains(html, []byte("<svg")) {
		t.Fatalf("report.html: %d bytes, %v", len(html), err)
	}
	js, err := c.Artifact(ctx, r.ID, "result.json")
	if err != nil || !json.Valid(js) {
		t.Fatalf("result.json: %v", err)
	}
	trades, err := c.Trades(ctx, r.ID)
	var list []map[string]any
	if err != nil || json.Unmarshal(trades, &list) != nil || len(list) == 0 {
		t.Fatalf("trades: %d, %v", len(list), err)
	}
	_, err = c.Artifact(ctx, r.ID, "nope.txt")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != apitype.CodeNotFound {
		t.Fatalf("missing artifact: %v", err)
	}

	page, err := c.List(ctx, client.ListOptions{Status: client.Completed, Strategy: "rsi_bollinger"})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != r.ID || page.Runs[0].Tags["case"] != "wait" {
		t.Fatalf("list: %+v, %v", page, err)
	}
}

// A repeated submission with the same key is the same run; Submit makes a
// new key per call.
func TestSubmitIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	req := apitype.SubmitRequest{Strategy: "sma_cross", Config: exampleConfig(t)}
	key := client.NewIdempotencyKey()
	a, err := c.SubmitWithKey(ctx, req, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.SubmitWithKey(ctx, req, key)
	if err != nil || b.RunID != a.RunID {
		t.Fatalf("same key: %s, %v; want %s", b.RunID, err, a.RunID)
	}
	other, err := c.Submit(ctx, req)
	if err != nil || other.RunID == a.RunID {
		t.Fatalf("new submission: %s, %v", other.RunID, err)
	}
	req.Timerange = "20180110-20180111"
	_, err = c.SubmitWithKey(ctx, req, key)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != apitype.CodeIdempotency {
		t.Fatalf("reused key with another request: %v", err)
	}
}

func TestErrorsSayWhatFailed(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)

	cfg := exampleConfig(t)
	cfg["stake_amount"] = -1
	_, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: cfg})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != apitype.CodeInvalidRequest ||
		!strings.Contains(ae.Detail, "stake_amount") || ae.Problem == nil || len(ae.Problem.Errors) == 0 {
		t.Fatalf("bad config: %#v", err)
	}
	want := "submit backtest to " + s.URL + "/api/v1/backtests: 422 invalid_request: body.config: "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to start %q", err, want)
	}

	_, err = c.Submit(ctx, apitype.SubmitRequest{Strategy: "no_such_strategy", Config: exampleConfig(t)})
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "body.strategy") {
		t.Fatalf("unknown strategy: %v", err)
	}

	_, err = c.Get(ctx, "run_missing")
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || err.Error() != "get run run_missing from "+s.URL+"/api/v1/backtests/run_missing: 404 not_found: no run run_missing" {
		t.Fatalf("missing run: %v", err)
	}

	_, err = c.Compare(ctx, "run_a")
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "query.ids") {
		t.Fatalf("compare one run: %v", err)
	}

	bad, err := client.New(s.URL, "tdi_wrong", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(ctx, client.ListOptions{})
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != apitype.CodeUnauthenticated ||
		!strings.Contains(err.Error(), "401 unauthenticated: the API token is unknown or revoked") {
		t.Fatalf("wrong token: %v", err)
	}

	// Another tenant's runs are not found.
	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	eve, err := client.New(s.URL, s.NewToken(t, "eve", "other"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eve.Get(ctx, tk.RunID); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("another tenant's run: %v", err)
	}
}

func TestCancelQueued(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: exampleConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Cancel(ctx, tk.RunID)
	if err != nil || r.Status != client.Cancelled || r.Links["retry"] == "" {
		t.Fatalf("cancel: %s, %v", r.Status, err)
	}
	_, err = c.Cancel(ctx, tk.RunID)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Fatalf("second cancel: %v", err)
	}
	r, err = c.Retry(ctx, tk.RunID)
	if err != nil || r.Status != client.Queued {
		t.Fatalf("retry: %s, %v", r.Status, err)
	}
}

func TestCancelRunning(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: clienttest.SlowStrategy(t), Config: exampleConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until it runs, then stop waiting: Wait leaves the run alone.
	wctx, stop := context.WithCancel(ctx)
	_, err = c.Wait(wctx, tk.RunID, func(r apitype.Run) {
		if r.Status == client.Running {
			stop()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("wait: %v, want context.Canceled", err)
	}
	if r, err := c.Get(ctx, tk.RunID); err != nil || r.Status != client.Running {
		t.Fatalf("after the wait: %s, %v", r.Status, err)
	}
	began := time.Now()
	if _, err := c.Cancel(ctx, tk.RunID); err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(ctx, tk.RunID, nil)
	if err != nil || r.Status != client.Cancelled {
		t.Fatalf("after cancel: %s, %v", r.Status, err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
}

// A tiny rate limit: the client waits out the 429 as Retry-After says.
func TestRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{RateLimit: 0.5, RateBurst: 1, NoWorkers: true})
	ctx := ctxFor(t)

	strict := newClient(t, s, client.Options{RateRetries: -1})
	if _, err := strict.List(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := strict.List(ctx, client.ListOptions{})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.Code != apitype.CodeRateLimited || ae.RetryAfter < time.Second {
		t.Fatalf("without retries: %v", err)
	}

	patient := newClient(t, s, client.Options{})
	began := time.Now()
	if _, err := patient.List(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("with retries: %v", err)
	}
	if d := time.Since(began); d < 500*time.Millisecond {
		t.Errorf("answered after %s: the 429 was not waited out", d)
	}

	// A Retry-After longer than the client will wait is the error at once.
	impatient := newClient(t, s, client.Options{MaxRetryAfter: time.Millisecond})
	began = time.Now()
	if _, err := impatient.List(ctx, client.ListOptions{}); !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
		t.Fatalf("impatient: %v", err)
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("impatient client waited %s", d)
	}
}

func TestCompareStrategiesData(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	var ids []string
	for _, strat := range []string{"rsi_bollinger", "sma_cross"} {
		tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: strat, Config: exampleConfig(t), Timerange: "20180110-20180115"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Wait(ctx, tk.RunID, nil); err != nil || r.Status != client.Completed {
			t.Fatalf("%s: %s %q, %v", strat, r.Status, r.Error, err)
		}
		ids = append(ids, tk.RunID)
	}
	cmp, err := c.Compare(ctx, ids...)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Runs) != 2 || len(cmp.Metrics) == 0 || len(cmp.Metrics[0].Values) != 2 {
		t.Fatalf("comparison %+v", cmp)
	}
	if !strings.Contains(strings.Join(cmp.Differ, " "), "config.strategy") {
		t.Errorf("differ %v lacks config.strategy", cmp.Differ)
	}

	specs, err := c.Strategies(ctx)
	if err != nil || len(specs) < 3 {
		t.Fatalf("strategies: %d, %v", len(specs), err)
	}
	series, err := c.Data(ctx, "binance")
	if err != nil || len(series) != 5 {
		t.Fatalf("data: %d series, %v", len(series), err)
	}
	f, err := c.Freshness(ctx, apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{"ETH/BTC", "NOPE/BTC"}, Timeframes: []string{"5m"}})
	if err != nil || len(f.Series) != 2 || f.Fresh || f.Series[1].Status != "missing" {
		t.Fatalf("freshness: %+v, %v", f, err)
	}
}

func TestResolveToken(t *testing.T) {
	home := t.TempDir()
	t.Setenv(client.TokenEnv, "")
	_, _, err := client.ResolveToken("", home)
	want := "no API token: pass --token, set TRADAI_TOKEN, or run tradai serve once to create " + filepath.Join(home, "token")
	if err == nil || err.Error() != want {
		t.Fatalf("no token: %v, want %q", err, want)
	}
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.ResolveToken("", home); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("tdi_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, env, want, source string }{
		{"", "", "tdi_file", filepath.Join(home, "token")},
		{"", " tdi_env ", "tdi_env", "$TRADAI_TOKEN"},
		{"tdi_flag", "tdi_env", "tdi_flag", "--token"},
	} {
		t.Setenv(client.TokenEnv, tc.env)
		tok, src, err := client.ResolveToken(tc.flag, home)
		if err != nil || tok != tc.want || src != tc.source {
			t.Errorf("flag %q env %q: %q from %q, %v; want %q from %q", tc.flag, tc.env, tok, src, err, tc.want, tc.source)
		}
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		if _, err := client.New(u, "tdi_x", client.Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := client.New("http://host", "", client.Options{}); err == nil {
		t.Error("New without a token accepted")
	}
	c, err := client.New("http://host:1/prefix/", "tdi_x", client.Options{})
	if err != nil || c.BaseURL() != "http://host:1/prefix" || c.URL("/api/v1/x") != "http://host:1/prefix/api/v1/x" || c.URL("https://elsewhere/x") != "https://elsewhere/x" {
		t.Fatalf("base %q, %v", c.BaseURL(), err)
	}
}
