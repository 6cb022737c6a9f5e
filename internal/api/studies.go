package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

const studiesPath = "/api/v1/studies"

type submitStudyInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a submission safely: the same key with the same request returns the first study"`
	Body           apitype.StudyRequest
}

type submitStudyOutput struct {
	Location string `header:"Location"`
	Body     apitype.StudyTicket
}

type studyInput struct {
	ID string `path:"id" maxLength:"100" doc:"Study id"`
}

type getStudyInput struct {
	ID  string `path:"id" maxLength:"100" doc:"Study id"`
	Top int    `query:"top" minimum:"0" maximum:"1000" doc:"Include the N lowest-loss trials and the parameter importance"`
}

type studyOutput struct {
	Body apitype.Study
}

type listStudiesInput struct {
	Status string `query:"status" enum:"queued,running,completed,failed,cancelled,dead_letter" doc:"Only studies in this status"`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type listStudiesOutput struct {
	Body apitype.StudyPage
}

type trialsInput struct {
	ID     string `path:"id" maxLength:"100" doc:"Study id"`
	Order  string `query:"order" enum:"number,loss" default:"number" doc:"By trial number, or the completed trials by loss, lowest first"`
	Offset int    `query:"offset" minimum:"0"`
	Limit  int    `query:"limit" minimum:"1" maximum:"10000" default:"1000"`
}

type trialsOutput struct {
	Body apitype.TrialPage
}

type exportVersionInput struct {
	ID   string `path:"id" maxLength:"100" doc:"Study id"`
	Body struct {
		Registry bool `json:"registry" doc:"Push the best parameters as a new version of the study's strategy (must be true: GET returns the parameter file)"`
	}
}

type exportOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) registerStudies() {
	tags := []string{"studies"}
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-study", Method: http.MethodPost, Path: studiesPath,
		Summary: "Submit a study (a hyperopt whose trials the server's workers share)", Tags: tags, Security: secured,
		Description:   "Queues the study and answers at once; its trials run in batches on every worker. Follow status_url until it is completed, failed or cancelled.",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, s.submitStudy)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-studies", Method: http.MethodGet, Path: studiesPath,
		Summary: "List studies, newest first", Tags: tags, Security: secured,
	}, s.listStudies)
	huma.Register(s.api, huma.Operation{
		OperationID: "get-study", Method: http.MethodGet, Path: studiesPath + "/{id}",
		Summary: "Get a study: status, trial counts, and with ?top=N its best trials and parameter importance", Tags: tags, Security: secured,
	}, s.getStudy)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-study-trials", Method: http.MethodGet, Path: studiesPath + "/{id}/trials",
		Summary: "The trials of a study, by number or by loss", Tags: tags, Security: secured,
	}, s.studyTrials)
	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-study", Method: http.MethodPost, Path: studiesPath + "/{id}/cancel",
		Summary: "Cancel a queued or running study", Tags: tags, Security: secured,
		Description: "No batch starts on it any more; batches running record their trials. Cancelling a finished study is a 409.",
	}, s.cancelStudy)
	huma.Register(s.api, huma.Operation{
		OperationID: "resume-study", Method: http.MethodPost, Path: studiesPath + "/{id}/resume",
		Summary: "Resume a cancelled or failed study", Tags: tags, Security: secured,
		Description:   "The trials held by batches that did not report are asked again first, under their numbers; then the study goes on to its epochs.",
		DefaultStatus: http.StatusAccepted,
	}, s.resumeStudy)
	huma.Register(s.api, huma.Operation{
		OperationID: "export-study", Method: http.MethodGet, Path: studiesPath + "/{id}/export",
		Summary: "The best trial as Freqtrade's strategy parameter file", Tags: tags, Security: secured,
		Description: "The file tradai backtest --params reads (and Freqtrade keeps beside a strategy). A study without a completed trial is a 409.",
		Responses:   map[string]*huma.Response{"200": {Description: "The file", Content: map[string]*huma.MediaType{"application/json": {}}}},
	}, s.exportStudy)
	huma.Register(s.api, huma.Operation{
		OperationID: "export-study-version", Method: http.MethodPost, Path: studiesPath + "/{id}/export",
		Summary: "Push the best trial as a new registry version of the study's strategy", Tags: tags, Security: secured,
		Description: "With {\"registry\": true}: the new version is the code of the version the study ran with Freqtrade's parameter file of the best trial beside it " +
			"(<entry>.json), so the trial's values are its parameter defaults and risk settings; its message names the study. " +
			"The same best trial again answers 200 with the version already pushed; a new version is a 201. " +
			"A study of a built-in strategy, or without a completed trial, is a 409; a server without a registry answers 501.",
	}, s.exportStudyVersion)
	huma.Register(s.api, huma.Operation{
		OperationID: "study-report", Method: http.MethodGet, Path: studiesPath + "/{id}/report",
		Summary: "The HTML report of a study: convergence, top trials, parameter importance and the overfitting figures", Tags: tags, Security: secured,
		Description: "The report tradai hyperopt --report writes, of the trials told so far. A study no worker has started (its search space unknown) is a 409.",
		Responses:   map[string]*huma.Response{"200": {Description: "The report", Content: map[string]*huma.MediaType{"text/html": {}}}},
	}, s.studyReport)
}

func (s *Server) submitStudy(ctx context.Context, in *submitStudyInput) (*submitStudyOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.SubmitStudy(ctx, p, in.Body, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	u := studiesPath + "/" + st.ID()
	return &submitStudyOutput{Location: u, Body: apitype.StudyTicket{StudyID: st.ID(), Status: string(st.Run.Status), StatusURL: u}}, nil
}

// SubmitStudy queues a study of b after the checks a backtest submission
// makes (each refusal a problem naming its field); the one study
// submission path of the API and the scheduled re-optimisations
// (internal/lifecycle).
func (s *Server) SubmitStudy(ctx context.Context, p tenancy.Principal, b apitype.StudyRequest, idempotencyKey string) (*study.Study, error) {
	spec, err := s.specFor(ctx, p, apitype.SubmitRequest{Strategy: b.Strategy, Config: b.Config, Timerange: b.Timerange, Pairs: b.Pairs, Params: b.Params, Tags: b.Tags})
	if err != nil {
		return nil, err
	}
	sp := study.Spec{Spaces: b.Spaces, Epochs: b.Epochs, Loss: b.Loss, Sampler: b.Sampler, Seed: b.Seed, MinTrades: b.MinTrades,
		Batch: b.Batch, Parallel: b.Parallel, FailShare: b.FailShare}.WithDefaults()
	if err := sp.Validate(); err != nil {
		var fe *study.FieldError
		if errors.As(err, &fe) {
			return nil, invalid("body."+fe.Field, fe.Msg, nil)
		}
		return nil, invalid("body", err.Error(), nil)
	}
	if err := checkSpaces(spec, sp); err != nil {
		return nil, err
	}
	st, err := s.d.Jobs.SubmitStudy(ctx, p, study.Request{Strategy: spec.Strategy, StrategyVersion: spec.StrategyVersion, CodeSHA256: spec.CodeSHA256,
		Config: spec.Config, Params: spec.Params, Tags: spec.Tags, Spec: sp}, idempotencyKey)
	if err != nil {
		return nil, s.studies.err("submit study", "", err)
	}
	return st, nil
}

// checkSpaces refuses, for a built-in strategy, spaces it has no
// dimension in (a registry version's are known once a worker opens it).
func checkSpaces(spec runs.RunSpec, sp study.Spec) error {
	if spec.StrategyVersion > 0 {
		return nil
	}
	st, err := strategy.Lookup(spec.Strategy)
	if err != nil {
		return nil //nolint:nilerr // not a built-in: the worker checks
	}
	cfg, err := config.Parse(spec.Config, "body.config")
	if err != nil {
		return invalid("body.config", err.Error(), nil)
	}
	plan, err := backtest.NewPlan(cfg, st.Spec())
	if err != nil {
		return invalid("body.config", err.Error(), nil)
	}
	if _, err := optimize.NewSpace(st.Spec(), plan.Timeframe, sp.Spaces); err != nil {
		return invalid("body.spaces", err.Error(), sp.Spaces)
	}
	return nil
}

func (s *Server) listStudies(ctx context.Context, in *listStudiesInput) (*listStudiesOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := s.studies.List(ctx, p, in.Status, in.Cursor, in.Limit)
	return &listStudiesOutput{Body: page}, err
}

func (s *Server) getStudy(ctx context.Context, in *getStudyInput) (*studyOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.studies.Get(ctx, p, in.ID, in.Top)
	return &studyOutput{Body: v}, err
}

func (s *Server) studyTrials(ctx context.Context, in *trialsInput) (*trialsOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := s.studies.Trials(ctx, p, in.ID, in.Order, in.Offset, in.Limit)
	return &trialsOutput{Body: page}, err
}

func (s *Server) cancelStudy(ctx context.Context, in *studyInput) (*studyOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.studies.Cancel(ctx, p, in.ID)
	return &studyOutput{Body: v}, err
}

func (s *Server) resumeStudy(ctx context.Context, in *studyInput) (*studyOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.studies.Resume(ctx, p, in.ID)
	return &studyOutput{Body: v}, err
}

func (s *Server) exportStudy(ctx context.Context, in *studyInput) (*exportOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.studies.Export(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &exportOutput{ContentType: "application/json", Body: raw}, nil
}

func (s *Server) exportStudyVersion(ctx context.Context, in *exportVersionInput) (*versionOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if !in.Body.Registry {
		return nil, invalid("body.registry", "must be true (GET "+studiesPath+"/{id}/export returns the parameter file)", false)
	}
	v, created, err := s.studies.ExportVersion(ctx, p, in.ID, s.d.Registry)
	if err != nil {
		return nil, err
	}
	out := &versionOutput{Status: http.StatusOK, Body: v}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

func (s *Server) studyReport(ctx context.Context, in *studyInput) (*exportOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.studies.Report(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &exportOutput{ContentType: "text/html; charset=utf-8", Body: raw}, nil
}

// Studies are the study operations of the API without HTTP: the server's
// handlers call them, and so does the CLI's local mode (tradai studies
// without --remote). Errors are *apitype.Problem.
type Studies struct {
	jobs *jobs.Service
	log  *slog.Logger
}

// NewStudies returns the study operations over the job service's studies.
func NewStudies(j *jobs.Service, log *slog.Logger) *Studies {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Studies{jobs: j, log: log}
}

// List is a page of p's studies, newest first.
func (o *Studies) List(ctx context.Context, p tenancy.Principal, status, cursor string, limit int) (apitype.StudyPage, error) {
	if limit <= 0 {
		limit = 100
	}
	list, next, err := o.jobs.Studies().List(ctx, p, runs.Status(status), cursor, limit)
	if errors.Is(err, runs.ErrBadCursor) {
		return apitype.StudyPage{}, invalid("query.cursor", "not a cursor this API handed out", cursor)
	}
	if err != nil {
		return apitype.StudyPage{}, o.err("list studies", "", err)
	}
	page := apitype.StudyPage{Studies: make([]apitype.Study, 0, len(list)), NextCursor: next}
	for _, st := range list {
		page.Studies = append(page.Studies, studyView(st))
	}
	return page, nil
}

// Get is p's study id; with top > 0 its top best trials and the
// parameter importance too.
func (o *Studies) Get(ctx context.Context, p tenancy.Principal, id string, top int) (apitype.Study, error) {
	store := o.jobs.Studies()
	st, err := store.Get(ctx, p, id)
	if err != nil {
		return apitype.Study{}, o.err("get study", id, err)
	}
	v := studyView(st)
	if top <= 0 {
		return v, nil
	}
	best, err := store.Best(ctx, p, st.ID(), top)
	if err != nil {
		return apitype.Study{}, o.err("read the study's best trials", id, err)
	}
	for _, t := range best {
		v.Best = append(v.Best, trialView(t))
	}
	imp, err := store.Importance(ctx, p, st)
	if err != nil {
		return apitype.Study{}, o.err("compute the parameter importance", id, err)
	}
	for _, pi := range imp {
		v.Importance = append(v.Importance, apitype.ParamImportance{Name: pi.Name, Share: pi.Share, Chance: pi.Chance})
	}
	return v, nil
}

// Trials is a page of the study's trials by number or loss.
func (o *Studies) Trials(ctx context.Context, p tenancy.Principal, id, order string, offset, limit int) (apitype.TrialPage, error) {
	if limit <= 0 {
		limit = 1000
	}
	trials, err := o.jobs.Studies().Trials(ctx, p, id, order, offset, limit+1)
	if err != nil {
		return apitype.TrialPage{}, o.err("read the study's trials", id, err)
	}
	page := apitype.TrialPage{Trials: make([]apitype.Trial, 0, len(trials))}
	if len(trials) > limit {
		trials, page.NextOffset = trials[:limit], offset+limit
	}
	for _, t := range trials {
		page.Trials = append(page.Trials, trialView(t))
	}
	return page, nil
}

// Cancel cancels a queued or running study.
func (o *Studies) Cancel(ctx context.Context, p tenancy.Principal, id string) (apitype.Study, error) {
	st, err := o.jobs.CancelStudy(ctx, p, id)
	if err != nil {
		return apitype.Study{}, o.err("cancel study", id, err)
	}
	return studyView(st), nil
}

// Resume puts a cancelled or failed study back in the queue.
func (o *Studies) Resume(ctx context.Context, p tenancy.Principal, id string) (apitype.Study, error) {
	st, err := o.jobs.ResumeStudy(ctx, p, id)
	if err != nil {
		return apitype.Study{}, o.err("resume study", id, err)
	}
	return studyView(st), nil
}

// Export is the study's best trial as Freqtrade's strategy parameter
// file, indented.
func (o *Studies) Export(ctx context.Context, p tenancy.Principal, id string) ([]byte, error) {
	store := o.jobs.Studies()
	st, err := store.Get(ctx, p, id)
	if err != nil {
		return nil, o.err("export study", id, err)
	}
	f, _, err := store.BestParamsFile(ctx, p, st)
	if err != nil {
		return nil, o.err("export study", id, err)
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, o.err("export study", id, err)
	}
	return append(raw, '\n'), nil
}

// ExportVersion pushes the study's best trial as a new version of its
// strategy in reg (study.Store.ExportVersion), or finds the version
// already holding it (created false).
func (o *Studies) ExportVersion(ctx context.Context, p tenancy.Principal, id string, reg *registry.Registry) (apitype.StrategyVersion, bool, error) {
	if reg == nil {
		return apitype.StrategyVersion{}, false, problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server has no strategy registry")
	}
	store := o.jobs.Studies()
	st, err := store.Get(ctx, p, id)
	if err != nil {
		return apitype.StrategyVersion{}, false, o.err("export study", id, err)
	}
	v, created, err := store.ExportVersion(ctx, p, st, reg)
	if err != nil {
		return apitype.StrategyVersion{}, false, o.err("export study", id, err)
	}
	view := VersionView(v)
	view.Created = created
	return view, created, nil
}

// Report is the study's HTML report (report.WriteStudyHTML) of the
// trials told so far, as tradai hyperopt --report writes a local one.
func (o *Studies) Report(ctx context.Context, p tenancy.Principal, id string) ([]byte, error) {
	store := o.jobs.Studies()
	st, err := store.Get(ctx, p, id)
	if err != nil {
		return nil, o.err("study report", id, err)
	}
	if st.Space == nil {
		return nil, problem(http.StatusConflict, apitype.CodeConflict, "study "+id+" has not started: no worker has opened its strategy yet")
	}
	restored, err := store.Restore(ctx, p, st)
	if err != nil {
		return nil, o.err("study report", id, err)
	}
	loss, err := optimize.LossNamed(st.Spec.Loss)
	if err != nil {
		return nil, o.err("study report", id, err)
	}
	rep := &report.StudyReport{Title: st.Space.Strategy.Name, Loss: loss.Name, Sampler: st.Spec.Sampler, Seed: st.Spec.Seed,
		Jobs: st.Spec.Parallel, Epochs: st.Spec.Epochs, Spaces: st.Space.Spaces}
	optimize.FillStudyReport(rep, restored, st.Space.Dims, restored.Overfitting())
	var buf bytes.Buffer
	if err := report.WriteStudyHTML(&buf, rep); err != nil {
		return nil, o.err("study report", id, err)
	}
	return buf.Bytes(), nil
}

// err maps the study store's errors to problems.
func (o *Studies) err(what, id string, err error) error {
	switch {
	case study.IsNotFound(err):
		return problem(http.StatusNotFound, apitype.CodeNotFound, "no study "+id)
	case errors.Is(err, study.ErrNoBest):
		return problem(http.StatusConflict, apitype.CodeConflict, "study "+id+" has no completed trial yet")
	case errors.Is(err, study.ErrNotAVersion):
		return problem(http.StatusConflict, apitype.CodeConflict, "study "+id+" ran a built-in strategy: only the study of a registry version can be exported as a new version (export the parameter file instead)")
	case errors.Is(err, registry.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	case errors.Is(err, registry.ErrInvalid):
		return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, err.Error())
	case errors.Is(err, registry.ErrTooLarge):
		return problem(http.StatusRequestEntityTooLarge, apitype.CodeBodyTooLarge, err.Error())
	case errors.Is(err, runs.ErrConflict):
		return problem(http.StatusConflict, apitype.CodeIdempotency, "the Idempotency-Key was already used with a different request")
	case errors.Is(err, runs.ErrIllegalTransition):
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, runs.ErrIllegalTransition.Error()+": "); ok {
			msg = after
		}
		return problem(http.StatusConflict, apitype.CodeConflict, fmt.Sprintf("cannot %s %s: %s", strings.TrimSuffix(what, " study"), id, msg))
	}
	o.log.Error(what, "err", err)
	return problem(http.StatusInternalServerError, apitype.CodeInternal, what+" failed; the server logged why")
}

// studyView is the API's picture of st.
func studyView(st *study.Study) apitype.Study {
	r, sp := st.Run, st.Spec
	self := studiesPath + "/" + r.ID
	v := apitype.Study{
		ID: r.ID, Status: string(r.Status), Strategy: r.Spec.Strategy, StrategyVersion: r.Spec.StrategyVersion, Tags: r.Spec.Tags,
		Spaces: sp.Spaces, Epochs: sp.Epochs, Loss: sp.Loss, Sampler: sp.Sampler, Seed: sp.Seed, MinTrades: sp.MinTrades,
		Batch: sp.Batch, Parallel: sp.Parallel, FailShare: sp.FailShare, Asked: st.Asked,
		Trials: apitype.StudyCounts{Completed: st.Counts.Completed, Failed: st.Counts.Failed, Running: st.Counts.Running, Pending: st.Counts.Pending},
		Error:  r.Error, CreatedAt: r.Created.UTC(), StartedAt: optTime(r.Started), FinishedAt: optTime(r.Finished),
		Links: map[string]string{"self": self, "trials": self + "/trials", "export": self + "/export", "report": self + "/report"},
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	if st.Space != nil {
		for _, d := range st.Space.Dims {
			v.Dimensions = append(v.Dimensions, d.Name)
		}
	}
	switch r.Status {
	case runs.Queued, runs.Running:
		v.Links["cancel"] = self + "/cancel"
	case runs.Failed, runs.DeadLetter, runs.Cancelled:
		v.Links["resume"] = self + "/resume"
	}
	return v
}

// trialView is the API's picture of a trial.
func trialView(t study.Trial) apitype.Trial {
	f := t.Figures
	v := apitype.Trial{Number: t.Number, Status: t.Status, Point: t.Point, Trades: f.Trades, Wins: f.Wins, Draws: f.Draws, Losses: f.Losses,
		ProfitMean: f.ProfitMean, ProfitAbs: f.ProfitTotalAbs, Profit: f.ProfitTotal, HoldingAvg: f.HoldingAvg, Drawdown: f.MaxDrawdownAccount,
		Sharpe: f.Sharpe, DurationMs: t.Duration.Milliseconds(), Error: t.Error}
	if t.Status == study.TrialCompleted || t.Status == study.TrialFailed {
		v.Params = t.Params.Params
		risk := t.Params.Risk
		v.Risk = &risk
	}
	if !math.IsInf(t.Loss, 0) && !math.IsNaN(t.Loss) {
		l := t.Loss
		v.Loss = &l
	}
	return v
}
