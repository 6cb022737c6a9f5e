package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/robfig/cron/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Store is what a runner reads and writes of its deployment
// (*deploy.Store).
type Store interface {
	Record(ctx context.Context, l deploy.Lease, w deploy.Write) error
	// RecordLater records a tick's bookkeeping (no order, fill, trade or
	// entry) without waiting for its commit when the database is busy
	// committing other writes; Flush waits for what was queued so.
	RecordLater(ctx context.Context, l deploy.Lease, w deploy.Write) error
	Flush(ctx context.Context) error
	Log(ctx context.Context, l deploy.Lease, level slog.Level, msg string, attrs map[string]string) error
	MarkRunning(ctx context.Context, l deploy.Lease) error
	MarkStopped(ctx context.Context, l deploy.Lease) error
	Deployment(ctx context.Context, l deploy.Lease) (deploy.Deployment, error)
	// Control is what each tick and the stop poll check of the
	// deployment: cheaper to read than Deployment.
	Control(ctx context.Context, l deploy.Lease) (deploy.Control, error)
	Trades(ctx context.Context, tenant, id string) ([]deploy.Trade, error)
	Orders(ctx context.Context, tenant, id string) ([]deploy.Order, error)
	// The risk limits' records: the runner's risk state, a breach that
	// pauses the deployment, and audit entries (a refused order).
	SetRisk(ctx context.Context, l deploy.Lease, rs deploy.RiskState) error
	Halt(ctx context.Context, l deploy.Lease, limit string, rs deploy.RiskState) error
	// HaltAccount pauses every deployment on l's account when their
	// summed figures (l's: rd) reach its loss or drawdown limit.
	HaltAccount(ctx context.Context, l deploy.Lease, rd deploy.RiskDay) (deploy.AccountBreach, bool, error)
	Audit(ctx context.Context, l deploy.Lease, action string, detail map[string]any) error
	// LastRiskDay is the deployment's risk figures last recorded (the
	// day's start, highs and entries a restart continues).
	LastRiskDay(ctx context.Context, l deploy.Lease) (deploy.RiskDay, bool, error)
}

// Config is one deployment's runner.
type Config struct {
	Store Store
	Lease deploy.Lease
	// Pairs and Timeframe are the deployment's (deploy.Spec).
	Pairs     []string
	Timeframe sdk.Timeframe
	Exchange  exchange.Exchange
	Strategy  sdk.Strategy
	Params    sdk.Values
	// Rules and Account are config.Trading's for the deployment's config;
	// the runner records the venue's fill prices, so Rules.Slippage is
	// ignored (set to 0).
	Rules      trade.Rules
	Account    trade.Account
	AllowShort bool
	// Orders are the order settings of the deployment's config
	// (config.Config.Orders: order_types, unfilledtimeout); zero: the
	// defaults of a config without them (market entries and exits, the
	// stop-loss resting on the venue where it takes stop orders).
	Orders config.Orders
	// Startup is how many closed candles the strategy needs before the
	// one it decides on (default: the spec's StartupCandles); the runner
	// keeps Startup+1 candles per pair, at most 999.
	Startup int
	// Schedule, when set, is a cron expression (five fields, or a
	// descriptor such as @hourly; in UTC) at whose times Run ticks instead
	// of at every candle close: for strategies that are not driven by each
	// candle. Each tick acts on the candles closed by then; a tick that
	// finds no new closed candle does nothing.
	Schedule string
	// StreamWait is how long after a candle close Run waits for the
	// venue's kline stream before it polls the venue (default 2 s).
	StreamWait time.Duration
	// Limits are the deployment's risk limits (risk.Parse of its config,
	// made Tighter by its account's); nil: risk.Default(). Every order
	// passes them before it is sent (exits always do).
	Limits *risk.Limits
	// Breaker is the circuit breaker of the deployment's venue, shared by
	// the runners on it; nil: one of the runner's own.
	Breaker *risk.Breaker
	// Alert, when set, is told of every risk breach (after it paused the
	// deployment), besides the logs.
	Alert func(ctx context.Context, a Alert)
	// StopPoll is how often Run looks for a stop asked of the deployment
	// (the kill switch, stop --flatten) between candle closes (default
	// 500 ms).
	StopPoll time.Duration
	// Clock is the time (candle closes, waits); nil: the system clock.
	Clock clock.Clock
	// Log gets the runner's lines, each with the deployment_id and
	// tenant attributes.
	Log *slog.Logger
	// Observe is told of every tick Run makes and of the breaker, for the
	// process's metrics (nil: nothing).
	Observe Observer
	// Tracer makes a span of Run's start and of every tick it makes, the
	// parent of the venue's requests in it (nil: none).
	Tracer trace.Tracer
	// Retries bounds the attempts of one venue call (default 8); waits
	// between them start at RetryWait (default 200 ms) and double.
	Retries   int
	RetryWait time.Duration
}

// Observer is told what a runner does, for the process's metrics
// (telemetry.Metrics).
type Observer interface {
	// Ticked: a tick acting on the candles closed at closed ended at
	// done, with err (nil: it did its work).
	Ticked(closed, done time.Time, err error)
	// Breaker: deployment's circuit breaker opened (open) or closed.
	Breaker(deployment string, open bool)
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) Ticked(time.Time, time.Time, error) {}
func (noObserver) Breaker(string, bool)               {}

// pairState is one pair's market and candles.
type pairState struct {
	pair   string
	market exchange.Market
	id     trade.PairID
	win    sdk.Frame // closed candles, oldest first, at most keep
	// open is the pair's open trade (its record lives in the portfolio).
	open *openTrade
	// entry is a limit entry waiting to fill, if any.
	entry *pendingEntry
}

// openTrade is a trade the runner holds.
type openTrade struct {
	seq         int64
	tr          *trade.Trade  // in the portfolio
	venueQty    float64       // base quantity held at the venue
	exitAttempt int           // the next exit order's attempt number
	rest        *deploy.Order // the exit resting on the venue (stop, take-profit or a limit exit), if any
	restUntil   int64         // a limit exit's: when it is cancelled and placed again (Unix ms); 0: the others
	restFrom    int64         // the open of the first candle the resting exit may have traded in unseen; 0: unknown
	restTrail   int64         // the resting stop's trailing delta (BIPS); 0: not a trailing stop
	noTrail     bool          // the venue refused the trade's trailing stop: plain stops from then on
}

// pendingEntry is a limit entry waiting to fill.
type pendingEntry struct {
	rec   deploy.Order
	at    int64 // the candle close it was decided at: the trade's open time
	until int64 // when it is cancelled (Unix ms)
}

// Runner trades one deployment. It is not safe for concurrent use: one
// goroutine calls Start, then Step or Run.
type Runner struct {
	cfg   Config
	clk   clock.Clock
	log   *slog.Logger
	pol   trade.Policy
	pf    *trade.Portfolio
	pairs []*pairState
	held  []*pairState // pairs holding a trade, in the order the trades opened
	keep  int
	next  int64         // the next trade number
	last  int64         // open time of the last closed candle acted on
	sched cron.Schedule // Config.Schedule's; nil: every candle close
	tick  int64         // the time of the last tick (Run)
	xs    trade.Exits
	risk  riskState
	cpu   time.Duration    // the CPU time of the strategy calls on the runner's threads
	sent  deploy.CostDelta // the cost recorded so far (totals since New)
	// stream holds the closed candles of the venue's kline stream while
	// Run follows it (nil: none; every tick reads the venue's klines).
	stream *streamed
}

// metered is a strategy runtime that measures its own cost
// (internal/external: its processes; internal/wasm: its instances).
type metered interface {
	// Usage is the CPU time it used off the caller's thread and the most
	// memory it held, in bytes.
	Usage() (cpu time.Duration, peak int64)
}

// weigher is a venue that counts the request weight of the calls made
// through it (exchange/binance).
type weigher interface {
	Weight() (sent int64, minute int)
}

// New checks cfg.
func New(cfg Config) (*Runner, error) {
	switch {
	case cfg.Store == nil || cfg.Exchange == nil || cfg.Strategy == nil:
		return nil, errors.New("runner: a store, an exchange and a strategy are required")
	case cfg.Lease.Deployment == "":
		return nil, errors.New("runner: no lease")
	case len(cfg.Pairs) == 0 || !cfg.Timeframe.Valid():
		return nil, errors.New("runner: the deployment needs pairs and a timeframe")
	case cfg.AllowShort:
		return nil, errors.New("runner: short trades need a futures venue, which no runner trades yet")
	}
	if cfg.Startup <= 0 {
		cfg.Startup = cfg.Strategy.Spec().StartupCandles
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observe == nil {
		cfg.Observe = noObserver{}
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 8
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 200 * time.Millisecond
	}
	if cfg.StreamWait <= 0 {
		cfg.StreamWait = 2 * time.Second
	}
	if cfg.Limits == nil {
		l := risk.Default()
		cfg.Limits = &l
	}
	if cfg.Breaker == nil {
		cfg.Breaker = risk.NewBreaker(0, 0, cfg.Clock)
	}
	if cfg.StopPoll <= 0 {
		cfg.StopPoll = 500 * time.Millisecond
	}
	if cfg.Orders == (config.Orders{}) {
		cfg.Orders = (&config.Config{}).Orders()
	}
	cfg.Rules.Slippage = 0
	cfg.Rules.TimeframeMinutes = cfg.Timeframe.Minutes()
	pf, err := trade.NewPortfolio(cfg.Account)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	r := &Runner{cfg: cfg, clk: clock.Or(cfg.Clock), log: cfg.Log.With("deployment_id", cfg.Lease.Deployment, "tenant", cfg.Lease.Tenant), pf: pf,
		pol: trade.Policy{Rules: cfg.Rules}, keep: min(cfg.Startup+1, 999)}
	r.keep = max(r.keep, 2)
	if cfg.Schedule != "" {
		if r.sched, err = cron.ParseStandard(cfg.Schedule); err != nil {
			return nil, fmt.Errorf("runner: schedule %q: %w", cfg.Schedule, err)
		}
	}
	return r, nil
}

// logf writes a line to the process log and the deployment's log.
func (r *Runner) logf(ctx context.Context, level slog.Level, msg string, attrs ...string) {
	m := map[string]string{}
	args := make([]any, 0, len(attrs))
	for i := 0; i+1 < len(attrs); i += 2 {
		m[attrs[i]] = attrs[i+1]
		args = append(args, attrs[i], attrs[i+1])
	}
	r.log.Log(ctx, level, msg, args...)
	if err := r.cfg.Store.Log(ctx, r.cfg.Lease, level, msg, m); err != nil {
		r.log.Warn("deployment log not written", "err", err)
	}
}

// Start prepares the runner at now: the venue's markets for the pairs, the
// deployment's trades from the store, every order of unknown fate
// reconciled with the venue, and the warm-up candles closed by now.
func (r *Runner) Start(ctx context.Context, now time.Time) error {
	mkts, err := retry(ctx, r, "list the venue's markets", func() ([]exchange.Market, error) { return r.cfg.Exchange.Markets(ctx) })
	if err != nil {
		return err
	}
	for _, p := range r.cfg.Pairs {
		ps := &pairState{pair: p, win: sdk.Frame{Pair: p, Timeframe: r.cfg.Timeframe}}
		found := false
		for _, m := range mkts {
			if m.Base+"/"+m.Quote == p {
				ps.market, found = m, true
				break
			}
		}
		if !found {
			return fmt.Errorf("runner: the venue does not list pair %s", p)
		}
		if ps.id, err = r.pf.Add(p); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		r.pairs = append(r.pairs, ps)
	}
	if err := r.restore(ctx); err != nil {
		return err
	}
	for _, ps := range r.pairs {
		if _, err := r.fetchForming(ctx, ps, now, r.keep+1); err != nil {
			return err
		}
		r.last = max(r.last, ps.lastTime())
	}
	// A deployment that ticked before resumes after its last finished
	// tick: a tick cut short (a crash, a lost lease) is done again, its
	// orders reconciled first.
	d, err := r.cfg.Store.Deployment(ctx, r.cfg.Lease)
	if err != nil {
		return err
	}
	if !d.LastTick.IsZero() {
		r.last = min(r.last, r.cfg.Timeframe.Floor(d.LastTick.UnixMilli()-1))
	}
	if d.State == deploy.Paused && d.Risk.Halted != "" {
		// Paused by a risk breach before: still shown until resumed.
		r.risk.halted, r.risk.haltedAt, r.risk.recorded = true, d.Risk.HaltedAt, d.Risk
	}
	if err := r.restoreRisk(ctx, now); err != nil {
		return err
	}
	if err := r.reconcile(ctx, now); err != nil {
		return err
	}
	if err := r.cfg.Store.MarkRunning(ctx, r.cfg.Lease); err != nil {
		return err
	}
	r.logf(ctx, slog.LevelInfo, "runner started", "open_trades", fmt.Sprint(len(r.held)), "warmup_candles", fmt.Sprint(r.keep))
	return nil
}

// restore rebuilds the portfolio from the stored trades.
func (r *Runner) restore(ctx context.Context) error {
	l := r.cfg.Lease
	trades, err := r.cfg.Store.Trades(ctx, l.Tenant, l.Deployment)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	for _, t := range trades {
		r.next = max(r.next, t.Seq+1)
		ps := r.pairOf(t.Record.Pair)
		if ps == nil {
			return fmt.Errorf("runner: stored trade %d is on %s, not one of the deployment's pairs", t.Seq, t.Record.Pair)
		}
		tr, err := r.pf.Filled(ps.id, t.Record) // as the venue filled it
		if err != nil {
			return fmt.Errorf("runner: restore trade %d: %w", t.Seq, err)
		}
		if !t.Open {
			if _, err := r.pf.Close(ps.id); err != nil {
				return fmt.Errorf("runner: restore trade %d: %w", t.Seq, err)
			}
			continue
		}
		ps.open = &openTrade{seq: t.Seq, tr: tr, venueQty: t.VenueQty.Float()}
		r.held = append(r.held, ps)
	}
	r.next = max(r.next, 1)
	return nil
}

func (r *Runner) pairOf(pair string) *pairState {
	for _, ps := range r.pairs {
		if ps.pair == pair {
			return ps
		}
	}
	return nil
}

func (ps *pairState) lastTime() int64 {
	if n := ps.win.Len(); n > 0 {
		return ps.win.Time[n-1]
	}
	return 0
}

// fetchForming adds to the pair's window the candles closed by now that
// it lacks (asking for at least limit), and returns the open of the candle
// forming at now if the venue shows it (else 0).
func (r *Runner) fetchForming(ctx context.Context, ps *pairState, now time.Time, limit int) (forming float64, err error) {
	tf := r.cfg.Timeframe
	dur := tf.Millis()
	if last := ps.lastTime(); last > 0 {
		limit = max(limit, int((now.UnixMilli()-last)/dur)+2)
	}
	limit = min(limit, 1000)
	ks, err := retry(ctx, r, "read "+ps.pair+" candles", func() ([]exchange.Kline, error) {
		return r.cfg.Exchange.Klines(ctx, ps.market.Symbol, tf, limit)
	})
	if err != nil {
		return 0, err
	}
	for _, k := range ks {
		t := k.Time.UnixMilli()
		if tf.Next(t) > now.UnixMilli() {
			if t == tf.Floor(now.UnixMilli()) {
				forming = k.Open.Float()
			}
			continue
		}
		r.addCandle(ps, k)
	}
	return forming, nil
}

// fromStream adds to the pair's window the closed candles the venue's
// kline stream delivered, up to the one opening at closing, when the
// stream holds every candle the window lacks up to it; false when it does
// not (no stream, a gap, a stream that dropped or is late): the tick then
// reads the venue's klines.
func (r *Runner) fromStream(ps *pairState, closing int64) bool {
	last := ps.lastTime()
	if r.stream == nil || last == 0 || last >= closing {
		return false
	}
	return r.stream.take(ps.market.Symbol, last, closing, func(k exchange.Kline) { r.addCandle(ps, k) })
}

// addCandle appends the closed candle k to the pair's window when it is
// newer than the window's last, keeping the newest keep.
func (r *Runner) addCandle(ps *pairState, k exchange.Kline) {
	t := k.Time.UnixMilli()
	if t <= ps.lastTime() {
		return
	}
	w := &ps.win
	w.Time = append(w.Time, t)
	w.Open = append(w.Open, k.Open.Float())
	w.High = append(w.High, k.High.Float())
	w.Low = append(w.Low, k.Low.Float())
	w.Close = append(w.Close, k.Close.Float())
	w.Volume = append(w.Volume, k.Volume.Float())
	if n := w.Len(); n > r.keep {
		cut := n - r.keep
		w.Time, w.Open, w.High, w.Low, w.Close, w.Volume = w.Time[cut:], w.Open[cut:], w.High[cut:], w.Low[cut:], w.Close[cut:], w.Volume[cut:]
	}
}

// signals runs the strategy on a copy of the pair's window.
func (r *Runner) signals(ps *pairState) (*sdk.Frame, error) {
	w := &ps.win
	f := &sdk.Frame{Pair: w.Pair, Timeframe: w.Timeframe,
		Time: append([]int64(nil), w.Time...), Open: append([]float64(nil), w.Open...), High: append([]float64(nil), w.High...),
		Low: append([]float64(nil), w.Low...), Close: append([]float64(nil), w.Close...), Volume: append([]float64(nil), w.Volume...)}
	// The call's CPU time on this thread: a built-in's or a wasm
	// instance's work (a process strategy's is its process's: Usage).
	runtime.LockOSThread()
	t0 := threadCPU()
	err := r.cfg.Strategy.Populate(f, r.cfg.Params)
	r.cpu += threadCPU() - t0
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("strategy on %s: %w", ps.pair, err)
	}
	if !f.HasSignals() || f.Len() != w.Len() {
		return nil, fmt.Errorf("strategy on %s: no signals for the %d candles", ps.pair, w.Len())
	}
	return f, nil
}

func sigAt(f *sdk.Frame, i int) trade.Signals {
	if i < 0 {
		return trade.Signals{}
	}
	s := trade.Signals{EnterLong: f.EnterLong[i], ExitLong: f.ExitLong[i], EnterShort: f.EnterShort[i], ExitShort: f.ExitShort[i]}
	if f.EnterTag != nil {
		s.Tag = f.EnterTag[i]
	}
	return s
}

// Step acts on the candles closed by now (normally one per pair: the
// candle that closed at now). It returns deploy.ErrFenced (wrapped) when
// the lease was lost, ErrStopped when it stopped the deployment (a stop
// with flatten: it closed the open trades first); the runner must then
// stop.
func (r *Runner) Step(ctx context.Context, now time.Time) error {
	type view struct {
		f       *sdk.Frame
		forming float64
		fresh   bool // the pair's candle closing at now is in its window
	}
	nowMs := r.cfg.Timeframe.Floor(now.UnixMilli())
	closing := r.cfg.Timeframe.Floor(nowMs - 1) // open time of the candle closed at nowMs
	if closing <= r.last {
		return nil
	}
	d, err := r.cfg.Store.Control(ctx, r.cfg.Lease)
	if err != nil {
		return err
	}
	if !d.Held(r.cfg.Lease) {
		return fmt.Errorf("deployment %s is %s: %w", r.cfg.Lease.Deployment, d.State, deploy.ErrFenced)
	}
	if d.Flatten || d.StopAsked {
		return r.stop(ctx, nowMs, d.Flatten)
	}
	views := make(map[*pairState]view, len(r.pairs))
	for _, ps := range r.pairs {
		// The candles from the venue's kline stream when it delivered
		// them all (the price now is then the close), else from its klines
		// (with the open of the candle forming now).
		var v view
		if !r.fromStream(ps, closing) {
			if v.forming, err = r.fetchForming(ctx, ps, now, 2); err != nil {
				return err
			}
		}
		if n := ps.win.Len(); n > 0 && ps.win.Time[n-1] == closing {
			if v.f, err = r.signals(ps); err != nil {
				r.logf(ctx, slog.LevelError, "strategy failed", "pair", ps.pair, "err", err.Error())
				return err
			}
			v.fresh = true
		}
		views[ps] = v
	}
	r.last = closing
	// The loss and drawdown limits, on the equity at this close: a breach
	// pauses the deployment.
	if err := r.watchLoss(ctx, d, nowMs); err != nil {
		return err
	}
	// Paused: open trades are still managed (stops, exits), no new trade
	// is opened.
	paused := d.State == deploy.Paused || r.risk.halted
	// Limit entries placed before: filled, or out of time?
	for _, ps := range r.pairs {
		if ps.entry != nil {
			if err := r.settleEntry(ctx, ps, nowMs); err != nil {
				return err
			}
		}
	}
	// Trades first, in the order they opened: their resting exit (filled
	// inside the candle that closed?), the prices of that candle (what
	// the backtest checks inside it), then the price now; a trade still
	// open gets the exit order that should rest now.
	for _, ps := range append([]*pairState(nil), r.held...) {
		v := views[ps]
		if !v.fresh {
			continue
		}
		if err := r.manage(ctx, ps, v.f, nowMs, v.forming); err != nil {
			return err
		}
	}
	for _, ps := range r.pairs {
		v := views[ps]
		if !v.fresh || ps.open != nil || ps.entry != nil || paused {
			continue
		}
		f, k := v.f, v.f.Len()-1
		price := v.forming
		if price == 0 {
			price = f.Close[k]
		}
		s := sigAt(f, k)
		if x, ok := r.pol.Enter(r.pf, ps.id, s, price); ok {
			if err := r.enter(ctx, ps, nowMs, x); err != nil {
				return err
			}
			if ps.open != nil {
				if err := r.rest(ctx, ps, nowMs, price, s.EnterLong); err != nil {
					return err
				}
			}
		}
	}
	if err := r.recordRisk(ctx); err != nil {
		return err
	}
	w := deploy.Write{Tick: time.UnixMilli(nowMs)}
	if rd := r.riskDay(); !r.risk.dayRecorded || !sameDay(rd, r.risk.lastDay) {
		w.Risk = &rd
	}
	if nowMs%3_600_000 == 0 { // the equity curve is hourly (each close for longer candles)
		w.Equity = []deploy.EquityPoint{{Time: time.UnixMilli(nowMs), Equity: r.equity()}}
	}
	var total deploy.CostDelta
	w.Cost, total = r.costDelta()
	// The tick's bookkeeping, no order in it: the runner does not wait for
	// its commit (a crash may lose it; the next runner does the tick again).
	if err := r.cfg.Store.RecordLater(ctx, r.cfg.Lease, w); err != nil {
		return err
	}
	if w.Risk != nil {
		r.risk.lastDay, r.risk.dayRecorded = *w.Risk, true
	}
	r.sent = total
	return nil
}

// costDelta is the cost measured since the last one recorded (delta) and
// the totals since New: CPU time in whole milliseconds (the rest is
// recorded with a later tick), the strategy's peak memory when it grew,
// the venue weight sent, and the venue's count of its minute when it
// changed.
func (r *Runner) costDelta() (delta, total deploy.CostDelta) {
	total.CPU = r.cpu
	if m, ok := r.cfg.Strategy.(metered); ok {
		cpu, peak := m.Usage()
		total.CPU, total.PeakMemory = total.CPU+cpu, peak
	}
	total.CPU = total.CPU.Truncate(time.Millisecond)
	if w, ok := r.cfg.Exchange.(weigher); ok {
		sent, minute := w.Weight()
		total.VenueWeight, total.VenueWeight1m = sent, int64(minute)
	}
	delta = deploy.CostDelta{CPU: total.CPU - r.sent.CPU, VenueWeight: total.VenueWeight - r.sent.VenueWeight}
	if total.PeakMemory > r.sent.PeakMemory {
		delta.PeakMemory = total.PeakMemory
	}
	if total.VenueWeight1m != r.sent.VenueWeight1m {
		delta.VenueWeight1m = total.VenueWeight1m
	}
	total.PeakMemory = max(total.PeakMemory, r.sent.PeakMemory)
	return delta, total
}

// manage checks ps's open trade at the close of f's last candle (nowMs):
// its resting exit, the candle, the price now; then rests its next exit.
func (r *Runner) manage(ctx context.Context, ps *pairState, f *sdk.Frame, nowMs int64, forming float64) error {
	k := f.Len() - 1
	price := forming
	if price == 0 {
		price = f.Close[k]
	}
	if ps.open.rest != nil && r.mayHaveTraded(ps, price) {
		if err := r.settleRest(ctx, ps); err != nil || ps.open == nil {
			return err
		}
	}
	if ps.open.rest != nil {
		ps.open.restFrom = nowMs
		if until := ps.open.restUntil; until > 0 && ps.open.rest != nil {
			// A limit exit waiting to fill: once out of time, cancelled
			// and placed again at the price now.
			if nowMs < until {
				return nil
			}
			reason := trade.ExitReason(ps.open.rest.Reason)
			if err := r.cancelRest(ctx, ps); err != nil || ps.open == nil {
				return err
			}
			return r.exit(ctx, ps, nowMs, reason, price)
		}
	}
	tr := ps.open.tr
	if tr.OpenTime <= f.Time[k] {
		c := trade.Candle{Time: f.Time[k], Open: f.Open[k], High: f.High[k], Low: f.Low[k], Close: f.Close[k]}
		s := sigAt(f, k-1)
		c.Enter, c.Exit = s.EnterLong, s.ExitLong
		r.pol.Exit(tr, c, &r.xs)
		if x, ok := r.xs.First(); ok {
			return r.exit(ctx, ps, nowMs, x.Reason, f.Close[k])
		}
	}
	s := sigAt(f, k)
	probe := *tr // the price now moves nothing: the next candle's check does
	r.pol.Exit(&probe, trade.Candle{Time: nowMs, Open: price, High: price, Low: price, Close: price, Enter: s.EnterLong, Exit: s.ExitLong}, &r.xs)
	if x, ok := r.xs.First(); ok {
		return r.exit(ctx, ps, nowMs, x.Reason, price)
	}
	return r.rest(ctx, ps, nowMs, price, s.EnterLong)
}

// ErrStopped is what Step returns once it stopped the deployment (a stop
// with flatten, or the kill switch); Run then returns nil.
var ErrStopped = errors.New("the deployment was stopped")

// stop ends the deployment at nowMs as asked (stop --flatten, the kill
// switch): with flatten it closes every open trade at the market
// (force_exit, its resting exit cancelled first); without, it cancels the
// orders open at the venue (limit entries and resting exits: the trades
// stay at the venue); then it stops the deployment. An exit that did not
// fill fails the call: the next tick tries again.
func (r *Runner) stop(ctx context.Context, nowMs int64, flatten bool) error {
	if err := r.cancelEntries(ctx, nowMs); err != nil {
		return err
	}
	for _, ps := range append([]*pairState(nil), r.held...) {
		var err error
		switch {
		case flatten:
			err = r.exit(ctx, ps, nowMs, trade.ExitForce, r.lastClose(ps, ps.open.tr.OpenRate))
		case ps.open.rest != nil:
			err = r.cancelRest(ctx, ps)
		}
		if err != nil {
			return err
		}
	}
	if n := len(r.held); flatten && n > 0 {
		return fmt.Errorf("stop --flatten: %d trades still open after their exits", n)
	}
	if err := r.cfg.Store.MarkStopped(ctx, r.cfg.Lease); err != nil {
		return err
	}
	if flatten {
		r.logf(ctx, slog.LevelInfo, "deployment stopped: its trades were closed at the market")
	} else {
		r.logf(ctx, slog.LevelInfo, "deployment stopped: its open orders were cancelled", "open_trades", fmt.Sprint(len(r.held)))
	}
	return ErrStopped
}

// equity is the wallet plus the open trades marked at their last close.
func (r *Runner) equity() float64 {
	e := r.pf.Balance()
	for _, ps := range r.held {
		if n := ps.win.Len(); n > 0 {
			e += ps.open.tr.ProfitAbsAt(ps.win.Close[n-1])
		}
	}
	return e
}

// Run starts the runner and steps it at every candle close on the clock
// until ctx ends or a step fails: a tick cut short by a failure is done
// again by the next Run (a Host restarts it), after reconciliation. A
// candle that closed before Run and was not acted on is acted on at once.
//
// On a venue that streams candles (exchange.KlineStreamer) a close is
// acted on as soon as the stream delivered every pair's closed candle, and
// the tick takes the candles from the stream (no klines request; the price
// now is then the close); when the stream is late by StreamWait or down
// (it is reconnected with backoff), the runner polls the venue's klines at
// the close plus StreamWait, as it reads them for a pair whose stream
// missed a candle (a gap, a reconnection after closes it missed). On a venue that streams fills (FillStreamer) a fill of a
// trade's resting exit is settled when it arrives, between closes; the
// close still asks the venue, as on a venue without the stream. With a Schedule the runner ticks at the schedule's times
// instead, each tick acting on the candles closed by then.
func (r *Runner) Run(ctx context.Context) error {
	// The schedule counts from this moment: a schedule time passing while
	// the runner starts is still ticked (a test's fake clock may move as
	// soon as the runner waits on it).
	begun := r.clk.Now()
	// The last tick's bookkeeping is committed before Run returns.
	defer func() { _ = r.cfg.Store.Flush(context.WithoutCancel(ctx)) }()
	if err := r.tracedStart(ctx, begun); err != nil {
		return err
	}
	Started(ctx)
	var closes chan int64
	if ks, ok := r.cfg.Exchange.(exchange.KlineStreamer); ok && r.sched == nil {
		sctx, cancel := context.WithCancel(ctx)
		closes = make(chan int64, 1)
		r.stream = newStreamed(r.cfg.Timeframe)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.watch(sctx, ks, r.stream, closes)
		}()
		defer func() { cancel(); <-done; r.stream = nil }()
	}
	var fills chan int64
	if fs, ok := r.cfg.Exchange.(FillStreamer); ok {
		sctx, cancel := context.WithCancel(ctx)
		fills = make(chan int64, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.followFills(sctx, fs, fills)
		}()
		defer func() { cancel(); <-done }()
	}
	poll := r.clk.NewTicker(r.cfg.StopPoll)
	defer poll.Stop()
	tf := r.cfg.Timeframe
	r.tick = begun.UnixMilli()
	passed := make(chan time.Time) // a wait already over
	close(passed)
	for {
		now := r.clk.Now()
		due := tf.Next(tf.Next(r.last)) // the close after the last one acted on
		if r.sched != nil {
			due = r.sched.Next(time.UnixMilli(r.tick).UTC()).UnixMilli()
		}
		at := due
		if due > now.UnixMilli() {
			wait := time.Duration(due-now.UnixMilli()) * time.Millisecond
			if closes != nil {
				wait += r.cfg.StreamWait
			}
			t := r.clk.NewTimer(wait)
			fired := t.C()
			if !r.clk.Now().Before(now.Add(wait)) {
				// The clock passed the wait's end between being read and
				// arming the timer (a fake or replay clock moved by
				// another goroutine): the timer, armed from the later
				// time, would fire late.
				t.Stop()
				fired = passed
			}
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-poll.C():
				t.Stop()
				switch err := r.checkStop(ctx); {
				case errors.Is(err, ErrStopped):
					return nil
				case errors.Is(err, deploy.ErrFenced):
					return err
				case ctx.Err() != nil:
					return ctx.Err()
				case err != nil:
					// The next look (or the tick) tries again.
					r.log.Warn("the deployment's stop not checked", "err", err)
				}
				continue
			case <-fired:
			case id := <-fills:
				t.Stop()
				if err := r.filled(ctx, id); err != nil {
					if !errors.Is(err, deploy.ErrFenced) && ctx.Err() == nil {
						r.logf(ctx, slog.LevelError, "streamed fill not settled", "err", err.Error())
					}
					return err
				}
				continue
			case c := <-closes:
				t.Stop()
				if c < due {
					continue // a close acted on already
				}
				at = c
			}
		} else {
			at = now.UnixMilli()
		}
		r.tick = at
		err := r.traced(ctx, time.UnixMilli(at))
		switch {
		case err == nil || errors.Is(err, ErrStopped):
			r.cfg.Observe.Ticked(time.UnixMilli(at), r.clk.Now(), nil)
		case ctx.Err() == nil && !errors.Is(err, deploy.ErrFenced):
			// A tick that failed (not one cut short by the runner stopping).
			r.cfg.Observe.Ticked(time.UnixMilli(at), r.clk.Now(), err)
		}
		if err != nil {
			if errors.Is(err, ErrStopped) {
				return nil
			}
			if !errors.Is(err, deploy.ErrFenced) && ctx.Err() == nil {
				r.logf(ctx, slog.LevelError, "tick failed", "err", err.Error())
			}
			return err
		}
	}
}

// traced is Step at the close at, as a span.
func (r *Runner) traced(ctx context.Context, at time.Time) error {
	ctx, span := r.cfg.Tracer.Start(ctx, "deployment tick", trace.WithAttributes(
		attribute.String("tradai.deployment_id", r.cfg.Lease.Deployment), attribute.String("tradai.tenant", r.cfg.Lease.Tenant),
		attribute.Int64("tradai.close_ms", at.UnixMilli())))
	defer span.End()
	err := r.Step(ctx, at)
	if err != nil && !errors.Is(err, ErrStopped) {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// tracedStart is Start as a span: the parent of the venue's requests that
// load the markets and warm-up candles and reconcile the orders (a tick
// that takes its candles from the stream may ask the venue nothing).
func (r *Runner) tracedStart(ctx context.Context, now time.Time) error {
	sctx, span := r.cfg.Tracer.Start(ctx, "deployment start", trace.WithAttributes(
		attribute.String("tradai.deployment_id", r.cfg.Lease.Deployment), attribute.String("tradai.tenant", r.cfg.Lease.Tenant)))
	defer span.End()
	err := r.Start(sctx, now)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// watch follows the venue's kline stream for the deployment's pairs, keeps
// each closed candle in held for the ticks, and sends on closes each close
// time at which every pair's candle arrived (the newest only, when the
// runner is behind). A dropped stream is reconnected after RetryWait,
// doubling up to a minute.
func (r *Runner) watch(ctx context.Context, ks exchange.KlineStreamer, held *streamed, closes chan int64) {
	syms := make([]string, len(r.pairs))
	for i, ps := range r.pairs {
		syms[i] = ps.market.Symbol
	}
	tf := r.cfg.Timeframe
	arrived := map[int64]map[string]bool{}
	wait := r.cfg.RetryWait
	for {
		err := ks.StreamKlines(ctx, syms, tf, func(sym string, k exchange.Kline) {
			wait = r.cfg.RetryWait
			held.add(sym, k)
			c := tf.Next(k.Time.UnixMilli())
			if arrived[c] == nil {
				arrived[c] = map[string]bool{}
			}
			if arrived[c][sym] = true; len(arrived[c]) < len(syms) {
				return
			}
			for t := range arrived {
				if t <= c {
					delete(arrived, t)
				}
			}
			select {
			case closes <- c:
			default: // the runner is behind: the newest close replaces the one waiting
				select {
				case <-closes:
				default:
				}
				closes <- c
			}
		})
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("the venue's kline stream dropped: polling its klines until it is back", "err", err, "retry_in", wait)
		if r.clk.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(2*wait, time.Minute)
	}
}
