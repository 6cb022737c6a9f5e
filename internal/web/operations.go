package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/tenancy"
)

// Operations are the operators' view of the server's machinery
// (api.Operations): everyone else gets a 403 problem, which the pages
// show as not found.
type Operations interface {
	Operator(ctx context.Context, p tenancy.Principal) bool
	Overview(ctx context.Context, p tenancy.Principal) (apitype.Operations, error)
	Retry(ctx context.Context, p tenancy.Principal, tenant, id string) (apitype.OpsRun, error)
}

type queueRow struct {
	Kind   string
	Counts []string // by opsStates
	Total  string
}

// opsStates are River's job states in the order the queue table shows
// them.
var opsStates = []string{"available", "scheduled", "pending", "running", "retryable", "completed", "cancelled", "discarded"}

type opsRunRow struct {
	ID, Tenant, Kind, Status, Strategy, Attempts, Progress, Error string
	Started, Finished, Heartbeat                                  string
	Stale                                                         bool
}

type runnerRow struct {
	Name, Deployments, Heartbeat, Expires string
	Stale                                 bool
}

type opsView struct {
	States   []string
	Queue    []queueRow
	Leader   string
	Running  []opsRunRow
	Runners  []runnerRow
	Failures []opsRunRow
	Message  string
}

// opsStale is the heartbeat age past which a running run's worker is
// shown as late (the job queue's default StaleAfter).
const opsStale = 30 * time.Second

// operator tells whether the session is one of the server's operators.
func (s *Server) operator(sess *session) bool {
	return sess != nil && sess.operator
}

func (s *Server) operationsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if !s.operator(sess) {
		s.notFound(w, r, sess)
		return
	}
	o, err := s.d.Operations.Overview(r.Context(), sess.p)
	if err != nil {
		s.opFailed(w, r, sess, "reading the operations view", err)
		return
	}
	v := opsViewOf(o)
	v.Message = r.URL.Query().Get("done")
	s.render(w, r, http.StatusOK, s.page(sess, "Operations", "operations", operationsBody(v, sess.csrf)))
}

func opsViewOf(o apitype.Operations) opsView {
	v := opsView{States: opsStates}
	byKind := map[string]map[string]int{}
	var kinds []string
	for _, d := range o.Queue {
		if byKind[d.Kind] == nil {
			byKind[d.Kind] = map[string]int{}
			kinds = append(kinds, d.Kind)
		}
		byKind[d.Kind][d.State] += d.Jobs
	}
	for _, k := range kinds {
		row := queueRow{Kind: k}
		total := 0
		for _, st := range opsStates {
			n := byKind[k][st]
			total += n
			row.Counts = append(row.Counts, strconv.Itoa(n))
		}
		row.Total = strconv.Itoa(total)
		v.Queue = append(v.Queue, row)
	}
	if l := o.Leader; l != nil {
		v.Leader = l.ID + ", elected " + l.ElectedAt.Format("2006-01-02 15:04:05") + " UTC, term ends in " + age(l.ExpiresAt.Sub(o.Now))
		if l.ExpiresAt.Before(o.Now) {
			v.Leader = l.ID + ", term ended " + age(o.Now.Sub(l.ExpiresAt)) + " ago"
		}
	}
	for _, r := range o.Running {
		row := opsRunRowOf(r)
		if r.HeartbeatAt != nil {
			row.Heartbeat = age(o.Now.Sub(*r.HeartbeatAt)) + " ago"
			row.Stale = o.Now.Sub(*r.HeartbeatAt) > opsStale
		}
		v.Running = append(v.Running, row)
	}
	for _, rn := range o.Runners {
		row := runnerRow{Name: rn.Name, Deployments: strconv.Itoa(rn.Deployments), Stale: rn.ExpiresAt.Before(o.Now)}
		if rn.HeartbeatAt != nil {
			row.Heartbeat = age(o.Now.Sub(*rn.HeartbeatAt)) + " ago"
		}
		if row.Stale {
			row.Expires = "ended " + age(o.Now.Sub(rn.ExpiresAt)) + " ago"
		} else {
			row.Expires = "in " + age(rn.ExpiresAt.Sub(o.Now))
		}
		v.Runners = append(v.Runners, row)
	}
	for _, r := range o.Failures {
		v.Failures = append(v.Failures, opsRunRowOf(r))
	}
	return v
}

func opsRunRowOf(r apitype.OpsRun) opsRunRow {
	row := opsRunRow{ID: r.ID, Tenant: r.Tenant, Kind: r.Kind, Status: r.Status, Strategy: r.Strategy, Attempts: strconv.Itoa(r.Attempts),
		Progress: progressPct(r.Progress), Error: r.Error}
	if r.StartedAt != nil {
		row.Started = r.StartedAt.Format("2006-01-02 15:04:05")
	}
	if r.FinishedAt != nil {
		row.Finished = r.FinishedAt.Format("2006-01-02 15:04:05")
	}
	return row
}

// operationsRetry re-queues a failed run of any tenant (the operators'
// retry, through the job service's).
func (s *Server) operationsRetry(w http.ResponseWriter, r *http.Request, sess *session) {
	if !s.operator(sess) {
		s.notFound(w, r, sess)
		return
	}
	tenant, id := r.PostFormValue("tenant"), r.PostFormValue("id")
	if _, err := s.d.Operations.Retry(r.Context(), sess.p, tenant, id); err != nil {
		s.opFailed(w, r, sess, "retrying the run", err)
		return
	}
	http.Redirect(w, r, "/operations?done="+url.QueryEscape("run "+id+" is queued again"), http.StatusSeeOther)
}
