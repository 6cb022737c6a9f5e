package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

func deploymentRequest(change ...func(*apitype.DeploymentRequest)) apitype.DeploymentRequest {
	r := apitype.DeploymentRequest{Strategy: "sma_cross", Mode: "paper", Venue: "sim", Account: "paper1", Pairs: []string{"ETH/BTC"}, Timeframe: "5m",
		Config: map[string]any{"stake_currency": "BTC", "dry_run_wallet": 1, "stoploss": -0.05}}
	for _, c := range change {
		c(&r)
	}
	return r
}

// Bad input is refused naming the field, and nothing is stored.
func TestDeploymentBadInput(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true})
		// An account of the other tenant, by its id.
		if r := e.do("POST", "/api/v1/deployments", e.other, deploymentRequest(func(r *apitype.DeploymentRequest) { r.Account = "theirs" })); r.status != http.StatusCreated {
			t.Fatalf("the other tenant's deployment: %d %s", r.status, r.body)
		}
		var theirs string
		if err := d.QueryRow(context.Background(), `SELECT id FROM sim_accounts WHERE name = 'theirs'`).Scan(&theirs); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			change func(*apitype.DeploymentRequest)
			status int
			loc    string
			want   string
		}{
			{"unknown version", func(r *apitype.DeploymentRequest) { r.Strategy = "mystrat@3" }, 404, "body.strategy", "mystrat"},
			{"unknown name", func(r *apitype.DeploymentRequest) { r.Strategy = "nosuch" }, 404, "body.strategy", "nosuch"},
			{"a file", func(r *apitype.DeploymentRequest) { r.Strategy = "/tmp/x.py" }, 422, "body.strategy", "not a file"},
			{"pair not listed", func(r *apitype.DeploymentRequest) { r.Pairs = []string{"ETH/BTC", "XMR/BTC"} }, 422, "body.pairs[1]", "does not list XMR/BTC"},
			{"pair twice", func(r *apitype.DeploymentRequest) { r.Pairs = []string{"ETH/BTC", "ETH/BTC"} }, 422, "body.pairs", "twice"},
			{"timeframe of another strategy", func(r *apitype.DeploymentRequest) { r.Timeframe = "1h" }, 422, "body.timeframe", "trades on 5m"},
			{"timeframe unknown", func(r *apitype.DeploymentRequest) { r.Timeframe = "7m" }, 422, "body.timeframe", "7m"},
			{"stoploss out of range", func(r *apitype.DeploymentRequest) { r.Config["stoploss"] = 0.5 }, 422, "body.config", "stoploss"},
			{"max_open_trades 0", func(r *apitype.DeploymentRequest) { r.Config["max_open_trades"] = 0 }, 422, "body.config", "max_open_trades"},
			{"unknown config key", func(r *apitype.DeploymentRequest) { r.Config["stop_loss"] = -0.1 }, 422, "body.config", "stop_loss"},
			{"parameter out of range", func(r *apitype.DeploymentRequest) { r.Config["strategy_params"] = map[string]any{"fast": 1000} }, 422, "body.config.strategy_params", "fast"},
			{"live without a stored account", func(r *apitype.DeploymentRequest) { r.Mode = "live" }, 404, "body.account", "tradai accounts add"},
			{"mode unknown", func(r *apitype.DeploymentRequest) { r.Mode = "dry" }, 422, "body.mode", ""},
			{"paper on binance", func(r *apitype.DeploymentRequest) { r.Venue = "binance" }, 422, "body.mode", "paper trading happens on the simulator"},
			{"venue unknown", func(r *apitype.DeploymentRequest) { r.Venue = "ftp://x" }, 422, "body.venue", "ftp://x"},
			{"venue URL the operator did not allow", func(r *apitype.DeploymentRequest) { r.Venue = "http://169.254.169.254" }, 422, "body.venue", "--venue-url"},
			{"account of another tenant", func(r *apitype.DeploymentRequest) { r.Account = theirs }, 404, "body.account", "your tenant"},
			{"account with a control character", func(r *apitype.DeploymentRequest) { r.Account = "a\x01" }, 422, "body.account", ""},
			{"no pairs", func(r *apitype.DeploymentRequest) { r.Pairs = nil }, 422, "body.pairs", ""},
			{"risk limit out of range", func(r *apitype.DeploymentRequest) { r.Config["risk_limits"] = map[string]any{"max_daily_loss": 2} }, 422,
				"body.config.risk_limits.max_daily_loss", "ratio"},
			{"unknown risk limit", func(r *apitype.DeploymentRequest) { r.Config["risk_limits"] = map[string]any{"max_loss": 0.1} }, 422,
				"body.config.risk_limits.max_loss", "not a risk limit"},
		}
		for _, tc := range cases {
			r := e.do("POST", "/api/v1/deployments", e.token, deploymentRequest(tc.change))
			if r.status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
				continue
			}
			p := r.problem(t)
			if !strings.Contains(p.Detail, tc.loc) || !strings.Contains(p.Detail, tc.want) {
				t.Errorf("%s: %q, want %s and %q", tc.name, p.Detail, tc.loc, tc.want)
			}
		}
		var l apitype.DeploymentList
		e.do("GET", "/api/v1/deployments", e.token, nil).decode(t, &l)
		if len(l.Deployments) != 0 {
			t.Errorf("bad requests stored %d deployments", len(l.Deployments))
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM sim_accounts`).Scan(&n); err != nil || n != 1 {
			t.Errorf("simulator accounts: %d, %v; want only the other tenant's", n, err)
		}
	})
}

// A deployment's life through the API, and another tenant sees none of it.
func TestDeploymentLifecycleAndTenants(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true})
		r := e.do("POST", "/api/v1/deployments", e.token, deploymentRequest())
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var dep apitype.Deployment
		r.decode(t, &dep)
		if dep.State != "starting" || dep.Strategy != "sma_cross" || dep.Account != "paper1" || dep.Stale {
			t.Fatalf("created %+v", dep)
		}
		// The new paper account was funded with dry_run_wallet.
		var free int64
		if err := d.QueryRow(context.Background(), `SELECT b.free FROM sim_balances b JOIN sim_accounts a ON a.id = b.account_id WHERE a.name = 'paper1' AND b.asset = 'BTC'`).Scan(&free); err != nil || free != 100_000_000 {
			t.Errorf("paper1's BTC: %d, %v", free, err)
		}
		base := "/api/v1/deployments/" + dep.ID
		for _, path := range []string{"", "/trades", "/orders", "/positions", "/equity", "/logs", "/report"} {
			if r := e.do("GET", base+path, e.other, nil); r.status != http.StatusNotFound {
				t.Errorf("the other tenant's GET %s: %d", path, r.status)
			}
		}
		for _, path := range []string{"/stop", "/pause", "/resume"} {
			if r := e.do("POST", base+path, e.other, nil); r.status != http.StatusNotFound {
				t.Errorf("the other tenant's POST %s: %d", path, r.status)
			}
		}
		var l apitype.DeploymentList
		e.do("GET", "/api/v1/deployments", e.other, nil).decode(t, &l)
		if len(l.Deployments) != 0 {
			t.Errorf("the other tenant lists %d deployments", len(l.Deployments))
		}
		e.do("GET", "/api/v1/deployments", e.token, nil).decode(t, &l)
		if len(l.Deployments) != 1 || l.Deployments[0].ID != dep.ID {
			t.Errorf("list %+v", l)
		}
		var shown apitype.Deployment
		e.do("GET", base, e.token, nil).decode(t, &shown)
		if s := shown.Summary; s == nil || s.StartingBalance != 1 || s.Equity != 1 || s.OpenTrades != 0 {
			t.Errorf("summary %+v", shown.Summary)
		}
		if r := e.do("POST", base+"/pause", e.token, nil); r.status != http.StatusConflict {
			t.Errorf("pause a starting deployment: %d %s", r.status, r.body)
		}
		if r := e.do("POST", base+"/stop", e.token, apitype.StopRequest{Flatten: true}); r.status != http.StatusOK || !strings.Contains(string(r.body), `"flatten":true`) {
			t.Errorf("stop --flatten: %d %s", r.status, r.body)
		}
		var trades apitype.DeploymentTradeList
		e.do("GET", base+"/trades", e.token, nil).decode(t, &trades)
		if trades.Trades == nil || len(trades.Trades) != 0 {
			t.Errorf("trades %+v", trades)
		}
		var logs apitype.LogPage
		e.do("GET", base+"/logs?after=0", e.token, nil).decode(t, &logs)
		if len(logs.Lines) != 0 || logs.Next != 0 {
			t.Errorf("logs %+v", logs)
		}
		if r := e.do("GET", base+"/report", e.token, nil); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("report: %d %s", r.status, r.header.Get("Content-Type"))
		}
		r = e.do("POST", base+"/stop", e.token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("stop: %d %s", r.status, r.body)
		}
		r.decode(t, &dep)
		if dep.State != "stopped" {
			t.Errorf("stopped: %+v", dep)
		}
		if r := e.do("POST", base+"/stop", e.token, nil); r.status != http.StatusConflict {
			t.Errorf("stop twice: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/api/v1/deployments/dep_nope", e.token, nil); r.status != http.StatusNotFound {
			t.Errorf("unknown id: %d", r.status)
		}
	})
}

// fakeVenues is a venue listing ETH/BTC and LTC/BTC whose accounts all
// exist but the ids (sac_…), which are another tenant's.
type fakeVenues struct{}

func (fakeVenues) Markets(_ context.Context, spec deploy.Spec) ([]exchange.Market, error) {
	if spec.Venue != "sim" {
		return nil, deploy.Invalid("venue", "unknown")
	}
	return []exchange.Market{{Symbol: "ETHBTC", Base: "ETH", Quote: "BTC"}, {Symbol: "LTCBTC", Base: "LTC", Quote: "BTC"}}, nil
}

func (fakeVenues) Account(_ context.Context, _ string, spec deploy.Spec, _ string, _ float64) error {
	if strings.HasPrefix(spec.Account, "sac_") {
		return deploy.Invalid("account", "no simulator account of that name or id in your tenant")
	}
	return nil
}

// FuzzCreateDeployment: whatever a tenant sends to create a deployment,
// the answer is never a server error; a created deployment can be read
// back, with text the databases can store.
func FuzzCreateDeployment(f *testing.F) {
	b := deploymentsServer(f)
	for _, s := range []string{
		`{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"a","pairs":["ETH/BTC"],"timeframe":"5m"}`,
		`{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"a","pairs":["ETH/BTC","LTC/BTC"],"timeframe":"5m","config":{"stoploss":-0.1,"strategy_params":{"fast":5}}}`,
		`{"strategy":"sma_cross","mode":"live","venue":"binance","account":"sac_1","pairs":["XMR/BTC"],"timeframe":"1h","config":{"dry_run_wallet":1e308}}`,
		`{"strategy":"x@1","mode":"paper","venue":"sim","account":"\u0000","pairs":[""],"timeframe":"7m"}`,
		`{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"a","pairs":["ETH/BTC"],"timeframe":"5m","config":{"risk_limits":{"max_order_notional":0.5,"allowed_pairs":["ETH/BTC"],"max_drawdown":0.2}}}`,
		`{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"a","pairs":["ETH/BTC"],"timeframe":"5m","config":{"risk_limits":{"price_collar":"x","max_open_orders":1e99}}}`,
		`{"strategy":`, `[]`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := b.serve("POST", "/api/v1/deployments", body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusCreated {
			return
		}
		var dep apitype.Deployment
		if err := json.Unmarshal(rec.Body.Bytes(), &dep); err != nil {
			t.Fatal(err)
		}
		got := b.serve("GET", "/api/v1/deployments/"+dep.ID, "")
		if got.Code != http.StatusOK {
			t.Fatalf("created %q but GET: %d %s", body, got.Code, got.Body)
		}
		for _, s := range append([]string{dep.Strategy, dep.Account, dep.Venue}, dep.Pairs...) {
			if runs.CheckText(s) != nil {
				t.Fatalf("created with the text %q", s)
			}
		}
	})
}

// The kill switch stops every deployment of the caller's tenant (those no
// runner holds at once), none of another tenant's, audited with who; every
// tenant's is for operators only.
func TestStopAll(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true})
		var mine []string
		for range 2 {
			var dep apitype.Deployment
			e.do("POST", "/api/v1/deployments", e.token, deploymentRequest()).decode(t, &dep)
			mine = append(mine, dep.ID)
		}
		var theirs apitype.Deployment
		e.do("POST", "/api/v1/deployments", e.other, deploymentRequest(func(r *apitype.DeploymentRequest) { r.Account = "theirs" })).decode(t, &theirs)
		if r := e.do("POST", "/api/v1/deployments/stop-all", e.token, apitype.StopAllRequest{Platform: true}); r.status != http.StatusForbidden {
			t.Fatalf("platform stop-all by a tenant's user: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/deployments/stop-all", e.token, apitype.StopAllRequest{Modes: []string{"dry"}}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("unknown mode: %d %s", r.status, r.body)
		}
		var res apitype.StopAllResult
		r := e.do("POST", "/api/v1/deployments/stop-all", e.token, nil)
		r.decode(t, &res)
		if r.status != http.StatusOK || len(res.Stopped) != 2 || len(res.Asked) != 0 {
			t.Fatalf("stop-all: %d %s", r.status, r.body)
		}
		for _, id := range mine {
			var dep apitype.Deployment
			e.do("GET", "/api/v1/deployments/"+id, e.token, nil).decode(t, &dep)
			if dep.State != "stopped" {
				t.Errorf("%s after stop-all: %s", id, dep.State)
			}
		}
		e.do("GET", "/api/v1/deployments/"+theirs.ID, e.other, nil).decode(t, &theirs)
		if theirs.State != "starting" {
			t.Errorf("the other tenant's deployment after stop-all: %s", theirs.State)
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'deployment.stop_all' AND user_id IS NOT NULL`).Scan(&n); err != nil || n != 2 {
			t.Errorf("stop-all audit entries with who: %d, %v", n, err)
		}
	})
}

func FuzzStopAll(f *testing.F) {
	b := deploymentsServer(f)
	for _, s := range []string{`{"flatten":true}`, `{"platform":true}`, `{"modes":["paper","live"]}`, `{"modes":["x"]}`, `{"modes":null}`, `[]`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := b.serve("POST", "/api/v1/deployments/stop-all", body)
		if rec.Code >= 500 || rec.Code == http.StatusOK && strings.Contains(body, "platform\":true") {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}

// An account's risk limits: checked as a config's (422 naming the key),
// kept per tenant.
func TestAccountLimits(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true})
		const path = "/api/v1/deployments/account-limits"
		bad := apitype.AccountLimits{Venue: "sim", Account: "paper1", RiskLimits: map[string]any{"max_drawdown": -1}}
		if r := e.do("PUT", path, e.token, bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.problem(t).Detail, "body.risk_limits.max_drawdown") {
			t.Fatalf("a bad limit: %d %s", r.status, r.body)
		}
		good := apitype.AccountLimits{Venue: "sim", Account: "paper1", RiskLimits: map[string]any{"max_order_notional": 0.5}}
		if r := e.do("PUT", path, e.token, good); r.status != http.StatusOK {
			t.Fatalf("set: %d %s", r.status, r.body)
		}
		var got apitype.AccountLimits
		e.do("GET", path+"?venue=sim&account=paper1", e.token, nil).decode(t, &got)
		if got.RiskLimits["max_order_notional"] != 0.5 {
			t.Fatalf("get: %+v", got)
		}
		var theirs apitype.AccountLimits
		e.do("GET", path+"?venue=sim&account=paper1", e.other, nil).decode(t, &theirs)
		if theirs.RiskLimits == nil || len(theirs.RiskLimits) != 0 {
			t.Fatalf("the other tenant's view: %+v", theirs)
		}
	})
}

// deploymentsServer is an API server with deployments on fake venues, as
// the fuzz targets call it, with a token of alice's.
func deploymentsServer(f *testing.F) *bare {
	d := sqliteDB(f)
	log := slog.New(slog.DiscardHandler)
	store := runs.New(d, nil, 3, log)
	svc, err := jobs.New(d, store, clienttest.ExampleData(), log, jobs.Options{})
	if err != nil {
		f.Fatal(err)
	}
	deps, err := deploy.New(deploy.Config{DB: d})
	if err != nil {
		f.Fatal(err)
	}
	auth := tenancy.New(d, nil, log)
	s, err := api.New(api.Deps{DB: d, Runs: store, Jobs: svc, Tenancy: auth, DataDir: clienttest.ExampleData(), Log: log, Version: "test",
		Deployments: deps, Venues: fakeVenues{}}, api.Options{RateLimit: 1e9, Promote: deploy.PromoteRules{MinAge: -1, MinTrades: -1}})
	if err != nil {
		f.Fatal(err)
	}
	b := &bare{env: &env{t: f, db: d}, auth: auth, handler: s.Handler()}
	b.token = b.newToken(f, "alice", "acme")
	return b
}

func FuzzAccountLimits(f *testing.F) {
	b := deploymentsServer(f)
	for _, s := range []string{`{"venue":"sim","account":"a","risk_limits":{"max_order_notional":1}}`, `{"venue":"sim","account":"a","risk_limits":{"x":1}}`,
		`{"venue":"\u0000","account":"","risk_limits":null}`, `{"venue":"sim","account":"a","risk_limits":{"allowed_pairs":[1]}}`, `[]`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if rec := b.serve("PUT", "/api/v1/deployments/account-limits", body); rec.Code >= 500 {
			t.Fatalf("PUT %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}
