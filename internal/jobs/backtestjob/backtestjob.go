// Package backtestjob is the backtest run kind of the job queue
// (internal/jobs): its steps validate → ensure_data → run → record, with
// their details and progress, and the run's outcome (metrics summary,
// result.json and report.html rendered in memory).
//
// Market data. The ensure_data step checks that the store holds every
// series the backtest reads over the range it reads (the timerange and the
// strategy's startup candles before it). With a Fetcher (Options.Download)
// it downloads what is missing, one download per series at a time in the
// process; without one, an absent series fails the run at once, saying how
// to download it.
//
// Step details and errors name files of the market data folder relative to
// it: the server's paths are not the tenant's business.
package backtestjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"golang.org/x/sync/singleflight"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/sdk"
)

// Step names, in order. They are part of the API (a run's steps) and of
// docs/operations.md: keep them stable.
const (
	StepValidate   = "validate"
	StepEnsureData = "ensure_data"
	StepRun        = "run"
	StepRecord     = "record"
)

// Options configure the backtest kind.
type Options struct {
	// DataDir is the market data store every backtest reads (a submitted
	// config's datadir is ignored). Required.
	DataDir string
	// Strategies open the runs' strategies. A server sets
	// Strategies.External.Sandbox (cmd/tradai always does): programs
	// then run in the process sandbox (docs/security.md).
	Strategies strategyref.Options
	// Registry gives the strategy registry of a run's tenant, to open
	// the registry version the run recorded (nil: there is none).
	Registry func(tenant string) strategyref.Resolver
	// AllowExternalStrategies lets runs use Python files and exec:
	// programs (sandboxed as Strategies say).
	AllowExternalStrategies bool
	// Download, when set, fetches the candles a run needs that the market
	// data store lacks (the ensure_data step). Nil: nothing is downloaded.
	Download Fetcher
	// Market are the options the market data store is opened with (its
	// Remote: the ensure_data step fetches the bucket's newer copy of
	// each series the run reads into DataDir).
	Market market.Options
	// Clock says which candles are closed (nil: the system clock).
	Clock clock.Clock
	Log   *slog.Logger
	// Tracer makes a span of each call of the strategy (nil: none).
	Tracer trace.Tracer
}

// Kind is the backtest run kind.
type Kind struct {
	opts Options
	log  *slog.Logger
	// flights makes concurrent runs of this process wanting the same
	// missing series download it once (keyed by series).
	flights singleflight.Group
}

var _ runkind.Kind = (*Kind)(nil)

// New returns the backtest kind.
func New(o Options) (*Kind, error) {
	if o.DataDir == "" {
		return nil, errors.New("backtest runs: a market data folder is required")
	}
	o.Clock = clock.Or(o.Clock)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("")
	}
	return &Kind{opts: o, log: o.Log}, nil
}

// Name is runs.KindBacktest.
func (b *Kind) Name() string { return runs.KindBacktest }

// Steps are validate, ensure_data, run and record.
func (b *Kind) Steps() []runkind.Step {
	return []runkind.Step{{Name: StepValidate, Progress: 0.1}, {Name: StepEnsureData, Progress: 0.2}, {Name: StepRun, Progress: 0.8}, {Name: StepRecord, Progress: 1}}
}

// Begin starts an attempt at backtest run r.
func (b *Kind) Begin(r runs.Run, log *slog.Logger) runkind.Attempt {
	return &attempt{b: b, r: r, log: log}
}

// attempt is one attempt at a backtest; each step leaves what the next
// needs.
type attempt struct {
	b   *Kind
	r   runs.Run
	log *slog.Logger

	cfg     *config.Config
	strat   traced       // as strategyref opened it
	release func() error // releases strat
	res     *result.Result
}

func (a *attempt) Do(ctx context.Context, step string) (runkind.Result, error) {
	res, err := a.do(ctx, step)
	res.Detail, err = a.b.dataRelative(res.Detail), a.b.dataRelativeErr(err)
	return res, err
}

func (a *attempt) do(ctx context.Context, step string) (runkind.Result, error) {
	switch step {
	case StepValidate:
		if err := a.validate(ctx); err != nil {
			return runkind.Result{}, err
		}
		return runkind.Result{Detail: a.cfg.TimeframeNote(a.strat.Spec())}, nil
	case StepEnsureData:
		detail, err := a.b.ensureData(ctx, a.cfg, a.strat.Spec(), a.log)
		return runkind.Result{Detail: detail}, err
	case StepRun:
		var err error
		a.res, err = backtest.Run(ctx, a.cfg, a.strat.in(ctx), a.log)
		if err != nil && ctx.Err() == nil {
			return runkind.Result{}, runkind.Permanent(err)
		}
		return runkind.Result{}, err
	case StepRecord:
		o, err := a.record()
		return runkind.Result{Outcome: o}, err
	}
	return runkind.Result{}, runkind.Permanent(fmt.Errorf("backtest runs have no step %q", step))
}

// traced is a run's strategy whose calls are spans of the trace of the
// step that makes them.
type traced struct {
	sdk.Strategy
	tracer trace.Tracer
	parent trace.SpanContext
}

// in is the strategy with its calls' spans children of ctx's span.
func (t traced) in(ctx context.Context) traced {
	t.parent = trace.SpanContextFromContext(ctx)
	return t
}

func (t traced) Populate(f *sdk.Frame, p sdk.Values) error {
	_, span := t.tracer.Start(trace.ContextWithSpanContext(context.Background(), t.parent), "strategy populate",
		trace.WithAttributes(attribute.String("tradai.strategy", t.Spec().Name), attribute.Int("tradai.candles", f.Len())))
	defer span.End()
	err := t.Strategy.Populate(f, p)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// validate parses the run's config and opens its strategy.
func (a *attempt) validate(ctx context.Context) error {
	r, o := a.r, a.b.opts
	c, st, closeFn, err := runkind.OpenStrategy(ctx, r, "run", runkind.Worker{DataDir: o.DataDir, Strategies: o.Strategies, Registry: o.Registry, AllowExternal: o.AllowExternalStrategies})
	if err != nil {
		return runkind.Permanent(err)
	}
	a.cfg, a.strat, a.release = c, traced{Strategy: st, tracer: o.Tracer}, closeFn
	return nil
}

// record computes the metrics and renders the artifacts of the result.
func (a *attempt) record() (runs.Outcome, error) {
	m := metrics.Compute(a.res)
	summary, err := json.Marshal(m.Summary)
	if err != nil {
		return runs.Outcome{}, runkind.Permanent(fmt.Errorf("encode the metrics summary: %w", err))
	}
	files := report.NewFiles(a.res, func() metrics.Report { return m }, nil)
	var artifacts []runs.Artifact
	for _, art := range []struct {
		name, media string
		write       func(io.Writer) error
	}{
		{"result.json", "application/json", files.WriteJSON},
		{"report.html", "text/html", files.WriteHTML},
	} {
		var buf bytes.Buffer
		if err := art.write(&buf); err != nil {
			return runs.Outcome{}, runkind.Permanent(fmt.Errorf("write artifact %s: %w", art.name, err))
		}
		artifacts = append(artifacts, runs.Artifact{Name: art.name, MediaType: art.media, Content: buf.Bytes()})
	}
	return runs.Outcome{Metrics: summary, DataFingerprint: a.res.DataFingerprint, Artifacts: artifacts}, nil
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

// dataRelative rewrites the data folder out of a message a tenant sees: a
// file in it is named relative to it ("binance/ETH_BTC-5m.feather"), the
// folder itself "<datadir>". The server's paths are not the tenant's
// business.
func (b *Kind) dataRelative(msg string) string {
	abs, err := filepath.Abs(b.opts.DataDir)
	if err != nil || msg == "" {
		return msg
	}
	dirs := []string{abs}
	if c := filepath.Clean(b.opts.DataDir); c != abs && c != "." {
		dirs = append(dirs, c)
	}
	for _, d := range dirs {
		msg = strings.ReplaceAll(msg, d+string(filepath.Separator), "")
	}
	return strings.ReplaceAll(msg, abs, "<datadir>")
}

// dataRelativeErr is dataRelative on err's message; errors.Is and
// errors.As see through the result.
func (b *Kind) dataRelativeErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := b.dataRelative(err.Error()); msg != err.Error() {
		return &rewordedError{msg: msg, err: err}
	}
	return err
}

// rewordedError is err with another message.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
