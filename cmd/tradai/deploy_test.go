package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
)

// deployServer is "tradai serve --sim" in-process on the example data, with
// every part on one fake clock at t0: the simulator replays the candles at
// the clock's time, and the runner tier ticks on it, so the test moves
// both candle by candle. Each of opts changes the platform's config.
func deployServer(t *testing.T, t0 time.Time, opts ...func(*platform.Config)) (p *platform.Platform, clk *clock.Fake, home, simURL string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), "home")
	clk = clock.NewFake(t0)
	var out bytes.Buffer
	cfg := platform.Config{
		Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"), Addr: "127.0.0.1:0", Out: &out,
		Sim: &simserver.Config{Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframe: "5m", Addr: "127.0.0.1:0", Speed: 1, SpeedGiven: true, Start: t0,
			Engine: sim.DefaultConfig(), WeightLimit: -1},
		Runner:   &platform.RunnerConfig{Name: "test-runner"},
		API:      api.Options{RateLimit: 1e6},
		Clock:    clk,
		Version:  "test",
		DrainAPI: time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := platform.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Requests still open are cut off at once (DrainAPI).
		if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stop the server: %v", err)
		}
	})
	simURL = regexp.MustCompile(`simulator listening on (http://\S+)`).FindStringSubmatch(out.String())[1]
	return p, clk, home, simURL
}

// The paper trading journey: tradai serve --sim, a deployment of a
// built-in strategy on the simulator stepped candle by candle, its trades
// in `deploy trades`, its report rendered by `deploy report`.
func TestDeployPaperOnTheSimulator(t *testing.T) {
	remoteEnv(t)
	t0 := time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC) // after sma_cross's 200 warm-up candles
	p, clk, home, _ := deployServer(t, t0)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "risk.json")
	if err := os.WriteFile(cfg, []byte(`{"stake_currency": "BTC", "stake_amount": "unlimited", "dry_run_wallet": 1, "max_open_trades": 2, "stoploss": -0.05}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--remote", p.URL(), "--home", home)
		if err := executeCtx(context.Background(), &out, &errb, args...); err != nil {
			t.Fatalf("tradai %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	var dep apitype.Deployment
	if err := json.Unmarshal([]byte(cli("deploy", "create", "--strategy", "sma_cross", "--mode", "paper", "--venue", "sim", "--account", "paper1",
		"--pairs", "ETH/BTC,LTC/BTC", "--timeframe", "5m", "--config", cfg, "--json")), &dep); err != nil {
		t.Fatal(err)
	}
	show := func() apitype.Deployment {
		t.Helper()
		var d apitype.Deployment
		if err := json.Unmarshal([]byte(cli("deploy", "show", dep.ID, "--json")), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// The runner tier takes it at its next heartbeat.
	clk.Advance(10 * time.Second)
	waitFor(t, "the deployment to run", func() bool { return show().State == "running" })
	// Candle by candle until trades closed (or a day of candles).
	close := t0
	for range 288 {
		close = close.Add(5 * time.Minute)
		clk.Set(close)
		waitFor(t, "the tick at "+close.String(), func() bool {
			d := show()
			return d.LastTick != nil && !d.LastTick.Before(close)
		})
		if s := show().Summary; s != nil && s.ClosedTrades >= 2 {
			break
		}
	}
	d := show()
	if d.Summary == nil || d.Summary.ClosedTrades == 0 || d.Stale {
		t.Fatalf("after the replay: %+v (summary %+v)", d, d.Summary)
	}
	out := cli("deploy", "trades", dep.ID)
	if !strings.Contains(out, "ETH/BTC") && !strings.Contains(out, "LTC/BTC") || !strings.Contains(out, "exit_signal") && !strings.Contains(out, "stop_loss") {
		t.Errorf("deploy trades:\n%s", out)
	}
	report := filepath.Join(dir, "r.html")
	cli("deploy", "report", dep.ID, "--report", report)
	if h, err := os.ReadFile(report); err != nil || !bytes.Contains(h, []byte("<svg")) || !bytes.Contains(h, []byte("sma_cross")) {
		t.Fatalf("report: %v", err)
	}
	// The simulator counts the request weight of the runner's requests.
	if d.Summary.VenueWeight == 0 || d.Summary.VenueWeight1m == 0 {
		t.Errorf("cost: venue weight %d, the venue's minute %d", d.Summary.VenueWeight, d.Summary.VenueWeight1m)
	}
	for _, want := range []string{"closed trades", "realised profit", "heartbeat", "venue weight", "peak memory", "cpu", "circuit breaker:"} {
		if out := cli("deploy", "show", dep.ID); !strings.Contains(out, want) {
			t.Errorf("deploy show lacks %q:\n%s", want, out)
		}
	}
	if out := cli("deploy", "orders", dep.ID); !strings.Contains(out, "FILLED") {
		t.Errorf("deploy orders:\n%s", out)
	}
	if out := cli("deploy", "logs", dep.ID); !strings.Contains(out, "runner started") {
		t.Errorf("deploy logs:\n%s", out)
	}
	// logs -f prints what is there, waits for more, and ends with Ctrl-C.
	fctx, cancel := context.WithCancel(context.Background())
	var followed lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- executeCtx(fctx, &followed, io.Discard, "deploy", "logs", "-f", dep.ID, "--remote", p.URL(), "--home", home)
	}()
	waitFor(t, "logs -f to print", func() bool { return strings.Contains(followed.String(), "runner started") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("logs -f after Ctrl-C: %v", err)
	}
	if out := cli("deploy", "list"); !strings.Contains(out, dep.ID) || !strings.Contains(out, "running") {
		t.Errorf("deploy list:\n%s", out)
	}
	cli("deploy", "positions", dep.ID)
	cli("deploy", "equity", dep.ID)
	if out := cli("deploy", "stop", dep.ID); !strings.Contains(out, "stopped") {
		t.Errorf("deploy stop: %s", out)
	}
}

// Without --remote the deploy commands work on the local database, with
// the API's checks: what they create, the server on that database trades.
func TestDeployLocal(t *testing.T) {
	remoteEnv(t)
	p, _, home, simURL := deployServer(t, time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC))
	local := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := executeCtx(context.Background(), &out, &errb, append(args, "--home", home, "--sim-url", simURL)...)
		return out.String(), err
	}
	_, err := local("deploy", "create", "--strategy", "sma_cross", "--account", "a", "--pairs", "XMR/BTC", "--timeframe", "5m")
	if err == nil || !strings.Contains(err.Error(), "pairs[0]: venue sim does not list XMR/BTC") {
		t.Errorf("a pair the simulator does not list: %v", err)
	}
	_, err = local("deploy", "create", "--strategy", "sma_cross", "--account", "a", "--pairs", "ETH/BTC", "--timeframe", "5m", "--mode", "live")
	if err == nil || !strings.Contains(err.Error(), "tradai accounts add") {
		t.Errorf("live without a stored account: %v", err)
	}
	if _, err := local("deploy", "create", "--strategy", "sma_cross", "--account", "a", "--pairs", "ETH/BTC"); err == nil || !strings.Contains(err.Error(), "--timeframe is required") {
		t.Errorf("no timeframe: %v", err)
	}
	out, err := local("deploy", "create", "--strategy", "sma_cross", "--account", "a", "--pairs", "ETH/BTC", "--timeframe", "5m")
	if err != nil || !strings.Contains(out, "created (starting)") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	id := strings.Fields(out)[1]
	// The server sees it: the same database.
	var remote bytes.Buffer
	if err := executeCtx(context.Background(), &remote, io.Discard, "deploy", "show", id, "--remote", p.URL(), "--home", home); err != nil || !strings.Contains(remote.String(), "sma_cross") {
		t.Errorf("deploy show --remote: %v\n%s", err, remote.String())
	}
	if out, err := local("deploy", "stop", id, "--flatten"); err != nil || !strings.Contains(out, "closes the open positions") {
		t.Errorf("stop --flatten: %v %s", err, out)
	}
	if out, err := local("deploy", "stop", id); err != nil || !strings.Contains(out, "stopped") {
		t.Errorf("stop: %v %s", err, out)
	}
	// An account's risk limits, from a config's risk_limits.
	rl := filepath.Join(t.TempDir(), "risk.json")
	if err := os.WriteFile(rl, []byte(`{"stake_amount": 1, "risk_limits": {"max_order_notional": 0.5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local("deploy", "limits", "--account", "a", "--config", rl); err != nil {
		t.Fatal(err)
	}
	if out, err := local("deploy", "limits", "--account", "a"); err != nil || !strings.Contains(out, `"max_order_notional": 0.5`) {
		t.Errorf("deploy limits: %v %s", err, out)
	}
	// The kill switch: local mode is an operator.
	if _, err := local("deploy", "stop", id, "--platform"); err == nil || !strings.Contains(err.Error(), "go with --all") {
		t.Errorf("stop ID --platform: %v", err)
	}
	if _, err := local("deploy", "create", "--strategy", "sma_cross", "--account", "a", "--pairs", "ETH/BTC", "--timeframe", "5m"); err != nil {
		t.Fatal(err)
	}
	if out, err := local("deploy", "stop", "--all", "--platform", "--mode", "paper"); err != nil || !strings.Contains(out, "0 deployments stopping, 1 stopped") {
		t.Errorf("stop --all: %v %s", err, out)
	}
	if _, err := local("deploy", "show", "dep_nope"); err == nil || !strings.Contains(err.Error(), "no deployment dep_nope") {
		t.Errorf("an unknown id: %v", err)
	}
}

func TestRunnerNeedsPostgres(t *testing.T) {
	t.Setenv("TRADAI_DATABASE", "")
	_, _, err := execute(t, "runner", "--database", filepath.Join(t.TempDir(), "x.db"))
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("runner on SQLite: %v", err)
	}
}
