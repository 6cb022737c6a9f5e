package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// holdingProxy stands between runner processes and the simulator: it
// passes every request through, and when armed, holds the answer to the
// next order placement — placed at the simulator, its answer never
// delivered — until the runner that sent it is gone.
type holdingProxy struct {
	url   string // the proxy's
	sim   *url.URL
	pass  *httputil.ReverseProxy
	mu    sync.Mutex
	armed bool
	held  chan string // the client order id of each held placement
}

func newHoldingProxy(t *testing.T, simURL string) *holdingProxy {
	t.Helper()
	u, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{sim: u, pass: httputil.NewSingleHostReverseProxy(u), held: make(chan string, 8)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { srv.CloseClientConnections() })
	p.pass.FlushInterval = -1
	p.url = srv.URL
	return p
}

func (p *holdingProxy) arm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = true
}

func (p *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v3/order" {
		p.pass.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	hold := p.armed
	p.armed = false
	p.mu.Unlock()
	if !hold {
		p.pass.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.sim.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var placed struct {
		ClientOrderID string `json:"clientOrderId"`
	}
	_ = json.Unmarshal(answer, &placed)
	p.held <- placed.ClientOrderID + " " + res.Status
	<-r.Context().Done() // the runner was killed
}

// zigzag writes n 1m candles of pair from `from` into data's store: a
// zigzag between 100 and 102, on which sma_cross with fast 2 and slow 5
// crosses up at every other close and back down at the next: an order at
// every close.
func zigzag(t *testing.T, data, pair string, from time.Time, n int) {
	t.Helper()
	st, err := market.Open(data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := &sdk.Frame{Pair: pair, Timeframe: "1m"}
	prev := 100.0
	for i := range n {
		cl := 100.0
		if i%2 == 1 {
			cl = 102
		}
		f.Time = append(f.Time, from.UnixMilli()+int64(i)*60_000)
		f.Open, f.High, f.Low, f.Close = append(f.Open, prev), append(f.High, max(prev, cl)+0.5), append(f.Low, min(prev, cl)-0.5), append(f.Close, cl)
		f.Volume = append(f.Volume, 1e6)
		prev = cl
	}
	if _, err := st.Append(context.Background(), market.Key{Exchange: "binance", Pair: pair, Timeframe: "1m", Type: market.Spot}, f); err != nil {
		t.Fatal(err)
	}
}

// Runner processes on PostgreSQL killed (SIGKILL) between placing an
// order and recording its answer: a second runner process already running
// takes the deployment over when the lease expires, reconciles the order
// with the simulator and goes on; killed the same way, a runner started
// afterwards (a restart) does the same. Every order is at the simulator
// once, none is missing, and the deployment keeps trading. The simulator
// is stepped (--sim-speed 0) a candle at a time instead of waiting for
// real minutes to close: a runner acts on a close it reads from the
// kline stream, which the stepped simulation runs ahead of the wall clock.
func TestRunnerKilledMidOrderPostgres(t *testing.T) {
	t.Parallel() // child processes on a schema of its own, mostly waiting on them
	if testing.Short() {
		t.Skip("runs runner processes")
	}
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		if tg.Dialect != db.Postgres {
			t.Skip("tradai runner needs PostgreSQL")
		}
		ctx := context.Background()
		d := tg.Open(t)
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		// The candles of the last day and the next, shifted onto the
		// present: their first day ends now.
		data := t.TempDir()
		day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
		zigzag(t, data, "AAA/USDT", day, 3*1440)
		home := t.TempDir()
		simAddr := freeAddr(t)
		const adminToken = "sim-admin"
		srv := startChild(t, "serve", "--home", home, "--database", tg.URL, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "0",
			"--runner-max", "0", "--sim", "--sim-mode", "shifted", "--sim-start", day.AddDate(0, 0, 1).Format("20060102"), "--sim-speed", "0", "--sim-pairs", "AAA/USDT",
			"--sim-timeframe", "1m", "--sim-addr", simAddr, "--sim-admin-token", adminToken, "--sim-weight-limit", "-1", "--rate-limit", "1000")
		api := srv.serving(t)
		proxy := newHoldingProxy(t, "http://"+simAddr)
		runnerArgs := func(name string) []string {
			return []string{"runner", "--home", t.TempDir(), "--database", tg.URL, "--datadir", data, "--name", name, "--sim-url", proxy.url,
				"--sim-admin-token", adminToken, "--heartbeat", "1s", "--lease", "3s"}
		}

		proxy.arm()
		r1 := startChild(t, runnerArgs("r1")...)
		body, _ := json.Marshal(apitype.DeploymentRequest{Strategy: "sma_cross", Mode: "paper", Venue: "sim", Account: "paper1", Pairs: []string{"AAA/USDT"},
			Timeframe: "1m", Config: map[string]any{"timeframe": "1m", "stake_currency": "USDT", "stake_amount": 100, "dry_run_wallet": 10000,
				"max_open_trades": 1, "stoploss": -0.5, "minimal_roi": map[string]any{"0": 10}, "strategy_params": map[string]any{"fast": 2, "slow": 5}}})
		req, _ := http.NewRequest(http.MethodPost, api+"/api/v1/deployments", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+homeToken(t, home))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var dep apitype.Deployment
		err = json.NewDecoder(res.Body).Decode(&dep)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || err != nil {
			t.Fatalf("create the deployment: %d %v", res.StatusCode, err)
		}
		holder := func() string {
			var r string
			if err := d.QueryRow(ctx, `SELECT lease_runner FROM deployments WHERE id = ?`, dep.ID).Scan(&r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		waitUntil(t, "r1 holds the deployment", 30*time.Second, func() bool { return holder() == "r1" })
		r2 := startChild(t, runnerArgs("r2")...)

		// step moves the market a candle on; a runner that just started
		// may not follow the kline stream yet, so until done holds, the
		// next close follows (the zigzag makes an order at every close).
		step := func(what string, done func(wait time.Duration) bool) {
			t.Helper()
			for range 40 {
				req, _ := http.NewRequest(http.MethodPost, "http://"+simAddr+"/sim/v1/step?candles=1", nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("step the simulator: %d", res.StatusCode)
				}
				if done(5 * time.Second) {
					return
				}
			}
			t.Fatalf("not after 40 candle closes: %s", what)
		}

		// r1 places an order and never learns its fate: killed.
		var held []string
		hold := func(who string) {
			t.Helper()
			step(who+" places an order", func(wait time.Duration) bool {
				select {
				case h := <-proxy.held:
					held = append(held, strings.Fields(h)[0])
					t.Logf("%s placed %s, killed before the answer", who, h)
					return true
				case <-time.After(wait):
					return false
				}
			})
		}
		hold("r1")
		proxy.arm()
		r1.kill9(t)
		// r2 takes over within the lease (3 s) and a heartbeat, reconciles
		// and goes on: its next order is held, and it is killed too.
		waitUntil(t, "r2 takes the deployment over", 30*time.Second, func() bool { return holder() == "r2" })
		hold("r2")
		r2.kill9(t)
		// A runner started afterwards takes it, and trades on.
		before := countWhere(t, d, `SELECT COUNT(*) FROM deployment_orders WHERE deployment_id = ?`, dep.ID)
		r3 := startChild(t, runnerArgs("r3")...)
		waitUntil(t, "r3 takes the deployment over", 30*time.Second, func() bool { return holder() == "r3" })
		step("r3 places two more orders", func(wait time.Duration) bool {
			deadline := time.Now().Add(wait)
			for time.Now().Before(deadline) {
				if countWhere(t, d, `SELECT COUNT(*) FROM deployment_orders WHERE deployment_id = ?`, dep.ID) >= before+2 {
					return true
				}
				time.Sleep(100 * time.Millisecond)
			}
			return false
		})
		r3.stop(t)
		srv.stop(t)

		// Every order once at the simulator; every order the deployment
		// placed is there, and nothing else.
		var acct string
		if err := d.QueryRow(ctx, `SELECT id FROM sim_accounts WHERE name = 'paper1'`).Scan(&acct); err != nil {
			t.Fatal(err)
		}
		if n := countWhere(t, d, `SELECT COUNT(*) FROM (SELECT client_order_id FROM sim_orders WHERE account_id = ? GROUP BY client_order_id HAVING COUNT(*) > 1) x`, acct); n != 0 {
			t.Fatalf("%d client order ids placed more than once at the simulator", n)
		}
		if n := countWhere(t, d, `SELECT COUNT(*) FROM sim_orders s WHERE account_id = ? AND NOT EXISTS
			(SELECT 1 FROM deployment_orders o WHERE o.client_order_id = s.client_order_id AND o.deployment_id = ?)`, acct, dep.ID); n != 0 {
			t.Fatalf("%d orders at the simulator the deployment does not know", n)
		}
		if n := countWhere(t, d, `SELECT COUNT(*) FROM deployment_orders o WHERE deployment_id = ? AND status NOT IN ('EXPIRED', 'REJECTED') AND NOT EXISTS
			(SELECT 1 FROM sim_orders s WHERE s.client_order_id = o.client_order_id AND s.account_id = ?)`, dep.ID, acct); n != 0 {
			t.Fatalf("%d orders the deployment recorded as placed are missing at the simulator", n)
		}
		for _, id := range held {
			var status string
			if err := d.QueryRow(ctx, `SELECT status FROM deployment_orders WHERE client_order_id = ?`, id).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if status == "PENDING" || status == "EXPIRED" {
				t.Errorf("held order %s is %s: not reconciled with the simulator", id, status)
			}
		}
		t.Logf("%d orders, %d at the simulator, %d trades (%d closed)",
			countWhere(t, d, `SELECT COUNT(*) FROM deployment_orders WHERE deployment_id = ?`, dep.ID),
			countWhere(t, d, `SELECT COUNT(*) FROM sim_orders WHERE account_id = ?`, acct),
			countWhere(t, d, `SELECT COUNT(*) FROM deployment_trades WHERE deployment_id = ?`, dep.ID),
			countWhere(t, d, `SELECT COUNT(*) FROM deployment_trades WHERE deployment_id = ? AND open = 0`, dep.ID))
	})
}

// waitUntil polls cond until it holds, failing the test after within.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The runner's lease settings and the alert webhook are checked before
// anything starts.
func TestRunnerAndServeFlagsChecked(t *testing.T) {
	t.Setenv("TRADAI_DATABASE", "")
	pg := "postgres://tradai@127.0.0.1:1/none"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"runner", "--database", pg, "--heartbeat", "5s", "--lease", "5s"}, "--heartbeat 5s must be shorter than --lease 5s"},
		{[]string{"runner", "--database", pg, "--alert-webhook", "ftp://hooks.example.com"}, `alert webhook "ftp://hooks.example.com"`},
		{[]string{"serve", "--home", t.TempDir(), "--alert-webhook", "hooks.example.com"}, `alert webhook "hooks.example.com"`},
	} {
		if _, _, err := execute(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
