package runner_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/simexchange"
	"github.com/tradai/tradai/internal/tenancy"
)

// switchFleet is n live-mode deployments of the hostile strategy on one
// simulator, each on its own account holding a trade on every pair
// (bought at the market, its exit resting on the venue), held by a runner
// host.
type switchFleet struct {
	store *deploy.Store
	db    *db.DB
	eng   *sim.Engine
	owner tenancy.Principal
	ids   []string
	accts map[string]string // deployment → venue account
	stop  func()            // ends the host
}

func newSwitchFleet(tb testing.TB, w *world, n int) *switchFleet {
	tb.Helper()
	ctx := context.Background()
	var syms []sim.Symbol
	var series []replay.Series
	for _, p := range pairs {
		sym, err := replay.DefaultSymbol(p, w.frames[p])
		if err != nil {
			tb.Fatal(err)
		}
		syms = append(syms, sym)
		s, err := replay.FromFrame(sym.Name, w.frames[p], sym.TickSize)
		if err != nil {
			tb.Fatal(err)
		}
		series = append(series, s)
	}
	simCfg := sim.DefaultConfig()
	simCfg.HistoryLimit = 1 << 20
	eng, err := sim.New(simCfg, syms, nil)
	if err != nil {
		tb.Fatal(err)
	}
	feed, err := replay.New(eng, series, replay.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := feed.AdvanceTo(start + dur); err != nil {
		tb.Fatal(err)
	}
	d, err := db.Open(ctx, "sqlite://"+filepath.Join(tb.TempDir(), "tradai.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		tb.Fatal(err)
	}
	store, err := deploy.New(deploy.Config{DB: d})
	if err != nil {
		tb.Fatal(err)
	}
	f := &switchFleet{store: store, db: d, eng: eng, owner: tenancy.Principal{Tenant: u.Tenant, User: u.ID}, accts: map[string]string{}}
	exs := map[string]exchange.Exchange{}
	for i := range n {
		acct := fmt.Sprintf("paper%d", i)
		if err := eng.CreateAccount(acct); err != nil {
			tb.Fatal(err)
		}
		if _, err := eng.Fund(feed.Now(), acct, "USDT", fixed.MustParse("10000")); err != nil {
			tb.Fatal(err)
		}
		x, err := simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: acct})
		if err != nil {
			tb.Fatal(err)
		}
		dep, err := store.Create(ctx, f.owner, deploy.Spec{Strategy: "hostile", Mode: deploy.Live, Venue: "sim", Account: acct, Pairs: pairs, Timeframe: tf5m})
		if err != nil {
			tb.Fatal(err)
		}
		f.ids, f.accts[dep.ID], exs[dep.ID] = append(f.ids, dep.ID), acct, x
	}
	spec := w.strat.Spec()
	rules, acct, err := w.cfg.Trading(spec)
	if err != nil {
		tb.Fatal(err)
	}
	newRunner := func(l deploy.Lease, clk clock.Clock) *runner.Runner {
		r, err := runner.New(runner.Config{Store: store, Lease: l, Pairs: pairs, Timeframe: tf5m, Exchange: exs[l.Deployment], Strategy: w.strat,
			Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: clk, RetryWait: time.Millisecond})
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	// Each deployment opens a trade on every pair at the candle that
	// closed, its exit resting on the venue.
	ls, err := store.Acquire(ctx, "seed", n, time.Hour)
	if err != nil || len(ls) != n {
		tb.Fatal(len(ls), err)
	}
	seedClk := clock.NewSkipping(time.UnixMilli(start + dur))
	for _, l := range ls {
		r := newRunner(l, seedClk)
		if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
			tb.Fatal(err)
		}
		if err := r.Step(ctx, time.UnixMilli(start+dur)); err != nil {
			tb.Fatal(err)
		}
		if err := store.Release(ctx, l); err != nil {
			tb.Fatal(err)
		}
	}
	for _, id := range f.ids {
		if open := f.venueOpen(tb, id); open != len(pairs) {
			tb.Fatalf("deployment %s has %d orders resting at the venue, want one per pair", id, open)
		}
	}
	// The runner tier, on the system clock: each job restores its trades
	// and waits for the next candle close.
	host, err := runner.NewHost(runner.HostConfig{Name: "runner-1", Leases: store, Max: n,
		Job: func(ctx context.Context, l deploy.Lease) error { return newRunner(l, nil).Run(ctx) }})
	if err != nil {
		tb.Fatal(err)
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = host.Run(hctx) }()
	f.stop = func() { cancel(); <-done }
	tb.Cleanup(f.stop)
	f.wait(tb, "every deployment running", func(d deploy.Deployment) bool {
		return d.State == deploy.Running && d.LastTick.After(time.UnixMilli(start+dur))
	})
	return f
}

// wait waits until every deployment of the switchFleet satisfies ok.
func (f *switchFleet) wait(tb testing.TB, what string, ok func(deploy.Deployment) bool) {
	tb.Helper()
	for i := 0; ; i++ {
		ds, err := f.store.List(context.Background(), f.owner)
		if err != nil {
			tb.Fatal(err)
		}
		all := true
		for _, d := range ds {
			all = all && ok(d)
		}
		if all {
			return
		}
		if i == 6000 {
			tb.Fatalf("waited a minute for %s", what)
		}
		_ = clock.Real().Sleep(context.Background(), 10*time.Millisecond)
	}
}

// venueOpen counts the deployment's orders open at the venue.
func (f *switchFleet) venueOpen(tb testing.TB, id string) int {
	tb.Helper()
	n := 0
	for _, s := range f.eng.Symbols() {
		os, err := f.eng.OpenOrders(f.accts[id], s.Name)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(os)
	}
	return n
}

// held is the base assets the deployment's account holds at the venue.
func (f *switchFleet) held(tb testing.TB, id string) map[string]fixed.Dec {
	tb.Helper()
	bs, err := f.eng.Balances(f.accts[id])
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]fixed.Dec{}
	for _, b := range bs {
		if b.Asset != "USDT" && b.Free+b.Locked != 0 {
			out[b.Asset] = b.Free + b.Locked
		}
	}
	return out
}

// killAll is the kill switch with flatten, waited out: every deployment
// stopped.
func (f *switchFleet) killAll(tb testing.TB) deploy.StopAllResult {
	tb.Helper()
	res, err := f.store.StopAll(context.Background(), f.owner, deploy.StopAllRequest{Flatten: true, Modes: []deploy.Mode{deploy.Live}})
	if err != nil {
		tb.Fatal(err)
	}
	f.wait(tb, "every deployment stopped", func(d deploy.Deployment) bool { return d.State == deploy.Stopped })
	return res
}

// The kill switch under load: 50 live-mode deployments, one call (every
// live one, with flatten); every one stops, its resting exits cancelled
// and its positions sold: nothing is left open at the venue. Audited with
// who.
func TestKillSwitchStopsAndFlattensFiftyDeployments(t *testing.T) {
	w := newWorldOf(t, hostile{}, "", 1)
	f := newSwitchFleet(t, w, 50)
	res := f.killAll(t)
	if len(res.Asked) != 50 || len(res.Stopped) != 0 {
		t.Fatalf("stop-all asked %d and stopped %d, want the 50 held asked", len(res.Asked), len(res.Stopped))
	}
	for _, id := range f.ids {
		if n := f.venueOpen(t, id); n != 0 {
			t.Errorf("deployment %s: %d orders still open at the venue", id, n)
		}
		// What the account holds of the base assets is below a lot:
		// the dust a commission taken in the base asset leaves.
		for asset, q := range f.held(t, id) {
			if q.Float() >= 0.01 {
				t.Errorf("deployment %s still holds %s %s at the venue", id, q, asset)
			}
		}
		ts, err := f.store.Trades(context.Background(), f.owner.Tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range ts {
			if tr.Open {
				t.Errorf("deployment %s: trade %d still open", id, tr.Seq)
			}
		}
	}
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'deployment.stop_all' AND user_id = ?`, f.owner.User).Scan(&n); err != nil || n != 50 {
		t.Fatalf("stop-all audited with who: %d entries, %v", n, err)
	}
}

// BenchmarkKillSwitch is the time from the kill switch's call (with
// flatten) to the 50th deployment stopped, its trades sold (target 2 s).
func BenchmarkKillSwitch(b *testing.B) {
	w := newWorldOf(b, hostile{}, "", 1)
	for b.Loop() {
		b.StopTimer()
		f := newSwitchFleet(b, w, 50)
		b.StartTimer()
		f.killAll(b)
		b.StopTimer()
		f.stop()
		b.StartTimer()
	}
}
