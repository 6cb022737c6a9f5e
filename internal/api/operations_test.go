package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
)

func TestOperationsAreForOperatorsAndRetryAnyRun(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		s := clienttest.Start(t, clienttest.Options{DB: d, Operator: true, AllowExternal: true})
		e := &env{t: t, url: s.URL, db: d, token: s.NewToken(t, "alice", "acme")}
		operator := s.Token // the first user, in another tenant
		bad := submission(t)
		bad.Pairs = []string{"NOPE/BTC"}
		tk := e.submit(e.token, bad)
		if r := e.wait(e.token, tk.StatusURL); r.Status != "failed" {
			t.Fatalf("run %s", r.Status)
		}

		if r := e.do("GET", "/api/v1/operations", e.token, nil); r.status != http.StatusForbidden || r.problem(t).Code != apitype.CodeForbidden {
			t.Fatalf("a tenant's user: %d %s", r.status, r.body)
		}
		r := e.do("GET", "/api/v1/operations", operator, nil)
		if r.status != http.StatusOK {
			t.Fatalf("the operator: %d %s", r.status, r.body)
		}
		var o apitype.Operations
		r.decode(t, &o)
		if len(o.Failures) != 1 || o.Failures[0].ID != tk.RunID || o.Failures[0].Status != "failed" || o.Failures[0].Error == "" || o.Failures[0].Tenant == "" {
			t.Fatalf("failures %+v", o.Failures)
		}
		// The run's job (finishing, or finished: River records it after
		// the run).
		jobs := 0
		for _, q := range o.Queue {
			if q.Kind == "backtest" {
				jobs += q.Jobs
			}
		}
		if jobs != 1 || len(o.Running) != 0 {
			t.Fatalf("queue %+v, running %+v", o.Queue, o.Running)
		}

		retry := "/api/v1/operations/tenants/" + o.Failures[0].Tenant + "/runs/" + tk.RunID + "/retry"
		if r := e.do("POST", retry, e.token, nil); r.status != http.StatusForbidden {
			t.Fatalf("a tenant's user retries: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/operations/tenants/nope/runs/"+tk.RunID+"/retry", operator, nil); r.status != http.StatusNotFound {
			t.Fatalf("retry under the wrong tenant: %d %s", r.status, r.body)
		}
		r = e.do("POST", retry, operator, nil)
		var again apitype.OpsRun
		r.decode(t, &again)
		if r.status != http.StatusAccepted || again.Status != "queued" || again.Attempts != 0 {
			t.Fatalf("retry: %d %s", r.status, r.body)
		}
		if after := e.wait(e.token, tk.StatusURL); after.Status != "failed" || after.Attempts != 1 {
			t.Fatalf("retried run %s after %d attempts", after.Status, after.Attempts)
		}

		// A running run is listed with its worker, and the queue's leader
		// once River elected one.
		slow := submission(t)
		slow.Strategy = clienttest.SlowStrategy(t)
		running := e.submit(e.token, slow)
		deadline := time.Now().Add(30 * time.Second)
		for {
			e.do("GET", "/api/v1/operations", operator, nil).decode(t, &o)
			if len(o.Running) == 1 && o.Leader != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("running %+v, leader %+v", o.Running, o.Leader)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if o.Running[0].ID != running.RunID || o.Running[0].Status != "running" || o.Leader.ID == "" || !o.Leader.ExpiresAt.After(o.Leader.ElectedAt) {
			t.Fatalf("running %+v, leader %+v", o.Running[0], o.Leader)
		}
		if r := e.do("POST", running.StatusURL+"/cancel", e.token, nil); r.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
	})
}
