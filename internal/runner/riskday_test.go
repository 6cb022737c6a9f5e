package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/tenancy"
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
