package optimize

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/sdk"
)

// The failure rule of a study: it stops once more than FailShare of its
// finished trials failed, counted from FailMinTrials finished trials on.
const (
	FailShare     = 0.5
	FailMinTrials = 20
)

// Options configure a study. Strategy, Data, Space, Sampler, Loss and
// Epochs are required.
type Options struct {
	// Strategy is the strategy Data was loaded for; its Populate must be
	// safe for concurrent calls (every built-in strategy is).
	Strategy sdk.Strategy
	// Data is the study's candles, loaded once and shared by every trial.
	Data *backtest.Data
	// Settings are the simulation settings every trial starts from
	// (backtest.ConfigSettings); a trial replaces Settings.Rules.Risk.
	Settings backtest.Settings
	// Params are fixed parameter overrides (the config's strategy_params),
	// under the searched ones.
	Params map[string]any
	Space  *Space
	// Sampler proposes points of Space.Dims(); the study serialises it.
	Sampler sample.Sampler
	Loss    Loss
	// Epochs is the number of trials; a sampler that runs out of points
	// (sample.ErrExhausted) ends the study sooner.
	Epochs int
	// Jobs is the number of trials run at once (0: GOMAXPROCS). It is
	// also the study's window: trial i is asked for after trials 0 … i −
	// Jobs have been told, so a seed and a Jobs reproduce a study.
	Jobs int
	// MinTrades: a trial with fewer trades has the loss MaxLoss (0: 1,
	// Freqtrade's default).
	MinTrades int
	// Keep is how many of the best trials keep their whole result (0: 10).
	Keep int
	// OnTrial, when set, is called for every finished trial in trial
	// order, with whether it is the best so far.
	OnTrial func(t *Trial, best bool)
	// Clock times the trials (nil: the real clock).
	Clock clock.Clock
	// Memory, when set, bounds the process's heap (MemoryLimit.Settle
	// after each trial).
	Memory *MemoryLimit
}

// Trial is the summary of one trial a study keeps.
type Trial struct {
	// Number counts the trials from 1, as Freqtrade's epochs.
	Number int
	// Point is the sampled point, in the order of the space's dimensions.
	Point []float64
	// Loss is the trial's loss (+Inf when it failed).
	Loss float64
	// Err is a failed trial's error, else "".
	Err      string
	Figures  Figures
	Duration time.Duration
}

// Failed reports whether the trial failed.
func (t *Trial) Failed() bool { return t.Err != "" }

// Figures are the key metrics of a trial.
type Figures struct {
	Trades              int
	Wins, Draws, Losses int
	ProfitMean          float64 // mean profit ratio per trade
	ProfitTotalAbs      float64
	ProfitTotal         float64 // ratio of the starting balance
	HoldingAvg          float64 // minutes
	MaxDrawdownAccount  float64
	Sharpe              float64
}

func figuresOf(m *metrics.Summary) Figures {
	return Figures{
		Trades: m.TotalTrades, Wins: m.Wins, Draws: m.Draws, Losses: m.Losses,
		ProfitMean: m.ProfitMean, ProfitTotalAbs: m.ProfitTotalAbs, ProfitTotal: m.ProfitTotal,
		HoldingAvg: m.HoldingAvg, MaxDrawdownAccount: m.MaxDrawdownAccount, Sharpe: m.Sharpe,
	}
}

// Ranked is one of the best trials with its whole result.
type Ranked struct {
	Trial   *Trial
	Point   Point
	Result  *result.Result
	Metrics metrics.Report
}

// Study is what a study found.
type Study struct {
	// Trials holds every finished trial's summary, by number.
	Trials []Trial
	// Best holds the Keep best trials that did not fail, lowest loss
	// first (ties: the earlier trial).
	Best   []Ranked
	Failed int
	// keep holds what the overfitting figures need (Overfitting).
	keep *returnsKeeper
}

// Run runs a study: Epochs trials, Jobs at a time, each preparing the
// signals of its strategy parameters (shared with the other trials of the
// same parameters: only a change of a buy or sell parameter recomputes
// them) and simulating with its risk settings. A failed trial is recorded
// with its error; the study stops with an error once the failure rule
// (FailShare, FailMinTrials) is broken. On cancellation Run returns the
// trials finished so far with ctx's error.
func Run(ctx context.Context, o Options) (*Study, error) {
	if o.Strategy == nil || o.Data == nil || o.Space == nil || o.Sampler == nil || o.Loss.fn == nil {
		return nil, errors.New("optimize: Strategy, Data, Space, Sampler and Loss are required")
	}
	if o.Epochs <= 0 {
		return nil, fmt.Errorf("--epochs: %d is not a positive number of trials", o.Epochs)
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	if o.MinTrades <= 0 {
		o.MinTrades = 1
	}
	if o.Keep <= 0 {
		o.Keep = 10
	}
	clk := clock.Or(o.Clock)
	ctx, cancel := context.WithCancel(ctx)

	r := newRunner(o, clk, jobs+1, jobs)
	type task struct {
		n int
		x []float64
	}
	tasks := make(chan task)
	done := make(chan outcome, jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				done <- r.trial(ctx, t.n, t.x)
			}
		}()
	}
	// On return, trials still running are cancelled and waited for.
	defer func() { cancel(); close(tasks); wg.Wait() }()

	st := &Study{keep: newReturnsKeeper()}
	pending := map[int]outcome{}
	asked, inFlight := 0, 0
	exhausted := false
	// ask sends the next trial to the workers; the channel is unbuffered
	// but a worker is free whenever fewer than jobs trials are in flight.
	ask := func() error {
		if exhausted || asked >= o.Epochs {
			return nil
		}
		x, err := o.Sampler.Ask()
		if errors.Is(err, sample.ErrExhausted) {
			exhausted = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("sampler: %w", err)
		}
		tasks <- task{asked, x}
		asked++
		inFlight++
		return nil
	}
	for range jobs {
		if err := ask(); err != nil {
			return st, err
		}
	}
	var lastErr error
	for inFlight > 0 {
		var oc outcome
		select {
		case oc = <-done:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		inFlight--
		pending[oc.trial.Number-1] = oc
		for {
			next, ok := pending[len(st.Trials)]
			if !ok {
				break
			}
			delete(pending, len(st.Trials))
			if next.canceled {
				return st, ctx.Err()
			}
			if err := o.Sampler.Tell(next.trial.Point, next.trial.Loss); err != nil {
				return st, fmt.Errorf("sampler: %w", err)
			}
			best, spare := st.record(next, o.Keep)
			r.recycle(spare)
			o.Memory.Settle()
			if next.trial.Failed() {
				lastErr = next.err
			}
			if o.OnTrial != nil {
				o.OnTrial(&st.Trials[len(st.Trials)-1], best)
			}
			if n := len(st.Trials); n >= FailMinTrials && float64(st.Failed) > FailShare*float64(n) {
				return st, fmt.Errorf("optimize: %d of %d trials failed (more than %.0f%%), the last with: %w", st.Failed, n, FailShare*100, lastErr)
			}
			if err := ask(); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// outcome is a trial as a worker hands it back.
type outcome struct {
	trial    Trial
	err      error
	canceled bool
	point    Point
	res      *result.Result
	metrics  metrics.Report
	returns  []float64 // daily
}

// record adds a finished trial and keeps the best (a copy of its result);
// it reports whether the trial is the best so far, and returns the trial's
// result, which nothing refers to any more.
func (st *Study) record(oc outcome, keep int) (best bool, spare *result.Result) {
	st.Trials = append(st.Trials, oc.trial)
	t := &st.Trials[len(st.Trials)-1]
	if t.Failed() {
		st.Failed++
		return false, oc.res
	}
	if st.keep != nil {
		st.keep.add(t.Number, t.Loss, oc.returns)
	}
	best = len(st.Best) == 0 || t.Loss < st.Best[0].Trial.Loss
	i, _ := slices.BinarySearchFunc(st.Best, t.Loss, func(r Ranked, loss float64) int {
		if r.Trial.Loss <= loss {
			return -1
		}
		return 1
	})
	spare = oc.res
	if i < keep {
		st.Best = slices.Insert(st.Best, i, Ranked{Trial: t, Point: oc.point, Result: keptCopy(oc.res), Metrics: oc.metrics})
		if len(st.Best) > keep {
			st.Best[keep] = Ranked{}
			st.Best = st.Best[:keep]
		}
	}
	// Trials may move when the slice grows: point Best at the stored
	// summaries again.
	for k := range st.Best {
		st.Best[k].Trial = &st.Trials[st.Best[k].Trial.Number-1]
	}
	return best, spare
}

// keptCopy returns a copy of res for keeping among the best: its lists
// and maps its own (res's memory goes to later trials), each as long as
// its values (a recycled result's trade list may be far longer).
func keptCopy(res *result.Result) *result.Result {
	c := *res
	c.Trades, c.Equity, c.Benchmark = slices.Clone(res.Trades), slices.Clone(res.Equity), slices.Clone(res.Benchmark)
	c.Params, c.Pairs, c.MinimalROI = maps.Clone(res.Params), slices.Clone(res.Pairs), slices.Clone(res.MinimalROI)
	return &c
}

// runner runs trials; safe for concurrent use.
type runner struct {
	o     Options
	clk   clock.Clock
	cache *prepCache
	// results holds results no longer used, whose memory (trade list,
	// equity points) the next trials' simulations reuse.
	results chan *result.Result
}

// newRunner returns a runner of o keeping the signals of cached parameter
// sets and up to spares unused results.
func newRunner(o Options, clk clock.Clock, cached, spares int) *runner {
	return &runner{o: o, clk: clk, cache: newPrepCache(cached), results: make(chan *result.Result, spares)}
}

// recycle hands res, which nothing refers to any more (nil: none), to the
// next trials.
func (r *runner) recycle(res *result.Result) {
	if res == nil {
		return
	}
	select {
	case r.results <- res:
	default: // enough spares
	}
}

// spare returns an unused result to simulate into, a new empty one when
// there is none: a reused result's trade list grows to what the trials
// close, where a one-off simulation reserves the bound of its entries.
func (r *runner) spare() *result.Result {
	select {
	case res := <-r.results:
		return res
	default:
		return &result.Result{}
	}
}

// trial runs trial n (0-based) at x.
func (r *runner) trial(ctx context.Context, n int, x []float64) (oc outcome) {
	began := r.clk.Now()
	oc.trial = Trial{Number: n + 1, Point: x, Loss: math.Inf(1)}
	defer func() {
		if p := recover(); p != nil {
			oc.err = fmt.Errorf("trial %d: panic: %v", n+1, p)
			oc.res = nil
		}
		if oc.err != nil {
			if ctx.Err() != nil {
				oc.canceled = true
			}
			oc.trial.Err, oc.trial.Loss = oc.err.Error(), math.Inf(1)
		}
		oc.trial.Duration = r.clk.Now().Sub(began)
	}()
	oc.point = r.o.Space.Decode(x, r.o.Settings.Rules.Risk)
	if err := oc.point.Risk.Validate(); err != nil {
		oc.err = err
		return oc
	}
	e := r.cache.get(r.o.Space.ParamKey(x), func(reuse *backtest.Prepared) (*backtest.Prepared, error) {
		params := make(map[string]any, len(r.o.Params)+len(oc.point.Params))
		for k, v := range r.o.Params {
			params[k] = v
		}
		for k, v := range oc.point.Params {
			params[k] = v
		}
		return r.o.Data.PrepareReusing(ctx, r.o.Strategy, params, reuse)
	})
	defer r.cache.release(e)
	if e.err != nil {
		oc.err = e.err
		return oc
	}
	s := r.o.Settings
	s.Rules.Risk = oc.point.Risk
	res, err := e.prep.SimulateReusing(ctx, s, r.spare())
	if err != nil {
		oc.err = err
		return oc
	}
	oc.res = res
	oc.metrics = metrics.Compute(res)
	m := &oc.metrics.Summary
	oc.trial.Figures = figuresOf(m)
	oc.returns = dailyReturns(&oc.metrics)
	if m.TotalTrades < r.o.MinTrades {
		oc.trial.Loss = MaxLoss
	} else {
		oc.trial.Loss = r.o.Loss.Of(res, m)
	}
	if math.IsNaN(oc.trial.Loss) {
		oc.trial.Loss = math.Inf(1)
	}
	return oc
}

// prepCache keeps the prepared signals of the last few strategy parameter
// sets, so trials that change only roi, stoploss or trailing reuse them.
// Concurrent requests for one key prepare once. The signal columns of a
// parameter set dropped from the cache, once no trial uses them, are
// reused by the next one prepared (one such set is kept: the cache's
// memory stays its entries' and one more).
type prepCache struct {
	mu      sync.Mutex
	entries map[string]*prepEntry
	cap     int
	tick    uint64
	spare   *backtest.Prepared // dropped and unused, or nil
}

type prepEntry struct {
	key   string
	ready chan struct{}
	prep  *backtest.Prepared
	err   error
	used  uint64
	users int // the trials holding it (between get and release)
}

func newPrepCache(capacity int) *prepCache {
	return &prepCache{entries: map[string]*prepEntry{}, cap: capacity}
}

// get returns the entry of key once ready, building it with build when
// absent (given a Prepared whose memory it may reuse, or nil). The caller
// reads its prep and err and releases it.
func (c *prepCache) get(key string, build func(reuse *backtest.Prepared) (*backtest.Prepared, error)) *prepEntry {
	c.mu.Lock()
	c.tick++
	e, ok := c.entries[key]
	if ok {
		e.used = c.tick
		e.users++
		c.mu.Unlock()
		<-e.ready
		return e
	}
	e = &prepEntry{key: key, ready: make(chan struct{}), used: c.tick, users: 1}
	c.entries[key] = e
	reuse := c.spare
	c.spare = nil
	for len(c.entries) > c.cap {
		c.evictOldest()
	}
	c.mu.Unlock()
	func() {
		// The waiters are released whatever build does.
		defer close(e.ready)
		defer func() {
			if p := recover(); p != nil {
				e.prep, e.err = nil, fmt.Errorf("preparing the signals: panic: %v", p)
			}
		}()
		e.prep, e.err = build(reuse)
	}()
	if e.err != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
		// A cancelled preparation is not kept; a strategy's error is:
		// the same parameters fail the same way.
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e
}

// release ends a use of e, got from get: once dropped from the cache and
// unused, its signals' memory is kept for the next build.
func (c *prepCache) release(e *prepEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.users--
	c.reclaim(e)
}

// reclaim keeps the memory of e's signals when e is out of the cache and
// no trial uses it; c.mu is held.
func (c *prepCache) reclaim(e *prepEntry) {
	if e.users > 0 || e.prep == nil || c.entries[e.key] == e || c.spare != nil {
		return
	}
	c.spare, e.prep = e.prep, nil
}

// evictOldest drops the least recently used entry; c.mu is held.
func (c *prepCache) evictOldest() {
	var oldest string
	var at uint64 = math.MaxUint64
	for k, e := range c.entries {
		if e.used < at {
			oldest, at = k, e.used
		}
	}
	e := c.entries[oldest]
	delete(c.entries, oldest)
	c.reclaim(e)
}
