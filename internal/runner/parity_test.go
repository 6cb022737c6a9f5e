package runner_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/simexchange"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

var pairs = []string{"AAA/USDT", "BBB/USDT", "CCC/USDT"}

const (
	tf5m  = sdk.Timeframe("5m")
	dur   = 5 * 60_000
	start = int64(1704067200000) // 2024-01-01
	days  = 35                   // the parity test's month and more
)

// walk is a pair's 5m candles from 20 hours before start to n days after
// it: a seeded random walk around 100 on a 0.01 tick, each candle opening
// at the previous close, as on a venue that trades without pause.
func walk(pair string, seed uint64, n int) *sdk.Frame {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := &sdk.Frame{Pair: pair, Timeframe: tf5m}
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	price := 100.0
	for t := start - 240*dur; t < start+int64(n)*86_400_000; t += dur {
		open := price
		cl := round(open * math.Exp(rng.NormFloat64()*0.004))
		hi := round(max(open, cl) * (1 + math.Abs(rng.NormFloat64())*0.002))
		lo := round(min(open, cl) * (1 - math.Abs(rng.NormFloat64())*0.002))
		f.Time = append(f.Time, t)
		f.Open, f.High, f.Low, f.Close = append(f.Open, open), append(f.High, hi), append(f.Low, lo), append(f.Close, cl)
		f.Volume = append(f.Volume, 1000+float64(rng.IntN(1000)))
		price = cl
	}
	return f
}

// world is candles on pairs, a config trading them and its backtest of a
// strategy.
type world struct {
	days   int
	pairs  []string
	from   int64              // the first candle's open the backtest trades (its timerange's start)
	quote  string             // the pairs' quote currency, the paper account's
	wallet string             // the paper account's funds (dry_run_wallet)
	tick   map[string]float64 // the venue's price tick per pair
	frames map[string]*sdk.Frame
	cfg    *config.Config
	strat  sdk.Strategy
	bt     *result.Result
}

// newWorld is n days of candles on the pairs and their backtest.
func newWorld(t testing.TB, n int) *world { return newWorldWith(t, "", n) }

// newWorldWith is newWorld with more config keys (`"key": value, …`).
func newWorldWith(t testing.TB, extra string, n int) *world {
	t.Helper()
	strat, err := strategy.Lookup("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	return newWorldOf(t, strat, extra, n)
}

// newWorldOf is n days of candles on the pairs and the backtest of strat
// on them with more config keys.
func newWorldOf(t testing.TB, strat sdk.Strategy, extra string, n int) *world {
	t.Helper()
	var frames []*sdk.Frame
	for i, p := range pairs {
		frames = append(frames, walk(p, uint64(i+1), n))
	}
	return newWorldFrom(t, strat, frames, start, n, "10000", extra)
}

// newWorldFrom is the backtest of strat with more config keys on the
// frames (one pair each, in whitelist order) over n days from the open
// of the candle at from (the frames hold the startup candles before it),
// with a wallet of the pairs' quote currency and a hundredth of it staked
// per trade.
func newWorldFrom(t testing.TB, strat sdk.Strategy, frames []*sdk.Frame, from int64, n int, wallet, extra string) *world {
	t.Helper()
	dir := t.TempDir()
	st, err := market.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{days: n, from: from, wallet: wallet, tick: map[string]float64{}, frames: map[string]*sdk.Frame{}, strat: strat}
	for _, f := range frames {
		w.pairs = append(w.pairs, f.Pair)
		w.frames[f.Pair] = f
		sym, err := replay.DefaultSymbol(f.Pair, f)
		if err != nil {
			t.Fatal(err)
		}
		w.quote, w.tick[f.Pair] = sym.Quote, sym.TickSize.Float()
		if _, err := st.Append(context.Background(), market.Key{Exchange: "binance", Pair: f.Pair, Timeframe: tf5m, Type: market.Spot}, f); err != nil {
			t.Fatal(err)
		}
	}
	day := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("20060102") }
	stake := fixed.MustParse(wallet).Float() / 100
	w.cfg, err = config.Parse([]byte(fmt.Sprintf(`{"strategy": "sma_cross", "timeframe": "5m", "timerange": "%s-%s", "datadir": %q,
		"exchange": {"name": "binance", "pair_whitelist": ["%s"]}, "stake_amount": %v, "max_open_trades": 3, "dry_run_wallet": %s,
		"fee": 0.001, "fill_model": "realistic"%s}`, day(from), day(from+int64(n)*86_400_000), dir, strings.Join(w.pairs, `", "`), stake, wallet, extra)), "parity.json")
	if err != nil {
		t.Fatal(err)
	}
	if w.bt, err = backtest.Run(context.Background(), w.cfg, strat, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return w
}

// paper is a deployment of sma_cross on the simulator replaying the
// world's candles, stepped candle by candle.
type paper struct {
	store *deploy.Store
	lease deploy.Lease
	feed  *replay.Feed
	eng   *sim.Engine
	clk   *clock.Skipping
	x     exchange.Exchange
	dep   deploy.Deployment
	db    *db.DB
}

func newPaper(t testing.TB, w *world, wrap func(exchange.Exchange) exchange.Exchange) *paper {
	t.Helper()
	ctx := context.Background()
	var syms []sim.Symbol
	var series []replay.Series
	for _, p := range w.pairs {
		sym, err := replay.DefaultSymbol(p, w.frames[p])
		if err != nil {
			t.Fatal(err)
		}
		syms = append(syms, sym)
		s, err := replay.FromFrame(sym.Name, w.frames[p], sym.TickSize)
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, s)
	}
	simCfg := sim.DefaultConfig()
	simCfg.HistoryLimit = 1 << 20
	eng, err := sim.New(simCfg, syms, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := replay.New(eng, series, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.AdvanceTo(w.from); err != nil {
		t.Fatal(err)
	}
	if err := eng.CreateAccount("paper"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Fund(feed.Now(), "paper", w.quote, fixed.MustParse(w.wallet)); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSkipping(time.UnixMilli(w.from))
	sx, err := simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: "paper", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var x exchange.Exchange = sx
	if wrap != nil {
		x = wrap(sx)
	}
	d, err := db.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := tenancy.New(d, clk, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	store, err := deploy.New(deploy.Config{DB: d, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := store.Create(ctx, tenancy.Principal{Tenant: u.Tenant, User: u.ID}, deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim",
		Account: "paper", Pairs: w.pairs, Timeframe: tf5m})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := store.Acquire(ctx, "runner-1", 1, time.Hour)
	if err != nil || len(ls) != 1 {
		t.Fatal(ls, err)
	}
	return &paper{store: store, lease: ls[0], feed: feed, eng: eng, clk: clk, x: x, dep: dep, db: d}
}

func (p *paper) runner(t testing.TB, w *world) *runner.Runner {
	t.Helper()
	return p.runnerOn(t, w, p.clk)
}

func (p *paper) runnerOn(t testing.TB, w *world, clk clock.Clock) *runner.Runner {
	t.Helper()
	strat := w.strat
	spec := strat.Spec()
	params, err := spec.Resolve(w.cfg.StrategyParams)
	if err != nil {
		t.Fatal(err)
	}
	rules, acct, err := w.cfg.Trading(spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{Store: p.store, Lease: p.lease, Pairs: w.pairs, Timeframe: tf5m, Exchange: p.x, Strategy: strat, Params: params,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: clk, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run steps the runner from start to the close of the last candle.
func (p *paper) run(t testing.TB, r *runner.Runner, from, to int64) {
	t.Helper()
	ctx := context.Background()
	if err := r.Start(ctx, time.UnixMilli(from)); err != nil {
		t.Fatal(err)
	}
	for now := from + dur; now <= to; now += dur {
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatalf("step at %s: %v", time.UnixMilli(now).UTC(), err)
		}
	}
}

func (p *paper) trades(t *testing.T) []deploy.Trade {
	t.Helper()
	ts, err := p.store.Trades(context.Background(), p.lease.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// openAt is the open price of pair's candle at time ms.
func (w *world) openAt(pair string, ms int64) float64 {
	f := w.frames[pair]
	i := f.Search(ms)
	if i < 0 || i >= f.Len() || f.Time[i] != ms {
		return math.NaN()
	}
	return f.Open[i]
}

// compare matches the deployment's trades with the backtest's: the same
// pair, open candle and open price to the tick, and an exit either the
// same (reason, close candle, price within the tick) or differing in one
// of the ways docs/deployments.md names (counted by name in why). An
// unnamed difference fails the test.
func compare(t testing.TB, w *world, got []deploy.Trade) (exact, named int, why map[string]int) {
	why = map[string]int{}
	t.Helper()
	bt := slices.Clone(w.bt.Trades)
	slices.SortStableFunc(bt, func(a, b trade.Trade) int {
		return cmp.Or(cmp.Compare(a.OpenTime, b.OpenTime), strings.Compare(a.Pair, b.Pair))
	})
	slices.SortStableFunc(got, func(a, b deploy.Trade) int {
		return cmp.Or(cmp.Compare(a.Record.OpenTime, b.Record.OpenTime), strings.Compare(a.Record.Pair, b.Record.Pair))
	})
	if len(got) != len(bt) {
		t.Fatalf("the deployment made %d trades, the backtest %d", len(got), len(bt))
	}
	resting := func(r trade.ExitReason) bool {
		return r == trade.ExitStopLoss || r == trade.ExitROI || r == trade.ExitTrailingStop
	}
	for i, b := range bt {
		g, tick := got[i].Record, w.tick[b.Pair]
		where := fmt.Sprintf("trade %d (%s opened %s)", i, b.Pair, time.UnixMilli(b.OpenTime).UTC().Format(time.DateTime))
		if g.Pair != b.Pair || g.OpenTime != b.OpenTime || math.Abs(g.OpenRate-b.OpenRate) > tick/2 {
			t.Fatalf("%s: deployment opened %s at %s at %v, backtest at %v", where, g.Pair, time.UnixMilli(g.OpenTime).UTC(), g.OpenRate, b.OpenRate)
		}
		// The backtest closes the trades open at its end (force_exit); the
		// deployment keeps them open.
		if got[i].Open {
			if b.ExitReason != trade.ExitForce {
				t.Fatalf("%s: still open in the deployment, closed by %s in the backtest", where, b.ExitReason)
			}
			continue
		}
		open := w.openAt(b.Pair, g.CloseTime)
		sameCandle, atOpen := g.CloseTime == b.CloseTime, math.Abs(g.CloseRate-open) <= tick/2
		switch {
		case g.ExitReason == b.ExitReason && sameCandle && math.Abs(g.CloseRate-b.CloseRate) < tick:
			// The same; a stop resting on the venue triggers at the stop
			// floored to the tick, a take-profit at the ROI price raised
			// to it.
			exact++
		case g.ExitReason == b.ExitReason && resting(b.ExitReason) && g.CloseTime == b.CloseTime+dur && atOpen:
			// The exit the runner manages (the one of stop and take-profit
			// not resting on the venue; a trailing stop's distance that
			// changed inside the candle, or its stop while the activation
			// at trailing_stop_positive's offset rests; any trailing stop
			// on a venue without them): it sees the candle once it closed
			// and exits at the market at the next open.
			named++
			why[string(b.ExitReason)+" managed: one candle later"]++
		case g.ExitReason == b.ExitReason && b.ExitReason == trade.ExitROI && sameCandle && atOpen:
			// A take-profit already passed at the open: the backtest fills
			// it at the ROI price, the runner at the market.
			named++
			why["roi passed at the open: filled at the open"]++
		case g.ExitReason == b.ExitReason && b.ExitReason == trade.ExitTrailingStop && sameCandle && b.CloseTime == b.OpenTime:
			// A trailing stop that moved and fired in the trade's entry
			// candle: the backtest assumes the worst path through it (the
			// price rising just enough to move the stop, then falling back
			// to it); the venue's stop follows the candle's high.
			named++
			why["trailing stop in its entry candle: the backtest's worst path"]++
		case g.ExitReason == b.ExitReason && b.ExitReason == trade.ExitROI && sameCandle && g.CloseRate > b.CloseRate &&
			g.CloseRate-b.CloseRate < tick+b.CloseRate*0.0002:
			// The backtest takes profit once the profit ratio after both
			// fees passes the ROI step, and fills at the price where it
			// is reached before the exit fee (a little lower); the venue's
			// limit rests at the first price that takes profit, raised to
			// the tick.
			named++
			why["roi at the trigger price: above the backtest's ROI price by the exit fee's share"]++
		case b.ExitReason == trade.ExitSignal && resting(g.ExitReason) && sameCandle:
			// The resting exit filled at the open (a gap through it)
			// before the runner acted on the exit signal at that open.
			named++
			why[string(g.ExitReason)+" resting filled at the open of the exit signal"]++
		default:
			t.Errorf("%s: deployment closed at %s at %v (%s), backtest at %s at %v (%s)", where, time.UnixMilli(g.CloseTime).UTC(), g.CloseRate, g.ExitReason,
				time.UnixMilli(b.CloseTime).UTC(), b.CloseRate, b.ExitReason)
		}
	}
	return exact, named, why
}

// The central proof: a paper deployment on the simulator replaying a
// month of 5m candles on three pairs makes the backtest's trades.
// With sma_cross's own risk settings most exits are exit signals; the
// tight stop and the trailing stop make the runner manage stops too.
func TestPaperDeploymentMakesTheBacktestsTrades(t *testing.T) {
	racetest.Skip(t, "replays a month of candles on three pairs, compute-bound in one goroutine a run")
	// minExact is the share of trades that must match to the tick in
	// their exit too (every other one differs only as compare names it):
	// stops and take-profits rest on the venue and fill inside the candle,
	// as in the backtest; so does a trailing stop, as the venue's
	// trailing stop (on a venue without them it moves at candle closes
	// only: "trailing stop, moved at closes").
	// The month is the proof; the stop variants replay 12 days.
	for name, c := range map[string]struct {
		extra    string
		days     int
		minExact float64
	}{
		"sma_cross":     {"", days, 0.95},
		"tight stop":    {`, "stoploss": -0.01`, 12, 0.95},
		"trailing stop": {`, "stoploss": -0.02, "trailing_stop": true, "trailing_stop_positive": 0.005, "trailing_stop_positive_offset": 0.01`, 12, 0.95},
		"trailing stop, moved at closes": {`, "stoploss": -0.02, "trailing_stop": true, "trailing_stop_positive": 0.005, "trailing_stop_positive_offset": 0.01`,
			12, 0.5},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, c.extra, c.days)
			var wrap func(exchange.Exchange) exchange.Exchange
			if strings.HasSuffix(name, "moved at closes") {
				wrap = func(x exchange.Exchange) exchange.Exchange { return noTrailing{x} }
			}
			p := newPaper(t, w, wrap)
			p.run(t, p.runner(t, w), start, start+int64(c.days)*86_400_000-dur)
			got := p.trades(t)
			exact, late, why := compare(t, w, got)
			reasons := map[trade.ExitReason]int{}
			for _, g := range got {
				reasons[g.Record.ExitReason]++
			}
			t.Logf("%d trades (%v): %d the same, %d differing as named: %v", len(got), reasons, exact, late, why)
			if len(got) < 100 || float64(exact) < c.minExact*float64(len(got)) {
				t.Fatalf("too few trades compared exactly: %d of %d", exact, len(got))
			}
		})
	}
}

// noTrailing is a venue that takes no trailing stops: the runner moves
// the stop at candle closes.
type noTrailing struct{ exchange.Exchange }

func (n noTrailing) Markets(ctx context.Context) ([]exchange.Market, error) {
	ms, err := n.Exchange.Markets(ctx)
	for i := range ms {
		ms[i].TrailingBelow, ms[i].TrailingAbove = exchange.DeltaRange{}, exchange.DeltaRange{}
	}
	return ms, err
}

// refusesTrailing is a venue that lists trailing stops but refuses every
// order with a trailing delta (as Binance refuses a stop that would
// trigger at once), counting the refusals.
type refusesTrailing struct {
	exchange.Exchange
	refused int
}

func (x *refusesTrailing) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if req.TrailingDelta != 0 {
		x.refused++
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrRejected, HTTPStatus: 400, Code: -2010, Msg: "Order would trigger immediately."}
	}
	return x.Exchange.PlaceOrder(ctx, req)
}

// A venue that refuses the trailing stop: the runner rests the plain stop
// instead, for the rest of the trade (one refusal a trade, not one a
// candle), and makes the backtest's trades as with the stop moved at
// closes.
func TestTrailingStopRefusedRestsThePlainStop(t *testing.T) {
	w := newWorldWith(t, `, "stoploss": -0.02, "trailing_stop": true, "trailing_stop_positive": 0.005, "trailing_stop_positive_offset": 0.01`, 3)
	x := &refusesTrailing{}
	p := newPaper(t, w, func(e exchange.Exchange) exchange.Exchange { x.Exchange = e; return x })
	p.run(t, p.runner(t, w), start, start+3*86_400_000-dur)
	got := p.trades(t)
	exact, named, why := compare(t, w, got)
	t.Logf("%d trades: %d the same, %d as named %v; %d trailing stops refused", len(got), exact, named, why, x.refused)
	if x.refused == 0 || x.refused > len(got) {
		t.Fatalf("%d trailing stops refused for %d trades: want one at most a trade", x.refused, len(got))
	}
}

// faulty injects the venue's failures at the Exchange seam: rate limits
// before an order is placed, timeouts and 503s after it was placed, 503s
// on lookups, fills and candles.
type faulty struct {
	exchange.Exchange
	place, order, trades, klines int
	injected                     map[string]int
}

func (f *faulty) count(kind string) { f.injected[kind]++ }

var errTimeout = fmt.Errorf("post /api/v3/order: %w", context.DeadlineExceeded)

func unavailable() error {
	return &exchange.Error{HTTPStatus: 503, Code: -1001, Msg: "Internal error; unable to process your request. Please try again."}
}

func (f *faulty) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	f.place++
	switch f.place % 6 {
	case 1:
		f.count("429 before placing")
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrRateLimited, HTTPStatus: 429, Code: -1003, Msg: "Too many requests.", RetryAfter: time.Second}
	case 2:
		if _, err := f.Exchange.PlaceOrder(ctx, req); err != nil {
			return exchange.Order{}, err
		}
		f.count("timeout after placing")
		return exchange.Order{}, errTimeout
	case 3:
		if _, err := f.Exchange.PlaceOrder(ctx, req); err != nil {
			return exchange.Order{}, err
		}
		f.count("503 after placing")
		return exchange.Order{}, unavailable()
	case 4:
		f.count("503 before placing")
		return exchange.Order{}, unavailable()
	}
	return f.Exchange.PlaceOrder(ctx, req)
}

func (f *faulty) Order(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	if f.order++; f.order%3 == 1 {
		f.count("503 on lookup")
		return exchange.Order{}, unavailable()
	}
	return f.Exchange.Order(ctx, symbol, ref)
}

func (f *faulty) MyTrades(ctx context.Context, symbol string, limit int) ([]exchange.Trade, error) {
	if f.trades++; f.trades%4 == 1 {
		f.count("503 on fills")
		return nil, unavailable()
	}
	return f.Exchange.MyTrades(ctx, symbol, limit)
}

func (f *faulty) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	if f.klines++; f.klines%97 == 1 {
		f.count("503 on klines")
		return nil, unavailable()
	}
	return f.Exchange.Klines(ctx, symbol, tf, limit)
}

// venueOrders counts the orders the venue holds per client order id.
func (p *paper) venueOrders(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, s := range p.eng.Symbols() {
		os, _, err := p.eng.History("paper", s.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			n[o.ClientOrderID]++
		}
	}
	return n
}

// sameTrades fails unless a and b are the same trades.
func sameTrades(t *testing.T, a, b []deploy.Trade) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d trades, want %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i].Record, b[i].Record
		if x.Pair != y.Pair || x.OpenTime != y.OpenTime || x.OpenRate != y.OpenRate || x.CloseTime != y.CloseTime || x.CloseRate != y.CloseRate ||
			x.ExitReason != y.ExitReason || a[i].Open != b[i].Open {
			t.Fatalf("trade %d: %+v, want %+v", i, x, y)
		}
	}
}

// checkVenue fails when a client order id was used for two orders at the
// venue, an order the store recorded is missing there (or the other way
// round), or an order other than an open trade's resting exit is left
// open.
func checkVenue(t *testing.T, p *paper) {
	t.Helper()
	venue := p.venueOrders(t)
	for id, n := range venue {
		if n != 1 {
			t.Errorf("client order id %s used for %d orders at the venue", id, n)
		}
	}
	os, err := p.store.Orders(context.Background(), p.lease.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	open := map[int64]bool{}
	for _, tr := range p.trades(t) {
		open[tr.Seq] = tr.Open
	}
	placed, resting := 0, map[int64]int{}
	for _, o := range os {
		// Only an open trade's resting exit (a stop or a take-profit) is
		// left open, one per trade.
		if o.Open() {
			if resting[o.TradeSeq]++; !open[o.TradeSeq] || o.Leg != deploy.Exit || o.Type == exchange.MarketOrder || o.Status != exchange.StatusNew || resting[o.TradeSeq] > 1 {
				t.Errorf("order %s (%s %s of trade %d) left %s", o.ClientOrderID, o.Leg, o.Type, o.TradeSeq, o.Status)
			}
		}
		if o.VenueID != 0 {
			placed++
			if venue[o.ClientOrderID] != 1 {
				t.Errorf("order %s recorded as placed, not at the venue", o.ClientOrderID)
			}
		}
	}
	if placed != len(venue) {
		t.Errorf("%d orders at the venue, %d recorded as placed", len(venue), placed)
	}
}

const parityDays = 7 // the fault and crash runs replay a week

// With the venue failing in every way a runner must survive, the
// deployment makes the same trades as without faults, and no client
// order id is used twice at the venue.
func TestFaultsChangeNoTrade(t *testing.T) {
	racetest.Skip(t, "replays a week of candles twice, compute-bound in one goroutine")
	w := newWorld(t, parityDays)
	end := start + parityDays*86_400_000 - dur
	clean := newPaper(t, w, nil)
	clean.run(t, clean.runner(t, w), start, end)
	want := clean.trades(t)

	f := &faulty{injected: map[string]int{}}
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { f.Exchange = x; return f })
	p.run(t, p.runner(t, w), start, end)
	sameTrades(t, p.trades(t), want)
	checkVenue(t, p)
	t.Logf("%d trades; injected %v", len(want), f.injected)
	for _, k := range []string{"429 before placing", "timeout after placing", "503 after placing", "503 before placing", "503 on lookup", "503 on fills", "503 on klines"} {
		if f.injected[k] == 0 {
			t.Errorf("no %s injected", k)
		}
	}
}

// blackout places one order and then fails every call, as a runner
// killed between placing an order and recording its fill sees it.
type blackout struct {
	exchange.Exchange
	after int // orders placed before the blackout
	dark  bool
}

func (b *blackout) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if b.dark {
		return exchange.Order{}, unavailable()
	}
	if b.after--; b.after < 0 {
		b.dark = true
		if _, err := b.Exchange.PlaceOrder(ctx, req); err != nil {
			return exchange.Order{}, err
		}
		return exchange.Order{}, errTimeout
	}
	return b.Exchange.PlaceOrder(ctx, req)
}

func (b *blackout) Order(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	if b.dark {
		return exchange.Order{}, unavailable()
	}
	return b.Exchange.Order(ctx, symbol, ref)
}

// A runner cut off after placing an order (its fate unknown to it) loses
// its lease; the runner that takes the deployment over reconciles the
// order with the venue, finishes the cut tick and goes on: the same
// trades, no order twice, and the first runner's writes are refused.
func TestTakeoverReconcilesAndContinues(t *testing.T) {
	racetest.Skip(t, "replays a week of candles four times, compute-bound in one goroutine")
	w := newWorld(t, parityDays)
	end := start + parityDays*86_400_000 - dur
	clean := newPaper(t, w, nil)
	clean.run(t, clean.runner(t, w), start, end)
	want := clean.trades(t)

	for _, after := range []int{0, 7, 40} { // an entry, and exits
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			ctx := context.Background()
			var bo *blackout
			p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { bo = &blackout{Exchange: x, after: after}; return bo })
			r1 := p.runner(t, w)
			if err := r1.Start(ctx, time.UnixMilli(start)); err != nil {
				t.Fatal(err)
			}
			var cut int64
			for now := start + dur; now <= end; now += dur {
				if err := p.feed.AdvanceTo(now); err != nil {
					t.Fatal(err)
				}
				p.clk.Set(time.UnixMilli(now))
				if err := r1.Step(ctx, time.UnixMilli(now)); err != nil {
					cut = now
					break
				}
			}
			if cut == 0 {
				t.Fatal("the blackout never came")
			}
			// The lease expires; another runner takes the deployment.
			p.clk.Set(p.lease.Expires)
			ls, err := p.store.Acquire(ctx, "runner-2", 1, time.Hour)
			if err != nil || len(ls) != 1 || ls[0].Token != p.lease.Token+1 {
				t.Fatalf("takeover: %+v %v", ls, err)
			}
			p.lease, p.x = ls[0], bo.Exchange
			r2 := p.runner(t, w)
			p.clk.Set(time.UnixMilli(cut))
			if err := r2.Start(ctx, time.UnixMilli(cut)); err != nil {
				t.Fatal(err)
			}
			if err := r2.Step(ctx, time.UnixMilli(cut)); err != nil {
				t.Fatal(err)
			}
			for now := cut + dur; now <= end; now += dur {
				if err := p.feed.AdvanceTo(now); err != nil {
					t.Fatal(err)
				}
				p.clk.Set(time.UnixMilli(now))
				if err := r2.Step(ctx, time.UnixMilli(now)); err != nil {
					t.Fatal(err)
				}
			}
			sameTrades(t, p.trades(t), want)
			checkVenue(t, p)
			bo.dark = false
			if err := r1.Step(ctx, time.UnixMilli(end+dur)); !errors.Is(err, deploy.ErrFenced) {
				t.Fatalf("the first runner after the takeover: %v, want %v", err, deploy.ErrFenced)
			}
		})
	}
}

// tickStore tells on ticks the runner records.
type tickStore struct {
	runner.Store
	ticks chan int64
}

func (s *tickStore) RecordLater(ctx context.Context, l deploy.Lease, w deploy.Write) error {
	err := s.Store.RecordLater(ctx, l, w)
	if err == nil && !w.Tick.IsZero() {
		s.ticks <- w.Tick.UnixMilli()
	}
	return err
}

// polled hides a venue's kline stream.
type polled struct{ exchange.Exchange }

// Run ticks at each candle close and makes the trades Step makes: on the
// venue's kline stream as soon as every pair's candle closed (the clock
// never moves: the stream alone drives the ticks), and by polling the
// venue's klines at the close on a venue without a stream (the path a
// dropped stream falls back to).
func TestRunTicksAtCandleCloses(t *testing.T) {
	w := newWorld(t, 2)
	end := start + 2*86_400_000
	clean := newPaper(t, w, nil)
	clean.run(t, clean.runner(t, w), start, end)
	want := clean.trades(t)
	if len(want) == 0 {
		t.Fatal("no trades to compare")
	}
	for name, wrap := range map[string]func(exchange.Exchange) exchange.Exchange{
		"streamed": nil,
		"polled":   func(x exchange.Exchange) exchange.Exchange { return polled{x} },
	} {
		t.Run(name, func(t *testing.T) {
			p := newPaper(t, w, wrap)
			clk := clock.NewFake(time.UnixMilli(start))
			r := p.runnerOn(t, w, clk)
			ts := &tickStore{Store: p.store, ticks: make(chan int64, 1)}
			rules, acct, err := w.cfg.Trading(w.strat.Spec())
			if err != nil {
				t.Fatal(err)
			}
			params, _ := w.strat.Spec().Resolve(w.cfg.StrategyParams)
			limits := risk.Default()
			limits.MaxOrdersPerMinute = 0 // the clock stands still: every order would be in one minute
			if r, err = runner.New(runner.Config{Store: ts, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat, Params: params,
				Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: clk, RetryWait: time.Millisecond, Limits: &limits}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- r.Run(ctx) }()
			if err := clk.BlockUntil(ctx, 1); err != nil { // started, waiting for the first close
				t.Fatal(err)
			}
			for now := start + dur; now <= end; now += dur {
				if err := p.feed.AdvanceTo(now); err != nil {
					t.Fatal(err)
				}
				if wrap != nil {
					clk.Set(time.UnixMilli(now).Add(2 * time.Second)) // the default StreamWait
				}
				if got := <-ts.ticks; got != now {
					t.Fatalf("ticked at %v, want the close at %v", time.UnixMilli(got).UTC(), time.UnixMilli(now).UTC())
				}
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v", err)
			}
			sameTrades(t, p.trades(t), want)
		})
	}
}

// tickRecorder is a runner.Observer keeping the ticks that did their work
// and ended at or after their close.
type tickRecorder struct{ ticks []int64 }

func (o *tickRecorder) Ticked(closed, done time.Time, err error) {
	if err == nil && !done.Before(closed) {
		o.ticks = append(o.ticks, closed.UnixMilli())
	}
}
func (o *tickRecorder) Breaker(string, bool) {}

// With a schedule the runner ticks at the schedule's times, not at every
// close: every 20 minutes, each tick acting on the candle closed by then.
func TestScheduledTicks(t *testing.T) {
	w := newWorld(t, 1)
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { return polled{x} })
	clk := clock.NewFake(time.UnixMilli(start))
	ts := &tickStore{Store: p.store, ticks: make(chan int64, 1)}
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	params, _ := w.strat.Spec().Resolve(w.cfg.StrategyParams)
	cfg := runner.Config{Store: ts, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat, Params: params,
		Rules: rules, Account: acct, Clock: clk, RetryWait: time.Millisecond, Schedule: "*/20 * * * *"}
	obs := &tickRecorder{}
	cfg.Observe = obs
	r, err := runner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var ticks []int64
	for now := start + dur; now <= start+2*3_600_000; now += dur {
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		clk.Set(time.UnixMilli(now))
		if now%(20*60_000) == 0 {
			ticks = append(ticks, <-ts.ticks)
		} else if err := clk.BlockUntil(ctx, 1); err != nil { // no tick: waiting on
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if len(ticks) != 6 || ticks[0] != start+20*60_000 || ticks[5] != start+2*3_600_000 {
		t.Fatalf("ticks %v", ticks)
	}
	// The observer saw each tick.
	if got, want := fmt.Sprint(obs.ticks), fmt.Sprint(ticks); got != want {
		t.Errorf("observed ticks %s, want %s", got, want)
	}
	cfg.Schedule = "every 20 minutes"
	if _, err := runner.New(cfg); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Fatalf("a bad schedule: %v", err)
	}
}

// A paused deployment opens no trade until it is resumed (its open trades
// still exit); a stopped one stops its runner.
func TestPauseResumeStop(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 4)
	p := newPaper(t, w, nil)
	r := p.runner(t, w)
	day := int64(86_400_000)
	p.run(t, r, start, start+day)
	owner := tenancy.Principal{Tenant: p.lease.Tenant}
	entries := func() (n int) {
		os, err := p.store.Orders(ctx, p.lease.Tenant, p.dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			if o.Leg == deploy.Entry {
				n++
			}
		}
		return n
	}
	orders := entries
	n := orders()
	if _, err := p.store.Pause(ctx, owner, p.dep.ID); err != nil {
		t.Fatal(err)
	}
	step := func(now int64) error {
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		return r.Step(ctx, time.UnixMilli(now))
	}
	now := start + day
	for range 288 {
		now += dur
		if err := step(now); err != nil {
			t.Fatal(err)
		}
	}
	if orders() != n {
		t.Fatalf("a paused deployment opened trades: %d entry orders (was %d)", orders(), n)
	}
	for _, tr := range p.trades(t) {
		if tr.Open {
			t.Fatalf("a paused deployment did not manage its open trade %+v", tr.Record)
		}
	}
	if d, _ := p.store.Get(ctx, owner, p.dep.ID); !d.LastTick.Equal(time.UnixMilli(now)) {
		t.Fatalf("paused ticks not recorded: last tick %v", d.LastTick)
	}
	if _, err := p.store.Resume(ctx, owner, p.dep.ID); err != nil {
		t.Fatal(err)
	}
	for range 288 {
		now += dur
		if err := step(now); err != nil {
			t.Fatal(err)
		}
	}
	if orders() == n {
		t.Fatal("a resumed deployment opened no trade in a day")
	}
	eq, err := p.store.Equity(ctx, p.lease.Tenant, p.dep.ID)
	if err != nil || len(eq) != int((now-start)/3_600_000) {
		t.Fatalf("%d equity points over %d hours: %v", len(eq), (now-start)/3_600_000, err)
	}
	for _, e := range eq {
		if e.Time.UnixMilli()%3_600_000 != 0 || !(e.Equity > 9000 && e.Equity < 11000) {
			t.Fatalf("equity point %+v", e)
		}
	}
	if _, err := p.store.Stop(ctx, owner, p.dep.ID); err != nil {
		t.Fatal(err)
	}
	if err := step(now + dur); !errors.Is(err, deploy.ErrFenced) {
		t.Fatalf("step after stop: %v, want %v", err, deploy.ErrFenced)
	}
}

// A stop with flatten closes the open trades at the market at the next
// tick (their resting exits cancelled first), then stops the deployment:
// Run returns, nothing is left open at the venue.
func TestStopFlattenClosesTradesThenStops(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	p := newPaper(t, w, nil)
	r := p.runner(t, w)
	now := start
	p.run(t, r, start, now+dur)
	for now += dur; ; now += dur { // on until trades are open
		open := 0
		for _, tr := range p.trades(t) {
			if tr.Open {
				open++
			}
		}
		if open >= 2 {
			break
		}
		if err := p.feed.AdvanceTo(now + dur); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now + dur))
		if err := r.Step(ctx, time.UnixMilli(now+dur)); err != nil {
			t.Fatal(err)
		}
	}
	owner := tenancy.Principal{Tenant: p.lease.Tenant}
	if _, err := p.store.StopFlatten(ctx, owner, p.dep.ID); err != nil {
		t.Fatal(err)
	}
	now += dur
	if err := p.feed.AdvanceTo(now); err != nil {
		t.Fatal(err)
	}
	p.clk.Set(time.UnixMilli(now))
	if err := r.Step(ctx, time.UnixMilli(now)); !errors.Is(err, runner.ErrStopped) {
		t.Fatalf("step after stop --flatten: %v, want %v", err, runner.ErrStopped)
	}
	forced := 0
	for _, tr := range p.trades(t) {
		if tr.Open {
			t.Fatalf("trade %d still open after the flatten", tr.Seq)
		}
		if tr.Record.ExitReason == trade.ExitForce {
			forced++
			if tr.Record.CloseTime != now {
				t.Fatalf("trade %d forced out at %v, want the tick %v", tr.Seq, tr.Record.CloseTime, now)
			}
		}
	}
	if forced < 2 {
		t.Fatalf("%d trades closed by the flatten, want the 2 open", forced)
	}
	checkVenue(t, p)
	if d, _ := p.store.Get(ctx, owner, p.dep.ID); d.State != deploy.Stopped {
		t.Fatalf("state after the flatten: %s", d.State)
	}
	if err := r.Step(ctx, time.UnixMilli(now+dur)); !errors.Is(err, deploy.ErrFenced) {
		t.Fatalf("step after the stop: %v", err)
	}
}
