package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

const operationsPath = "/api/v1/operations"

// opsListLimit bounds the running and failed runs an overview lists.
const opsListLimit = 100

// Operations are the operators' view of the server's machinery (the
// queue, workers, runners, failures) and their retry of any tenant's run:
// the same operations for the API and the web app. Everyone else gets
// 403.
type Operations struct {
	runs      *runs.Store
	jobs      *jobs.Service
	deploys   *deploy.Store // nil: no runners listed
	operators []string
	users     *tenancy.Store // finds operators named by name (nil: ids only)
	clock     clock.Clock
	log       *slog.Logger
}

// NewOperations builds the operators' operations over the run store and
// the job service (deploys may be nil); operators are user ids, or names
// found through users (nil: ids only).
func NewOperations(store *runs.Store, svc *jobs.Service, deploys *deploy.Store, operators []string, users *tenancy.Store, clk clock.Clock, log *slog.Logger) *Operations {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Operations{runs: store, jobs: svc, deploys: deploys, operators: slices.Clone(operators), users: users, clock: clock.Or(clk), log: log}
}

// Operator says whether p is one of the server's operators.
func (o *Operations) Operator(ctx context.Context, p tenancy.Principal) bool {
	return isOperator(ctx, o.users, o.operators, o.log, p)
}

func (o *Operations) check(ctx context.Context, p tenancy.Principal) error {
	if !o.Operator(ctx, p) {
		return problem(http.StatusForbidden, apitype.CodeForbidden, "the operations view is for the server's operators (tradai serve --operator USER)")
	}
	return nil
}

func (o *Operations) internal(what string, err error) error {
	o.log.Error(what, "err", err)
	return problem(http.StatusInternalServerError, apitype.CodeInternal, what+" failed; the server logged why")
}

// Overview is the queue's depth by kind and state, its leader, the running
// runs with their heartbeats, the runners and the latest failures.
func (o *Operations) Overview(ctx context.Context, p tenancy.Principal) (apitype.Operations, error) {
	if err := o.check(ctx, p); err != nil {
		return apitype.Operations{}, err
	}
	out := apitype.Operations{Now: o.clock.Now().UTC(), Queue: []apitype.QueueDepth{}, Running: []apitype.OpsRun{}, Runners: []apitype.RunnerRow{}, Failures: []apitype.OpsRun{}}
	depths, err := o.jobs.Depths(ctx)
	if err != nil {
		return apitype.Operations{}, o.internal("read the queue", err)
	}
	for _, d := range depths {
		out.Queue = append(out.Queue, apitype.QueueDepth{Kind: d.Kind, State: d.State, Jobs: d.Jobs})
	}
	l, ok, err := o.jobs.Leader(ctx)
	if err != nil {
		return apitype.Operations{}, o.internal("read the queue's leader", err)
	}
	if ok {
		out.Leader = &apitype.QueueLeader{ID: l.ID, ElectedAt: l.Elected.UTC(), ExpiresAt: l.Expires.UTC()}
	}
	live, err := o.runs.Running(ctx, opsListLimit)
	if err != nil {
		return apitype.Operations{}, o.internal("list the running runs", err)
	}
	for _, l := range live {
		v := opsRun(l.Run)
		v.HeartbeatAt = optTime(l.Heartbeat)
		out.Running = append(out.Running, v)
	}
	if o.deploys != nil {
		rs, err := o.deploys.Runners(ctx)
		if err != nil {
			return apitype.Operations{}, o.internal("list the runners", err)
		}
		for _, r := range rs {
			out.Runners = append(out.Runners, apitype.RunnerRow{Name: r.Name, Deployments: r.Deployments, HeartbeatAt: optTime(r.Heartbeat), ExpiresAt: r.Expires.UTC()})
		}
	}
	failed, err := o.runs.Failures(ctx, opsListLimit)
	if err != nil {
		return apitype.Operations{}, o.internal("list the failed runs", err)
	}
	for _, r := range failed {
		out.Failures = append(out.Failures, opsRun(r))
	}
	return out, nil
}

// Retry re-queues tenant's failed, dead-lettered or cancelled run with
// fresh attempts, as its owner's retry does (jobs.Service.Retry); the
// operator is the acting user.
func (o *Operations) Retry(ctx context.Context, p tenancy.Principal, tenant, id string) (apitype.OpsRun, error) {
	if err := o.check(ctx, p); err != nil {
		return apitype.OpsRun{}, err
	}
	r, err := o.jobs.Retry(ctx, tenancy.Principal{Tenant: tenant, User: p.User}, id)
	if err != nil {
		return apitype.OpsRun{}, runProblem("retry run", id, err, o.internal)
	}
	return opsRun(r), nil
}

func opsRun(r runs.Run) apitype.OpsRun {
	return apitype.OpsRun{ID: r.ID, Tenant: r.Tenant, Kind: r.Spec.Kind, Status: string(r.Status), Strategy: r.Spec.Strategy,
		Attempts: r.Attempts, Progress: r.Progress, Error: r.Error, CreatedAt: r.Created.UTC(), StartedAt: optTime(r.Started), FinishedAt: optTime(r.Finished)}
}

// optTime is t in UTC, nil when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

type operationsOutput struct {
	Body apitype.Operations
}

type opsRetryInput struct {
	Tenant string `path:"tenant" maxLength:"100" doc:"The run's tenant"`
	ID     string `path:"id" maxLength:"100" doc:"Run id"`
}

type opsRunOutput struct {
	Body apitype.OpsRun
}

func (s *Server) registerOperations() {
	tags := []string{"operations"}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-operations", Method: http.MethodGet, Path: operationsPath,
		Summary: "The queue, workers, runners and failed runs of every tenant (operators only)", Tags: tags, Security: secured,
		Description: "Jobs by kind and state, the queue's leader, the running runs with their workers' heartbeats, the runners from their deployments' leases, and the latest failed and dead-lettered runs. For the server's operators (tradai serve --operator); anyone else gets 403.",
	}, func(ctx context.Context, _ *struct{}) (*operationsOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		v, err := s.ops.Overview(ctx, p)
		if err != nil {
			return nil, err
		}
		return &operationsOutput{Body: v}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "retry-any-run", Method: http.MethodPost, Path: operationsPath + "/tenants/{tenant}/runs/{id}/retry",
		Summary: "Retry any tenant's failed, dead-lettered or cancelled run (operators only)", Tags: tags, Security: secured,
		Description:   "The run is queued again with fresh attempts, as its owner's retry does. Anyone but an operator gets 403.",
		DefaultStatus: http.StatusAccepted,
	}, func(ctx context.Context, in *opsRetryInput) (*opsRunOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		v, err := s.ops.Retry(ctx, p, in.Tenant, in.ID)
		if err != nil {
			return nil, err
		}
		return &opsRunOutput{Body: v}, nil
	})
}
