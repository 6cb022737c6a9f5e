package platform_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
)

// scrape reads url's Prometheus text: each sample line's value by its
// name and labels as written ("tradai_runs{status=\"queued\"}").
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The server's /metrics shows every tier moving: a backtest submitted
// through the API and run by its worker (runs by status, queue depth by
// state and kind, the wait in the queue, the run's duration), and a paper
// deployment on the simulator ticking on its runner (ticks, tick latency,
// the venue's requests and weight, the deployment's heartbeat age).
//
// Its trace shows the runner tier: the start and each tick a span, the
// venue's requests under them.
func TestServeMetricsMove(t *testing.T) {
	movedServer(t)
}

// movedServer runs a server with a worker, a runner and the simulator
// until TestServeMetricsMove's families moved, and returns its last scrape.
func movedServer(t *testing.T) (after map[string]float64, families map[string]bool) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	t0 := time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC) // after sma_cross's warm-up
	clk := clock.NewFake(t0)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	p, err := platform.New(platform.Config{TracerProvider: tp,
		Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"), Addr: "127.0.0.1:0", Workers: 1,
		Sim: &simserver.Config{Pairs: []string{"ETH/BTC"}, Timeframe: "5m", Addr: "127.0.0.1:0", Speed: 1, SpeedGiven: true, Start: t0,
			Engine: sim.DefaultConfig(), WeightLimit: -1},
		Runner: &platform.RunnerConfig{Name: "metrics-runner"},
		API:    api.Options{RateLimit: 1e6},
		Clock:  clk, Version: "test", DrainAPI: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown: %v", err)
		}
	})
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{PollMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	metrics := p.URL() + "/metrics"

	before := scrape(t, metrics)
	for name, want := range map[string]float64{
		`tradai_runs{status="completed"}`:                      0,
		`tradai_queue_jobs{kind="backtest",state="completed"}`: 0,
		`tradai_hyperopt_trials_total`:                         0,
		`tradai_deployment_tick_latency_seconds_count`:         0,
		`tradai_queue_jobs{kind="notify",state="discarded"}`:   0,
		`tradai_job_run_duration_seconds_count`:                0,
	} {
		if got, ok := before[name]; !ok || got != want {
			t.Errorf("before: %s = %v (present %v), want %v", name, got, ok, want)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ticket, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := c.Wait(ctx, ticket.RunID, nil); err != nil || run.Status != client.Completed {
		t.Fatalf("run: %v, %+v", err, run)
	}
	dep, err := c.CreateDeployment(ctx, apitype.DeploymentRequest{Strategy: "sma_cross", Mode: "paper", Venue: "sim", Account: "paper1",
		Pairs: []string{"ETH/BTC"}, Timeframe: "5m", Config: map[string]any{"stake_currency": "BTC", "dry_run_wallet": 1}})
	if err != nil {
		t.Fatal(err)
	}
	// The runner takes it at its next heartbeat, then ticks at the close.
	clk.Advance(10 * time.Second)
	poll(t, "the deployment to run", func() bool {
		d, err := c.Deployment(ctx, dep.ID)
		return err == nil && d.State == "running"
	})
	// A candle close on the clock, then the next (should the runner have
	// read the clock already moved while starting), until a tick is seen
	// and the queue has marked the backtest's job completed.
	closed, moved := t0, time.Now()
	poll(t, "a tick in the metrics", func() bool {
		if closed.Before(clk.Now()) || time.Since(moved) > time.Second {
			closed = closed.Add(5 * time.Minute)
			clk.Set(closed)
			moved = time.Now()
		}
		after = scrape(t, metrics)
		return after[`tradai_deployment_ticks_total{outcome="ok"}`] >= 1 && after[`tradai_queue_jobs{kind="backtest",state="completed"}`] >= 1
	})
	for name, least := range map[string]float64{
		`tradai_runs{status="completed"}`:                                      1,
		`tradai_queue_jobs{kind="backtest",state="completed"}`:                 1,
		`tradai_queue_wait_seconds_count{kind="backtest"}`:                     1,
		`tradai_job_run_duration_seconds_count`:                                1,
		`tradai_deployment_tick_latency_seconds_count`:                         1,
		`tradai_venue_requests_total{class="2xx",venue="sim"}`:                 1,
		`tradai_venue_request_weight_total{venue="sim"}`:                       1,
		`tradai_deployment_heartbeat_age_seconds{deployment="` + dep.ID + `"}`: 0,
	} {
		if got, ok := after[name]; !ok || got < least {
			t.Errorf("after: %s = %v (present %v), want at least %v", name, got, ok, least)
		}
	}
	// Tick spans, and the start's span with the venue's requests in it
	// (the ticks take their candles from the kline stream: with no trade
	// open they ask the venue nothing).
	ticks, starts := 0, map[trace.SpanID]bool{}
	for _, s := range spans.GetSpans() {
		switch s.Name {
		case "deployment tick":
			ticks++
		case "deployment start":
			starts[s.SpanContext.SpanID()] = true
		}
	}
	venue := false
	for _, s := range spans.GetSpans() {
		if strings.HasPrefix(s.Name, "binance GET ") && s.SpanKind == trace.SpanKindClient && starts[s.Parent.SpanID()] {
			venue = true
		}
	}
	if ticks == 0 || len(starts) == 0 || !venue {
		t.Errorf("%d tick spans, %d start spans, a venue request under one: %v", ticks, len(starts), venue)
	}
	return after, scrapeFamilies(t, metrics)
}

// scrapeFamilies is the names of the families url's /metrics declares.
func scrapeFamilies(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}

// poll waits up to 30 s for cond.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
