package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// countingLoader counts the loads of each series and keeps what it hands
// out.
type countingLoader struct {
	store *market.Store
	mu    sync.Mutex
	loads map[market.Key]int
	given []*datafile.Mapped
}

func (l *countingLoader) Map(ctx context.Context, k market.Key, r market.Range) (*datafile.Mapped, error) {
	m, err := l.store.Map(ctx, k, r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loads[k]++
	if err == nil {
		l.given = append(l.given, m)
	}
	return m, err
}

// closeData closes d and fails unless every candle file handed out was
// closed (a closed Mapped has no frame).
func closeData(t *testing.T, d *Data, given []*datafile.Mapped) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, m := range given {
		if m.Frame != nil {
			t.Fatalf("%s: the candles were not released", m.Frame.Pair)
		}
	}
}

func resultJSON(t *testing.T, res *result.Result) []byte {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An optimiser's shape: one Load, then Prepare and Simulate per parameter
// set (here concurrently) read each series once, and every trial's result
// is the one Run gives for a config with those parameters.
func TestLoadOncePrepareAndSimulateMany(t *testing.T) {
	t.Parallel()
	const js = `{"strategy":"sma_cross","timeframe":"5m","datadir":"../../examples/data","max_open_trades":2,
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC","LTC/BTC","XMR/BTC"]},"timerange":"20180115-20180125"}`
	cfg := parse(t, js)
	st, _ := strategy.Lookup("sma_cross")
	spec := st.Spec()
	plan, err := NewPlan(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	store, err := market.Open(cfg.Datadir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	loader := &countingLoader{store: store, loads: map[market.Key]int{}}
	data, err := Load(context.Background(), loader, plan, quiet())
	if err != nil {
		t.Fatal(err)
	}
	rules, acct, err := cfg.Trading(spec)
	if err != nil {
		t.Fatal(err)
	}
	settings := NewSettings(rules, acct, false)

	trials := []sdk.Values{{"fast": 5, "slow": 20}, {"fast": 10, "slow": 30}, {"fast": 8}, {"fast": 20, "slow": 60}, {}, {"slow": 100}}
	results := make([]*result.Result, len(trials))
	var wg sync.WaitGroup
	for i, params := range trials {
		wg.Go(func() {
			prep, err := data.Prepare(context.Background(), st, params)
			if err != nil {
				t.Error(err)
				return
			}
			res, err := prep.Simulate(context.Background(), settings)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The results stay whole once the candles are released.
	closeData(t, data, loader.given)
	got := make([][]byte, len(trials))
	for i, res := range results {
		got[i] = resultJSON(t, res)
	}
	if len(loader.loads) != len(plan.Needs) {
		t.Fatalf("loaded %d series, want %d: %v", len(loader.loads), len(plan.Needs), loader.loads)
	}
	for _, n := range plan.Needs {
		if c := loader.loads[n.Key]; c != 1 {
			t.Errorf("%s loaded %d times, want once", n.Key, c)
		}
	}

	seen := map[string]bool{}
	for i, params := range trials {
		c := parse(t, js)
		c.StrategyParams = params
		want, err := Run(context.Background(), c, st, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if w := resultJSON(t, want); !bytes.Equal(got[i], w) {
			t.Errorf("trial %v: staged result differs from Run's:\n%s\n%s", params, got[i], w)
		}
		seen[string(got[i])] = true
	}
	if len(seen) < 2 {
		t.Fatal("every parameter set gave the same result: the trials test nothing")
	}
}

// Run's result is Load, Prepare and Simulate's for the config, for every
// built-in strategy.
func TestRunIsItsStages(t *testing.T) {
	t.Parallel()
	dir := signalsDir(t)
	for _, name := range strategy.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, `{"strategy":"`+name+`","timeframe":"5m","datadir":"../../examples/data","max_open_trades":2,
				"exchange":{"name":"binance","pair_whitelist":["ETH/BTC","ZEC/BTC"]},"timerange":"20180112-20180125"}`)
			if name == "signals" {
				cfg = parse(t, `{"strategy":"signals","timeframe":"1d","datadir":"`+dir+`","fee":0.001,
					"exchange":{"name":"none","pair_whitelist":["SPY/USD","QQQ/USD"]},"max_open_trades":1}`)
			}
			st, _ := strategy.Lookup(name)
			spec := st.Spec()
			want, err := Run(context.Background(), cfg, st, quiet())
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Trades) == 0 {
				t.Fatal("no trades: the comparison tests little")
			}
			plan, err := NewPlan(cfg, spec)
			if err != nil {
				t.Fatal(err)
			}
			store, err := market.Open(cfg.Datadir, quiet())
			if err != nil {
				t.Fatal(err)
			}
			data, err := Load(context.Background(), store, plan, quiet())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = data.Close() })
			prep, err := data.Prepare(context.Background(), st, cfg.StrategyParams)
			if err != nil {
				t.Fatal(err)
			}
			rules, acct, err := cfg.Trading(spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := prep.Simulate(context.Background(), NewSettings(rules, acct, rules.Futures && spec.CanShort))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := resultJSON(t, got), resultJSON(t, want); !bytes.Equal(g, w) {
				t.Fatalf("stages differ from Run:\n%s\n%s", g, w)
			}
		})
	}
}

// signalsDir returns a data directory with two daily CSVs with signal
// columns.
func signalsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, pair := range []string{"SPY_USD", "QQQ_USD"} {
		var b strings.Builder
		b.WriteString("date,open,high,low,close,volume,enter_long,exit_long,enter_tag\n")
		for d := range 28 {
			o := 100 + float64(d%7)
			if pair == "QQQ_USD" {
				o += float64(d % 3)
			}
			enter, exit, tag := d%7 == 1, d%7 == 4, ""
			if enter {
				tag = "dip"
			}
			fmt.Fprintf(&b, "2024-02-%02d,%g,%g,%g,%g,1,%t,%t,%s\n", d+1, o, o+2, o-1, o+1, enter, exit, tag)
		}
		if err := os.WriteFile(filepath.Join(dir, pair+"-1d.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wrapped hides every method of the strategy it wraps but Spec and
// Populate, as a wrapper in a job runner or a metrics decorator does.
type wrapped struct{ s sdk.Strategy }

func (w wrapped) Spec() sdk.Spec                            { return w.s.Spec() }
func (w wrapped) Populate(f *sdk.Frame, p sdk.Values) error { return w.s.Populate(f, p) }

// Taking the data file's signals is declared in the spec, so a wrapped
// signals strategy still trades them; a strategy that does not declare it
// gets all-false columns even when the file has signals.
func TestFileSignalsDeclaredInSpec(t *testing.T) {
	t.Parallel()
	dir := signalsDir(t)
	cfg := parse(t, `{"strategy":"signals","timeframe":"1d","datadir":"`+dir+`","fee":0,
		"exchange":{"name":"none","pair_whitelist":["SPY/USD"]},"max_open_trades":1}`)
	st, _ := strategy.Lookup("signals")
	res, err := Run(context.Background(), cfg, wrapped{st}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trades) == 0 || res.Trades[0].EnterTag != "dip" {
		t.Fatalf("trades %+v", res.Trades)
	}

	spec := st.Spec()
	spec.FileSignals = false
	plan, err := NewPlan(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	store, err := market.Open(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	data, err := Load(context.Background(), store, plan, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = data.Close() })
	for _, f := range data.Frames() {
		if f.EnterLong != nil || f.ExitLong != nil || f.EnterTag != nil {
			t.Fatalf("Frames keep the file's signal columns: %+v", f)
		}
	}
	var saw bool
	probe := populateFunc{spec: spec, fn: func(f *sdk.Frame) error {
		// Its signal columns are all false, whatever the file holds.
		saw = f.EnterTag != nil || slices.Contains(f.EnterLong, true) || slices.Contains(f.ExitLong, true)
		f.EnsureSignals()
		return nil
	}}
	if _, err := data.Prepare(context.Background(), probe, nil); err != nil {
		t.Fatal(err)
	}
	if saw {
		t.Fatal("a strategy without file_signals got the file's signal columns")
	}
}

// populateFunc is a strategy with a given spec and Populate.
type populateFunc struct {
	spec sdk.Spec
	fn   func(*sdk.Frame) error
}

func (p populateFunc) Spec() sdk.Spec                            { return p.spec }
func (p populateFunc) Populate(f *sdk.Frame, _ sdk.Values) error { return p.fn(f) }

// Prepare refuses a strategy other than the plan's, and parameters its
// declaration does not allow.
func TestPrepareChecksStrategyAndParams(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"strategy":"sma_cross","timeframe":"5m","datadir":"../../examples/data",
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC"]},"timerange":"20180115-20180120"}`)
	sma, _ := strategy.Lookup("sma_cross")
	plan, err := NewPlan(cfg, sma.Spec())
	if err != nil {
		t.Fatal(err)
	}
	store, err := market.Open(cfg.Datadir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	data, err := Load(context.Background(), store, plan, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = data.Close() })
	rsi, _ := strategy.Lookup("rsi_bollinger")
	if _, err := data.Prepare(context.Background(), rsi, nil); err == nil || !strings.Contains(err.Error(), "rsi_bollinger") {
		t.Fatalf("another strategy: %v", err)
	}
	if _, err := data.Prepare(context.Background(), sma, sdk.Values{"fast": 500}); err == nil || !strings.Contains(err.Error(), `parameter "fast"`) {
		t.Fatalf("out-of-range parameter: %v", err)
	}
}

// A result carries each pair's prices over the range traded, in pair
// order and downsampled, and the ROI table its trades ran under.
func TestResultCarriesPricesAndROI(t *testing.T) {
	t.Parallel()
	mem := memLoader{}
	cfg := parse(t, `{"strategy":"sma_cross","timeframe":"1m","exchange":{"name":"mem","pair_whitelist":["B/USDT","A/USDT"]}}`)
	for k, pair := range cfg.Exchange.PairWhitelist {
		mem[pair] = synthetic(pair, 5000+k*1000, uint64(k+1))
	}
	st, _ := strategy.Lookup("sma_cross")
	data := loadMem(t, cfg, st, mem)
	s := benchSettings(2)
	res := prepareSimulate(t, data, st, nil, s)
	if fmt.Sprint(res.MinimalROI) != fmt.Sprint(s.Rules.Risk.MinimalROI) {
		t.Errorf("ROI table %v, want %v", res.MinimalROI, s.Rules.Risk.MinimalROI)
	}
	if len(res.Prices) != 2 {
		t.Fatalf("%d price series for 2 pairs", len(res.Prices))
	}
	startup := st.Spec().StartupCandles
	for k, p := range res.Prices {
		f := mem[cfg.Exchange.PairWhitelist[k]]
		if p.Pair != f.Pair {
			t.Errorf("series %d is %s, want %s", k, p.Pair, f.Pair)
		}
		if p.Len() == 0 || p.Len() > result.PriceBuckets {
			t.Errorf("%s: %d rows", p.Pair, p.Len())
			continue
		}
		if p.Time[0] != f.Time[startup] || p.Open[0] != f.Open[startup] || p.Close[p.Len()-1] != f.Close[f.Len()-1] {
			t.Errorf("%s: series runs from %d (open %v) to close %v, want the range %d (%v) to %v",
				p.Pair, p.Time[0], p.Open[0], p.Close[p.Len()-1], f.Time[startup], f.Open[startup], f.Close[f.Len()-1])
		}
	}
}

// rangeLoader serves frames held in memory, by pair, cut to the range
// asked for, and records the ranges asked for and what it handed out.
type rangeLoader struct {
	frames map[string]*sdk.Frame
	mu     sync.Mutex
	asked  map[string][]market.Range
	given  []*datafile.Mapped
}

func (l *rangeLoader) Map(_ context.Context, k market.Key, r market.Range) (*datafile.Mapped, error) {
	l.mu.Lock()
	l.asked[k.Pair] = append(l.asked[k.Pair], r)
	l.mu.Unlock()
	f, ok := l.frames[k.Pair]
	if !ok {
		return nil, fmt.Errorf("%s: %w", k.Pair, market.ErrNotFound)
	}
	lo, hi := 0, f.Len()
	if r.Start != 0 {
		lo = f.Search(r.Start)
	}
	if r.End != 0 {
		hi = f.Search(r.End)
	}
	m := &datafile.Mapped{Frame: f.Slice(lo, hi)}
	l.mu.Lock()
	l.given = append(l.given, m)
	l.mu.Unlock()
	return m, nil
}

// With a time range, Load reads a series from its startup candles' open
// time on, and from its start only when candles are missing there (a gap
// before the range): the candles it keeps, and so the results, are those
// of a whole read.
func TestLoadReadsFromTheStartupCandles(t *testing.T) {
	t.Parallel()
	full := synthetic("FULL/USDT", 3000, 1)
	gapped := synthetic("GAP/USDT", 3000, 2)
	// Candles 1850..1899 missing: the 200 startup candles before 2000
	// reach back past the gap.
	gapped = &sdk.Frame{Pair: gapped.Pair, Timeframe: gapped.Timeframe,
		Time:   append(gapped.Time[:1850:1850], gapped.Time[1900:]...),
		Open:   append(gapped.Open[:1850:1850], gapped.Open[1900:]...),
		High:   append(gapped.High[:1850:1850], gapped.High[1900:]...),
		Low:    append(gapped.Low[:1850:1850], gapped.Low[1900:]...),
		Close:  append(gapped.Close[:1850:1850], gapped.Close[1900:]...),
		Volume: append(gapped.Volume[:1850:1850], gapped.Volume[1900:]...)}
	start := full.Time[2000] - full.Time[2000]%60_000 + 60_000
	cfg := parse(t, `{"strategy":"sma_cross","timeframe":"1m","exchange":{"name":"mem","pair_whitelist":["FULL/USDT","GAP/USDT"]}}`)
	cfg.Timerange = fmt.Sprintf("%d-", start/1000)
	st, _ := strategy.Lookup("sma_cross")
	plan, err := NewPlan(cfg, st.Spec())
	if err != nil {
		t.Fatal(err)
	}
	frames := map[string]*sdk.Frame{"FULL/USDT": full, "GAP/USDT": gapped}
	loader := &rangeLoader{frames: frames, asked: map[string][]market.Range{}}
	data, err := Load(context.Background(), loader, plan, quiet())
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Load(context.Background(), memLoader(frames), plan, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for k, f := range data.Frames() {
		w := whole.Frames()[k]
		if f.Len() != w.Len() || f.Time[0] != w.Time[0] || &f.Close[0] != &w.Close[0] {
			t.Errorf("%s: %d candles from %d, a whole read keeps %d from %d", f.Pair, f.Len(), f.Time[0], w.Len(), w.Time[0])
		}
	}
	need := plan.Needs[0].Range
	if got := loader.asked["FULL/USDT"]; len(got) != 1 || got[0] != need {
		t.Errorf("FULL/USDT: read %v, want only %v", got, need)
	}
	if got := loader.asked["GAP/USDT"]; len(got) != 2 || got[0] != need || got[1] != (market.Range{End: need.End}) {
		t.Errorf("GAP/USDT: read %v, want %v then from the start", got, need)
	}
	// The read of GAP/USDT given up is released at once, the rest by
	// Close.
	open := 0
	for _, m := range loader.given {
		if m.Frame != nil {
			open++
		}
	}
	if len(loader.given) != 3 || open != 2 {
		t.Errorf("%d of %d reads open, want 2 of 3", open, len(loader.given))
	}
	closeData(t, data, loader.given)
}

// columnsStrategy computes its entries from columns of its own, as
// strategies built on ta's indicators do: garbage once Populate returns.
type columnsStrategy struct{ columns int }

func (columnsStrategy) Spec() sdk.Spec { return sdk.Spec{Name: "columns", Timeframe: "1m"} }

func (s columnsStrategy) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	for range s.columns {
		col := make([]float64, f.Len())
		copy(col, f.Close)
		for i := 1; i < len(col); i++ {
			f.EnterLong[i] = f.EnterLong[i] || col[i] > col[i-1]
		}
	}
	return nil
}

// Prepare collects a big pair's indicator columns once its signals are
// made (the heap of candles would otherwise let them pile up pair after
// pair), and only when the strategy made some. Not parallel: it counts
// the process's forced collections.
func TestPrepareCollectsABigPairsColumns(t *testing.T) {
	mem := memLoader{"BIG/USDT": synthetic("BIG/USDT", collectAfter, 1)}
	cfg := parse(t, `{"strategy":"columns","timeframe":"1m","exchange":{"name":"mem","pair_whitelist":["BIG/USDT"]}}`)
	forced := func(columns int) uint32 {
		t.Helper()
		st := columnsStrategy{columns: columns}
		data := loadMem(t, cfg, st, mem)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := data.Prepare(context.Background(), st, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		data.summary.wait()
		return after.NumForcedGC - before.NumForcedGC
	}
	if n := forced(2); n != 1 {
		t.Errorf("two indicator columns: %d forced collections, want 1", n)
	}
	if n := forced(0); n != 0 {
		t.Errorf("no indicator columns: %d forced collections, want 0", n)
	}
}
