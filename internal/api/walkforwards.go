package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/jobs/walkforwardjob"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

const walkforwardsPath = "/api/v1/walkforwards"

type submitWalkForwardInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a submission safely: the same key with the same request returns the first run"`
	Body           apitype.WalkForwardRequest
}

type walkForwardInput struct {
	ID string `path:"id" maxLength:"100" doc:"Run id"`
}

type walkForwardOutput struct {
	Body apitype.WalkForward
}

func (s *Server) registerWalkForwards() {
	tags := []string{"studies"}
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-walkforward", Method: http.MethodPost, Path: walkforwardsPath,
		Summary: "Submit a walk-forward analysis (tradai walkforward on a worker)", Tags: tags, Security: secured,
		Description: "Queues a run of kind walkforward: one worker loads the candles once, optimises each window on its training range and tests the best parameters on the range after it, " +
			"then stitches the tests. Follow status_url: its progress is the windows done; once completed its links give the results.",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, func(ctx context.Context, in *submitWalkForwardInput) (*submitOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		r, err := s.SubmitWalkForward(ctx, p, in.Body, in.IdempotencyKey)
		if err != nil {
			return nil, err
		}
		u := walkforwardsPath + "/" + r.ID
		return &submitOutput{Location: u, Body: apitype.Ticket{RunID: r.ID, Status: string(r.Status), StatusURL: u}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-walkforward", Method: http.MethodGet, Path: walkforwardsPath + "/{id}",
		Summary: "A walk-forward run: status, progress (windows done), steps and settings", Tags: tags, Security: secured,
	}, func(ctx context.Context, in *walkForwardInput) (*walkForwardOutput, error) {
		p, err := mustPrincipal(ctx)
		if err != nil {
			return nil, err
		}
		v, err := s.WalkForward(ctx, p, in.ID)
		if err != nil {
			return nil, err
		}
		return &walkForwardOutput{Body: v}, nil
	})
	for _, f := range []struct{ path, id, summary, media, artifact string }{
		{"/result", "get-walkforward-result", "The results of a completed walk-forward as tradai walkforward --export-json writes them", "application/json", walkforwardjob.ArtifactJSON},
		{"/report", "get-walkforward-report", "The HTML report of a completed walk-forward: in sample beside out of sample, the stitched equity (--report)", "text/html", walkforwardjob.ArtifactReport},
		{"/oos-report", "get-walkforward-oos-report", "The stitched out-of-sample result of a completed walk-forward as a backtest report (--oos-report)", "text/html", walkforwardjob.ArtifactOOSReport},
	} {
		huma.Register(s.api, huma.Operation{
			OperationID: f.id, Method: http.MethodGet, Path: walkforwardsPath + "/{id}" + f.path,
			Summary: f.summary, Tags: tags, Security: secured,
			Description: "A walk-forward that has not completed is a 409.",
			Responses:   map[string]*huma.Response{"200": {Description: "The file", Content: map[string]*huma.MediaType{f.media: {}}}},
		}, func(ctx context.Context, in *walkForwardInput) (*exportOutput, error) {
			p, err := mustPrincipal(ctx)
			if err != nil {
				return nil, err
			}
			a, err := s.WalkForwardResult(ctx, p, in.ID, f.artifact)
			if err != nil {
				return nil, err
			}
			media := a.MediaType
			if media == "text/html" {
				media += "; charset=utf-8"
			}
			return &exportOutput{ContentType: media, Body: a.Content}, nil
		})
	}
}

// SubmitWalkForward queues a walk-forward run for req after the checks
// its worker makes that need no data (each refusal a 422 naming its
// field); the one submission path of the API and the web app.
func (s *Server) SubmitWalkForward(ctx context.Context, p tenancy.Principal, req apitype.WalkForwardRequest, idempotencyKey string) (runs.Run, error) {
	spec, err := s.specFor(ctx, p, apitype.SubmitRequest{Strategy: req.Strategy, Config: req.Config, Timerange: req.Timerange, Pairs: req.Pairs, Params: req.Params, Tags: req.Tags})
	if err != nil {
		return runs.Run{}, err
	}
	w := req.WalkForwardSettings
	wf := walkforwardjob.Spec{Train: w.Train, Test: w.Test, Step: w.Step, Anchored: w.Anchored, Jobs: w.Jobs,
		Spec: study.Spec{Spaces: w.Spaces, Epochs: w.Epochs, Loss: w.Loss, Sampler: w.Sampler, Seed: w.Seed, MinTrades: w.MinTrades}}.WithDefaults()
	if err := wf.Validate(); err != nil {
		return runs.Run{}, fieldsProblem(err)
	}
	if err := checkSpaces(spec, wf.Spec); err != nil {
		return runs.Run{}, err
	}
	raw, err := json.Marshal(wf)
	if err != nil {
		return runs.Run{}, s.internal("submit walk-forward", err)
	}
	spec.Kind, spec.Fingerprint = runs.KindWalkForward, string(raw)
	r, err := s.d.Jobs.Submit(ctx, p, spec, idempotencyKey)
	if err != nil {
		return runs.Run{}, s.runErr("submit walk-forward", "", err)
	}
	return r, nil
}

// fieldsProblem is the 422 of a spec's *study.FieldError list.
func fieldsProblem(err error) *apitype.Problem {
	var details []*apitype.ErrorDetail
	errs := []error{err}
	var all interface{ Unwrap() []error }
	for len(errs) > 0 {
		e := errs[0]
		errs = errs[1:]
		if errors.As(e, &all) && !isField(e) {
			errs = append(errs, all.Unwrap()...)
			continue
		}
		var fe *study.FieldError
		if errors.As(e, &fe) {
			details = append(details, &apitype.ErrorDetail{Location: "body." + fe.Field, Message: fe.Msg})
		}
	}
	if len(details) == 0 {
		return invalid("body", err.Error(), nil)
	}
	return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, details[0].Location+": "+details[0].Message, details...)
}

func isField(err error) bool {
	_, ok := err.(*study.FieldError) //nolint:errorlint // the error itself, not one it wraps
	return ok
}

// walkForwardRun is the tenant's walk-forward run id; another kind of
// run, or another tenant's, is a 404.
func (s *Server) walkForwardRun(ctx context.Context, p tenancy.Principal, id string) (runs.Run, error) {
	r, err := s.d.Runs.Get(ctx, p, id)
	if err == nil && r.Spec.Kind != runs.KindWalkForward {
		err = runs.ErrNotFound
	}
	if err != nil {
		return runs.Run{}, s.runErr("get walk-forward", id, err)
	}
	return r, nil
}

// WalkForward is the tenant's walk-forward run id with its steps and
// settings.
func (s *Server) WalkForward(ctx context.Context, p tenancy.Principal, id string) (apitype.WalkForward, error) {
	r, err := s.walkForwardRun(ctx, p, id)
	if err != nil {
		return apitype.WalkForward{}, err
	}
	v, err := s.detailed(ctx, p, r)
	if err != nil {
		return apitype.WalkForward{}, err
	}
	u := walkforwardsPath + "/" + r.ID
	v.Links = map[string]string{"self": u}
	spec, err := walkforwardjob.ParseSpec(r)
	if err != nil {
		return apitype.WalkForward{}, s.internal("get walk-forward", err)
	}
	out := apitype.WalkForward{Run: v, Links: map[string]string{"self": u}, Settings: apitype.WalkForwardSettings{Train: spec.Train, Test: spec.Test, Step: spec.Step,
		Anchored: spec.Anchored, Spaces: spec.Spaces, Epochs: spec.Epochs, Loss: spec.Loss, Sampler: spec.Sampler, Seed: spec.Seed, MinTrades: spec.MinTrades, Jobs: spec.Jobs}}
	if r.Status == runs.Completed {
		out.Links["result"], out.Links["report"], out.Links["oos_report"] = u+"/result", u+"/report", u+"/oos-report"
	}
	return out, nil
}

// WalkForwardResult is the artifact name of the tenant's completed
// walk-forward run id; a run not completed is a 409.
func (s *Server) WalkForwardResult(ctx context.Context, p tenancy.Principal, id, name string) (runs.Artifact, error) {
	r, err := s.walkForwardRun(ctx, p, id)
	if err != nil {
		return runs.Artifact{}, err
	}
	if r.Status != runs.Completed {
		return runs.Artifact{}, problem(http.StatusConflict, apitype.CodeConflict, "walk-forward "+id+" is "+string(r.Status)+", not completed: it has no results")
	}
	return s.artifactOf(ctx, p, id, name)
}
