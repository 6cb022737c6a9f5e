package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

const backtestsPath = "/api/v1/backtests"

type submitInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a submission safely: the same key with the same request returns the first run; with another request it is a 409"`
	Body           apitype.SubmitRequest
}

type submitOutput struct {
	Location string `header:"Location"`
	Body     apitype.Ticket
}

type runInput struct {
	ID string `path:"id" maxLength:"100" doc:"Run id"`
}

type runOutput struct {
	Body apitype.Run
}

type listInput struct {
	Status   string   `query:"status" enum:"queued,running,completed,failed,cancelled,dead_letter" doc:"Only runs in this status"`
	Strategy string   `query:"strategy" maxLength:"500" doc:"Only runs of this strategy (a registry strategy by its name)"`
	Version  int      `query:"version" minimum:"0" doc:"Only runs of this registry version of the strategy"`
	Tag      []string `query:"tag,explode" maxItems:"20" doc:"Only runs with this tag, key=value; repeat for runs carrying all of them"`
	Cursor   string   `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page"`
	Limit    int      `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type listOutput struct {
	Body apitype.RunPage
}

type artifactInput struct {
	ID   string `path:"id" maxLength:"100"`
	Name string `path:"name" maxLength:"100"`
}

type artifactOutput struct {
	ContentType string `header:"Content-Type"`
	ETag        string `header:"ETag"`
	Body        []byte
}

type tradesOutput struct {
	Body apitype.TradeList
}

func (s *Server) registerBacktests() {
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-backtest", Method: http.MethodPost, Path: backtestsPath,
		Summary: "Submit a backtest", Tags: []string{"backtests"}, Security: secured,
		Description:   "Queues the backtest and answers at once with a ticket; follow status_url until the run is completed, failed, cancelled or dead_letter.",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, s.submit)
	huma.Register(s.api, huma.Operation{
		OperationID: "list-backtests", Method: http.MethodGet, Path: backtestsPath,
		Summary: "List backtests, newest first", Tags: []string{"backtests"}, Security: secured,
	}, s.list)
	huma.Register(s.api, huma.Operation{
		OperationID: "get-backtest", Method: http.MethodGet, Path: backtestsPath + "/{id}",
		Summary: "Get a backtest: status, progress, steps, and on completion its metrics and artifacts", Tags: []string{"backtests"}, Security: secured,
	}, s.get)
	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-backtest", Method: http.MethodPost, Path: backtestsPath + "/{id}/cancel",
		Summary: "Cancel a queued or running backtest", Tags: []string{"backtests"}, Security: secured,
		Description: "A running backtest stops within a second. Cancelling a finished run is a 409.",
	}, s.cancel)
	huma.Register(s.api, huma.Operation{
		OperationID: "delete-backtest", Method: http.MethodDelete, Path: backtestsPath + "/{id}",
		Summary: "Delete a finished backtest with its steps and artifacts", Tags: []string{"backtests"}, Security: secured,
		Description:   "Completed, failed, dead-lettered and cancelled runs can be deleted; a queued or running one is a 409 (cancel it first). The audit log keeps a record of the deletion.",
		DefaultStatus: http.StatusNoContent,
	}, s.delete)
	huma.Register(s.api, huma.Operation{
		OperationID: "retry-backtest", Method: http.MethodPost, Path: backtestsPath + "/{id}/retry",
		Summary: "Run a failed, dead-lettered or cancelled backtest again", Tags: []string{"backtests"}, Security: secured,
		DefaultStatus: http.StatusAccepted,
	}, s.retry)
	huma.Register(s.api, huma.Operation{
		OperationID: "get-backtest-trades", Method: http.MethodGet, Path: backtestsPath + "/{id}/trades",
		Summary: "The trades of a completed backtest", Tags: []string{"backtests"}, Security: secured,
	}, s.trades)
	huma.Register(s.api, huma.Operation{
		OperationID: "get-backtest-artifact", Method: http.MethodGet, Path: backtestsPath + "/{id}/artifacts/{name}",
		Summary: "Download an artifact of a backtest (result.json, report.html)", Tags: []string{"backtests"}, Security: secured,
		Responses: map[string]*huma.Response{"200": {Description: "The file", Content: map[string]*huma.MediaType{
			"application/json": {}, "text/html": {},
		}}},
	}, s.artifact)
}

func (s *Server) submit(ctx context.Context, in *submitInput) (*submitOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.Submit(ctx, p, in.Body, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	u := backtestsPath + "/" + r.ID
	out := &submitOutput{Location: u}
	out.Body = apitype.Ticket{RunID: r.ID, Status: string(r.Status), StatusURL: u}
	return out, nil
}

// Submit checks a backtest submission and queues it as p: the one path
// every submission takes (the API's and the web app's). A refused
// submission is an *apitype.Problem naming what is wrong.
func (s *Server) Submit(ctx context.Context, p tenancy.Principal, req apitype.SubmitRequest, idempotencyKey string) (runs.Run, error) {
	spec, err := s.specFor(ctx, p, req)
	if err != nil {
		return runs.Run{}, err
	}
	r, err := s.d.Jobs.Submit(ctx, p, spec, idempotencyKey)
	if err != nil {
		return runs.Run{}, s.runErr("submit backtest", "", err)
	}
	return r, nil
}

// specFor checks a submission the way the CLI would before running it, so
// a bad config or unknown strategy is a 422 now, not a failed run later.
func (s *Server) specFor(ctx context.Context, p tenancy.Principal, req apitype.SubmitRequest) (runs.RunSpec, error) {
	if len(req.Tags) > maxTags {
		return runs.RunSpec{}, invalid("body.tags", fmt.Sprintf("%d tags; at most %d", len(req.Tags), maxTags), nil)
	}
	for _, k := range slices.Sorted(maps.Keys(req.Tags)) {
		// Keys are what ?tag=key=value finds runs by.
		if k == "" || strings.Contains(k, "=") || len(k) > maxTagKeyLen {
			return runs.RunSpec{}, invalid("body.tags", fmt.Sprintf("tag key %q: must be non-empty, without '=' and at most %d bytes", k, maxTagKeyLen), k)
		}
		if p := checkText("body.tags", k); p != nil {
			return runs.RunSpec{}, invalid("body.tags", fmt.Sprintf("tag key: %s", p.Errors[0].Message), nil)
		}
		if p := checkText("body.tags."+k, req.Tags[k]); p != nil {
			return runs.RunSpec{}, p
		}
		if len(req.Tags[k]) > maxTagValueLen {
			return runs.RunSpec{}, invalid("body.tags."+k, fmt.Sprintf("%d bytes; at most %d", len(req.Tags[k]), maxTagValueLen), nil)
		}
	}
	if p := checkText("body.strategy", req.Strategy); p != nil {
		return runs.RunSpec{}, p
	}
	if p := checkText("body.timerange", req.Timerange); p != nil {
		return runs.RunSpec{}, p
	}
	for i, pair := range req.Pairs {
		if p := checkText(fmt.Sprintf("body.pairs[%d]", i), pair); p != nil {
			return runs.RunSpec{}, p
		}
	}
	ref := strings.TrimSpace(req.Strategy)
	external := strategyref.IsExternal(ref)
	var (
		declared *sdk.Spec         // the spec to check parameters against, when known now
		version  *registry.Version // the registry version ref names
	)
	registryRef := strategyref.IsRegistry(ref)
	if !external {
		builtin, err := strategy.Lookup(ref)
		if err == nil {
			sp := builtin.Spec()
			declared = &sp
		} else if s.d.Registry == nil {
			return runs.RunSpec{}, invalid("body.strategy", err.Error(), ref)
		} else {
			registryRef = true
		}
	}
	if registryRef && s.d.Registry == nil {
		return runs.RunSpec{}, invalid("body.strategy", "a registry version, but this server has no strategy registry", ref)
	}
	if registryRef {
		v, err := s.d.Registry.Resolve(ctx, p.Tenant, ref)
		if errors.Is(err, registry.ErrNotFound) && !strings.Contains(ref, "@") {
			return runs.RunSpec{}, invalid("body.strategy", fmt.Sprintf("unknown strategy %q: no built-in strategy and nothing in the strategy registry by that name; built-in: %s", ref, strings.Join(strategy.Names(), ", ")), ref)
		}
		if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) {
			return runs.RunSpec{}, invalid("body.strategy", err.Error(), ref)
		}
		if err != nil {
			return runs.RunSpec{}, s.internal("resolve the strategy", err)
		}
		version, declared, external = &v, &v.Spec, true
	}
	if external && version == nil && !s.o.AllowExternalStrategies {
		return runs.RunSpec{}, problem(http.StatusUnprocessableEntity, apitype.CodeStrategyForbidden,
			"body.strategy: this server runs built-in strategies and strategy registry versions, not files named by a path on the server; built-in: "+strings.Join(strategy.Names(), ", ")+
				". Push your strategy (tradai strategy push FILE --name NAME --remote URL) and run NAME@1 (it runs in the process sandbox), run it locally (tradai backtest without --remote), or ask the server's operator to start it with --allow-external-strategies",
			&apitype.ErrorDetail{Location: "body.strategy", Message: "strategies named by a path are not allowed", Value: ref})
	}
	cfg := req.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["strategy"] = ref
	if version != nil {
		cfg["strategy"] = version.Ref()
	}
	if req.Timerange != "" {
		cfg["timerange"] = req.Timerange
	}
	if len(req.Pairs) > 0 {
		ex, _ := cfg["exchange"].(map[string]any)
		if ex == nil {
			if _, present := cfg["exchange"]; present {
				return runs.RunSpec{}, invalid("body.config.exchange", "must be an object", cfg["exchange"])
			}
			ex = map[string]any{}
		}
		ex["pair_whitelist"], ex["pair_blacklist"] = req.Pairs, []string{}
		cfg["exchange"] = ex
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return runs.RunSpec{}, invalid("body.config", err.Error(), nil)
	}
	parsed, err := config.Parse(raw, "body.config")
	if err != nil {
		// Parse says "config body.config: …": the location says that.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return runs.RunSpec{}, invalid("body.config", err.Error(), nil)
	}
	if err := s.checkExchange(parsed.Exchange.Name); err != nil {
		return runs.RunSpec{}, invalid("body.config.exchange.name", err.Error(), nil)
	}
	for i, pair := range parsed.Exchange.PairWhitelist {
		loc := fmt.Sprintf("body.config.exchange.pair_whitelist[%d]", i)
		if p := checkText(loc, pair); p != nil {
			return runs.RunSpec{}, p
		}
		if err := market.ValidatePair(pair); err != nil {
			return runs.RunSpec{}, invalid(loc, err.Error(), pair)
		}
	}
	if declared != nil {
		// The worker resolves the config's strategy_params overlaid with
		// params against the strategy's declared parameters; so does this,
		// one parameter at a time to name the one out of range. A
		// file's or program's parameters are known only once it runs.
		spec := *declared
		for _, src := range []struct {
			loc    string
			values map[string]any
		}{{"body.config.strategy_params", parsed.StrategyParams}, {"body.params", req.Params}} {
			for _, name := range slices.Sorted(maps.Keys(src.values)) {
				if _, err := spec.Resolve(map[string]any{name: src.values[name]}); err != nil {
					return runs.RunSpec{}, invalid(src.loc+"."+name, err.Error(), src.values[name])
				}
			}
		}
	}
	params := []byte("{}")
	if len(req.Params) > 0 {
		if params, err = json.Marshal(req.Params); err != nil {
			return runs.RunSpec{}, invalid("body.params", err.Error(), nil)
		}
	}
	h := sha256.New()
	code := "builtin@" + s.d.Version
	switch {
	case version != nil:
		code = "registry:" + version.SHA256
	case external:
		code = "external"
	}
	for _, part := range [][]byte{[]byte(ref), []byte(code), raw, params} {
		h.Write(part)
		h.Write([]byte{0})
	}
	spec := runs.RunSpec{
		Kind: runs.KindBacktest, Strategy: ref, Params: params, Config: raw, Tags: req.Tags,
		Fingerprint: "sha256:" + hex.EncodeToString(h.Sum(nil)),
	}
	if version != nil {
		spec.Strategy, spec.StrategyVersion, spec.CodeSHA256 = version.Name, version.Number, version.SHA256
	}
	return spec, nil
}

func (s *Server) get(ctx context.Context, in *runInput) (*runOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.d.Runs.Get(ctx, p, in.ID)
	if err != nil {
		return nil, s.runErr("get run", in.ID, err)
	}
	v, err := s.detailed(ctx, p, r)
	if err != nil {
		return nil, err
	}
	return &runOutput{Body: v}, nil
}

// detailed is r with its steps and artifacts.
func (s *Server) detailed(ctx context.Context, p tenancy.Principal, r runs.Run) (apitype.Run, error) {
	v := view(r)
	steps, err := s.d.Runs.Steps(ctx, p, r.ID)
	if err != nil {
		return apitype.Run{}, s.internal("read the run's steps", err)
	}
	for _, st := range steps {
		sv := apitype.Step{Name: st.Name, Status: string(st.Status), StartedAt: st.Started.UTC(), Error: st.Error, Detail: st.Detail}
		if sv.FinishedAt = optTime(st.Finished); sv.FinishedAt != nil {
			sv.Seconds = st.Finished.Sub(st.Started).Seconds()
		}
		v.Steps = append(v.Steps, sv)
	}
	// By start, and steps started in the same millisecond in the
	// workflow's order.
	slices.SortStableFunc(v.Steps, func(a, b apitype.Step) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return s.d.Jobs.StepRank(r.Spec.Kind, a.Name) - s.d.Jobs.StepRank(r.Spec.Kind, b.Name)
	})
	if r.Status == runs.Completed {
		arts, err := s.d.Runs.Artifacts(ctx, p, r.ID)
		if err != nil {
			return apitype.Run{}, s.internal("read the run's artifacts", err)
		}
		for _, a := range arts {
			u := v.Links["self"] + "/artifacts/" + a.Name
			v.Artifacts = append(v.Artifacts, apitype.Artifact{Name: a.Name, MediaType: a.MediaType, Size: a.Size, SHA256: a.SHA256, URL: u})
			switch a.Name {
			case "result.json":
				v.Links["result"] = u
				v.Links["trades"] = v.Links["self"] + "/trades"
			case "report.html":
				v.Links["report"] = u
			}
		}
	}
	return v, nil
}

// view is the API's picture of r, without steps and artifacts.
func view(r runs.Run) apitype.Run {
	self := backtestsPath + "/" + r.ID
	v := apitype.Run{
		ID: r.ID, Kind: r.Spec.Kind, Status: string(r.Status), Strategy: r.Spec.Strategy, StrategyVersion: r.Spec.StrategyVersion, CodeSHA256: r.Spec.CodeSHA256,
		Params: r.Spec.Params, Config: r.Spec.Config, Fingerprint: r.Spec.Fingerprint, DataFingerprint: r.DataFingerprint, Parent: r.Spec.Parent, Tags: r.Spec.Tags,
		Progress: r.Progress, Attempts: r.Attempts, Error: r.Error, CreatedAt: r.Created.UTC(), StartedAt: optTime(r.Started), FinishedAt: optTime(r.Finished),
		Metrics: r.Metrics, Links: map[string]string{"self": self},
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	switch r.Status {
	case runs.Queued, runs.Running:
		v.Links["cancel"] = self + "/cancel"
	case runs.Failed, runs.DeadLetter, runs.Cancelled:
		v.Links["retry"] = self + "/retry"
	}
	return v
}

func (s *Server) list(ctx context.Context, in *listInput) (*listOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	f := runs.Filter{Status: runs.Status(in.Status), Kind: runs.KindBacktest, Strategy: in.Strategy, StrategyVersion: in.Version}
	for i, t := range in.Tag {
		k, v, ok := strings.Cut(t, "=")
		_, dup := f.Tags[k]
		msg := ""
		switch {
		case !ok || k == "":
			msg = "want key=value"
		case dup:
			msg = "tag " + k + " given twice"
		}
		if msg != "" {
			loc := fmt.Sprintf("query.tag[%d]", i)
			return nil, problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, loc+": "+msg,
				&apitype.ErrorDetail{Location: loc, Message: msg, Value: t})
		}
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		f.Tags[k] = v
	}
	page, err := s.d.Runs.List(ctx, p, f, in.Cursor, in.Limit)
	if errors.Is(err, runs.ErrBadCursor) {
		return nil, problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, "query.cursor: not a cursor this API handed out",
			&apitype.ErrorDetail{Location: "query.cursor", Message: "not a cursor this API handed out", Value: in.Cursor})
	}
	if err != nil {
		return nil, s.internal("list runs", err)
	}
	out := &listOutput{Body: apitype.RunPage{Runs: make([]apitype.Run, 0, len(page.Runs)), NextCursor: page.Next}}
	for _, r := range page.Runs {
		v := view(r)
		v.Config = nil // in the run's own page
		out.Body.Runs = append(out.Body.Runs, v)
	}
	return out, nil
}

func (s *Server) cancel(ctx context.Context, in *runInput) (*runOutput, error) {
	return s.transition(ctx, in.ID, "cancel run", s.d.Jobs.Cancel)
}

func (s *Server) delete(ctx context.Context, in *runInput) (*struct{}, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.d.Runs.Delete(ctx, p, in.ID); err != nil {
		return nil, s.runErr("delete run", in.ID, err)
	}
	return nil, nil
}

func (s *Server) retry(ctx context.Context, in *runInput) (*runOutput, error) {
	return s.transition(ctx, in.ID, "retry run", s.d.Jobs.Retry)
}

func (s *Server) transition(ctx context.Context, id, what string, fn func(context.Context, tenancy.Principal, string) (runs.Run, error)) (*runOutput, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := fn(ctx, p, id)
	if err != nil {
		return nil, s.runErr(what, id, err)
	}
	v, err := s.detailed(ctx, p, r)
	if err != nil {
		return nil, err
	}
	return &runOutput{Body: v}, nil
}

// runErr maps the run store's errors to problems.
func (s *Server) runErr(what, id string, err error) error {
	return runProblem(what, id, err, s.internal)
}

// runProblem maps the run store's errors to problems; internal logs any
// other error and answers 500.
func runProblem(what, id string, err error, internal func(what string, err error) error) error {
	switch {
	case errors.Is(err, runs.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, "no run "+id)
	case errors.Is(err, runs.ErrConflict):
		return problem(http.StatusConflict, apitype.CodeIdempotency, "the Idempotency-Key was already used with a different request")
	case errors.Is(err, runs.ErrInvalidText):
		// The checks at the boundary name the field; this is the store's
		// own refusal, should one be missed.
		return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, "the request holds text that is not valid UTF-8 or has control characters")
	case errors.Is(err, runs.ErrIllegalTransition):
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, runs.ErrIllegalTransition.Error()+": "); ok {
			msg = after
		}
		return problem(http.StatusConflict, apitype.CodeConflict, fmt.Sprintf("cannot %s %s: %s", strings.TrimSuffix(what, " run"), id, msg))
	}
	return internal(what, err)
}

// artifactFile reads a completed run's artifact by name.
func (s *Server) artifactFile(ctx context.Context, id, name string) (runs.Artifact, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return runs.Artifact{}, err
	}
	return s.artifactOf(ctx, p, id, name)
}

// artifactOf is artifactFile for principal p.
func (s *Server) artifactOf(ctx context.Context, p tenancy.Principal, id, name string) (runs.Artifact, error) {
	a, err := s.d.Runs.ArtifactContent(ctx, p, id, name)
	switch {
	case errors.Is(err, runs.ErrNotFound):
		// No run, or no such artifact: the answer names which.
		if _, err := s.d.Runs.Get(ctx, p, id); err != nil {
			return runs.Artifact{}, s.runErr("get run", id, err)
		}
		return runs.Artifact{}, problem(http.StatusNotFound, apitype.CodeNotFound, fmt.Sprintf("run %s has no artifact %q", id, name))
	case errors.Is(err, runs.ErrArtifactNotStored):
		return runs.Artifact{}, problem(http.StatusNotFound, apitype.CodeNotFound, err.Error())
	}
	if err != nil {
		return runs.Artifact{}, s.internal("read artifact "+name, err)
	}
	return a, nil
}

func (s *Server) artifact(ctx context.Context, in *artifactInput) (*artifactOutput, error) {
	a, err := s.artifactFile(ctx, in.ID, in.Name)
	if err != nil {
		return nil, err
	}
	return &artifactOutput{ContentType: a.MediaType, ETag: `"` + a.SHA256 + `"`, Body: a.Content}, nil
}

func (s *Server) trades(ctx context.Context, in *runInput) (*tradesOutput, error) {
	a, err := s.artifactFile(ctx, in.ID, "result.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Trades json.RawMessage `json:"trades"`
	}
	if err := json.Unmarshal(a.Content, &doc); err != nil {
		return nil, s.internal("read the run's trades", err)
	}
	out := &tradesOutput{}
	out.Body.Trades = doc.Trades
	if len(out.Body.Trades) == 0 {
		out.Body.Trades = json.RawMessage("[]")
	}
	return out, nil
}
