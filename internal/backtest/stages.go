package backtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/hugepage"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/sdk"
)

// Loader reads the stored candles of one series opening in r (a zero side
// is open), possibly viewing a mapping of the stored file that the caller
// closes. *market.Store implements it. The frames it returns are only
// read.
type Loader interface {
	Map(ctx context.Context, k market.Key, r market.Range) (*datafile.Mapped, error)
}

// Data is a plan's candles, loaded once: per pair the time range and the
// startup candles before it. Its Prepare may be called many times, also
// concurrently, one call per parameter set: the candles are shared, never
// copied or changed. The candles may view the stored files mapped into
// memory: the caller that loaded a Data closes it once done with it and
// everything prepared from it.
type Data struct {
	plan    Plan
	series  []Series // the file's signal columns as stored
	summary *candleSummary
	mapped  []*datafile.Mapped // what the series view, closed by Close
}

// candleSummary is what the results of a Data say about its candles alone,
// so every parameter set's result shares it: the data fingerprint, and each
// pair's candles over its range downsampled for the price charts. It is
// computed in the background (see summarise), while the signals are.
type candleSummary struct {
	done        chan struct{} // closed when the fields are set
	fingerprint string
	prices      []result.PriceSeries
}

// summarise starts computing the candle summary of series on a goroutine
// of its own (the digests and price series one pair after another: it
// runs beside the strategy's signals) and returns it; its wait returns it
// complete.
func summarise(series []Series) *candleSummary {
	c := &candleSummary{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		digests := make([]uint64, len(series))
		prices := make([]result.PriceSeries, len(series))
		for k, s := range series {
			digests[k] = candleDigest(s.Frame)
			prices[k] = priceSeries(s)
		}
		c.fingerprint, c.prices = dataFingerprint(series, digests), prices
	}()
	return c
}

// wait returns c once it is complete.
func (c *candleSummary) wait() *candleSummary {
	<-c.done
	return c
}

// Load reads every series of p through l, GOMAXPROCS at a time, and cuts
// each to the time range plus the strategy's startup candles before it.
// When fewer startup candles are stored before the time range, its start
// moves forward (logged on log) so that every traded candle has them. A
// pair needs at least 2 candles in the range. With a time range, each
// series is read from its Need's Range.Start, and only when that holds
// fewer than the startup candles before the time range (candles missing
// there) read again from its first stored candle, so that the startup
// candles are counted back over the gap: the candles kept are the same
// either way.
//
// The candles view the stored files where [market.Store.Map] can map them:
// the caller closes the Data ([Data.Close]) when it no longer uses it, nor
// any frame, Prepared or Series from it. Results do not refer to the
// candles and stay valid.
func Load(ctx context.Context, l Loader, p Plan, log *slog.Logger) (*Data, error) {
	series := make([]Series, len(p.Needs))
	mapped := make([]*datafile.Mapped, len(p.Needs))
	err := forEach(len(p.Needs), func(k int) (err error) {
		series[k], mapped[k], err = load(ctx, l, p, p.Needs[k], log)
		return err
	})
	if err != nil {
		for _, m := range mapped {
			if m != nil {
				_ = m.Close() // the load's error is the answer
			}
		}
		return nil, err
	}
	return &Data{plan: p, series: series, summary: summarise(series), mapped: mapped}, nil
}

// Close releases d's candles: it waits for the candle summary computed in
// the background and unmaps the stored files the candles view. Neither d
// nor anything prepared from it may be used after Close; results computed
// before stay valid. Close may be called more than once.
func (d *Data) Close() error {
	d.summary.wait()
	var errs []error
	for _, m := range d.mapped {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	d.mapped = nil
	return errors.Join(errs...)
}

// priceSeries is s's candles over its range [From, To), downsampled to
// result.PriceBuckets rows.
func priceSeries(s Series) result.PriceSeries {
	f, a, b := s.Frame, s.From, s.To
	view := result.PriceSeries{Pair: f.Pair, Time: f.Time[a:b], Open: f.Open[a:b], High: f.High[a:b], Low: f.Low[a:b], Close: f.Close[a:b]}
	return view.Downsample(result.PriceBuckets)
}

// load is Load for one series, returning with it what it views, which the
// caller closes.
func load(ctx context.Context, l Loader, p Plan, n Need, log *slog.Logger) (Series, *datafile.Mapped, error) {
	if err := ctx.Err(); err != nil {
		return Series{}, nil, err
	}
	k := n.Key
	var m *datafile.Mapped
	if n.Range.Start != 0 {
		// The candles from the startup candles' open time on: all the
		// backtest uses, unless candles are missing there (a gap, or
		// stored candles starting later).
		if g, err := l.Map(ctx, k, n.Range); err == nil {
			if g.Frame.Search(n.Timerange.Start) >= n.Startup {
				m = g
			} else if err := g.Close(); err != nil {
				return Series{}, nil, err
			}
		}
	}
	var err error
	if m == nil {
		// Everything stored up to the end: the startup candles are
		// counted back from the range's first candle.
		m, err = l.Map(ctx, k, market.Range{End: n.Timerange.End})
	}
	if errors.Is(err, market.ErrNotFound) && k.Exchange != "" {
		return Series{}, nil, fmt.Errorf("%w; download it with: tradai data download --datadir %s --exchange %s --pairs %s --timeframes %s",
			err, p.Datadir, k.Exchange, k.Pair, k.Timeframe)
	}
	if err != nil {
		return Series{}, nil, err
	}
	s, err := cut(m.Frame, n, log)
	if err != nil {
		_ = m.Close() // the cut's error is the answer
		return Series{}, nil, err
	}
	return s, m, nil
}

// cut returns the candles of f that n's backtest uses: its time range and
// the startup candles before it.
func cut(f *sdk.Frame, n Need, log *slog.Logger) (Series, error) {
	k, tr := n.Key, n.Timerange
	from, to := 0, f.Len()
	if tr.Start != 0 {
		from = f.Search(tr.Start)
	}
	if tr.End != 0 {
		to = f.Search(tr.End)
	}
	if from < n.Startup {
		if tr.Start != 0 {
			log.Warn("not enough candles before the time range for the strategy's startup; moving the start forward",
				"pair", k.Pair, "startup_candles", n.Startup, "available", from)
		}
		from = n.Startup
	}
	if to-from < 2 {
		stored := "no candles are stored before the range's end"
		if f.Len() > 0 {
			stored = fmt.Sprintf("the stored candles run from %s to %s", minute(f.Time[0]), minute(f.Time[f.Len()-1]))
			if tr.End != 0 {
				stored += " (read up to the range's end)"
			}
		}
		if to <= from {
			return Series{}, fmt.Errorf("%s: no candles in the selected time range after %d startup candles; need at least 2: %s",
				k, n.Startup, stored)
		}
		return Series{}, fmt.Errorf("%s: %d candles in the selected time range after %d startup candles; need at least 2: %s",
			k, to-from, n.Startup, stored)
	}
	lo := from - n.Startup
	view := f.Slice(lo, to)
	return Series{Frame: view, From: from - lo, To: to - lo}, nil
}

// minute formats a Unix-ms time for messages: 2018-01-15 00:00 UTC.
func minute(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC") }

// Plan returns the plan d was loaded for.
func (d *Data) Plan() Plan { return d.plan }

// Frames returns each pair's candles (startup candles, then the time range)
// as a strategy's Populate receives them, without signal columns. The
// frames are new; their candle columns are d's and must not be changed,
// nor used after d's Close.
func (d *Data) Frames() []*sdk.Frame {
	out := make([]*sdk.Frame, len(d.series))
	for k := range d.series {
		out[k] = d.frame(k)
	}
	return out
}

// frame returns a new frame viewing pair k's candles, without signal
// columns.
func (d *Data) frame(k int) *sdk.Frame {
	f := *d.series[k].Frame
	f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort, f.EnterTag = nil, nil, nil, nil, nil
	return &f
}

// signalFrame returns a new frame viewing pair k's candles, for Populate:
// its four signal columns are the quarters of sig (4 values a candle;
// cleared unless fresh: new memory is zero, and pages of it a strategy
// does not write, such as the short columns of a long-only one, are then
// never faulted in), all false, or holding a copy of the stored signals when fileSignals (the
// stored tags then copied too; a file without all four signal columns
// gives copies of those it has).
func (d *Data) signalFrame(k int, fileSignals bool, sig []bool, fresh bool) *sdk.Frame {
	stored := d.series[k].Frame
	f := d.frame(k)
	n := f.Len()
	f.EnterLong, f.ExitLong = sig[:n:n], sig[n:2*n:2*n]
	f.EnterShort, f.ExitShort = sig[2*n:3*n:3*n], sig[3*n:4*n:4*n]
	if !fresh {
		clear(sig)
	}
	if !fileSignals {
		return f
	}
	if !stored.HasSignals() { // the strategy says what is missing
		f.EnterLong, f.ExitLong = slices.Clone(stored.EnterLong), slices.Clone(stored.ExitLong)
		f.EnterShort, f.ExitShort = slices.Clone(stored.EnterShort), slices.Clone(stored.ExitShort)
		return f
	}
	copy(f.EnterLong, stored.EnterLong)
	copy(f.ExitLong, stored.ExitLong)
	copy(f.EnterShort, stored.EnterShort)
	copy(f.ExitShort, stored.ExitShort)
	f.EnterTag = slices.Clone(stored.EnterTag)
	return f
}

// Prepared is the data of a backtest with the signals of one parameter
// set: ready to simulate, under one or many settings.
type Prepared struct {
	data   *Data
	params sdk.Values
	series []Series
	// sig holds, per pair, the memory of the signal columns Populate got
	// (4 values a candle), which PrepareReusing hands to the next
	// parameter set.
	sig [][]bool
}

// Prepare computes strat's signals with params (overrides of the
// strategy's defaults, checked against its declaration) on every pair,
// GOMAXPROCS pairs at a time. strat is the strategy the plan was made for.
// Populate gets all-false signal columns, or a copy of the data file's
// when the strategy's spec declares FileSignals. Prepare is
// PrepareReusing with nothing to reuse.
func (d *Data) Prepare(ctx context.Context, strat sdk.Strategy, params sdk.Values) (*Prepared, error) {
	return d.PrepareReusing(ctx, strat, params, nil)
}

// PrepareReusing is Prepare writing the signals into the memory of old's
// (a Prepared of d no longer used, nor any result's frames from it; nil
// for none): an optimiser's trials, one parameter set after another,
// allocate no new signal columns. old must not be used afterwards. The
// signals are the same as Prepare's.
func (d *Data) PrepareReusing(ctx context.Context, strat sdk.Strategy, params sdk.Values, old *Prepared) (*Prepared, error) {
	spec := d.plan.Spec
	if name := strat.Spec().Name; name != spec.Name {
		return nil, fmt.Errorf("backtest: data loaded for strategy %s cannot prepare strategy %s", spec.Name, name)
	}
	values, err := spec.Resolve(params)
	if err != nil {
		return nil, fmt.Errorf("strategy_params: %w", err)
	}
	p := &Prepared{data: d, params: values}
	if old != nil && old.data == d {
		p.series, p.sig = old.series, old.sig
		*old = Prepared{}
	} else {
		p.series, p.sig = make([]Series, len(d.series)), make([][]bool, len(d.series))
	}
	err = forEach(len(d.series), func(k int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := d.series[k].Frame.Len()
		fresh := len(p.sig[k]) != 4*n
		if fresh {
			p.sig[k] = hugepage.Make[bool](4 * n)[:4*n] // filled candle by candle: a fault per 2 MB, not per 4 KB
		}
		f := d.signalFrame(k, spec.FileSignals, p.sig[k], fresh)
		var before uint64
		if n >= collectAfter {
			before = heapAllocated()
		}
		if err := strat.Populate(f, values); err != nil {
			return fmt.Errorf("strategy %s on %s: %w", spec.Name, f.Pair, err)
		}
		if !f.HasSignals() {
			return fmt.Errorf("strategy %s on %s: signal columns missing or not %d long", spec.Name, f.Pair, n)
		}
		if f.EnterTag != nil && len(f.EnterTag) != n {
			return fmt.Errorf("strategy %s on %s: enter_tag has %d values for %d candles", spec.Name, f.Pair, len(f.EnterTag), n)
		}
		p.series[k] = d.series[k]
		p.series[k].Frame = f
		if n >= collectAfter && heapAllocated()-before >= garbagePerCandle*uint64(n) {
			// The strategy's indicator columns are garbage now: collect
			// them, so the next pair's reuse their memory.
			runtime.GC()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Prepare collects the garbage once a pair of at least collectAfter
// candles has its signals, when the strategy's Populate allocated at least
// garbagePerCandle bytes a candle (its signal columns are Prepare's, not
// counted): that is indicator columns (ta.SMA and the like: 8 bytes a candle each),
// garbage as soon as Populate returns. With GOGC's default the heap of
// loaded candles may double before the runtime collects them on its own:
// 20 pairs of 5M candles would leave 1.6 GB of two SMA columns each beside
// 4.8 GB of candles. Collecting after each such pair bounds them to those
// of the GOMAXPROCS pairs being prepared, whose memory the next pairs
// reuse. A collection costs a few milliseconds (the candle columns hold no
// pointers to scan), a few percent of such a pair's Populate; a strategy
// that allocates no columns of its own (sma_cross streams its averages)
// causes none.
const (
	collectAfter     = 1 << 20
	garbagePerCandle = 8
)

// heapAllocated returns the bytes the process has allocated on the heap
// so far (the runtime's cumulative count, of every goroutine).
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Simulate runs the portfolio simulation of p with settings s (see
// [NewSettings]) and returns the result, described by the plan, with the
// pairs' price series (shared by the results of p's data). Simulate is
// SimulateReusing with nothing to reuse.
func (p *Prepared) Simulate(ctx context.Context, s Settings) (*result.Result, error) {
	return p.SimulateReusing(ctx, s, nil)
}

// SimulateReusing is Simulate writing the result into old (a result of a
// simulation no longer used, or a new empty one; nil for none), its trade
// list grown as trades close and kept at its largest, its equity points
// and other lists reused where large enough: an optimiser's trials soon
// allocate no new ones, and hold no more than their trades need. The result is the same as Simulate's; old's
// former contents are lost, and old is returned when err is nil.
func (p *Prepared) SimulateReusing(ctx context.Context, s Settings, old *result.Result) (*result.Result, error) {
	res, err := simulate(ctx, s, p.series, aheadFor(s, p.series), old)
	if err != nil {
		return nil, err
	}
	plan := &p.data.plan
	res.Strategy, res.Timeframe, res.Pairs = plan.Spec.Name, plan.Timeframe, reuseClone(res.Pairs, plan.Pairs)
	if res.Params == nil {
		res.Params = maps.Clone(p.params)
	} else {
		clear(res.Params)
		maps.Copy(res.Params, p.params)
	}
	res.Exchange, res.TradingMode = plan.Exchange, plan.TradingMode
	sum := p.data.summary.wait()
	res.DataFingerprint = sum.fingerprint
	res.StakeCurrency = plan.StakeCurrency
	res.Prices = sum.prices
	return res, nil
}

// reuseClone returns a copy of src in dst's memory when it fits, else in
// new memory; nil for nil (as slices.Clone).
func reuseClone[S ~[]E, E any](dst, src S) S {
	if src == nil {
		return nil
	}
	if cap(dst) < len(src) {
		return slices.Clone(src)
	}
	return append(dst[:0], src...)
}

// forEach calls fn for k in [0, n), GOMAXPROCS calls at a time, and
// returns the error of the lowest k that failed.
func forEach(n int, fn func(k int) error) error {
	if n == 1 { // no goroutine to start for one call
		return fn(0)
	}
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[k] = fn(k)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
