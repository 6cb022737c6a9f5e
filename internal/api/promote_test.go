package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/secrets"
)

// The paper → live hand-off: bad input is a 4xx naming the field; the
// first call answers the plan and a token, the second with the token
// creates the live deployment of the same version and config, audited with
// who.
func TestPromoteDeployment(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true, KEK: kek, Promote: deploy.PromoteRules{MinAge: -1, MinTrades: 1}})
		var paper apitype.Deployment
		req := deploymentRequest(func(r *apitype.DeploymentRequest) {
			r.Config["risk_limits"] = map[string]any{"max_order_notional": 0.2}
		})
		if r := e.do("POST", "/api/v1/deployments", e.token, req); r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		} else {
			r.decode(t, &paper)
		}
		for _, a := range []struct {
			token string
			req   apitype.AccountRequest
		}{
			{e.token, apitype.AccountRequest{Venue: "sim", Name: "live1", APIKey: acctKey, Secret: acctSecret}},
			{e.token, apitype.AccountRequest{Venue: "binance", Name: "bn", APIKey: acctKey, Secret: acctSecret}},
			{e.other, apitype.AccountRequest{Venue: "sim", Name: "bobs", APIKey: acctKey, Secret: acctSecret}},
		} {
			if r := e.do("POST", "/api/v1/accounts", a.token, a.req); r.status != http.StatusCreated {
				t.Fatalf("add account %s: %d %s", a.req.Name, r.status, r.body)
			}
		}
		if r := e.do("PUT", "/api/v1/deployments/account-limits", e.token, apitype.AccountLimits{Venue: "sim", Account: "live1",
			RiskLimits: map[string]any{"max_order_notional": 0.1}}); r.status != http.StatusOK {
			t.Fatalf("account limits: %d %s", r.status, r.body)
		}
		path := "/api/v1/deployments/" + paper.ID + "/promote"
		good := apitype.DeploymentPromoteRequest{To: "live", Account: "live1"}
		for _, tc := range []struct {
			name   string
			token  string
			path   string
			req    apitype.DeploymentPromoteRequest
			status int
			loc    string
			want   string
		}{
			{"too few trades", e.token, path, good, 422, "path.id", "closed 0 trades on paper; promotion needs 1"},
			{"to paper", e.token, path, apitype.DeploymentPromoteRequest{To: "paper", Account: "live1"}, 422, "body.to", ""},
			{"no account", e.token, path, apitype.DeploymentPromoteRequest{To: "live"}, 422, "body.account", ""},
			{"another tenant's deployment", e.other, path, good, 404, "", paper.ID},
		} {
			r := e.do("POST", tc.path, tc.token, tc.req)
			if r.status != tc.status || !strings.Contains(r.problem(t).Detail, tc.loc) || !strings.Contains(r.problem(t).Detail, tc.want) {
				t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			}
		}
		// One closed trade: the paper deployment may be promoted.
		if _, err := d.Exec(context.Background(), `INSERT INTO deployment_trades (deployment_id, seq, pair, open, open_time, close_time, record, venue_qty)
			VALUES (?, 1, 'ETH/BTC', 0, 1, 2, '{"Pair":"ETH/BTC","ProfitAbs":0.001}', '0')`, paper.ID); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			req    apitype.DeploymentPromoteRequest
			status int
			loc    string
			want   string
		}{
			{"no such account", apitype.DeploymentPromoteRequest{To: "live", Account: "nope"}, 404, "body.account", "tradai accounts add"},
			{"another tenant's account", apitype.DeploymentPromoteRequest{To: "live", Account: "bobs"}, 404, "body.account", ""},
			{"an account of another venue", apitype.DeploymentPromoteRequest{To: "live", Account: "bn"}, 404, "body.account", "venue binance"},
			{"a venue the server does not allow", apitype.DeploymentPromoteRequest{To: "live", Account: "live1", Venue: "http://169.254.169.254"}, 422, "body.venue", "--venue-url"},
			{"a made-up token", apitype.DeploymentPromoteRequest{To: "live", Account: "live1", Confirm: "pt_99999999999_abc"}, 422, "body.confirm", "ask again"},
		} {
			r := e.do("POST", path, e.token, tc.req)
			if r.status != tc.status || !strings.Contains(r.problem(t).Detail, tc.loc) || !strings.Contains(r.problem(t).Detail, tc.want) {
				t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			}
		}
		var plan apitype.Promotion
		r := e.do("POST", path, e.token, good)
		r.decode(t, &plan)
		if r.status != http.StatusOK || plan.Token == "" || plan.Live != nil || plan.Paper.ClosedTrades != 1 || plan.Paper.RealisedProfit != 0.001 ||
			plan.RiskLimits["max_order_notional"] != 0.1 || plan.Paper.MinTrades != 1 {
			t.Fatalf("the plan: %d %s", r.status, r.body)
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM deployments WHERE mode = 'live'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the plan created %d live deployments (%v)", n, err)
		}
		// The token confirms that plan only.
		other := good
		other.Account, other.Confirm = "bn", plan.Token
		if r := e.do("POST", path, e.token, other); r.status != 404 {
			t.Errorf("the token for another account (of another venue): %d %s", r.status, r.body)
		}
		if r := e.do("POST", path, e.token, apitype.DeploymentPromoteRequest{To: "live", Account: "live1", Confirm: plan.Token + "0"}); r.status != 422 {
			t.Errorf("a changed token: %d %s", r.status, r.body)
		}
		if r := e.do("POST", path, e.other, apitype.DeploymentPromoteRequest{To: "live", Account: "bobs", Confirm: plan.Token}); r.status != 404 {
			t.Errorf("another tenant's confirm: %d %s", r.status, r.body)
		}
		var done apitype.Promotion
		confirmed := good
		confirmed.Confirm = plan.Token
		r = e.do("POST", path, e.token, confirmed)
		r.decode(t, &done)
		if r.status != http.StatusCreated || done.Live == nil || done.Live.Mode != "live" || done.Live.Account != "live1" || done.Live.Venue != "sim" ||
			done.Live.Strategy != paper.Strategy || done.Live.Timeframe != paper.Timeframe || done.Live.ID == paper.ID {
			t.Fatalf("confirmed: %d %s", r.status, r.body)
		}
		var user string
		if err := d.QueryRow(context.Background(), `SELECT COALESCE(user_id, '') FROM audit_log WHERE action = 'deployment.promote' AND target = ?`, done.Live.ID).Scan(&user); err != nil || user == "" {
			t.Fatalf("the promotion's audit entry: %q %v", user, err)
		}
		// A live deployment is not promoted again.
		if r := e.do("POST", "/api/v1/deployments/"+done.Live.ID+"/promote", e.token, good); r.status != 422 || !strings.Contains(r.problem(t).Detail, "path.id") {
			t.Errorf("promoting the live one: %d %s", r.status, r.body)
		}
	})
}

// The platform-wide kill switch is the operators' (tradai serve
// --operator, by name or id): anyone else gets 403.
func TestPlatformKillSwitchOperators(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, Sim: true, Operators: []string{"alice"}})
		var theirs apitype.Deployment
		e.do("POST", "/api/v1/deployments", e.other, deploymentRequest(func(r *apitype.DeploymentRequest) { r.Account = "theirs" })).decode(t, &theirs)
		if r := e.do("POST", "/api/v1/deployments/stop-all", e.other, apitype.StopAllRequest{Platform: true}); r.status != http.StatusForbidden {
			t.Fatalf("bob, not an operator: %d %s", r.status, r.body)
		}
		var res apitype.StopAllResult
		r := e.do("POST", "/api/v1/deployments/stop-all", e.token, apitype.StopAllRequest{Platform: true})
		r.decode(t, &res)
		if r.status != http.StatusOK || len(res.Stopped) != 1 || res.Stopped[0] != theirs.ID {
			t.Fatalf("alice, an operator: %d %s", r.status, r.body)
		}
	})
}

// FuzzPromoteDeployment: whatever a tenant sends to promote a deployment,
// the answer is never a server error, and nothing is created without a
// confirm token that the server gave.
func FuzzPromoteDeployment(f *testing.F) {
	b := deploymentsServer(f)
	rec := b.serve("POST", "/api/v1/deployments", `{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"p1","pairs":["ETH/BTC"],"timeframe":"5m"}`)
	if rec.Code != http.StatusCreated {
		f.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var dep apitype.Deployment
	if err := json.Unmarshal(rec.Body.Bytes(), &dep); err != nil {
		f.Fatal(err)
	}
	path := "/api/v1/deployments/" + dep.ID + "/promote"
	for _, s := range []string{`{"to":"live","account":"live1"}`, `{"to":"live","account":"live1","venue":"sim","confirm":"pt_1_x"}`,
		`{"to":"paper"}`, `{"to":"live","account":"a\u0000"}`, `{"to":"live","account":"x","venue":"ftp://x"}`, `{`, `[]`, `null`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := b.serve("POST", path, body)
		if rec.Code >= 500 || rec.Code == http.StatusCreated && !strings.Contains(body, "pt_") {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}
