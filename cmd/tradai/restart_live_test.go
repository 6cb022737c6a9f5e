package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/secrets"
)

// The restart proof of live trading: a runner process trading a live
// deployment (a stored sim account, on the simulator of a tradai serve) is
// killed with SIGKILL while its orders rest at the simulator; a new runner
// process takes the deployment over, reconciles every order by its client
// order id and trades on, and the simulator never saw a client order id
// twice.
func TestLiveRunnerKilledWithOrdersOpen(t *testing.T) {
	t.Parallel() // child processes on a schema of its own, mostly waiting on them
	if testing.Short() {
		t.Skip("runs the server and runners in child processes")
	}
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		if tg.Dialect != db.Postgres {
			t.Skip("tradai runner needs PostgreSQL")
		}
		dir := t.TempDir()
		home := filepath.Join(dir, "home")
		kekFile := filepath.Join(dir, "kek")
		if err := os.WriteFile(kekFile, []byte(secrets.GenerateKEK()), 0o600); err != nil {
			t.Fatal(err)
		}
		data, err := filepath.Abs("../../examples/data")
		if err != nil {
			t.Fatal(err)
		}
		simAddr := freeAddr(t)
		simURL := "http://" + simAddr
		srv := startChild(t, "serve", "--database", tg.URL, "--home", home, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "0",
			"--runner-max", "0", "--kek-file", kekFile, "--rate-limit", "1000", "--sim", "--sim-addr", simAddr, "--sim-pairs", "ETH/BTC,LTC/BTC",
			"--sim-timeframe", "5m", "--sim-speed", "0", "--sim-mode", "shifted", "--sim-start", "20180112")
		api := srv.serving(t)
		token := homeToken(t, home)
		call := func(method, path string, body, out any) int {
			t.Helper()
			var rd io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(method, api+path, rd)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if out != nil && res.StatusCode < 300 {
				if err := json.Unmarshal(b, out); err != nil {
					t.Fatalf("%s %s: %v: %s", method, path, err, b)
				}
			}
			if res.StatusCode >= 300 {
				t.Logf("%s %s: %d %s", method, path, res.StatusCode, b)
			}
			return res.StatusCode
		}

		// The venue account: a simulator account, stored as the tenant's.
		admin := simClient{t: t, base: simURL}
		var acct struct{ Account, APIKey, SecretKey string }
		if st := admin.call("POST", "/sim/v1/accounts", url.Values{"name": {"desk"}}, &acct); st != 200 {
			t.Fatalf("create the simulator account: %d", st)
		}
		if st := admin.call("POST", "/sim/v1/fund", url.Values{"account": {acct.Account}, "asset": {"BTC"}, "amount": {"1"}}, nil); st != 200 {
			t.Fatalf("fund: %d", st)
		}
		if st := call("POST", "/api/v1/accounts", apitype.AccountRequest{Venue: "sim", Name: "live1", APIKey: acct.APIKey, Secret: acct.SecretKey}, nil); st != http.StatusCreated {
			t.Fatalf("add the account: %d", st)
		}
		var dep apitype.Deployment
		if st := call("POST", "/api/v1/deployments", apitype.DeploymentRequest{Strategy: "sma_cross", Mode: "live", Venue: "sim", Account: "live1",
			Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframe: "5m", Config: map[string]any{"stake_currency": "BTC", "stake_amount": 0.1,
				"dry_run_wallet": 1, "max_open_trades": 2, "stoploss": -0.05}}, &dep); st != http.StatusCreated {
			t.Fatalf("create the live deployment: %d", st)
		}
		show := func() apitype.Deployment {
			t.Helper()
			var d apitype.Deployment
			call("GET", "/api/v1/deployments/"+dep.ID, nil, &d)
			if d.State == "failed" {
				t.Fatalf("the deployment failed: %s", d.Error)
			}
			return d
		}
		runnerArgs := func(name string) []string {
			return []string{"runner", "--database", tg.URL, "--sim-url", simURL, "--name", name, "--kek-file", kekFile, "--heartbeat", "1s", "--lease", "3s"}
		}
		first := startChild(t, runnerArgs("r1")...)
		waitLiveProof(t, "the first runner to take the deployment", 60*time.Second, func() bool { d := show(); return d.Runner == "r1" && d.State == "running" })

		// Step the market a candle at a time until orders rest at the
		// simulator (the stop-loss of an open trade).
		trader := simClient{t: t, base: simURL, key: acct.APIKey, secret: acct.SecretKey}
		open := func() []map[string]any {
			var os []map[string]any
			if st := trader.call("GET", "/api/v3/openOrders", url.Values{}, &os); st != 200 {
				t.Fatalf("open orders: %d", st)
			}
			return os
		}
		// step moves the market a candle on and waits for the runner's
		// tick. The runner learns of a close from the kline stream: a
		// runner that just started may not follow it yet (its polling
		// fallback waits for the close on the wall clock, which the stepped
		// simulation runs ahead of), so a close it missed is followed by
		// another.
		step := func() {
			t.Helper()
			before := show().LastTick
			for try := 0; ; try++ {
				if st := admin.call("POST", "/sim/v1/step", url.Values{"candles": {"1"}}, nil); st != 200 {
					t.Fatalf("step: %d", st)
				}
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					if d := show(); d.LastTick != nil && (before == nil || d.LastTick.After(*before)) {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				if try == 5 {
					t.Fatal("the runner acted on none of 6 candle closes")
				}
			}
		}
		steps := 0
		for len(open()) == 0 {
			if steps++; steps > 400 {
				t.Fatal("no order rested at the simulator in 400 candles")
			}
			step()
		}
		resting := open()
		t.Logf("after %d candles, %d orders rest at the simulator; killing the runner", steps, len(resting))
		first.kill9(t)

		// A new runner takes over once the dead one's lease expired (3 s).
		second := startChild(t, runnerArgs("r2")...)
		waitLiveProof(t, "the second runner to take the deployment", 30*time.Second, func() bool { return show().Runner == "r2" })
		for range 30 {
			step()
		}
		var logs apitype.LogPage
		call("GET", "/api/v1/deployments/"+dep.ID+"/logs?limit=1000", nil, &logs)
		reconciled := false
		for _, l := range logs.Lines {
			if l.Msg == "resting exit reconciled with the venue" || l.Msg == "order reconciled with the venue" {
				reconciled = true
			}
		}
		if !reconciled {
			t.Errorf("the second runner logged no reconciliation")
		}
		second.stop(t)

		// Every client order id reached the simulator once.
		seen := map[string]int{}
		for _, sym := range []string{"ETHBTC", "LTCBTC"} {
			var all []struct {
				ClientOrderID string `json:"clientOrderId"`
				Status        string `json:"status"`
			}
			if st := trader.call("GET", "/api/v3/allOrders", url.Values{"symbol": {sym}, "limit": {"1000"}}, &all); st != 200 {
				t.Fatalf("all orders: %d", st)
			}
			for _, o := range all {
				seen[o.ClientOrderID]++
			}
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("client order id %s sent %d times", id, n)
			}
		}
		for _, o := range resting {
			if seen[o["clientOrderId"].(string)] != 1 {
				t.Errorf("the order resting at the kill, %v, is not at the simulator once", o["clientOrderId"])
			}
		}
		var orders apitype.DeploymentOrderList
		call("GET", "/api/v1/deployments/"+dep.ID+"/orders", nil, &orders)
		recorded := map[string]bool{}
		for _, o := range orders.Orders {
			recorded[o.ClientOrderID] = true
		}
		for id := range seen {
			if !recorded[id] {
				t.Errorf("order %s at the simulator is not the deployment's record", id)
			}
		}
		t.Logf("%d orders, each sent once; %d candles after the restart", len(seen), 30)
	})
}

// waitLiveProof polls cond until it holds or within passes.
func waitLiveProof(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
