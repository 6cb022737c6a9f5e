package optimize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/metrics"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// memLoader serves frames held in memory, by pair.
type memLoader map[string]*sdk.Frame

func (m memLoader) Map(_ context.Context, k market.Key, _ market.Range) (*datafile.Mapped, error) {
	f, ok := m[k.Pair]
	if !ok {
		return nil, fmt.Errorf("%s: %w", k.Pair, market.ErrNotFound)
	}
	return &datafile.Mapped{Frame: f}, nil
}

// synthetic returns n five-minute candles of a seeded random walk.
func synthetic(pair string, n int, seed uint64) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := &sdk.Frame{Pair: pair, Timeframe: "5m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	for i := range n {
		o := price
		price *= math.Exp(r.NormFloat64() * 0.003)
		f.Time[i] = 1_600_000_200_000 + int64(i)*300_000 // on the 5m grid
		f.Open[i], f.Close[i] = o, price
		f.High[i] = math.Max(o, price) * (1 + r.Float64()*0.002)
		f.Low[i] = math.Min(o, price) * (1 - r.Float64()*0.002)
		f.Volume[i] = 1 + r.Float64()*10
	}
	return f
}

// counting wraps a strategy and counts its Populate calls; fail makes
// Populate fail for the parameter values it returns true for.
type counting struct {
	sdk.Strategy
	calls atomic.Int64
	fail  func(sdk.Values) bool
}

func (c *counting) Populate(f *sdk.Frame, p sdk.Values) error {
	c.calls.Add(1)
	if c.fail != nil && c.fail(p) {
		return errors.New("the strategy refused these parameters")
	}
	return c.Strategy.Populate(f, p)
}

type fixture struct {
	opts  Options
	strat *counting
}

// setup loads pairs × n synthetic candles for sma_cross and returns the
// options of a study of spaces with seed.
func setup(t testing.TB, pairs, n int, spaces []string, seed uint64) *fixture {
	t.Helper()
	return setupStrategy(t, strategy.SMACross{}, pairs, n, spaces, seed)
}

// setupStrategy is setup for another 5m strategy.
func setupStrategy(t testing.TB, s sdk.Strategy, pairs, n int, spaces []string, seed uint64) *fixture {
	t.Helper()
	strat := &counting{Strategy: s}
	cfg := config.Default()
	cfg.Timeframe = "5m"
	cfg.Exchange.Name = "test"
	mem := memLoader{}
	for k := range pairs {
		pair := fmt.Sprintf("P%02d/USDT", k)
		mem[pair] = synthetic(pair, n, uint64(k+1))
		cfg.Exchange.PairWhitelist = append(cfg.Exchange.PairWhitelist, pair)
	}
	spec := strat.Spec()
	plan, err := backtest.NewPlan(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	data, err := backtest.Load(context.Background(), mem, plan, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	settings, err := backtest.ConfigSettings(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	space, err := NewSpace(spec, "5m", spaces)
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := sample.New("random", space.Dims(), seed)
	if err != nil {
		t.Fatal(err)
	}
	loss, _ := LossNamed("sharpe")
	return &fixture{strat: strat, opts: Options{
		Strategy: strat, Data: data, Settings: settings, Space: space, Sampler: sampler, Loss: loss, Epochs: 40, Jobs: 3,
	}}
}

// trace is what must repeat: each trial's point and loss, in order.
func trace(st *Study) []string {
	var out []string
	for _, tr := range st.Trials {
		out = append(out, fmt.Sprintf("%d %v %v %d", tr.Number, tr.Point, tr.Loss, tr.Figures.Trades))
	}
	return out
}

// A seed (with the same Jobs) reproduces a study run in parallel, with
// every sampler that learns, and the trials are told in order.
func TestStudyReproducible(t *testing.T) {
	for _, name := range []string{"random", "tpe", "cmaes"} {
		t.Run(name, func(t *testing.T) { testStudyReproducible(t, name) })
	}
}

func testStudyReproducible(t *testing.T, sampler string) {
	run := func(seed uint64, jobs int) *Study {
		fx := setup(t, 2, 3000, []string{"buy", "roi", "stoploss"}, seed)
		s, err := sample.New(sampler, fx.opts.Space.Dims(), seed)
		if err != nil {
			t.Fatal(err)
		}
		fx.opts.Sampler, fx.opts.Jobs = s, jobs
		var seen []int
		fx.opts.OnTrial = func(tr *Trial, _ bool) { seen = append(seen, tr.Number) }
		st, err := Run(context.Background(), fx.opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range seen {
			if n != i+1 {
				t.Fatalf("trial %d reported in place %d", n, i+1)
			}
		}
		return st
	}
	a, b := run(7, 3), run(7, 3)
	if len(a.Trials) != 40 {
		t.Fatalf("%d trials, want 40", len(a.Trials))
	}
	if !reflect.DeepEqual(trace(a), trace(b)) {
		t.Errorf("same seed, different studies:\n%v\n%v", trace(a), trace(b))
	}
	if reflect.DeepEqual(trace(a), trace(run(8, 3))) {
		t.Error("another seed gave the same study")
	}
	var trades int
	for _, tr := range a.Trials {
		trades += tr.Figures.Trades
	}
	if trades == 0 {
		t.Error("no trial traded: the study measures nothing")
	}
}

// The sampler is asked for trial i only after trials 0 … i−Jobs have
// been told, whatever order the trials finish in.
type windowSampler struct {
	sample.Sampler
	told, asked int
	jobs        int
	t           *testing.T
}

func (w *windowSampler) Ask() ([]float64, error) {
	if w.asked >= w.jobs && w.told != w.asked-w.jobs+1 {
		w.t.Errorf("trial %d asked with %d told, want %d", w.asked, w.told, w.asked-w.jobs+1)
	}
	w.asked++
	return w.Sampler.Ask()
}

func (w *windowSampler) Tell(x []float64, loss float64) error {
	w.told++
	return w.Sampler.Tell(x, loss)
}

func TestStudyWindow(t *testing.T) {
	fx := setup(t, 1, 2000, []string{"buy", "stoploss"}, 3)
	ws := &windowSampler{Sampler: fx.opts.Sampler, jobs: 4, t: t}
	fx.opts.Sampler, fx.opts.Jobs = ws, 4
	if _, err := Run(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	if ws.asked != 40 || ws.told != 40 {
		t.Errorf("asked %d, told %d", ws.asked, ws.told)
	}
}

// Trials changing only roi and stoploss share one preparation of the
// signals; a buy space prepares once per distinct parameter set.
func TestStudyReusesSignals(t *testing.T) {
	fx := setup(t, 2, 2000, []string{"roi", "stoploss"}, 1)
	if _, err := Run(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	if got := fx.strat.calls.Load(); got != 2 {
		t.Errorf("%d Populate calls for 40 risk-only trials on 2 pairs, want 2", got)
	}
	// Four distinct parameter sets, each asked ten times in a row.
	fx = setup(t, 2, 2000, []string{"buy", "stoploss"}, 1)
	fx.opts.Sampler = &repeating{Sampler: fx.opts.Sampler, every: 10}
	if _, err := Run(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	if got := fx.strat.calls.Load(); got != 8 {
		t.Errorf("%d Populate calls for 4 parameter sets on 2 pairs, want 8", got)
	}
}

// repeating keeps the strategy parameters (the first two coordinates)
// for every consecutive points.
type repeating struct {
	sample.Sampler
	every, n int
	last     []float64
}

func (r *repeating) Ask() ([]float64, error) {
	x, err := r.Sampler.Ask()
	if err == nil && r.n%r.every != 0 {
		copy(x[:2], r.last[:2])
	}
	r.n++
	r.last = x
	return x, err
}

func TestStudyFailedTrials(t *testing.T) {
	// fast above 60 fails: recorded, not fatal.
	fx := setup(t, 1, 2000, []string{"buy"}, 5)
	fx.strat.fail = func(p sdk.Values) bool { return p.Int("fast") > 60 }
	st, err := Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed == 0 || st.Failed == len(st.Trials) {
		t.Fatalf("%d of %d failed: the test needs some of each", st.Failed, len(st.Trials))
	}
	for _, tr := range st.Trials {
		// sma_cross itself refuses a fast period not below the slow one.
		fast, slow := int(tr.Point[0]), int(tr.Point[1])
		switch {
		case !math.IsInf(tr.Loss, 1) && tr.Failed():
			t.Errorf("failed trial %d has the loss %v", tr.Number, tr.Loss)
		case fast >= slow:
			if !tr.Failed() {
				t.Errorf("trial %d (fast %d, slow %d) did not fail", tr.Number, fast, slow)
			}
		case tr.Failed() != (fast > 60) || tr.Failed() && !strings.Contains(tr.Err, "refused"):
			t.Errorf("trial %d (fast %d): err %q", tr.Number, fast, tr.Err)
		}
	}
	for _, b := range st.Best {
		if b.Trial.Failed() {
			t.Errorf("failed trial %d among the best", b.Trial.Number)
		}
	}
	// Every trial fails: the study stops at FailMinTrials.
	fx = setup(t, 1, 2000, []string{"buy"}, 5)
	fx.strat.fail = func(sdk.Values) bool { return true }
	st, err = Run(context.Background(), fx.opts)
	if err == nil || !strings.Contains(err.Error(), "20 of 20 trials failed") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("all failing: %v", err)
	}
	if len(st.Trials) != FailMinTrials {
		t.Errorf("%d trials recorded, want %d", len(st.Trials), FailMinTrials)
	}
}

// The best trials are kept sorted, at most Keep of them, with their
// results; --min-trades gives fewer trades MaxLoss.
func TestStudyBestAndMinTrades(t *testing.T) {
	fx := setup(t, 1, 3000, []string{"buy", "stoploss"}, 9)
	fx.opts.Keep = 5
	var bests []float64
	fx.opts.OnTrial = func(tr *Trial, best bool) {
		if best {
			bests = append(bests, tr.Loss)
		}
	}
	st, err := Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Best) != 5 {
		t.Fatalf("%d best kept, want 5", len(st.Best))
	}
	low := math.Inf(1)
	for _, tr := range st.Trials {
		low = math.Min(low, tr.Loss)
	}
	for i, b := range st.Best {
		if b.Result == nil || b.Metrics.Summary.TotalTrades != b.Trial.Figures.Trades {
			t.Errorf("best %d without its result", i)
		}
		if i > 0 && b.Trial.Loss < st.Best[i-1].Trial.Loss {
			t.Errorf("best not sorted: %v after %v", b.Trial.Loss, st.Best[i-1].Trial.Loss)
		}
	}
	if st.Best[0].Trial.Loss != low || bests[len(bests)-1] != low {
		t.Errorf("best %v, reported %v, lowest %v", st.Best[0].Trial.Loss, bests, low)
	}
	fx = setup(t, 1, 3000, []string{"buy", "stoploss"}, 9)
	fx.opts.MinTrades = 1_000_000
	st, err = Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range st.Trials {
		if !tr.Failed() && tr.Loss != MaxLoss {
			t.Fatalf("trial %d with %d trades: loss %v, want %v", tr.Number, tr.Figures.Trades, tr.Loss, MaxLoss)
		}
	}
}

func TestStudyOptions(t *testing.T) {
	fx := setup(t, 1, 500, []string{"buy"}, 1)
	fx.opts.Epochs = 0
	if _, err := Run(context.Background(), fx.opts); err == nil || !strings.Contains(err.Error(), "--epochs") {
		t.Errorf("0 epochs: %v", err)
	}
	fx.opts.Epochs = 100
	ctx, cancel := context.WithCancel(context.Background())
	fx.opts.OnTrial = func(tr *Trial, _ bool) {
		if tr.Number == 10 {
			cancel()
		}
	}
	st, err := Run(ctx, fx.opts)
	if !errors.Is(err, context.Canceled) || len(st.Trials) < 10 || len(st.Trials) >= 100 {
		t.Errorf("cancelled: %v after %d trials", err, len(st.Trials))
	}
}

// A preparation that panics fails its trials and releases every trial
// waiting for it.
func TestPrepCachePanic(t *testing.T) {
	c := newPrepCache(2)
	e := c.get("k", func(*backtest.Prepared) (*backtest.Prepared, error) { panic("boom") })
	c.release(e)
	if e.err == nil || !strings.Contains(e.err.Error(), "panic: boom") {
		t.Fatalf("panicking build: %v", e.err)
	}
	e = c.get("k", func(*backtest.Prepared) (*backtest.Prepared, error) { t.Fatal("built twice"); return nil, nil })
	c.release(e)
	if e.err == nil {
		t.Fatal("the cached failure was lost")
	}
}

// The kept best results, simulated into the memory of earlier trials'
// results and signals, are what a fresh Prepare and Simulate of their
// parameters give: recycling never hands out a result still kept.
func TestStudyKeptResultsAreFresh(t *testing.T) {
	fx := setup(t, 2, 3000, []string{"buy", "roi", "stoploss"}, 11)
	fx.opts.Keep = 5
	st, err := Run(context.Background(), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Best) != 5 {
		t.Fatalf("%d best kept, want 5", len(st.Best))
	}
	for i, b := range st.Best {
		prep, err := fx.opts.Data.Prepare(context.Background(), fx.opts.Strategy, maps.Clone(b.Result.Params))
		if err != nil {
			t.Fatal(err)
		}
		s := fx.opts.Settings
		s.Rules.Risk = b.Point.Risk
		fresh, err := prep.Simulate(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(b.Result)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("best %d (trial %d): kept result differs from a fresh one", i, b.Trial.Number)
		}
		if g, w := fmt.Sprint(b.Metrics.Summary), fmt.Sprint(metrics.Compute(fresh).Summary); g != w {
			t.Errorf("best %d (trial %d): metrics %s, fresh %s", i, b.Trial.Number, g, w)
		}
	}
}

// A parameter set's signals dropped from the cache are handed to the next
// build once no trial uses them, and not before.
func TestPrepCacheReusesDroppedSignals(t *testing.T) {
	c := newPrepCache(1)
	a := &backtest.Prepared{}
	build := func(want *backtest.Prepared, made *backtest.Prepared) func(*backtest.Prepared) (*backtest.Prepared, error) {
		return func(reuse *backtest.Prepared) (*backtest.Prepared, error) {
			if reuse != want {
				t.Errorf("build given %p, want %p", reuse, want)
			}
			return made, nil
		}
	}
	ea := c.get("a", build(nil, a))
	b := &backtest.Prepared{}
	eb := c.get("b", build(nil, b)) // drops a, still in use
	c.release(eb)
	c.release(ea)                                   // a unused now
	e := c.get("c", build(a, &backtest.Prepared{})) // drops b, unused: the spare
	c.release(e)
	e = c.get("d", build(b, &backtest.Prepared{}))
	c.release(e)
}
