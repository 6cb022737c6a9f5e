package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/lifecycle"
	"github.com/tradai/tradai/internal/tenancy"
)

const (
	schedulesPath   = "/api/v1/schedules"
	challengersPath = "/api/v1/challengers"
)

// Lifecycle is the strategy lifecycle's schedules and challengers
// (*lifecycle.Service).
type Lifecycle interface {
	CreateSchedule(ctx context.Context, p tenancy.Principal, spec lifecycle.Spec) (lifecycle.Schedule, error)
	Schedules(ctx context.Context, p tenancy.Principal) ([]lifecycle.Schedule, error)
	DeleteSchedule(ctx context.Context, p tenancy.Principal, id string) error
	Challengers(ctx context.Context, p tenancy.Principal) ([]lifecycle.Challenger, error)
	Approve(ctx context.Context, p tenancy.Principal, id, reason string) (lifecycle.Challenger, error)
	Reject(ctx context.Context, p tenancy.Principal, id, reason string) (lifecycle.Challenger, error)
}

type createScheduleInput struct {
	Body apitype.ScheduleRequest
}

type scheduleOutput struct {
	Body apitype.Schedule
}

type scheduleListOutput struct {
	Body apitype.ScheduleList
}

type scheduleIDInput struct {
	ID string `path:"id" maxLength:"100" doc:"Schedule id"`
}

type challengerListOutput struct {
	Body apitype.ChallengerList
}

type challengerDecisionInput struct {
	ID   string `path:"id" maxLength:"100" doc:"Challenger id"`
	Body apitype.ChallengerDecision
}

type challengerOutput struct {
	Body apitype.Challenger
}

func (s *Server) registerLifecycle() {
	tags := []string{"lifecycle"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-schedule", Method: http.MethodPost, Path: schedulesPath,
		Summary: "Schedule a data refresh or a re-optimisation of a deployment", Tags: tags, Security: secured,
		Description: "The cron expression is in UTC. A re-optimisation runs a study of the deployment's registry version on the latest window, " +
			"exports its best trial as a new version (the challenger), backtests champion and challenger over the holdout days after the window, " +
			"and promotes the challenger to production when it wins by more than margin on metric and the study's overfitting figures pass: " +
			"at once (approval auto) or once approved. A bad field is a 422 naming it (body.cron, body.deployment, …).",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, s.createSchedule)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-schedules", Method: http.MethodGet, Path: schedulesPath,
		Summary: "List the tenant's schedules, oldest first", Tags: tags, Security: secured,
	}, s.listSchedules)
	huma.Register(s.api, huma.Operation{
		OperationID: "delete-schedule", Method: http.MethodDelete, Path: schedulesPath + "/{id}",
		Summary: "Delete a schedule (its challengers stay)", Tags: tags, Security: secured, DefaultStatus: http.StatusNoContent,
	}, s.deleteSchedule)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-challengers", Method: http.MethodGet, Path: challengersPath,
		Summary: "List the tenant's challengers, newest first", Tags: tags, Security: secured,
	}, s.listChallengers)
	huma.Register(s.api, huma.Operation{
		OperationID: "approve-challenger", Method: http.MethodPost, Path: challengersPath + "/{id}/approve",
		Summary: "Promote a pending challenger to production", Tags: tags, Security: secured,
		Description: "The registry records the stage change (who, why); a challenger that is not pending is a 409.",
	}, s.decideChallenger(true))
	huma.Register(s.api, huma.Operation{
		OperationID: "reject-challenger", Method: http.MethodPost, Path: challengersPath + "/{id}/reject",
		Summary: "Reject a pending challenger", Tags: tags, Security: secured,
		Description: "Audited; a challenger that is not pending is a 409.",
	}, s.decideChallenger(false))
}

// lifecycleOf is the server's lifecycle, or the 501 of a server without.
func (s *Server) lifecycleOf(ctx context.Context) (Lifecycle, tenancy.Principal, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, p, err
	}
	if s.d.Lifecycle == nil {
		return nil, p, problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server has no schedules (it needs the strategy registry: tradai serve --home)")
	}
	return s.d.Lifecycle, p, nil
}

// lifecycleErr maps the lifecycle's errors to problems.
func (s *Server) lifecycleErr(what string, err error) error {
	var fe *lifecycle.FieldError
	switch {
	case errors.As(err, &fe):
		return invalid("body."+fe.Field, fe.Why, nil)
	case errors.Is(err, lifecycle.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	case errors.Is(err, lifecycle.ErrConflict):
		return problem(http.StatusConflict, apitype.CodeConflict, err.Error())
	}
	return s.internal(what, err)
}

func (s *Server) createSchedule(ctx context.Context, in *createScheduleInput) (*scheduleOutput, error) {
	life, p, err := s.lifecycleOf(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	for loc, text := range map[string]string{"body.deployment": b.Deployment, "body.cron": b.Cron, "body.sampler": b.Sampler, "body.loss": b.Loss, "body.metric": b.Metric} {
		if pr := checkText(loc, text); pr != nil {
			return nil, pr
		}
	}
	sc, err := life.CreateSchedule(ctx, p, lifecycle.Spec{Deployment: b.Deployment, Action: b.Action, Cron: b.Cron, WindowDays: b.WindowDays,
		HoldoutDays: b.HoldoutDays, Epochs: b.Epochs, Sampler: b.Sampler, Loss: b.Loss, Seed: b.Seed,
		Policy: lifecycle.Policy{Metric: b.Metric, Margin: b.Margin, Approval: b.Approval}})
	if err != nil {
		return nil, s.lifecycleErr("create schedule", err)
	}
	return &scheduleOutput{Body: scheduleOf(sc)}, nil
}

func (s *Server) listSchedules(ctx context.Context, _ *struct{}) (*scheduleListOutput, error) {
	life, p, err := s.lifecycleOf(ctx)
	if err != nil {
		return nil, err
	}
	l, err := life.Schedules(ctx, p)
	if err != nil {
		return nil, s.lifecycleErr("list schedules", err)
	}
	out := apitype.ScheduleList{Schedules: make([]apitype.Schedule, 0, len(l))}
	for _, sc := range l {
		out.Schedules = append(out.Schedules, scheduleOf(sc))
	}
	return &scheduleListOutput{Body: out}, nil
}

func (s *Server) deleteSchedule(ctx context.Context, in *scheduleIDInput) (*struct{}, error) {
	life, p, err := s.lifecycleOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := life.DeleteSchedule(ctx, p, in.ID); err != nil {
		return nil, s.lifecycleErr("delete schedule", err)
	}
	return nil, nil
}

func (s *Server) listChallengers(ctx context.Context, _ *struct{}) (*challengerListOutput, error) {
	life, p, err := s.lifecycleOf(ctx)
	if err != nil {
		return nil, err
	}
	l, err := life.Challengers(ctx, p)
	if err != nil {
		return nil, s.lifecycleErr("list challengers", err)
	}
	out := apitype.ChallengerList{Challengers: make([]apitype.Challenger, 0, len(l))}
	for _, c := range l {
		out.Challengers = append(out.Challengers, challengerOf(c))
	}
	return &challengerListOutput{Body: out}, nil
}

func (s *Server) decideChallenger(approve bool) func(context.Context, *challengerDecisionInput) (*challengerOutput, error) {
	return func(ctx context.Context, in *challengerDecisionInput) (*challengerOutput, error) {
		life, p, err := s.lifecycleOf(ctx)
		if err != nil {
			return nil, err
		}
		if pr := checkText("body.reason", in.Body.Reason); pr != nil {
			return nil, pr
		}
		decide, what := life.Reject, "reject challenger"
		if approve {
			decide, what = life.Approve, "approve challenger"
		}
		c, err := decide(ctx, p, in.ID, in.Body.Reason)
		if err != nil {
			return nil, s.lifecycleErr(what, err)
		}
		return &challengerOutput{Body: challengerOf(c)}, nil
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func scheduleOf(sc lifecycle.Schedule) apitype.Schedule {
	sp := sc.Spec
	return apitype.Schedule{ID: sc.ID, CreatedBy: sc.CreatedBy, Created: rfc3339(sc.Created), Next: rfc3339(sc.Next), Last: rfc3339(sc.Last), LastError: sc.LastError,
		Spec: apitype.ScheduleRequest{Deployment: sp.Deployment, Action: sp.Action, Cron: sp.Cron, WindowDays: sp.WindowDays, HoldoutDays: sp.HoldoutDays,
			Epochs: sp.Epochs, Sampler: sp.Sampler, Loss: sp.Loss, Seed: sp.Seed, Metric: sp.Metric, Margin: sp.Margin, Approval: sp.Approval}}
}

func challengerOf(c lifecycle.Challenger) apitype.Challenger {
	return apitype.Challenger{ID: c.ID, Schedule: c.Schedule, Deployment: c.Deployment, Strategy: c.Strategy, ChampionVersion: c.Champion,
		Version: c.Version, Study: c.Study, Holdout: c.Holdout, State: c.State, Reason: c.Reason, Metric: c.Policy.Metric, Margin: c.Policy.Margin,
		Approval: c.Policy.Approval, ChampionRun: c.ChampionRun, ChallengerRun: c.ChallengerRun, ChampionMetric: c.Figures.Champion,
		ChallengerMetric: c.Figures.Challenger, DSR: c.Figures.DSR, PBO: c.Figures.PBO, Verdict: c.Figures.Verdict, DecidedBy: c.DecidedBy,
		Created: rfc3339(c.Created), Updated: rfc3339(c.Updated)}
}
