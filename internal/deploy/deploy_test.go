package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
)

type bundle struct {
	store      *deploy.Store
	clk        *clock.Fake
	alice, bob tenancy.Principal
	d          *db.DB
}

func setup(t testing.TB, d *db.DB) bundle {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	ten := tenancy.New(d, clk, nil)
	a, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ten.CreateUser(ctx, "bob", "other")
	if err != nil {
		t.Fatal(err)
	}
	s, err := deploy.New(deploy.Config{DB: d, Clock: clk, MaxLogLines: 5, MaxLogBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	return bundle{store: s, clk: clk, alice: tenancy.Principal{Tenant: a.Tenant, User: a.ID}, bob: tenancy.Principal{Tenant: b.Tenant, User: b.ID}, d: d}
}

func spec() deploy.Spec {
	return deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim", Account: "paper-1",
		Pairs: []string{"BTC/USDT", "ETH/USDT"}, Timeframe: "5m", Config: []byte(`{"stake_amount": 100}`)}
}

func TestCreateGetListAndTenants(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		if dep.State != deploy.Starting || dep.Runner != "" || dep.Spec.Timeframe != "5m" || len(dep.Spec.Pairs) != 2 || string(dep.Spec.Config) != `{"stake_amount":100}` {
			t.Fatalf("created %+v", dep)
		}
		got, err := b.store.Get(ctx, b.alice, dep.ID)
		if err != nil || got.ID != dep.ID || got.Spec.Pairs[1] != "ETH/USDT" {
			t.Fatalf("get: %+v %v", got, err)
		}
		if _, err := b.store.Get(ctx, b.bob, dep.ID); !errors.Is(err, deploy.ErrNotFound) {
			t.Fatalf("another tenant's get: %v, want not found", err)
		}
		if l, err := b.store.List(ctx, b.bob); err != nil || len(l) != 0 {
			t.Fatalf("another tenant's list: %v %v", l, err)
		}
		if l, err := b.store.List(ctx, b.alice); err != nil || len(l) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		if _, err := b.store.Stop(ctx, b.bob, dep.ID); !errors.Is(err, deploy.ErrNotFound) {
			t.Fatalf("another tenant's stop: %v, want not found", err)
		}
	})
}

func TestSpecValidateNamesTheField(t *testing.T) {
	for field, mut := range map[string]func(*deploy.Spec){
		"strategy":  func(s *deploy.Spec) { s.Strategy = "" },
		"mode":      func(s *deploy.Spec) { s.Mode = "dry" },
		"venue":     func(s *deploy.Spec) { s.Venue = "" },
		"account":   func(s *deploy.Spec) { s.Account = "" },
		"pairs":     func(s *deploy.Spec) { s.Pairs = []string{"A/B", "A/B"} },
		"timeframe": func(s *deploy.Spec) { s.Timeframe = "7q" },
		"config":    func(s *deploy.Spec) { s.Config = []byte("{") },
		"config ":   func(s *deploy.Spec) { s.Config = []byte(`"{}"`) },
	} {
		s := spec()
		mut(&s)
		err := s.Validate()
		if !errors.Is(err, deploy.ErrInvalid) || !strings.Contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := spec().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestStateTransitionsAreGuarded(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Pause(ctx, b.alice, dep.ID); !errors.Is(err, deploy.ErrIllegalTransition) {
			t.Fatalf("pause a starting deployment: %v", err)
		}
		ls, err := b.store.Acquire(ctx, "r1", 10, 30*time.Second)
		if err != nil || len(ls) != 1 {
			t.Fatal(ls, err)
		}
		if err := b.store.MarkRunning(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			do   func(context.Context, tenancy.Principal, string) (deploy.Deployment, error)
			want deploy.State
		}{{b.store.Pause, deploy.Paused}, {b.store.Resume, deploy.Running}, {b.store.Stop, deploy.Stopped}} {
			got, err := step.do(ctx, b.alice, dep.ID)
			if err != nil || got.State != step.want {
				t.Fatalf("want %s: %+v %v", step.want, got, err)
			}
		}
		if _, err := b.store.Resume(ctx, b.alice, dep.ID); !errors.Is(err, deploy.ErrIllegalTransition) {
			t.Fatalf("resume a stopped deployment: %v", err)
		}
		// Stopping released the lease: the runner's writes are refused.
		if err := b.store.Record(ctx, ls[0], deploy.Write{Equity: []deploy.EquityPoint{{Time: b.clk.Now(), Equity: 1}}}); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("write after stop: %v", err)
		}
		if ls, err := b.store.Acquire(ctx, "r2", 10, 30*time.Second); err != nil || len(ls) != 0 {
			t.Fatalf("a stopped deployment was acquired: %v %v", ls, err)
		}
	})
}

// A runner that stops renewing loses its deployment to the next runner,
// with a higher token; the stale runner's writes fail and change nothing.
func TestLeaseExpiryAndFencing(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		l1, err := b.store.Acquire(ctx, "r1", 10, 30*time.Second)
		if err != nil || len(l1) != 1 || l1[0].Token != 1 || l1[0].Deployment != dep.ID || l1[0].Tenant != b.alice.Tenant {
			t.Fatalf("first acquire: %+v %v", l1, err)
		}
		if l2, err := b.store.Acquire(ctx, "r2", 10, 30*time.Second); err != nil || len(l2) != 0 {
			t.Fatalf("a held lease was taken: %+v %v", l2, err)
		}
		b.clk.Advance(20 * time.Second)
		renewed, err := b.store.Renew(ctx, l1[0], 30*time.Second)
		if err != nil || !renewed.Expires.Equal(b.clk.Now().Add(30*time.Second)) {
			t.Fatalf("renew: %+v %v", renewed, err)
		}
		got, _ := b.store.Get(ctx, b.alice, dep.ID)
		if !got.Heartbeat.Equal(b.clk.Now()) || got.Runner != "r1" {
			t.Fatalf("heartbeat not recorded: %+v", got)
		}
		b.clk.Advance(20 * time.Second) // within the renewed lease
		if l2, _ := b.store.Acquire(ctx, "r2", 10, 30*time.Second); len(l2) != 0 {
			t.Fatal("a renewed lease was taken")
		}
		b.clk.Advance(11 * time.Second) // expired
		l2, err := b.store.Acquire(ctx, "r2", 10, 30*time.Second)
		if err != nil || len(l2) != 1 || l2[0].Token != 2 {
			t.Fatalf("takeover: %+v %v", l2, err)
		}
		stale := deploy.Write{Orders: []deploy.Order{{ClientOrderID: "x", Leg: deploy.Entry, Pair: "BTC/USDT", Side: exchange.Buy, Type: exchange.MarketOrder}},
			Trades: []deploy.Trade{{Seq: 1, Open: true, Record: trade.Trade{Pair: "BTC/USDT"}}}}
		if err := b.store.Record(ctx, l1[0], stale); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("stale write: %v, want %v", err, deploy.ErrFenced)
		}
		// A tick's write checks the lease in the statement recording the
		// tick.
		for _, w := range []deploy.Write{{Tick: b.clk.Now()}, {Tick: b.clk.Now(), Orders: stale.Orders, Trades: stale.Trades}} {
			if err := b.store.Record(ctx, l1[0], w); !errors.Is(err, deploy.ErrFenced) {
				t.Fatalf("stale tick: %v, want %v", err, deploy.ErrFenced)
			}
		}
		if got, _ := b.store.Get(ctx, b.alice, dep.ID); !got.LastTick.IsZero() {
			t.Fatalf("a stale tick was recorded: %v", got.LastTick)
		}
		if _, err := b.store.Renew(ctx, l1[0], time.Minute); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("stale renew: %v", err)
		}
		if err := b.store.Log(ctx, l1[0], slog.LevelInfo, "stale", nil); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("stale log: %v", err)
		}
		if err := b.store.Fail(ctx, l1[0], "stale"); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("stale fail: %v", err)
		}
		if os, _ := b.store.Orders(ctx, b.alice.Tenant, dep.ID); len(os) != 0 {
			t.Fatalf("a stale write left orders: %+v", os)
		}
		if ts, _ := b.store.Trades(ctx, b.alice.Tenant, dep.ID); len(ts) != 0 {
			t.Fatalf("a stale write left trades: %+v", ts)
		}
		// The new holder writes; releasing lets a third runner in at once.
		if err := b.store.Record(ctx, l2[0], stale); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Release(ctx, l2[0]); err != nil {
			t.Fatal(err)
		}
		if l3, err := b.store.Acquire(ctx, "r3", 10, 30*time.Second); err != nil || len(l3) != 1 || l3[0].Token != 3 {
			t.Fatalf("after release: %+v %v", l3, err)
		}
		if err := b.store.Fail(ctx, l2[0], "stale"); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("released lease fails: %v", err)
		}
	})
}

// Runners acquiring at once on their own connections never share a
// deployment.
func TestConcurrentAcquireSplitsDeployments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		d := tg.Open(t)
		if err := d.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, d)
		const n, runners = 12, 4
		for range n {
			if _, err := b.store.Create(t.Context(), b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		held := map[string]string{}
		var wg sync.WaitGroup
		errs := make(chan error, runners*n)
		for r := range runners {
			s, err := deploy.New(deploy.Config{DB: tg.Open(t), Clock: b.clk})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("r%d", r)
				for range n {
					ls, err := s.Acquire(context.Background(), name, 1, time.Minute)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, l := range ls {
						if prev, ok := held[l.Deployment]; ok {
							errs <- fmt.Errorf("%s acquired by %s and %s", l.Deployment, prev, name)
						}
						held[l.Deployment] = name
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(held) != n {
			t.Fatalf("%d of %d deployments acquired", len(held), n)
		}
	})
}

func TestRecordOrdersFillsTradesEquity(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		l := ls[0]
		id := deploy.ClientOrderID(dep.ID, 1, deploy.Entry, 0)
		o := deploy.Order{ClientOrderID: id, TradeSeq: 1, Leg: deploy.Entry, Pair: "BTC/USDT", Side: exchange.Buy, Type: exchange.MarketOrder,
			QuoteQuantity: fixed.MustParse("100")}
		if err := b.store.Record(ctx, l, deploy.Write{Orders: []deploy.Order{o}}); err != nil {
			t.Fatal(err)
		}
		os, err := b.store.Orders(ctx, b.alice.Tenant, dep.ID)
		if err != nil || len(os) != 1 || os[0].Status != deploy.Pending || !os[0].Open() || os[0].QuoteQuantity != fixed.MustParse("100") {
			t.Fatalf("pending order: %+v %v", os, err)
		}
		o.Status, o.VenueID, o.Executed, o.QuoteExecuted = exchange.StatusFilled, 7, fixed.MustParse("0.002"), fixed.MustParse("100")
		f := deploy.Fill{Pair: "BTC/USDT", VenueTradeID: 3, ClientOrderID: id, Side: exchange.Buy, Price: fixed.MustParse("50000"), Qty: fixed.MustParse("0.002"),
			QuoteQty: fixed.MustParse("100"), Commission: fixed.MustParse("0.000002"), CommissionAsset: "BTC", Time: b.clk.Now()}
		tr := deploy.Trade{Seq: 1, Open: true, VenueQty: fixed.MustParse("0.001998"), Record: trade.Trade{Pair: "BTC/USDT", OpenTime: 5, OpenRate: 50000, Amount: 0.002, Stake: 100}}
		w := deploy.Write{Orders: []deploy.Order{o}, Fills: []deploy.Fill{f}, Trades: []deploy.Trade{tr}, Equity: []deploy.EquityPoint{{Time: b.clk.Now(), Equity: 1000}}, Tick: b.clk.Now()}
		for range 2 { // writing the same again changes nothing
			if err := b.store.Record(ctx, l, w); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := b.store.Get(ctx, b.alice, dep.ID); !got.LastTick.Equal(b.clk.Now()) {
			t.Fatalf("last tick %v, want %v", got.LastTick, b.clk.Now())
		}
		os, _ = b.store.Orders(ctx, b.alice.Tenant, dep.ID)
		if len(os) != 1 || os[0].Status != exchange.StatusFilled || os[0].VenueID != 7 || os[0].Executed != fixed.MustParse("0.002") || os[0].Open() {
			t.Fatalf("filled order: %+v", os)
		}
		// A stop order keeps its trigger.
		stop := deploy.Order{ClientOrderID: deploy.ClientOrderID(dep.ID, 1, deploy.Exit, 0), TradeSeq: 1, Leg: deploy.Exit, Pair: "BTC/USDT", Side: exchange.Sell,
			Type: exchange.StopLossLimitOrder, Reason: "stop_loss", Price: fixed.MustParse("44000"), StopPrice: fixed.MustParse("45000.5"), Quantity: fixed.MustParse("0.001")}
		if err := b.store.Record(ctx, l, deploy.Write{Orders: []deploy.Order{stop}}); err != nil {
			t.Fatal(err)
		}
		if os, _ = b.store.Orders(ctx, b.alice.Tenant, dep.ID); len(os) != 2 || os[1].StopPrice != stop.StopPrice || os[1].Price != stop.Price || os[1].Type != stop.Type {
			t.Fatalf("stop order: %+v", os)
		}
		fs, err := b.store.Fills(ctx, b.alice.Tenant, dep.ID)
		if err != nil || len(fs) != 1 || fs[0] != f {
			t.Fatalf("fills: %+v %v", fs, err)
		}
		ts, err := b.store.Trades(ctx, b.alice.Tenant, dep.ID)
		if err != nil || len(ts) != 1 || ts[0] != tr {
			t.Fatalf("trades: %+v %v", ts, err)
		}
		// A second open trade on the pair is refused by the database.
		tr2 := tr
		tr2.Seq = 2
		if err := b.store.Record(ctx, l, deploy.Write{Trades: []deploy.Trade{tr2}}); err == nil {
			t.Fatal("two open trades on one pair were recorded")
		}
		tr.Open, tr.Record.CloseTime, tr.Record.ExitReason = false, 10, trade.ExitSignal
		tr2.Record.OpenTime = 11
		if err := b.store.Record(ctx, l, deploy.Write{Trades: []deploy.Trade{tr, tr2}}); err != nil {
			t.Fatal(err)
		}
		ts, _ = b.store.Trades(ctx, b.alice.Tenant, dep.ID)
		if len(ts) != 2 || ts[0].Open || ts[0].Record.ExitReason != trade.ExitSignal || !ts[1].Open {
			t.Fatalf("closed and reopened: %+v", ts)
		}
		eq, err := b.store.Equity(ctx, b.alice.Tenant, dep.ID)
		if err != nil || len(eq) != 1 || eq[0].Equity != 1000 {
			t.Fatalf("equity: %+v %v", eq, err)
		}
		if os, _ := b.store.Orders(ctx, b.bob.Tenant, dep.ID); len(os) != 0 {
			t.Fatal("another tenant reads the orders")
		}
	})
}

func TestLogsAreCapped(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		for i := range 8 {
			if err := b.store.Log(ctx, ls[0], slog.LevelInfo, fmt.Sprintf("line %d %s", i, strings.Repeat("é", 100)), map[string]string{"i": fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		lines, err := b.store.Logs(ctx, b.alice.Tenant, dep.ID, 0, 0)
		if err != nil || len(lines) != 5 || lines[0].Seq != 4 || lines[4].Attrs["i"] != "7" || lines[0].Level != slog.LevelInfo {
			t.Fatalf("kept lines: %+v %v", lines, err)
		}
		if len(lines[0].Msg) > 64 || !strings.HasSuffix(lines[0].Msg, "(cut)") || !strings.HasPrefix(lines[0].Msg, "line 3") {
			t.Fatalf("long line not cut: %q", lines[0].Msg)
		}
		if more, _ := b.store.Logs(ctx, b.alice.Tenant, dep.ID, 7, 0); len(more) != 1 || more[0].Seq != 8 {
			t.Fatalf("follow after 7: %+v", more)
		}
		if other, _ := b.store.Logs(ctx, b.bob.Tenant, dep.ID, 0, 0); len(other) != 0 {
			t.Fatal("another tenant reads the logs")
		}
	})
}

// FuzzSpec: any JSON a tenant sends as a deployment is decoded and
// validated without panic; a spec that validates has what a runner needs.
func FuzzSpec(f *testing.F) {
	f.Add(`{"strategy":"sma_cross","mode":"paper","venue":"sim","account":"a","pairs":["BTC/USDT"],"timeframe":"5m","config":{"stake_amount":10}}`)
	f.Add(`{"strategy":"x","mode":"live","venue":"binance","account":"a","pairs":["A/B","A/B"],"timeframe":"1M"}`)
	f.Add(`{"pairs":[""],"timeframe":"7q","config":"{"}`)
	f.Fuzz(func(t *testing.T, js string) {
		var s deploy.Spec
		if json.Unmarshal([]byte(js), &s) != nil {
			return
		}
		if s.Validate() != nil {
			return
		}
		if s.Strategy == "" || len(s.Pairs) == 0 || !s.Timeframe.Valid() || (s.Mode != deploy.Paper && s.Mode != deploy.Live) {
			t.Fatalf("validated %+v", s)
		}
	})
}

// Stale: deployments that should trade whose heartbeat stopped, or that no
// runner took, across tenants; not the renewed, the stopped or the new.
func TestStale(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		taken, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		b.clk.Advance(time.Millisecond) // created after taken: acquired after it
		untaken, err := b.store.Create(ctx, b.bob, spec())
		if err != nil {
			t.Fatal(err)
		}
		stopped, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Stop(ctx, b.alice, stopped.ID); err != nil {
			t.Fatal(err)
		}
		// One at most, though two are free (on PostgreSQL too).
		ls, err := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if err != nil || len(ls) != 1 || ls[0].Deployment != taken.ID {
			t.Fatalf("acquire: %v %v", ls, err)
		}
		if got, err := b.store.Stale(ctx, b.clk.Now()); err != nil || len(got) != 0 {
			t.Fatalf("at once: %v %v", got, err)
		}
		b.clk.Advance(40 * time.Second)
		if _, err := b.store.Renew(ctx, ls[0], time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := b.store.Stale(ctx, b.clk.Now().Add(-30*time.Second))
		if err != nil || len(got) != 1 || got[0].ID != untaken.ID {
			t.Fatalf("after 40 s: %v %v, want only %s (never taken)", got, err, untaken.ID)
		}
		b.clk.Advance(40 * time.Second)
		got, err = b.store.Stale(ctx, b.clk.Now().Add(-30*time.Second))
		if err != nil || len(got) != 2 || got[0].ID != taken.ID {
			t.Fatalf("after 80 s: %v %v, want both", got, err)
		}
	})
}

// A stop with flatten is recorded without stopping: the runner holding the
// deployment closes its trades and then stops it (fenced); another tenant
// cannot ask for it, and a stopped deployment cannot be asked again.
func TestStopFlatten(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if _, err := b.store.StopFlatten(ctx, b.bob, dep.ID); !errors.Is(err, deploy.ErrNotFound) {
			t.Fatalf("another tenant's stop --flatten: %v", err)
		}
		got, err := b.store.StopFlatten(ctx, b.alice, dep.ID)
		if err != nil || !got.Flatten || got.State != deploy.Starting || got.Runner != "r1" {
			t.Fatalf("stop --flatten: %+v %v", got, err)
		}
		if got, _ := b.store.Deployment(ctx, ls[0]); !got.Flatten {
			t.Fatal("the runner does not see the flatten request")
		}
		stale := ls[0]
		stale.Token--
		if err := b.store.MarkStopped(ctx, stale); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("a stale runner marks stopped: %v", err)
		}
		if err := b.store.MarkStopped(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		got, _ = b.store.Get(ctx, b.alice, dep.ID)
		if got.State != deploy.Stopped || got.Runner != "" {
			t.Fatalf("after the runner stopped it: %+v", got)
		}
		if _, err := b.store.StopFlatten(ctx, b.alice, dep.ID); !errors.Is(err, deploy.ErrIllegalTransition) {
			t.Fatalf("stop --flatten of a stopped deployment: %v", err)
		}
	})
}

// Cost is added up over the runners that held a deployment: CPU time and
// venue weight add, the peak memory is the highest seen, the venue's
// minute count is the last one reported; a fenced runner adds nothing.
func TestCostAddsUpAcrossRunners(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if err := b.store.Record(ctx, ls[0], deploy.Write{Cost: deploy.CostDelta{CPU: 1500 * time.Millisecond, PeakMemory: 40 << 20, VenueWeight: 12, VenueWeight1m: 30}}); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Record(ctx, ls[0], deploy.Write{Cost: deploy.CostDelta{CPU: 250 * time.Millisecond, PeakMemory: 30 << 20, VenueWeight: 3}}); err != nil {
			t.Fatal(err)
		}
		b.clk.Advance(2 * time.Minute)
		ls2, _ := b.store.Acquire(ctx, "r2", 1, time.Minute)
		if len(ls2) != 1 {
			t.Fatal("r2 did not take the deployment over")
		}
		if err := b.store.Record(ctx, ls[0], deploy.Write{Cost: deploy.CostDelta{CPU: time.Hour, VenueWeight: 1000}}); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("the first runner's cost: %v, want fenced", err)
		}
		if err := b.store.Record(ctx, ls2[0], deploy.Write{Cost: deploy.CostDelta{CPU: time.Second, PeakMemory: 50 << 20, VenueWeight: 5, VenueWeight1m: 7}}); err != nil {
			t.Fatal(err)
		}
		got, err := b.store.Get(ctx, b.alice, dep.ID)
		want := deploy.Cost{CPU: 2750 * time.Millisecond, PeakMemory: 50 << 20, VenueWeight: 20, VenueWeight1m: 7}
		if err != nil || got.Cost != want {
			t.Fatalf("cost %+v (%v), want %+v", got.Cost, err, want)
		}
	})
}

// Runners lists the runners holding deployments of every tenant that
// should trade, with their latest renewal and earliest lease end.
func TestRunners(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		if rs, err := b.store.Runners(ctx); err != nil || len(rs) != 0 {
			t.Fatalf("none yet: %v %v", rs, err)
		}
		for _, p := range []tenancy.Principal{b.alice, b.bob, b.alice} {
			if _, err := b.store.Create(ctx, p, spec()); err != nil {
				t.Fatal(err)
			}
		}
		start := b.clk.Now()
		r1, err := b.store.Acquire(ctx, "r1", 2, time.Minute)
		if err != nil || len(r1) != 2 {
			t.Fatalf("r1 acquires: %v %v", r1, err)
		}
		b.clk.Advance(10 * time.Second)
		if _, err := b.store.Renew(ctx, r1[1], time.Minute); err != nil {
			t.Fatal(err)
		}
		if r2, err := b.store.Acquire(ctx, "r2", 5, time.Minute); err != nil || len(r2) != 1 {
			t.Fatalf("r2 acquires: %v %v", r2, err)
		}
		rs, err := b.store.Runners(ctx)
		if err != nil || len(rs) != 2 {
			t.Fatalf("runners: %v %v", rs, err)
		}
		if r := rs[0]; r.Name != "r1" || r.Deployments != 2 || !r.Heartbeat.Equal(start.Add(10*time.Second)) || !r.Expires.Equal(start.Add(time.Minute)) {
			t.Fatalf("r1: %+v", r)
		}
		if r := rs[1]; r.Name != "r2" || r.Deployments != 1 {
			t.Fatalf("r2: %+v", r)
		}
	})
}

// Control shows a runner what it checks at every tick: the state, whether
// its lease still holds, a stop with flatten asked; a lease taken over or
// a deployment stopped no longer holds.
func TestControl(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		c, err := b.store.Control(ctx, ls[0])
		if err != nil || c != (deploy.Control{State: deploy.Starting, Runner: "r1", LeaseToken: 1}) || !c.Held(ls[0]) {
			t.Fatalf("control of a starting deployment: %+v %v", c, err)
		}
		if err := b.store.MarkRunning(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Pause(ctx, b.alice, dep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.StopFlatten(ctx, b.alice, dep.ID); err != nil {
			t.Fatal(err)
		}
		if c, err = b.store.Control(ctx, ls[0]); err != nil || c.State != deploy.Paused || !c.Flatten || c.StopAsked || !c.Held(ls[0]) {
			t.Fatalf("control after pause and stop --flatten: %+v %v", c, err)
		}
		stale := ls[0]
		stale.Token--
		if c.Held(stale) {
			t.Fatal("a stale lease holds")
		}
		if err := b.store.MarkStopped(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		if c, err = b.store.Control(ctx, ls[0]); err != nil || c.State != deploy.Stopped || c.Held(ls[0]) {
			t.Fatalf("control of a stopped deployment: %+v %v", c, err)
		}
		if _, err := b.store.Control(ctx, deploy.Lease{Deployment: "nope"}); !errors.Is(err, deploy.ErrNotFound) {
			t.Fatalf("control of no deployment: %v", err)
		}
	})
}
