package study

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// DataDir is the market data store the studies read (a study's
	// config's datadir is ignored). Required.
	DataDir string
	// Strategies open the studies' strategies (as for backtest runs).
	Strategies strategyref.Options
	// Registry gives a tenant's strategy registry (nil: none).
	Registry func(tenant string) strategyref.Resolver
	// AllowExternalStrategies lets studies use Python files and exec:
	// programs.
	AllowExternalStrategies bool
	// Jobs is how many trials of a batch run at once (0: GOMAXPROCS).
	Jobs int
	// Studies is how many studies' data the process keeps loaded (0: 2).
	Studies int
	// Market are the options the market data store is opened with (its
	// Remote: the bucket DataDir is a cache of).
	Market market.Options
	Clock  clock.Clock
	Log    *slog.Logger
}

// Worker runs batches of studies' trials. It loads a study's data once
// per process (a cache keyed by study, the least recently used study
// dropped beyond Studies) and shares it, read-only, among the trials of
// every batch of the study it runs. Safe for concurrent use.
type Worker struct {
	store *Store
	opts  WorkerOptions

	mu     sync.Mutex
	envs   map[string]*env
	tick   uint64
	closed bool // Close was called: the last user of a study releases it

	// afterTrial, when set (tests only), is called after each trial of a
	// batch has run, before the batch is recorded.
	afterTrial func(number int)
}

// NewWorker returns a Worker over store.
func NewWorker(store *Store, o WorkerOptions) (*Worker, error) {
	if o.DataDir == "" {
		return nil, errors.New("study worker: a market data folder is required")
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	if o.Studies <= 0 {
		o.Studies = 2
	}
	o.Clock = clock.Or(o.Clock)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, opts: o, envs: map[string]*env{}}, nil
}

// env is a study's loaded strategy, data and evaluator.
type env struct {
	ready chan struct{}
	err   error
	used  uint64
	users int

	dims    sample.Space
	eval    *optimize.Evaluator
	release func() error
	beat    time.Time     // this worker's latest heartbeat of the study (under Worker.mu)
	batch   int           // the study's Spec.Batch
	trial   time.Duration // the mean duration of the last batch's trials (under Worker.mu)
}

// ErrWorkerClosed: a batch asked for after Close; the job should run
// again on another worker (or this one after a restart).
var ErrWorkerClosed = errors.New("the study worker is shutting down")

// ErrPermanent marks a batch failure that running it again would repeat
// (a bad config, strategy or missing data): the study has been failed.
var ErrPermanent = errors.New("the study cannot run")

// RunBatch runs one batch of the tenant's study id: it claims the trials
// of batch (see Store.Claim; of a random or grid study whose trials are
// quick, several of the study's batches at once: units), runs them Jobs at
// a time and records them (Store.Finish, with next in its transaction when
// the study wants more trials). It returns the study's progress; none
// claimed is not an error.
// When ctx ends during the batch nothing of it is recorded and ctx's
// error is returned: the same batch name claims the same trials again.
// A study whose strategy or data cannot be opened is failed, and the
// error wraps ErrPermanent.
func (w *Worker) RunBatch(ctx context.Context, p tenancy.Principal, id, batch string, next func(tx *db.Tx) error) (Progress, error) {
	e, err := w.acquire(ctx, p, id)
	if err != nil {
		if ctx.Err() != nil {
			return Progress{}, ctx.Err()
		}
		if errors.Is(err, ErrWorkerClosed) {
			return Progress{}, err
		}
		if err := w.markRunning(ctx, p, id); err != nil {
			return Progress{}, err
		}
		if _, ferr := w.store.runs.Fail(context.WithoutCancel(ctx), p, id, err, false); ferr != nil && !errors.Is(ferr, runs.ErrIllegalTransition) {
			return Progress{}, errors.Join(err, ferr)
		}
		return Progress{}, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	defer w.releaseEnv(id, e)
	claims, status, err := w.store.claim(ctx, p, id, batch, e.dims, w.units(e))
	if err != nil {
		return Progress{}, err
	}
	if status == runs.Queued {
		// The study's first batch (or the first after a resume) starts its
		// run; later ones find it running and skip the transaction.
		if err := w.markRunning(ctx, p, id); err != nil {
			return Progress{}, err
		}
	}
	if len(claims) == 0 {
		return Progress{}, nil
	}
	results := make([]Result, len(claims))
	errs := make([]error, len(claims))
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.opts.Jobs)
	for i, c := range claims {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t, pt, returns, err := e.eval.Trial(ctx, c.Number, c.Point)
			results[i], errs[i] = Result{Trial: t, Point: pt, Returns: returns}, err
			if w.afterTrial != nil && err == nil {
				w.afterTrial(c.Number)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Progress{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return Progress{}, err
	}
	var took time.Duration
	for _, r := range results {
		took += r.Trial.Duration
	}
	w.mu.Lock()
	e.trial = took / time.Duration(len(results))
	w.mu.Unlock()
	w.heartbeat(ctx, p, id, e)
	prog, err := w.store.Finish(ctx, p, id, batch, results, next)
	if err == nil {
		prog.Ran = len(results)
	}
	return prog, err
}

// claimWork is about how long the trials a worker claims at once should
// take it: long enough that the database's work per claim (two
// transactions) is a small share of the trials', short enough that the
// last claims of a study end close together.
const claimWork = 75 * time.Millisecond

// units is how many of the study's batches (Spec.Batch trials each) the
// worker asks for at once: about claimWork of trials at the duration of
// the last batch's (one before any ran), run Jobs at a time. The store
// gives a study whose sampler learns from its trials one (Store.claim).
func (w *Worker) units(e *env) int {
	w.mu.Lock()
	trial := e.trial
	w.mu.Unlock()
	if trial <= 0 {
		return 1
	}
	perUnit := trial * time.Duration(e.batch) / time.Duration(min(w.opts.Jobs, e.batch))
	return max(1, int(claimWork/max(perUnit, 1)))
}

// heartbeatEvery is how often a worker stamps the heartbeat of a study it
// works on, at most: a batch that ran its trials stamps it, before it
// records them, when the worker's last stamp is older (a stamp a batch
// would cost a write of the run's row, though nothing rescues a study by
// its heartbeat: its batch jobs are the queue's).
const heartbeatEvery = 5 * time.Second

// heartbeat stamps the study's run's heartbeat unless this worker did so
// within heartbeatEvery. A study no longer running is left as it is. A
// stamp that fails is logged: the batch's trials are recorded all the
// same.
func (w *Worker) heartbeat(ctx context.Context, p tenancy.Principal, id string, e *env) {
	now := w.opts.Clock.Now()
	w.mu.Lock()
	due := now.Sub(e.beat) >= heartbeatEvery
	if due {
		e.beat = now
	}
	w.mu.Unlock()
	if !due {
		return
	}
	if err := w.store.runs.Heartbeat(ctx, p, id); err != nil {
		w.opts.Log.Warn("stamp a study's heartbeat", "study", id, "err", err)
	}
}

// markRunning starts the study's queued run (a run already started, or
// finished, is left as it is).
func (w *Worker) markRunning(ctx context.Context, p tenancy.Principal, id string) error {
	_, err := w.store.runs.MarkRunning(ctx, p, id, "")
	switch {
	case err == nil, errors.Is(err, runs.ErrIllegalTransition):
		return nil
	case errors.Is(err, runs.ErrNotFound):
		return fmt.Errorf("study %s: %w", id, ErrNotFound)
	}
	return err
}

// acquire returns the study's env, loading it once per process.
func (w *Worker) acquire(ctx context.Context, p tenancy.Principal, id string) (*env, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrWorkerClosed
	}
	w.tick++
	e, ok := w.envs[id]
	if !ok {
		e = &env{ready: make(chan struct{})}
		w.envs[id] = e
	}
	e.used, e.users = w.tick, e.users+1
	w.evictLocked()
	w.mu.Unlock()
	if !ok {
		func() {
			defer close(e.ready)
			e.err = w.load(ctx, p, id, e)
		}()
		if e.err != nil {
			// Not kept: the next batch tries again.
			w.mu.Lock()
			if w.envs[id] == e {
				delete(w.envs, id)
			}
			w.mu.Unlock()
		}
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		w.releaseEnv(id, e)
		return nil, ctx.Err()
	}
	if e.err != nil {
		w.releaseEnv(id, e)
		return nil, e.err
	}
	return e, nil
}

// releaseEnv ends one user's hold on the study's env e. After Close the
// last user releases it: its candles may be mapped from the store's files,
// so they are unmapped only when no batch reads them.
func (w *Worker) releaseEnv(id string, e *env) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e.users--
	if w.closed {
		if e.users == 0 && w.envs[id] == e {
			delete(w.envs, id)
			w.releaseLocked(id, e)
		}
		return
	}
	w.evictLocked()
}

// evictLocked drops the least recently used idle studies beyond Studies.
func (w *Worker) evictLocked() {
	for len(w.envs) > w.opts.Studies {
		var oldest string
		for id, e := range w.envs {
			if e.users == 0 && (oldest == "" || e.used < w.envs[oldest].used) {
				oldest = id
			}
		}
		if oldest == "" {
			return
		}
		e := w.envs[oldest]
		delete(w.envs, oldest)
		w.releaseLocked(oldest, e)
	}
}

// releaseLocked closes the strategy and data of an env no batch uses.
func (w *Worker) releaseLocked(id string, e *env) {
	if e.release == nil {
		return
	}
	if err := e.release(); err != nil {
		w.opts.Log.Warn("close a study's strategy", "study", id, "err", err)
	}
}

// Close releases every loaded study no batch is running; a study a batch
// still runs on is released when its last batch ends. Later batches are
// refused with ErrWorkerClosed.
func (w *Worker) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for id, e := range w.envs {
		if e.users > 0 {
			continue // loading or running: its last user releases it
		}
		delete(w.envs, id)
		w.releaseLocked(id, e)
	}
}

// load opens the study's config and strategy, records its space and loads
// its candles.
func (w *Worker) load(ctx context.Context, p tenancy.Principal, id string, e *env) error {
	st, err := w.store.Get(ctx, p, id)
	if err != nil {
		return err
	}
	r, o := st.Run, w.opts
	c, strat, closeFn, err := runkind.OpenStrategy(ctx, r, "study", runkind.Worker{DataDir: o.DataDir, Strategies: o.Strategies, Registry: o.Registry, AllowExternal: o.AllowExternalStrategies})
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = closeFn()
		}
	}()
	spec := strat.Spec()
	if err := spec.Validate(); err != nil {
		return err
	}
	if _, err := spec.Resolve(c.StrategyParams); err != nil {
		return fmt.Errorf("strategy_params: %w", err)
	}
	settings, err := backtest.ConfigSettings(c, spec)
	if err != nil {
		return err
	}
	plan, err := backtest.NewPlan(c, spec)
	if err != nil {
		return err
	}
	space, err := optimize.NewSpace(spec, plan.Timeframe, st.Spec.Spaces)
	if err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	loss, err := optimize.LossNamed(st.Spec.Loss)
	if err != nil {
		return fmt.Errorf("loss: %w", err)
	}
	if err := w.store.SetSpace(ctx, p, id, Space{Spaces: space.Spaces(), Dims: space.Dims(), Strategy: spec}); err != nil {
		return err
	}
	store, err := market.OpenWith(o.DataDir, o.Log, o.Market)
	if err != nil {
		return err
	}
	data, err := backtest.Load(ctx, store, plan, o.Log)
	if err != nil {
		return err
	}
	e.eval, err = optimize.NewEvaluator(optimize.Options{Strategy: strat, Data: data, Settings: settings, Params: c.StrategyParams,
		Space: space, Loss: loss, MinTrades: st.Spec.MinTrades, Clock: o.Clock}, o.Jobs+1)
	if err != nil {
		return errors.Join(err, data.Close())
	}
	e.dims, e.batch, ok = space.Dims(), st.Spec.Batch, true
	e.release = func() error { return errors.Join(data.Close(), closeFn()) }
	return nil
}
