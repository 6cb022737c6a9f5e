package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

func walkForwardRequest(t testing.TB) apitype.WalkForwardRequest {
	return apitype.WalkForwardRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Pairs: []string{"ETH/BTC"},
		WalkForwardSettings: apitype.WalkForwardSettings{Train: "8d", Test: "4d", Spaces: []string{"buy", "stoploss"}, Epochs: 8, Seed: 2, Jobs: 1}}
}

// A walk-forward is queued, runs on a worker to the end with its steps
// and progress, and serves its results; a bad request names each field;
// another tenant, and a backtest's id, are not found; results before the
// end are a 409.
func TestWalkForwards(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{})
		r := e.do("POST", "/api/v1/walkforwards", e.token, walkForwardRequest(t))
		if r.status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
		var tk apitype.Ticket
		r.decode(t, &tk)
		if !strings.HasPrefix(tk.StatusURL, "/api/v1/walkforwards/run_") || r.header.Get("Location") != tk.StatusURL {
			t.Fatalf("ticket %+v", tk)
		}
		var wf apitype.WalkForward
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			r := e.do("GET", tk.StatusURL, e.token, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET: %d %s", r.status, r.body)
			}
			r.decode(t, &wf)
			if runs.Status(wf.Run.Status).Terminal() {
				break
			}
			if wf.Run.Status == "queued" {
				if r := e.do("GET", tk.StatusURL+"/result", e.token, nil); r.status != http.StatusConflict {
					t.Fatalf("the result of a queued walk-forward: %d %s", r.status, r.body)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("walk-forward still %s", wf.Run.Status)
			}
		}
		if wf.Run.Status != "completed" || wf.Run.Kind != "walkforward" || wf.Run.Progress != 1 || len(wf.Run.Steps) != 4 || wf.Run.Steps[1].Detail != "2 windows" {
			t.Fatalf("walk-forward %+v", wf.Run)
		}
		if s := wf.Settings; s.Train != "8d" || s.Step != "4d" || s.Epochs != 8 || s.Loss != "SharpeHyperOptLoss" || s.Sampler != "random" {
			t.Fatalf("settings %+v", s)
		}
		for link, want := range map[string]string{"result": `"windows"`, "report": "<html", "oos_report": "<html"} {
			u := wf.Links[link]
			r := e.do("GET", u, e.token, nil)
			if u == "" || r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
				t.Fatalf("%s %q: %d", link, u, r.status)
			}
			if r := e.do("GET", u, e.other, nil); r.status != http.StatusNotFound {
				t.Fatalf("another tenant's %s: %d", link, r.status)
			}
		}
		if r := e.do("GET", tk.StatusURL, e.other, nil); r.status != http.StatusNotFound {
			t.Fatalf("another tenant: %d", r.status)
		}
		bt := e.submit(e.token, submission(t))
		if r := e.do("GET", "/api/v1/walkforwards/"+bt.RunID, e.token, nil); r.status != http.StatusNotFound {
			t.Fatalf("a backtest as a walk-forward: %d", r.status)
		}
	})
}

func TestWalkForwardBadRequests(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	for _, c := range []struct {
		change func(*apitype.WalkForwardRequest)
		want   string
	}{
		{func(r *apitype.WalkForwardRequest) { r.Train, r.Test, r.Step = "8 days", "4d", "2d" }, "body.train"},
		{func(r *apitype.WalkForwardRequest) { r.Step = "2d" }, "body.step"},
		{func(r *apitype.WalkForwardRequest) { r.Test = "0d" }, "body.test"},
		{func(r *apitype.WalkForwardRequest) { r.Loss, r.Sampler = "nope", "anneal" }, "body.loss body.sampler"},
		{func(r *apitype.WalkForwardRequest) { r.Spaces = []string{"sideways"} }, "body.spaces"},
		{func(r *apitype.WalkForwardRequest) { r.Spaces = []string{"sell"} }, "body.spaces"}, // sma_cross has no sell parameter
		{func(r *apitype.WalkForwardRequest) { r.Strategy = "nope" }, "body.strategy"},
	} {
		req := walkForwardRequest(t)
		c.change(&req)
		r := e.do("POST", "/api/v1/walkforwards", e.token, req)
		p := r.problem(t)
		var locs []string
		for _, d := range p.Errors {
			locs = append(locs, d.Location)
		}
		if r.status != http.StatusUnprocessableEntity || strings.Join(locs, " ") != c.want {
			t.Errorf("%+v: %d %s, want the fields %s", req.WalkForwardSettings, r.status, r.body, c.want)
		}
	}
}
