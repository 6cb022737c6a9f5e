package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
)

// A runner restarted after its daily loss limit paused the deployment
// (resumed, as a crash-restart loop would find it) goes on from the day's
// recorded start: it pauses the deployment again and buys nothing, where
// a runner starting the day afresh would take the equity now as the
// day's start and trade on.
func TestRestartKeepsTheDailyLoss(t *testing.T) {
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, "", 2)
	p := newPaper(t, w, nil)
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	l := risk.Default()
	l.MaxDailyLoss = 0.0002 // 2 USDT of the 10,000: a few round trips' fees
	cfg := runner.Config{Store: p.store, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &l}
	newRunner := func(at int64) *runner.Runner {
		r, err := runner.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, time.UnixMilli(at)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	step := func(r *runner.Runner, now int64) {
		t.Helper()
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
	}
	me := tenancy.Principal{Tenant: p.lease.Tenant}
	r := newRunner(start)
	now := start
	for d, _ := p.store.Get(ctx, me, p.dep.ID); d.State != deploy.Paused; d, _ = p.store.Get(ctx, me, p.dep.ID) {
		if now > start+200*dur {
			t.Fatal("the daily loss limit never paused the deployment")
		}
		now += dur
		step(r, now)
	}
	_, _, before := venueEntries(t, p)
	// Resumed, and its runner restarted (the same day), on candles that
	// want to buy.
	if _, err := p.store.Resume(ctx, me, p.dep.ID); err != nil {
		t.Fatal(err)
	}
	r = newRunner(now)
	for range 4 {
		now += dur
		step(r, now)
	}
	if d, _ := p.store.Get(ctx, me, p.dep.ID); d.State != deploy.Paused || audits(t, p)["deployment.risk_breach max_daily_loss"] != 2 {
		t.Fatalf("restarted after the day's loss: %s, breaches %v", d.State, audits(t, p))
	}
	if _, _, after := venueEntries(t, p); len(after) != len(before) {
		t.Fatalf("restarted after the day's loss, it bought: %d entries, was %d", len(after), len(before))
	}
}

// An entry the account's limits refuse — summed over the account's
// deployments, checked by the store with the entry's intent — is neither
// recorded nor sent, and audited with the limit, though the deployment's
// own limits allow it.
func TestAccountLimitsRefuseEntries(t *testing.T) {
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, "", 2)
	p := newPaper(t, w, nil)
	me := tenancy.Principal{Tenant: p.lease.Tenant}
	if err := p.store.SetAccountLimits(ctx, me, p.dep.Spec.Venue, p.dep.Spec.Account, []byte(`{"max_orders_per_day": 2}`)); err != nil {
		t.Fatal(err)
	}
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	l := risk.Default() // the deployment's own: no daily count
	r, err := runner.New(runner.Config{Store: p.store, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &l})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 24; i++ {
		now := start + i*dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, times := venueEntries(t, p); len(times) != 2 {
		t.Fatalf("%d entries at the venue, want the account's 2 of the day", len(times))
	}
	if a := audits(t, p); a["deployment.order_refused max_orders_per_day"] == 0 {
		t.Fatalf("no refusal audited: %v", a)
	}
	entries := 0
	os, err := p.store.Orders(ctx, me.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		if o.Leg == deploy.Entry {
			entries++
		}
	}
	if entries != 2 {
		t.Fatalf("%d entries recorded, want 2", entries)
	}
}

// A hostile strategy on five deployments of one account, wanting well
// over 1,000 orders within one minute of the clock (a runner catching up
// on candles), with no per-minute limit of their own: the account's
// max_orders_per_minute, summed over them, holds the entries the venue
// gets to the limit; every other entry is refused and audited with the
// limit; the exits all go out.
func TestHostileAccountIsHeldToItsOrdersPerMinute(t *testing.T) {
	const deployments, limit = 5, 40
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, "", 1)
	p := newPaper(t, w, nil)
	me := tenancy.Principal{Tenant: p.lease.Tenant}
	if err := p.store.SetAccountLimits(ctx, me, p.dep.Spec.Venue, p.dep.Spec.Account, []byte(`{"max_orders_per_minute": 40}`)); err != nil {
		t.Fatal(err)
	}
	for range deployments - 1 {
		if _, err := p.store.Create(ctx, me, p.dep.Spec); err != nil {
			t.Fatal(err)
		}
	}
	more, err := p.store.Acquire(ctx, "runner-2", deployments-1, time.Hour)
	if err != nil || len(more) != deployments-1 {
		t.Fatal(more, err)
	}
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	own := risk.Default()
	own.MaxOrdersPerMinute = 0 // only the account's binds
	var runners []*runner.Runner
	for _, l := range append([]deploy.Lease{p.lease}, more...) {
		r, err := runner.New(runner.Config{Store: p.store, Lease: l, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
			Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &own})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	const candles = 200 // inside one minute of the clock, which stands still
	for i := int64(1); i <= candles; i++ {
		now := start + i*dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		for _, r := range runners {
			if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, _, sent := venueEntries(t, p)
	refused := 0
	rows, err := p.db.Query(ctx, `SELECT detail FROM audit_log WHERE action = 'deployment.order_refused'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var detail string
		if err := rows.Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(detail, `"limit":"max_orders_per_minute"`) {
			t.Fatalf("refused for another limit: %s", detail)
		}
		refused++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sent)+refused < 1000 {
		t.Fatalf("the strategy wanted %d entries in the minute, want over 1,000 for the proof", len(sent)+refused)
	}
	if len(sent) == 0 || len(sent) > limit {
		t.Fatalf("%d entries reached the venue in one minute, on an account allowing %d orders", len(sent), limit)
	}
	u, err := p.store.AccountUsage(ctx, me.Tenant, p.dep.Spec.Venue, p.dep.Spec.Account, deploy.Day(p.clk.Now()))
	if err != nil || u.OrdersLastMinute < len(sent) {
		t.Fatalf("usage counts %d orders in the last minute, %d entries were sent (%v)", u.OrdersLastMinute, len(sent), err)
	}
	// Exits are never refused: every trade but the last candles' closed.
	for _, l := range append([]deploy.Lease{p.lease}, more...) {
		ts, err := p.store.Trades(ctx, me.Tenant, l.Deployment)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range ts {
			if tr.Open && tr.Record.OpenTime < start+(candles-2)*dur {
				t.Fatalf("trade %d of %s was not let out: %+v", tr.Seq, l.Deployment, tr.Record)
			}
		}
	}
	t.Logf("%d entries sent, %d refused, %d orders in the minute", len(sent), refused, u.OrdersLastMinute)
}

// Two deployments on one account, each within its own daily loss limit
// (0.1 % of its 10,000), together past the account's (0.02 % of the
// summed 20,000), set while they run (each runner's own limits become
// the tighter at its next start; the account's sums bind at once), with
// the account's flatten_on_breach: the first runner
// to see the summed loss pauses both; the other sees the pause at its
// next close; both close their trades (nothing is left open at the
// venue) and buy nothing more that day. One alert of the account's breach
// for both runners, one account.risk_breach audited. The next UTC day,
// resumed, they trade again.
//
// Checked at every close of a deployment with a loss limit of its own, or
// (without one) when an entry is refused for the account's loss.
func TestAccountBreachPausesAndFlattensItsDeployments(t *testing.T) {
	t.Run("at the close", func(t *testing.T) { testAccountBreach(t, 0.001) })
	t.Run("at an entry", func(t *testing.T) { testAccountBreach(t, 0) })
}

func testAccountBreach(t *testing.T, ownLoss float64) {
	ctx := context.Background()
	w := newWorldOf(t, hostile{}, "", 2)
	p := newPaper(t, w, nil)
	me := tenancy.Principal{Tenant: p.lease.Tenant}
	if _, err := p.store.Create(ctx, me, p.dep.Spec); err != nil {
		t.Fatal(err)
	}
	more, err := p.store.Acquire(ctx, "runner-2", 1, time.Hour)
	if err != nil || len(more) != 1 {
		t.Fatal(more, err)
	}
	leases := []deploy.Lease{p.lease, more[0]}
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	limits := risk.Default()
	limits.MaxDailyLoss = ownLoss
	var alerts []runner.Alert
	var runners []*runner.Runner
	for _, l := range leases {
		r, err := runner.New(runner.Config{Store: p.store, Lease: l, Pairs: pairs, Timeframe: tf5m, Exchange: p.x, Strategy: w.strat,
			Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, RetryWait: time.Millisecond, Limits: &limits,
			Alert: func(_ context.Context, a runner.Alert) { alerts = append(alerts, a) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	if err := p.store.SetAccountLimits(ctx, me, p.dep.Spec.Venue, p.dep.Spec.Account, []byte(`{"max_daily_loss": 0.0002, "flatten_on_breach": true}`)); err != nil {
		t.Fatal(err)
	}
	now := start
	step := func() {
		t.Helper()
		now += dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		for _, r := range runners {
			if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
				t.Fatal(err)
			}
		}
	}
	states := func() (out []deploy.State) {
		for _, l := range leases {
			d, err := p.store.Get(ctx, me, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.State)
		}
		return out
	}
	for s := states(); s[0] != deploy.Paused || s[1] != deploy.Paused; s = states() {
		if now > start+200*dur {
			t.Fatalf("the account's daily loss never paused its deployments: %v", s)
		}
		step()
	}
	step() // the closes where each runner acts on the pause
	_, _, paused := venueEntries(t, p)
	day := deploy.Day(p.clk.Now())
	for ; deploy.Day(time.UnixMilli(now+dur)) == day; step() {
	}
	if _, _, after := venueEntries(t, p); len(after) != len(paused) {
		t.Fatalf("paused by the account, they bought: %d entries, were %d", len(after), len(paused))
	}
	for _, l := range leases {
		d, _ := p.store.Get(ctx, me, l.Deployment)
		if !strings.Contains(d.Risk.Halted, "account sim/paper: risk_limits.max_daily_loss") {
			t.Fatalf("%s: risk state %+v", l.Deployment, d.Risk)
		}
		ts, err := p.store.Trades(ctx, me.Tenant, l.Deployment)
		if err != nil {
			t.Fatal(err)
		}
		forced := 0
		for _, tr := range ts {
			if tr.Open {
				t.Fatalf("%s: trade %d not flattened", l.Deployment, tr.Seq)
			}
			if tr.Record.ExitReason == trade.ExitForce {
				forced++
			}
		}
		if forced == 0 && ownLoss > 0 { // (at an entry, this strategy holds nothing: it sold the candle before)
			t.Fatalf("%s: no trade closed by the breach's flatten", l.Deployment)
		}
	}
	for _, s := range p.eng.Symbols() {
		if os, err := p.eng.OpenOrders("paper", s.Name); err != nil || len(os) != 0 {
			t.Fatalf("%s: %d orders open at the venue (%v)", s.Name, len(os), err)
		}
	}
	var breachAlerts []runner.Alert
	for _, a := range alerts {
		if a.Type != runner.AlertRefused {
			breachAlerts = append(breachAlerts, a)
		}
	}
	if len(breachAlerts) != 1 || breachAlerts[0].Type != runner.AlertAccountBreach || breachAlerts[0].Account != "sim/paper" || breachAlerts[0].Limit != "max_daily_loss" {
		t.Fatalf("alerts %+v", alerts)
	}
	var breaches int
	if err := p.db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'account.risk_breach' AND target = 'sim/paper'`).Scan(&breaches); err != nil || breaches != 1 {
		t.Fatalf("%d account breaches audited (%v)", breaches, err)
	}
	// The next UTC day: resumed, they trade.
	for _, l := range leases {
		if _, err := p.store.Resume(ctx, me, l.Deployment); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		step()
	}
	if s := states(); s[0] != deploy.Running || s[1] != deploy.Running {
		t.Fatalf("resumed the next day: %v", s)
	}
	if _, _, next := venueEntries(t, p); len(next) == len(paused) {
		t.Fatal("resumed the next day, they bought nothing")
	}
}
