package runner_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// hostile wants to trade on every candle: it enters on every other
// candle and exits on the ones between, on every pair it is given.
type hostile struct{}

func (hostile) Spec() sdk.Spec {
	return sdk.Spec{Name: "hostile", Timeframe: tf5m, StartupCandles: 1, Risk: sdk.Risk{Stoploss: -0.5, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 10}}}}
}

func (hostile) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	for i, t := range f.Time {
		f.EnterLong[i] = (t/dur)%2 == 0
		f.ExitLong[i] = (t/dur)%2 == 1
	}
	return nil
}

// audits counts the deployment's audit entries by action and limit.
func audits(t *testing.T, p *paper) map[string]int {
	t.Helper()
	rows, err := p.db.Query(context.Background(), `SELECT action, detail FROM audit_log WHERE target = ?`, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var action, detail string
		if err := rows.Scan(&action, &detail); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Limit string `json:"limit"`
		}
		_ = json.Unmarshal([]byte(detail), &d)
		n[action+" "+d.Limit]++
	}
	return n
}

// venueEntries are the buys the venue received, by pair, and their
// quote values.
func venueEntries(t *testing.T, p *paper) (byPair map[string]int, notional []float64, times []int64) {
	t.Helper()
	byPair = map[string]int{}
	for _, s := range p.eng.Symbols() {
		os, _, err := p.eng.History("paper", s.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			if o.Side == sim.Buy {
				byPair[s.Name]++
				v := o.CumQuote
				if v == 0 {
					v = o.OrigQuoteQty
				}
				notional = append(notional, v.Float())
				times = append(times, o.Time)
			}
		}
	}
	return byPair, notional, times
}

// A hostile strategy — 100 times its allowed size, a pair not allowed, an
// order on every candle as fast as the ticks come, buying on after its
// daily loss limit — is held inside every limit, and each breach is in
// the audit log (and, for the loss, alerted).
func TestHostileStrategyIsHeldInsideTheLimits(t *testing.T) {
	ctx := context.Background()
	var restart func() *runner.Runner // the last run's runner again, as after a crash
	w := newWorldOf(t, hostile{}, `, "risk_limits": {"max_order_notional": 150}`, 2)
	run := func(t *testing.T, limits risk.Limits, stake float64, ticks int, clockMoves bool) (*paper, *runner.Runner, []runner.Alert) {
		t.Helper()
		p := newPaper(t, w, nil)
		spec := w.strat.Spec()
		rules, acct, err := w.cfg.Trading(spec)
		if err != nil {
			t.Fatal(err)
		}
		acct.StakeAmount = stake
		if stake*3 > acct.StartingBalance { // the money to want it with, at the venue too
			acct.StartingBalance = stake * 3
			if _, err := p.eng.Fund(p.feed.Now(), "paper", "USDT", fixed.MustParse("10000000")); err != nil {
				t.Fatal(err)
			}
		}
		var alerts []runner.Alert
		cfg := runner.Config{Store: p.store, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
			Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &limits,
			Alert: func(_ context.Context, a runner.Alert) { alerts = append(alerts, a) }}
		r, err := runner.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		restart = func() *runner.Runner {
			r, err := runner.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= ticks; i++ {
			now := start + int64(i)*dur
			if err := p.feed.AdvanceTo(now); err != nil {
				t.Fatal(err)
			}
			if clockMoves {
				p.clk.Set(time.UnixMilli(now))
			} // else: the ticks come faster than the clock moves (a runner catching up)
			if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		return p, r, alerts
	}

	t.Run("100 times its size, a pair not allowed", func(t *testing.T) {
		l := risk.Default()
		l.MaxOrderNotional = 150
		l.AllowedPairs = []string{"AAA/USDT", "BBB/USDT"}
		// AAA and BBB at the allowed stake (100); CCC is not allowed.
		p, _, _ := run(t, l, 100, 24, true)
		byPair, notional, _ := venueEntries(t, p)
		if byPair["CCCUSDT"] != 0 || byPair["AAAUSDT"] == 0 || byPair["BBBUSDT"] == 0 {
			t.Fatalf("entries at the venue by pair: %v", byPair)
		}
		if a := audits(t, p); a["deployment.order_refused allowed_pairs"] == 0 {
			t.Fatalf("no refusal audited for the pair not allowed: %v", a)
		}
		for _, v := range notional {
			if v > 150 {
				t.Fatalf("an entry of %v at the venue, above max_order_notional 150", v)
			}
		}
		// 100 times the size: every entry refused, none reaches the venue.
		p, _, alerts := run(t, l, 100*150, 24, true)
		if byPair, _, _ := venueEntries(t, p); len(byPair) != 0 {
			t.Fatalf("entries of 100 times the allowed size reached the venue: %v", byPair)
		}
		if a := audits(t, p); a["deployment.order_refused max_order_notional"] < 12 {
			t.Fatalf("refusals audited: %v", a)
		}
		// Alerted too, once an hour by limit: two hours of candles, two
		// alerts of each limit.
		byLimit := map[string]int{}
		for _, a := range alerts {
			if a.Type == runner.AlertRefused && a.Deployment == p.dep.ID {
				byLimit[a.Limit]++
			}
		}
		if len(alerts) != 4 || byLimit["max_order_notional"] != 2 || byLimit["allowed_pairs"] != 2 {
			t.Fatalf("refusal alerts: %+v", alerts)
		}
	})

	t.Run("an order on every candle, the clock standing still", func(t *testing.T) {
		l := risk.Default()
		l.MaxOrdersPerMinute = 10
		p, _, _ := run(t, l, 100, 200, false) // 200 candles' worth of orders inside one minute
		_, _, times := venueEntries(t, p)
		if len(times) == 0 || len(times) > 10 {
			t.Fatalf("%d entries sent within a minute, want 1 to 10", len(times))
		}
		if a := audits(t, p); a["deployment.order_refused max_orders_per_minute"] == 0 {
			t.Fatalf("no refusal audited: %v", a)
		}
		// Exits are never refused: every trade the entries opened closed.
		for _, tr := range p.trades(t) {
			if tr.Open && tr.Record.OpenTime < start+198*dur {
				t.Fatalf("trade %d was not let out: %+v", tr.Seq, tr.Record)
			}
		}
	})

	t.Run("buying on after the daily loss limit", func(t *testing.T) {
		l := risk.Default()
		l.MaxDailyLoss = 0.0002 // 2 USDT of the 10,000: a few round trips' fees
		p, r, alerts := run(t, l, 100, 200, true)
		a := audits(t, p)
		if a["deployment.risk_breach max_daily_loss"] != 1 {
			t.Fatalf("breaches audited: %v", a)
		}
		d, err := p.store.Get(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID)
		if err != nil || d.State != deploy.Paused || d.Risk.Halted == "" {
			t.Fatalf("after the breach: %s %+v %v", d.State, d.Risk, err)
		}
		if len(alerts) != 1 || alerts[0].Limit != "max_daily_loss" || alerts[0].Deployment != p.dep.ID {
			t.Fatalf("alerts %+v", alerts)
		}
		// Nothing bought after the breach; every trade let out.
		_, _, times := venueEntries(t, p)
		breach := d.Risk.HaltedAt.UnixMilli()
		for _, at := range times {
			if at > breach {
				t.Fatalf("an entry at %v, after the breach at %v", time.UnixMilli(at).UTC(), d.Risk.HaltedAt.UTC())
			}
		}
		checkVenue(t, p)
		// Its equity when paused is within one candle's trades of the limit.
		eq := 10000.0
		for _, tr := range p.trades(t) {
			if !tr.Open {
				eq += tr.Record.ProfitAbs
			}
		}
		if eq < 10000*(1-0.0002)-10 {
			t.Fatalf("equity %v, far below the limit", eq)
		}
		// Resumed while the breach holds, it is paused again at once.
		if _, err := p.store.Resume(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID); err != nil {
			t.Fatal(err)
		}
		now := start + 201*dur // the same day: the day's loss still counts
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		if d, _ := p.store.Get(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID); d.State != deploy.Paused || audits(t, p)["deployment.risk_breach max_daily_loss"] != 2 {
			t.Fatalf("resumed during the breach: %s, breaches %v", d.State, audits(t, p))
		}
		if _, _, after := venueEntries(t, p); len(after) != len(times) {
			t.Fatalf("resumed during the breach, it bought: %d entries, was %d", len(after), len(times))
		}
		// A restarted runner still shows why the deployment is paused.
		r = restart()
		if err := r.Start(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		now += dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		if d, _ := p.store.Get(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID); d.State != deploy.Paused || d.Risk.Halted == "" {
			t.Fatalf("after a restart: %s %+v", d.State, d.Risk)
		}
	})

	t.Run("flattened at the daily loss", func(t *testing.T) {
		l := risk.Default()
		l.MaxDailyLoss = 0.0002
		l.FlattenOnBreach = true
		p, _, alerts := run(t, l, 100, 200, true)
		if a := audits(t, p); a["deployment.risk_breach max_daily_loss"] != 1 {
			t.Fatalf("breaches audited: %v", a)
		}
		if len(alerts) != 1 || alerts[0].Limit != "max_daily_loss" || !alerts[0].Flattened {
			t.Fatalf("alerts %+v, want one saying the trades were closed", alerts)
		}
		d, err := p.store.Get(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID)
		if err != nil || d.State != deploy.Paused {
			t.Fatalf("after the breach: %s %v", d.State, err)
		}
		// Closed at the breach, for the breach: no trade left, nothing
		// open at the venue.
		forced := 0
		for _, tr := range p.trades(t) {
			if tr.Open {
				t.Fatalf("trade %d still open after a flatten on breach", tr.Seq)
			}
			if tr.Record.ExitReason == trade.ExitForce && tr.Record.CloseTime == d.Risk.HaltedAt.UnixMilli() {
				forced++
			}
		}
		if forced == 0 {
			t.Fatal("no trade was closed at the breach")
		}
		checkVenue(t, p)
	})
}

// down is a venue whose order placement fails (503) while down is set.
type down struct {
	exchange.Exchange
	down bool
}

func (d *down) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if d.down {
		return exchange.Order{}, unavailable()
	}
	return d.Exchange.PlaceOrder(ctx, req)
}

// The venue's circuit breaker opens after 5 failures in a row: new orders
// are refused (audited), the deployment shows it open; after the
// cool-down (here an hour: twelve candles) the next order is a probe,
// whose success closes it.
func TestCircuitBreaker(t *testing.T) {
	obs := &breakerObserver{}
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, "", 1)
	var venue *down
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { venue = &down{Exchange: x, down: true}; return venue })
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{Store: p.store, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Breaker: risk.NewBreaker(5, time.Hour, p.clk),
		Observe: obs})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		t.Fatal(err)
	}
	step := func(i int) error {
		now := start + int64(i)*dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		return r.Step(ctx, time.UnixMilli(now))
	}
	show := func() deploy.Deployment {
		d, err := p.store.Get(ctx, tenancy.Principal{Tenant: p.lease.Tenant}, p.dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := step(1); err == nil { // an entry: 8 attempts fail
		t.Fatal("a tick whose order never reached the venue succeeded")
	}
	if err := step(3); err != nil { // the breaker is open: refused, not sent
		t.Fatal(err)
	}
	if d := show(); d.Risk.Breaker != string(risk.Open) || d.Risk.BreakerSince.IsZero() {
		t.Fatalf("risk state %+v, want the breaker open", d.Risk)
	}
	if a := audits(t, p); a["deployment.order_refused circuit_breaker"] == 0 {
		t.Fatalf("no refusal audited: %v", a)
	}
	venue.down = false
	if err := step(5); err != nil { // still open: nothing sent
		t.Fatal(err)
	}
	if byPair, _, _ := venueEntries(t, p); len(byPair) != 0 {
		t.Fatalf("entries reached the venue through the open breaker: %v", byPair)
	}
	if err := step(15); err != nil { // the cool-down passed: a probe goes, and works
		t.Fatal(err)
	}
	if d := show(); d.Risk.Breaker != string(risk.Closed) {
		t.Fatalf("risk state %+v, want the breaker closed again", d.Risk)
	}
	// The process's metrics saw it open and close again.
	if want := []bool{true, false}; !slices.Equal(obs.seen, want) {
		t.Errorf("the metrics saw the breaker %v (open?), want %v", obs.seen, want)
	}
	if byPair, _, _ := venueEntries(t, p); len(byPair) == 0 {
		t.Fatal("no entry reached the venue once it was back")
	}
}

// breakerObserver records what a runner tells the metrics of its breaker.
type breakerObserver struct{ seen []bool }

func (o *breakerObserver) Ticked(time.Time, time.Time, error) {}
func (o *breakerObserver) Breaker(_ string, open bool)        { o.seen = append(o.seen, open) }

// A loss limit's breach cancels the limit entries waiting to fill: the
// deployment pauses with nothing of its own bid at the venue.
func TestBreachCancelsWaitingEntries(t *testing.T) {
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, `, "order_types": {"entry": "limit", "exit": "market", "stoploss": "market", "stoploss_on_exchange": false}`, 1)
	a := &aloof{exited: map[int64]bool{}} // odd trades' entries bid 10 % under the price: they wait
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { a.Exchange = x; return a })
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	l := risk.Default()
	l.MaxDailyLoss = 0.0002
	r, err := runner.New(runner.Config{Store: p.store, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &l})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		t.Fatal(err)
	}
	me := tenancy.Principal{Tenant: p.lease.Tenant}
	d, _ := p.store.Get(ctx, me, p.dep.ID)
	for now := start + dur; d.State != deploy.Paused; now += dur {
		if now > start+200*dur {
			t.Fatal("the daily loss limit never paused the deployment")
		}
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		d, _ = p.store.Get(ctx, me, p.dep.ID)
	}
	for _, s := range p.eng.Symbols() {
		open, err := p.eng.OpenOrders("paper", s.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range open {
			if o.Side == sim.Buy {
				t.Fatalf("an entry still bids at the venue after the breach: %+v", o)
			}
		}
	}
	os, err := p.store.Orders(ctx, me.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, o := range os {
		if o.Leg == deploy.Entry && o.Status == exchange.StatusCanceled && o.Updated.Equal(d.Risk.HaltedAt) {
			cancelled++
		}
	}
	if cancelled == 0 {
		t.Fatal("no limit entry was waiting at the breach: the test proves nothing")
	}
}
