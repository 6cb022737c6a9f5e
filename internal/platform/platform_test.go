package platform_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
)

// A platform on a fresh SQLite database, with the simulator beside the
// API, starts on free ports, runs a backtest submitted through the API
// client (after the context it was started with has ended: that bounds the
// start only), and its Shutdown leaves no goroutine behind.
func TestPlatformLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t)
	home := filepath.Join(t.TempDir(), "home")
	var out bytes.Buffer
	p, err := platform.New(platform.Config{
		Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"),
		Addr: "127.0.0.1:0", Workers: 1, Out: &out, Version: "test",
		Sim: &simserver.Config{Pairs: []string{"ETH/BTC"}, Timeframe: "5m", Addr: "127.0.0.1:0", Engine: sim.DefaultConfig()},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Ready():
		t.Fatal("ready before Start")
	default:
	}
	startCtx, cancelStart := context.WithCancel(t.Context())
	if err := p.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	cancelStart()
	<-p.Ready()
	if !regexp.MustCompile(`(?s)^first start: created user admin .*\nsimulator listening on http://127\.0\.0\.1:\d+ .*\nTradAI test serving on http://127\.0\.0\.1:\d+ \(open it in a browser; API docs: .*/docs\)\n$`).MatchString(out.String()) {
		t.Errorf("the operator was told:\n%s", out.String())
	}
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{HTTPClient: &http.Client{Transport: tr}, PollMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ticket, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Wait(ctx, ticket.RunID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != client.Completed {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	tr.CloseIdleConnections()

	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := http.Get(p.URL() + "/health"); err == nil {
		t.Error("the API still answers after Shutdown")
	}
}

// The home folder holds the database and the first API token: the
// platform creates it for its user alone, and the token file and the
// database 0600; market data stays readable. A second start creates no
// other first user.
func TestHomePrivate(t *testing.T) {
	defer goleak.VerifyNone(t)
	home := filepath.Join(t.TempDir(), "home")
	data := filepath.Join(t.TempDir(), "data")
	start := func() *platform.Platform {
		p, err := platform.New(platform.Config{Home: home, DataDir: data, Database: filepath.Join(home, "tradai.db"), Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := start()
	defer p.Shutdown(context.Background())
	if p.TokenFile() != filepath.Join(home, "token") {
		t.Fatalf("token file %q", p.TokenFile())
	}
	for path, want := range map[string]os.FileMode{
		home: os.ModeDir | 0o700, data: os.ModeDir | 0o755,
		filepath.Join(home, "token"): 0o600, filepath.Join(home, "tradai.db"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %s, want %s", path, fi.Mode(), want)
		}
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	again := start()
	defer again.Shutdown(context.Background())
	if again.TokenFile() != "" {
		t.Errorf("second start wrote a token again to %s", again.TokenFile())
	}
}

// A start that fails half-way (the API's address is taken) stops what it
// had started and leaves the caller's database open.
func TestStartFailureCleansUp(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := t.Context()
	dir := t.TempDir()
	d, err := db.Open(ctx, filepath.Join(dir, "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	busy, err := platform.New(platform.Config{DataDir: dir, DB: d, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer busy.Shutdown(context.Background())
	p, err := platform.New(platform.Config{DataDir: dir, DB: d, Addr: strings.TrimPrefix(busy.URL(), "http://"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("start on a taken address: %v", err)
	}
	select {
	case <-p.Ready():
		t.Fatal("ready after a failed start")
	default:
	}
	if err := d.SQL().PingContext(ctx); err != nil {
		t.Fatalf("the caller's database after a failed start: %v", err)
	}
}

// Shutdown gives a running backtest DrainWorkers to finish, then cancels
// it and puts it back in the queue for the next start.
func TestShutdownRequeuesRunningBacktest(t *testing.T) {
	defer goleak.VerifyNone(t)
	home := filepath.Join(t.TempDir(), "home")
	p, err := platform.New(platform.Config{
		Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"),
		Addr: "127.0.0.1:0", Workers: 1, AllowExternalStrategies: true, DrainWorkers: 300 * time.Millisecond,
		Jobs: jobs.Options{CancelPoll: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ticket, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: clienttest.SlowStrategy(t), Config: clienttest.Config(t)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		run, err := c.Get(ctx, ticket.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status == client.Running {
			break
		}
		if client.Terminal(run.Status) {
			t.Fatalf("run %s: %s", run.Status, run.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tr.CloseIdleConnections()
	began := time.Now()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 15*time.Second {
		t.Errorf("Shutdown took %s with a backtest that does not finish, want the drain time (300ms) and then some", took)
	}
	d, err := db.Open(t.Context(), filepath.Join(home, "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var status string
	if err := d.QueryRow(t.Context(), `SELECT status FROM runs WHERE id = ?`, ticket.RunID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != client.Queued {
		t.Fatalf("run after Shutdown: %s, want it queued again", status)
	}
}

// The platform's clock stamps what its stores record.
func TestPlatformClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	home := filepath.Join(t.TempDir(), "home")
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := platform.New(platform.Config{Home: home, DataDir: t.TempDir(), Database: filepath.Join(home, "tradai.db"),
		Addr: "127.0.0.1:0", Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	u, err := p.Tenancy().UserByName(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Created.Equal(t0) {
		t.Fatalf("first user created at %s, want the platform clock's %s", u.Created, t0)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A worker process with --metrics-addr answers an orchestrator's probes
// there: /health while it serves, /ready while its database answers (503
// once it does not).
func TestWorkerProbes(t *testing.T) {
	home := t.TempDir()
	d, err := db.Open(t.Context(), filepath.Join(home, "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := platform.New(platform.Config{Home: home, DataDir: clienttest.ExampleData(), DB: d, MetricsAddr: addr, Workers: 1, Out: io.Discard, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	get := func(path string) int {
		t.Helper()
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, path := range []string{"/health", "/ready", "/metrics"} {
		if code := get(path); code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, code)
		}
	}
	// The worker's and runner's families are there from the start.
	m := scrape(t, "http://"+addr+"/metrics")
	for _, name := range []string{"tradai_job_run_duration_seconds_count", "tradai_deployment_tick_latency_seconds_count", "tradai_hyperopt_trials_total", "go_goroutines"} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	d.Close()
	if code := get("/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /ready with the database closed: %d, want 503", code)
	}
	if code := get("/health"); code != http.StatusOK {
		t.Errorf("GET /health with the database closed: %d, want 200", code)
	}
	_ = p.Shutdown(context.WithoutCancel(t.Context()))
}
