package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// executeCtx runs the CLI in-process with ctx, as main does with the
// context that Ctrl-C cancels.
func executeCtx(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(expandListArgs(args))
	return root.ExecuteContext(ctx)
}

// waitFor polls until cond holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// remoteEnv clears the variables the remote commands read, so only flags
// count.
func remoteEnv(t *testing.T) {
	t.Setenv("TRADAI_TOKEN", "")
	t.Setenv("TRADAI_URL", "")
	t.Setenv("TRADAI_HOME", "")
}

func apiClient(t *testing.T, s *clienttest.Server) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitStatus polls the server until the run is in status.
func waitStatus(t *testing.T, c *client.Client, id, status string) apitype.Run {
	t.Helper()
	var r apitype.Run
	waitFor(t, "run "+id+" to be "+status, func() bool {
		var err error
		if r, err = c.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return r.Status == status
	})
	return r
}

// writeConfig writes examples/backtest.json with a change to a temp file.
func writeConfig(t *testing.T, change func(map[string]any)) string {
	t.Helper()
	b, err := json.Marshal(clienttest.Config(t, change))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A remote backtest prints what the local one prints and downloads the
// same files.
func TestRemoteBacktest(t *testing.T) {
	remoteEnv(t)
	t.Chdir("../..")
	s := clienttest.Start(t, clienttest.Options{})
	dir := t.TempDir()
	html, js := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	out, errOut, err := execute(t, "backtest", "--remote", s.URL, "--home", s.Home, "--config", "examples/backtest.json",
		"--report", html, "--export-json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "submitted run run_") || !strings.Contains(errOut, " completed\n") {
		t.Errorf("progress lines: %q", errOut)
	}
	local, _, err := execute(t, "backtest", "--config", "examples/backtest.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, local) {
		t.Errorf("remote summary differs from the local one:\n%s\nwant:\n%s", out, local)
	}
	for _, want := range []string{"HTML report written to " + html, "Results written to " + js, "Report: " + s.URL + "/api/v1/backtests/run_"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Fatalf("report: %v", err)
	}
	var doc struct {
		Trades []map[string]any `json:"trades"`
	}
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &doc) != nil || len(doc.Trades) == 0 {
		t.Fatalf("export: %v, %d trades", err, len(doc.Trades))
	}

	// --no-wait prints the id; runs wait follows it to the same summary.
	id, _, err := execute(t, "backtest", "--remote", s.URL, "--token", s.Token, "-c", "examples/backtest.json", "--no-wait",
		"--strategy", "sma_cross", "--timerange", "20180115-20180120", "--pairs", "ETH/BTC", "LTC/BTC", "--tag", "experiment=fast-sma", "--tag", "by=ci")
	id = strings.TrimSpace(id)
	if err != nil || !strings.HasPrefix(id, "run_") {
		t.Fatalf("--no-wait: %q, %v", id, err)
	}
	out, _, err = execute(t, "runs", "wait", id, "--remote", s.URL, "--home", s.Home)
	if err != nil || !strings.Contains(out, "SUMMARY METRICS") || !strings.Contains(out, "Run "+id) {
		t.Fatalf("runs wait: %v\n%s", err, out)
	}
	r, err := apiClient(t, s).Get(context.Background(), id)
	if err != nil || r.Strategy != "sma_cross" || !strings.Contains(string(r.Config), `"pair_whitelist":["ETH/BTC","LTC/BTC"]`) ||
		!strings.Contains(string(r.Config), `"timerange":"20180115-20180120"`) || strings.Contains(string(r.Config), "datadir") {
		t.Fatalf("submitted run: %s %s, %v", r.Strategy, r.Config, err)
	}
	if r.Tags["experiment"] != "fast-sma" || r.Tags["by"] != "ci" {
		t.Fatalf("tags %v", r.Tags)
	}
}

func TestRemoteBacktestErrors(t *testing.T) {
	remoteEnv(t)
	s := clienttest.Start(t, clienttest.Options{})
	cfg := clienttest.ExampleConfig()
	bad := writeConfig(t, func(m map[string]any) { m["stake_amount"] = -1 })
	noStrategy := writeConfig(t, func(m map[string]any) { delete(m, "strategy") })
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bad config", []string{"-c", bad, "--home", s.Home},
			[]string{"submit backtest to " + s.URL + "/api/v1/backtests: 422 invalid_request: body.config: ", "stake_amount -1 must be positive"}},
		{"unknown strategy", []string{"-c", cfg, "--home", s.Home, "--strategy", "nope"},
			[]string{"422 invalid_request: body.strategy: ", `"nope"`}},
		{"no strategy", []string{"-c", noStrategy, "--home", s.Home}, []string{"no strategy: set \"strategy\" in " + noStrategy}},
		{"wrong token", []string{"-c", cfg, "--token", "tdi_wrong"},
			[]string{"401 unauthenticated: the API token is unknown or revoked (the token came from --token)"}},
		{"no token", []string{"-c", cfg, "--home", empty},
			[]string{"no API token: pass --token, set TRADAI_TOKEN, or run tradai serve once to create " + filepath.Join(empty, "token")}},
		{"failed run", []string{"-c", cfg, "--home", s.Home, "--pairs", "FOO/BTC"},
			[]string{"failed: ", "FOO"}},
		{"missing config", []string{"-c", filepath.Join(empty, "nope.json"), "--home", s.Home}, []string{"reading config: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, append([]string{"backtest", "--remote", s.URL}, tc.args...)...)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("got %v, want an error containing %q", err, w)
				}
			}
		})
	}
	if _, _, err := execute(t, "backtest", "-c", cfg, "--no-wait"); err == nil || !strings.Contains(err.Error(), "go with --remote") {
		t.Errorf("--no-wait without --remote: %v", err)
	}
}

// Ctrl-C while a remote backtest runs cancels the run and exits non-zero;
// Ctrl-C during runs wait leaves the run alone.
func TestRemoteInterrupt(t *testing.T) {
	remoteEnv(t)
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	c := apiClient(t, s)
	slow := clienttest.SlowStrategy(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- executeCtx(ctx, io.Discard, io.Discard, "backtest", "--remote", s.URL, "--home", s.Home, "-c", clienttest.ExampleConfig(), "--strategy", slow)
	}()
	// Ctrl-C once the run is running (its validate step waits for the slow
	// program's handshake).
	var id string
	waitFor(t, "the run to start", func() bool {
		page, err := c.List(context.Background(), client.ListOptions{Status: client.Running})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) > 0 {
			id = page.Runs[0].ID
		}
		return id != ""
	})
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not return after Ctrl-C")
	}
	if err == nil || err.Error() != "interrupted: run "+id+" cancelled" {
		t.Fatalf("after Ctrl-C: %v", err)
	}
	waitStatus(t, c, id, client.Cancelled)

	// Ctrl-C before the submission got its answer: the run, if the server
	// made it, is found by its Idempotency-Key and cancelled too.
	early, stop := context.WithCancel(context.Background())
	stop()
	err = executeCtx(early, io.Discard, io.Discard, "backtest", "--remote", s.URL, "--home", s.Home, "-c", clienttest.ExampleConfig())
	if err == nil || !strings.HasPrefix(err.Error(), "interrupted: run run_") {
		t.Fatalf("Ctrl-C during the submission: %v", err)
	}
	waitStatus(t, c, strings.Fields(err.Error())[2], client.Cancelled)

	// runs wait: Ctrl-C stops waiting only.
	tk, err := c.Submit(context.Background(), apitype.SubmitRequest{Strategy: slow, Config: map[string]any{"exchange": map[string]any{"name": "binance", "pair_whitelist": []string{"ETH/BTC"}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, tk.RunID, client.Running)
	wctx, wcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer wcancel()
	err = executeCtx(wctx, io.Discard, io.Discard, "runs", "wait", tk.RunID, "--remote", s.URL, "--home", s.Home)
	if err == nil || !strings.Contains(err.Error(), "stopped waiting; run "+tk.RunID+" goes on") {
		t.Fatalf("runs wait interrupted: %v", err)
	}
	if r, err := c.Get(context.Background(), tk.RunID); err != nil || r.Status != client.Running {
		t.Fatalf("after runs wait was interrupted: %s, %v", r.Status, err)
	}
	// runs cancel stops a running run.
	out, _, err := execute(t, "runs", "cancel", tk.RunID, "--remote", s.URL, "--home", s.Home)
	if err != nil || out != "run "+tk.RunID+" cancelled\n" {
		t.Fatalf("runs cancel: %q, %v", out, err)
	}
	waitStatus(t, c, tk.RunID, client.Cancelled)
}

func TestRunsCommands(t *testing.T) {
	remoteEnv(t)
	s := clienttest.Start(t, clienttest.Options{})
	t.Setenv("TRADAI_URL", s.URL) // the default server
	c := apiClient(t, s)
	ctx := context.Background()
	var ids []string
	for _, strat := range []string{"rsi_bollinger", "sma_cross"} {
		tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: strat, Config: map[string]any{
			"exchange":  map[string]any{"name": "binance", "pair_whitelist": []string{"ETH/BTC"}},
			"timerange": "20180110-20180120", "stake_currency": "BTC", "timeframe": "5m",
		}, Params: map[string]any{}, Tags: map[string]string{"experiment": "cli test", "strategy": strat}})
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, tk.RunID, client.Completed)
		ids = append(ids, tk.RunID)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := execute(t, append(args, "--home", s.Home)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return out
	}

	out := run("runs", "list")
	for _, want := range []string{"ID", "STATUS", ids[0], ids[1], "completed", "sma_cross"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs list lacks %q:\n%s", want, out)
		}
	}
	var page apitype.RunPage
	if err := json.Unmarshal([]byte(run("runs", "list", "--json", "--strategy", "sma_cross")), &page); err != nil || len(page.Runs) != 1 || page.Runs[0].ID != ids[1] {
		t.Fatalf("runs list --json --strategy: %+v, %v", page, err)
	}
	if out := run("runs", "list", "--tag", "strategy=sma_cross"); !strings.Contains(out, ids[1]) || strings.Contains(out, ids[0]) {
		t.Errorf("runs list --tag strategy=sma_cross:\n%s", out)
	}
	// The next-page hint repeats the filters.
	out, errOut, err := execute(t, "runs", "list", "--limit", "1", "--tag", "experiment=cli test", "--home", s.Home)
	hint, ok := strings.CutPrefix(strings.TrimSpace(errOut), "more runs: tradai runs list --home "+s.Home+" --limit 1 --tag 'experiment=cli test' --cursor ")
	if err != nil || !ok || !strings.Contains(out, ids[1]) || strings.Contains(out, ids[0]) {
		t.Fatalf("runs list --limit 1 --tag: %q %q, %v", out, errOut, err)
	}
	if out := run("runs", "list", "--limit", "1", "--tag", "experiment=cli test", "--cursor", hint); !strings.Contains(out, ids[0]) {
		t.Errorf("the next page:\n%s", out)
	}
	// The hint never repeats the API token.
	tok, err := os.ReadFile(filepath.Join(s.Home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, err = execute(t, "runs", "list", "--limit", "1", "--token", strings.TrimSpace(string(tok)))
	if err != nil || !strings.Contains(errOut, "more runs: ") || strings.Contains(errOut, "--token") || strings.Contains(errOut, strings.TrimSpace(string(tok))) {
		t.Errorf("next-page hint with --token: %q, %v", errOut, err)
	}

	out = run("runs", "show", ids[0])
	for _, want := range []string{"Run               " + ids[0], "Status            completed", "Strategy          rsi_bollinger",
		"Params            none given (the strategy's defaults)", "Market            binance", "Data fingerprint  xxh64:",
		"STEP", "validate", "record", "SUMMARY METRICS", "BTC", "Trading mode", "Max open trades", "Pairs: ", "report.html", s.URL + "/api/v1/backtests/" + ids[0] + "/artifacts/result.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs show lacks %q:\n%s", want, out)
		}
	}
	// Steps in workflow order.
	if i, j := strings.Index(out, "\nvalidate"), strings.Index(out, "\nrecord"); i < 0 || j < i {
		t.Errorf("steps out of order:\n%s", out)
	}
	var r apitype.Run
	if err := json.Unmarshal([]byte(run("runs", "show", ids[0], "--json")), &r); err != nil || r.ID != ids[0] || len(r.Steps) == 0 {
		t.Fatalf("runs show --json: %v", err)
	}

	out = run("runs", "compare", ids[0], ids[1])
	for _, want := range []string{"RUN", ids[0], ids[1], "total_trades", "profit_total", "* config.strategy", "rsi_bollinger", "Differ: config.strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs compare lacks %q:\n%s", want, out)
		}
	}
	var cmp apitype.Comparison
	if err := json.Unmarshal([]byte(run("runs", "compare", ids[0], ids[1], "--json")), &cmp); err != nil || len(cmp.Runs) != 2 {
		t.Fatalf("runs compare --json: %v", err)
	}
	if _, _, err := execute(t, "runs", "compare", ids[0], "--home", s.Home); err == nil {
		t.Error("compare of one run accepted")
	}
	if _, _, err := execute(t, "runs", "show", "run_nope", "--home", s.Home); err == nil || !strings.Contains(err.Error(), "404 not_found: no run run_nope") {
		t.Errorf("show of a missing run: %v", err)
	}
	if _, _, err := execute(t, "runs", "cancel", ids[0], "--home", s.Home); err == nil || !strings.Contains(err.Error(), "409 conflict") {
		t.Errorf("cancel of a completed run: %v", err)
	}

	if out := run("runs", "delete", ids[0], ids[1]); out != "run "+ids[0]+" deleted\nrun "+ids[1]+" deleted\n" {
		t.Errorf("runs delete printed %q", out)
	}
	if out := run("runs", "list"); strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) {
		t.Errorf("deleted runs still listed:\n%s", out)
	}
	if _, _, err := execute(t, "runs", "delete", ids[0], "--home", s.Home); err == nil || !strings.Contains(err.Error(), "404 not_found") {
		t.Errorf("delete of a deleted run: %v", err)
	}
}

// Retry with --wait follows the run again; a failing run exits non-zero
// with its error.
func TestRunsRetry(t *testing.T) {
	remoteEnv(t)
	s := clienttest.Start(t, clienttest.Options{})
	c := apiClient(t, s)
	tk, err := c.Submit(context.Background(), apitype.SubmitRequest{Strategy: "rsi_bollinger", Pairs: []string{"FOO/BTC"},
		Config: map[string]any{"exchange": map[string]any{"name": "binance"}}})
	if err != nil {
		t.Fatal(err)
	}
	failed := waitStatus(t, c, tk.RunID, client.Failed)
	out, _, err := execute(t, "runs", "show", tk.RunID, "--remote", s.URL, "--home", s.Home)
	if err != nil || !strings.Contains(out, "Error        "+failed.Error) {
		t.Fatalf("show of a failed run: %v\n%s", err, out)
	}
	_, errOut, err := execute(t, "runs", "retry", tk.RunID, "--wait", "--remote", s.URL, "--home", s.Home)
	if !strings.Contains(errOut, "run "+tk.RunID+" queued again") {
		t.Errorf("retry said %q", errOut)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "run "+tk.RunID+" failed: ") || !strings.Contains(err.Error(), "FOO") {
		t.Fatalf("retry --wait of a failing run: %v", err)
	}
}

// The plain progress line says what the running step does, not its bare
// name ("running: run").
func TestPhaseSaysWhatTheStepDoes(t *testing.T) {
	done := time.Unix(1, 0)
	r := apitype.Run{Status: client.Running, Steps: []apitype.Step{{Name: "validate", FinishedAt: &done}, {Name: "ensure_data", FinishedAt: &done}, {Name: "run"}}}
	if got := phase(r); got != "running: backtesting" {
		t.Errorf("phase = %q, want %q", got, "running: backtesting")
	}
	r.Steps = append(r.Steps[:2:2], apitype.Step{Name: "notify"})
	if got := phase(r); got != "running: notify" {
		t.Errorf("phase of an unknown step = %q", got)
	}
	if got := phase(apitype.Run{Status: client.Queued}); got != "queued" {
		t.Errorf("phase of a queued run = %q", got)
	}
}
