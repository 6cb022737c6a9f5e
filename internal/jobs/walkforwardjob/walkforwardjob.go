// Package walkforwardjob is the walk-forward run kind of the job queue
// (internal/jobs): tradai walkforward on a server's worker. One worker
// runs the whole analysis with the code the local command uses
// (optimize.RunWalkForward over optimize.Windows, window i's sampler
// seeded with Seed + i): its steps validate → load → walk → record. The
// candles are loaded once (backtest.Load, as the backtest and study jobs
// load them) and every window views its part; the run's progress follows
// the windows done; a cancel stops the analysis (the queue cancels the
// step's context, which the studies of the windows honour). The run
// stores the analysis as tradai walkforward writes it: walkforward.json
// (--export-json), report.html (--report) and oos-report.html
// (--oos-report), and equity.json (Curves, for the web app's chart); its
// metrics are the stitched out-of-sample summary.
//
// The analysis's settings (Spec) are the run's fingerprint, as a study's
// are.
package walkforwardjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// Step names, in order: part of the API (a run's steps).
const (
	StepValidate = "validate"
	StepLoad     = "load"
	StepWalk     = "walk"
	StepRecord   = "record"
)

// The artifacts of a completed walk-forward run.
const (
	ArtifactJSON      = "walkforward.json"
	ArtifactReport    = "report.html"
	ArtifactOOSReport = "oos-report.html"
	// ArtifactEquity holds the Curves the web app draws.
	ArtifactEquity = "equity.json"
)

// MaxCurvePoints bounds the points of each curve of Curves.
const MaxCurvePoints = 2000

// Curves are a walk-forward's equity curves for a chart: the stitched
// out-of-sample one, and per window the in-sample one (its best trial on
// the training range), each thinned to at most MaxCurvePoints points
// (every k-th, and the last).
type Curves struct {
	OutOfSample []CurvePoint   `json:"out_of_sample"`
	InSample    [][]CurvePoint `json:"in_sample"`
}

// CurvePoint is an equity mark: Unix seconds (as lightweight-charts takes
// time) and the equity.
type CurvePoint struct {
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
}

// curve thins an equity curve to at most MaxCurvePoints points.
func curve(eq []result.EquityPoint) []CurvePoint {
	k := (len(eq) + MaxCurvePoints - 1) / MaxCurvePoints
	out := make([]CurvePoint, 0, min(len(eq), MaxCurvePoints+1))
	for i, e := range eq {
		if i%k == 0 || i == len(eq)-1 {
			out = append(out, CurvePoint{Time: e.Time / 1000, Value: e.Equity})
		}
	}
	return out
}

// curvesOf are wf's curves.
func curvesOf(wf *optimize.WalkForward) Curves {
	c := Curves{OutOfSample: curve(wf.OOS.Equity), InSample: make([][]CurvePoint, len(wf.Windows))}
	for i, w := range wf.Windows {
		if w.Best.Result != nil {
			c.InSample[i] = curve(w.Best.Result.Equity)
		}
	}
	return c
}

// MaxJobs bounds Spec.Jobs.
const MaxJobs = 64

// Progress of the run at the end of the steps before the walk; the walk
// moves it from loaded to walked as windows finish.
const (
	loaded = 0.1
	walked = 0.95
)

// Spec is a walk-forward's settings: tradai walkforward's flags that are
// not the run's (the run holds the strategy, its config and fixed
// parameters). Every window's study searches as the embedded study.Spec
// says (its Batch, Parallel and FailShare are unused).
type Spec struct {
	Train    string `json:"train"`
	Test     string `json:"test"`
	Step     string `json:"step"`
	Anchored bool   `json:"anchored,omitempty"`
	// Jobs is how many trials of a window run at once (0: the worker's
	// CPUs); with Seed it repeats an analysis.
	Jobs int `json:"jobs,omitempty"`
	study.Spec
}

// WithDefaults fills the zero fields (Step: Test).
func (s Spec) WithDefaults() Spec {
	if s.Step == "" {
		s.Step = s.Test
	}
	d := s.Spec.WithDefaults()
	s.Spec = study.Spec{Spaces: d.Spaces, Epochs: d.Epochs, Loss: d.Loss, Sampler: d.Sampler, Seed: d.Seed, MinTrades: d.MinTrades}
	return s
}

// Spans are the train, test and step lengths.
func (s Spec) Spans() (train, test, step time.Duration, err error) {
	var d [3]time.Duration
	var errs []error
	for i, f := range []struct{ name, v string }{{"train", s.Train}, {"test", s.Test}, {"step", s.Step}} {
		if d[i], err = optimize.ParseSpan(f.v); err != nil && (f.name != "step" || s.Step != s.Test) {
			errs = append(errs, &study.FieldError{Field: f.name, Msg: err.Error()}) // a step defaulting to a bad test: test's error
		}
	}
	return d[0], d[1], d[2], errors.Join(errs...)
}

// Validate checks a spec (with its defaults filled); every problem is a
// *study.FieldError naming the field by its JSON name.
func (s Spec) Validate() error {
	_, test, step, err := s.Spans()
	errs := []error{err}
	if err == nil && step < test {
		errs = append(errs, &study.FieldError{Field: "step", Msg: fmt.Sprintf("%s is shorter than test %s: the tests would overlap", s.Step, s.Test)})
	}
	if s.Jobs < 0 || s.Jobs > MaxJobs {
		errs = append(errs, &study.FieldError{Field: "jobs", Msg: fmt.Sprintf("%d is not from 0 to %d", s.Jobs, MaxJobs)})
	}
	ss := s.Spec.WithDefaults() // Batch, Parallel, FailShare: unused
	ss.Spaces, ss.Epochs, ss.Loss, ss.Sampler, ss.MinTrades = s.Spaces, s.Epochs, s.Loss, s.Sampler, s.MinTrades
	errs = append(errs, ss.Validate())
	return errors.Join(errs...)
}

// ParseSpec reads the spec a run stores (its fingerprint).
func ParseSpec(r runs.Run) (Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(r.Spec.Fingerprint), &s); err != nil {
		return Spec{}, fmt.Errorf("walk-forward %s: its stored settings: %w", r.ID, err)
	}
	return s, nil
}

// ProgressSetter records a running run's progress; *runs.Store is one.
type ProgressSetter interface {
	SetProgress(ctx context.Context, p tenancy.Principal, id string, progress float64) error
}

// Options configure the walk-forward kind.
type Options struct {
	// DataDir is the market data store the analyses read (a config's
	// datadir is ignored). Required.
	DataDir string
	// Strategies open the runs' strategies, as for backtest runs.
	Strategies strategyref.Options
	// Registry gives a tenant's strategy registry (nil: none).
	Registry func(tenant string) strategyref.Resolver
	// AllowExternalStrategies lets runs use Python files and exec:
	// programs.
	AllowExternalStrategies bool
	// Progress records the windows done. Required.
	Progress ProgressSetter
	// Market are the options the market data store is opened with (its
	// Remote: the bucket DataDir is a cache of).
	Market market.Options
	Clock  clock.Clock
	Log    *slog.Logger
}

// Kind is the walk-forward run kind.
type Kind struct{ opts Options }

var _ runkind.Kind = (*Kind)(nil)

// New returns the walk-forward kind.
func New(o Options) (*Kind, error) {
	if o.DataDir == "" {
		return nil, errors.New("walk-forward runs: a market data folder is required")
	}
	if o.Progress == nil {
		return nil, errors.New("walk-forward runs: a progress store is required")
	}
	o.Clock = clock.Or(o.Clock)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Kind{opts: o}, nil
}

// Name is runs.KindWalkForward.
func (k *Kind) Name() string { return runs.KindWalkForward }

// Steps are validate, load, walk and record.
func (k *Kind) Steps() []runkind.Step {
	return []runkind.Step{{Name: StepValidate, Progress: 0.02}, {Name: StepLoad, Progress: loaded}, {Name: StepWalk, Progress: walked}, {Name: StepRecord, Progress: 1}}
}

// Begin starts an attempt at walk-forward run r.
func (k *Kind) Begin(r runs.Run, log *slog.Logger) runkind.Attempt {
	return &attempt{k: k, r: r, log: log}
}

// attempt is one attempt at a walk-forward; each step leaves what the
// next needs.
type attempt struct {
	k   *Kind
	r   runs.Run
	log *slog.Logger

	spec     Spec
	cfg      *config.Config
	strategy sdk.Strategy
	release  func() error
	settings backtest.Settings
	plan     backtest.Plan
	space    *optimize.Space
	loss     optimize.Loss
	data     *backtest.Data
	windows  []optimize.Window
	wf       *optimize.WalkForward
}

func (a *attempt) Do(ctx context.Context, step string) (runkind.Result, error) {
	switch step {
	case StepValidate:
		return runkind.Result{}, runkind.Permanent(a.validate(ctx))
	case StepLoad:
		return a.load(ctx)
	case StepWalk:
		return a.walk(ctx)
	case StepRecord:
		o, err := a.record()
		return runkind.Result{Outcome: o}, runkind.Permanent(err)
	}
	return runkind.Result{}, runkind.Permanent(fmt.Errorf("walk-forward runs have no step %q", step))
}

// validate reads the settings and the config and opens the strategy.
func (a *attempt) validate(ctx context.Context) error {
	r, o := a.r, a.k.opts
	spec, err := ParseSpec(r)
	if err != nil {
		return err
	}
	a.spec = spec.WithDefaults()
	if err := a.spec.Validate(); err != nil {
		return fmt.Errorf("walk-forward settings: %w", err)
	}
	c, st, closeFn, err := runkind.OpenStrategy(ctx, r, "run", runkind.Worker{DataDir: o.DataDir, Strategies: o.Strategies, Registry: o.Registry, AllowExternal: o.AllowExternalStrategies})
	if err != nil {
		return err
	}
	a.cfg, a.strategy, a.release = c, st, closeFn
	spec2 := st.Spec()
	if err := spec2.Validate(); err != nil {
		return err
	}
	if _, err := spec2.Resolve(c.StrategyParams); err != nil {
		return fmt.Errorf("strategy_params: %w", err)
	}
	if a.settings, err = backtest.ConfigSettings(c, spec2); err != nil {
		return err
	}
	if a.plan, err = backtest.NewPlan(c, spec2); err != nil {
		return err
	}
	if a.space, err = optimize.NewSpace(spec2, a.plan.Timeframe, a.spec.Spaces); err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	a.loss, err = optimize.LossNamed(a.spec.Loss)
	return err
}

// load reads the candles of the whole range once and cuts the windows.
func (a *attempt) load(ctx context.Context) (runkind.Result, error) {
	store, err := market.OpenWith(a.cfg.Datadir, a.k.opts.Log, a.k.opts.Market)
	if err != nil {
		return runkind.Result{}, runkind.Permanent(fmt.Errorf("market data: %w", err))
	}
	if a.data, err = backtest.Load(ctx, store, a.plan, a.log); err != nil {
		if ctx.Err() != nil {
			return runkind.Result{}, ctx.Err()
		}
		return runkind.Result{}, runkind.Permanent(err)
	}
	train, test, step, _ := a.spec.Spans()
	if a.windows, err = optimize.Windows(a.data.Span(), train, test, step, a.spec.Anchored); err != nil {
		return runkind.Result{}, runkind.Permanent(err)
	}
	return runkind.Result{Detail: fmt.Sprintf("%d windows", len(a.windows))}, nil
}

// walk runs the analysis, recording the progress as windows finish.
func (a *attempt) walk(ctx context.Context) (runkind.Result, error) {
	jobs := a.spec.Jobs
	if jobs == 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	p := tenancy.Principal{Tenant: a.r.Tenant}
	done := 0
	wf, err := optimize.RunWalkForward(ctx, optimize.WalkOptions{
		Study: optimize.Options{Strategy: a.strategy, Data: a.data, Settings: a.settings, Params: a.cfg.StrategyParams, Space: a.space,
			Loss: a.loss, Epochs: a.spec.Epochs, Jobs: jobs, MinTrades: a.spec.MinTrades, Clock: a.k.opts.Clock},
		Windows: a.windows,
		Sampler: optimize.WindowSamplers(a.spec.Sampler, a.space.Dims(), a.spec.Seed),
		OnWindow: func(*optimize.WindowResult) {
			done++
			f := loaded + (walked-loaded)*float64(done)/float64(len(a.windows))
			if err := a.k.opts.Progress.SetProgress(ctx, p, a.r.ID, f); err != nil && ctx.Err() == nil {
				a.log.Warn("record walk-forward progress", "err", err)
			}
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return runkind.Result{}, ctx.Err()
		}
		return runkind.Result{}, runkind.Permanent(err)
	}
	a.wf = wf
	return runkind.Result{Detail: fmt.Sprintf("%d windows, %d out-of-sample trades", len(wf.Windows), wf.OOSMetrics.Summary.TotalTrades)}, nil
}

// Report is the walk-forward report of wf as tradai walkforward fills it.
func Report(strategy string, s Spec, wf *optimize.WalkForward) *report.WalkForwardReport {
	rep := &report.WalkForwardReport{Title: strategy, Loss: s.Loss, Sampler: s.Sampler, Seed: s.Seed, Epochs: s.Epochs,
		Train: s.Train, Test: s.Test, Step: s.Step, Anchored: s.Anchored}
	optimize.FillWalkForwardReport(rep, wf)
	return rep
}

// record renders the analysis as the local command writes it.
func (a *attempt) record() (runs.Outcome, error) {
	wf := a.wf
	loss := a.loss.Name
	s := a.spec
	s.Loss = loss
	rep := Report(a.strategy.Spec().Name, s, wf)
	summary, err := json.Marshal(wf.OOSMetrics.Summary)
	if err != nil {
		return runs.Outcome{}, fmt.Errorf("encode the out-of-sample summary: %w", err)
	}
	var arts []runs.Artifact
	for _, f := range []struct {
		name, media string
		write       func(io.Writer) error
	}{
		{ArtifactJSON, "application/json", func(w io.Writer) error { return report.WriteWalkForwardJSON(w, rep) }},
		{ArtifactReport, "text/html", func(w io.Writer) error { return report.WriteWalkForwardHTML(w, rep) }},
		{ArtifactOOSReport, "text/html", func(w io.Writer) error { return rep.OOSFiles().WriteHTML(w) }},
		{ArtifactEquity, "application/json", func(w io.Writer) error { return json.NewEncoder(w).Encode(curvesOf(wf)) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return runs.Outcome{}, fmt.Errorf("write %s: %w", f.name, err)
		}
		arts = append(arts, runs.Artifact{Name: f.name, MediaType: f.media, Content: buf.Bytes()})
	}
	return runs.Outcome{Metrics: summary, DataFingerprint: wf.OOS.DataFingerprint, Artifacts: arts}, nil
}

// Close closes the strategy the validate step opened.
func (a *attempt) Close() error {
	if a.release == nil {
		return nil
	}
	if err := a.release(); err != nil {
		return fmt.Errorf("close strategy: %w", err)
	}
	return nil
}
