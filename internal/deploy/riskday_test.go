package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
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
	"github.com/tradai/tradai/internal/risk"
)

// entryWrite is the write of an entry intent of notional on pair, number
// seq of l's deployment, with the deployment's figures before it.
func entryWrite(l deploy.Lease, seq int64, pair string, notional float64, before deploy.RiskDay) deploy.Write {
	o := deploy.Order{ClientOrderID: deploy.ClientOrderID(l.Deployment, seq, deploy.Entry, 0), TradeSeq: seq, Leg: deploy.Entry, Pair: pair,
		Side: exchange.Buy, Type: exchange.MarketOrder, QuoteQuantity: fixed.MustParse(strconv.FormatFloat(notional, 'f', -1, 64))}
	return deploy.Write{Orders: []deploy.Order{o}, Risk: &before, Entry: &risk.Order{Pair: pair, Price: 100, Notional: notional}}
}

// twoOnOneAccount creates two deployments of alice on one account, with
// the account's limits, and returns their leases.
func twoOnOneAccount(t *testing.T, b bundle, limits string) (deploy.Lease, deploy.Lease) {
	t.Helper()
	ctx := t.Context()
	if err := b.store.SetAccountLimits(ctx, b.alice, "sim", "paper-1", json.RawMessage(limits)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := b.store.Acquire(ctx, "r1", 2, time.Hour)
	if err != nil || len(ls) != 2 {
		t.Fatal(ls, err)
	}
	return ls[0], ls[1]
}

func refusedBy(err error) string {
	var re *deploy.RefusedError
	if errors.As(err, &re) {
		return re.Verdict.Limit
	}
	return ""
}

// An account's exposure, entries of the day and daily loss count every
// deployment on it: an entry one deployment's figures alone would allow
// is refused when the account's sum does not fit it, and nothing of the
// refused write is recorded. Another tenant's account of the same name is
// not counted.
func TestAccountLimitsSumTheDeployments(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		a, c := twoOnOneAccount(t, b, `{"max_position_notional_total": 100, "max_orders_per_day": 3, "max_daily_loss": 0.1}`)
		day := deploy.Day(b.clk.Now())
		fig := func(eq float64) deploy.RiskDay {
			return deploy.RiskDay{Day: day, DayStart: 1000, DayHigh: 1000, High: 1000, Equity: eq, Positions: map[string]float64{}}
		}
		// Bob's deployment on his own "paper-1" holds much: not Alice's.
		if _, err := b.store.Create(ctx, b.bob, spec()); err != nil {
			t.Fatal(err)
		}
		bl, _ := b.store.Acquire(ctx, "r2", 1, time.Hour)
		if err := b.store.Record(ctx, bl[0], entryWrite(bl[0], 1, "BTC/USDT", 5000, fig(1000))); err != nil {
			t.Fatal(err)
		}

		if err := b.store.Record(ctx, a, entryWrite(a, 1, "BTC/USDT", 60, fig(1000))); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Record(ctx, c, entryWrite(c, 1, "ETH/USDT", 50, fig(1000))); refusedBy(err) != "max_position_notional_total" {
			t.Fatalf("60 + 50 above the account's 100: %v", err)
		}
		if os, _ := b.store.Orders(ctx, b.alice.Tenant, c.Deployment); len(os) != 0 {
			t.Fatalf("a refused entry was recorded: %+v", os)
		}
		if err := b.store.Record(ctx, c, entryWrite(c, 1, "ETH/USDT", 40, fig(1000))); err != nil {
			t.Fatal(err)
		}
		u, err := b.store.AccountUsage(ctx, b.alice.Tenant, "sim", "paper-1", day)
		if err != nil || u.Deployments != 2 || u.Exposure != 100 || u.Positions["BTC/USDT"] != 60 || u.Orders != 2 || u.OpenOrders != 2 || u.Equity != 2000 || u.High != 2000 {
			t.Fatalf("usage %+v %v", u, err)
		}

		// The account lost 7.5 %: within its 10 %; then 10.5 %: beyond.
		after := fig(850)
		after.Positions = map[string]float64{"ETH/USDT": 40}
		if err := b.store.Record(ctx, c, deploy.Write{Risk: &after}); err != nil {
			t.Fatal(err)
		}
		before := fig(1000)
		before.Positions = map[string]float64{}
		if err := b.store.Record(ctx, a, entryWrite(a, 2, "BTC/USDT", 0, before)); err != nil {
			t.Fatalf("7.5 %% down on the account: %v", err)
		}
		after.Equity = 790
		if err := b.store.Record(ctx, c, deploy.Write{Risk: &after}); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Record(ctx, a, entryWrite(a, 3, "BTC/USDT", 0, before)); refusedBy(err) != "max_daily_loss" {
			t.Fatalf("10.5 %% down on the account (every deployment alone within): %v", err)
		}
		// A new day: a new start; the account's high is its deployments'.
		next := fig(1000)
		next.Day = day + 1
		if err := b.store.Record(ctx, a, deploy.Write{Risk: &next}); err != nil {
			t.Fatal(err)
		}
		u, err = b.store.AccountUsage(ctx, b.alice.Tenant, "sim", "paper-1", day+1)
		if err != nil || u.Deployments != 1 || u.Orders != 0 || u.High != 1000 || u.DayHigh != 1000 {
			t.Fatalf("the next day's usage %+v %v", u, err)
		}
		last, ok, err := b.store.LastRiskDay(ctx, a)
		if err != nil || !ok || last.Day != day+1 || last.DayStart != 1000 {
			t.Fatalf("last figures %+v %v %v", last, ok, err)
		}
	})
}

// Deployments on one account, each run by its own process, race for the
// last entry the account allows each day: exactly one gets it.
func TestAccountLimitRaceHasOneWinner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		d := tg.Open(t)
		if err := d.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, d)
		const racers = 6
		ctx := t.Context()
		if err := b.store.SetAccountLimits(ctx, b.alice, "sim", "paper-1", json.RawMessage(`{"max_orders_per_day": 1, "max_position_notional_total": 150}`)); err != nil {
			t.Fatal(err)
		}
		for range racers {
			if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := b.store.Acquire(ctx, "r1", racers, time.Hour)
		if err != nil || len(ls) != racers {
			t.Fatal(ls, err)
		}
		stores := make([]*deploy.Store, racers)
		for i := range stores {
			s, err := deploy.New(deploy.Config{DB: tg.Open(t), Clock: b.clk})
			if err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		day0 := deploy.Day(b.clk.Now())
		for round := range int64(10) {
			errs := make([]error, racers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, l := range ls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fig := deploy.RiskDay{Day: day0 + round, DayStart: 1000, DayHigh: 1000, High: 1000, Equity: 1000}
					<-start
					errs[i] = stores[i].Record(context.Background(), l, entryWrite(l, round+1, "BTC/USDT", 100, fig))
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch refusedBy(err) {
				case "":
					if err != nil {
						t.Fatal(err)
					}
					won++
				case "max_orders_per_day", "max_position_notional_total":
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d deployments passed a limit only one fits (%v)", round, won, errs)
			}
		}
	})
}

// An account's max_orders_per_minute counts the orders of every
// deployment on it, whatever process runs them: deployments racing on
// one account get at most the limit's orders in any 60 s — across
// midnight too, with the racers' clocks on either side of it — exits
// count but are never refused, and the usage shows the count.
func TestAccountOrdersPerMinuteRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		d := tg.Open(t)
		if err := d.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, d)
		const racers, each, limit = 6, 3, 4
		ctx := t.Context()
		if err := b.store.SetAccountLimits(ctx, b.alice, "sim", "paper-1", json.RawMessage(`{"max_orders_per_minute": 4}`)); err != nil {
			t.Fatal(err)
		}
		for range racers {
			if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := b.store.Acquire(ctx, "r1", racers, time.Hour)
		if err != nil || len(ls) != racers {
			t.Fatal(ls, err)
		}
		clks := make([]*clock.Fake, racers)
		stores := make([]*deploy.Store, racers)
		for i := range stores {
			clks[i] = clock.NewFake(b.clk.Now())
			s, err := deploy.New(deploy.Config{DB: tg.Open(t), Clock: clks[i]})
			if err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		seq := int64(0)
		// race sends each entries from every deployment at once, racer
		// i's store clock at at(i), and counts the entries recorded.
		race := func(at func(i int) time.Time) int {
			t.Helper()
			errs := make([]error, racers*each)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, l := range ls {
				clks[i].Set(at(i))
				for k := range each {
					seq++
					n := seq
					wg.Add(1)
					go func() {
						defer wg.Done()
						fig := deploy.RiskDay{Day: deploy.Day(at(i)), DayStart: 1000, DayHigh: 1000, High: 1000, Equity: 1000}
						<-start
						errs[i*each+k] = stores[i].Record(context.Background(), l, entryWrite(l, n, "BTC/USDT", 1, fig))
					}()
				}
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch refusedBy(err) {
				case "":
					if err != nil {
						t.Fatal(err)
					}
					won++
				case "max_orders_per_minute":
				default:
					t.Fatalf("refused for another limit: %v", err)
				}
			}
			return won
		}
		usage := func(at time.Time) int {
			t.Helper()
			b.clk.Set(at)
			u, err := b.store.AccountUsage(ctx, b.alice.Tenant, "sim", "paper-1", deploy.Day(at))
			if err != nil {
				t.Fatal(err)
			}
			return u.OrdersLastMinute
		}
		t0 := b.clk.Now()
		same := func(int) time.Time { return t0 }
		if won := race(same); won != limit {
			t.Fatalf("%d orders in a minute on an account allowing %d", won, limit)
		}
		if n := usage(t0); n != limit {
			t.Fatalf("usage counts %d orders in the last minute, want %d", n, limit)
		}
		// An exit counts and is never refused.
		exit := deploy.Order{ClientOrderID: deploy.ClientOrderID(ls[0].Deployment, 1, deploy.Exit, 0), TradeSeq: 1, Leg: deploy.Exit, Pair: "BTC/USDT",
			Side: exchange.Sell, Type: exchange.MarketOrder, Quantity: fixed.MustParse("0.01")}
		if err := stores[0].Record(ctx, ls[0], deploy.Write{Orders: []deploy.Order{exit}}); err != nil {
			t.Fatal(err)
		}
		if n := usage(t0.Add(59 * time.Second)); n != limit+1 {
			t.Fatalf("usage counts %d orders with the exit, want %d", n, limit+1)
		}
		if won := race(func(int) time.Time { return t0.Add(59 * time.Second) }); won != 0 {
			t.Fatalf("%d more orders within the minute", won)
		}
		if n := usage(t0.Add(time.Minute)); n != 0 {
			t.Fatalf("a minute later usage counts %d orders", n)
		}
		// Across midnight: half the racers' clocks just before it, half
		// just after (their figures of either day).
		midnight := time.UnixMilli((deploy.Day(t0) + 1) * 86_400_000)
		won := race(func(i int) time.Time {
			if i%2 == 0 {
				return midnight.Add(-time.Second)
			}
			return midnight.Add(time.Second)
		})
		if won != limit {
			t.Fatalf("%d orders in the minute around midnight, on an account allowing %d", won, limit)
		}
		if won := race(func(int) time.Time { return midnight.Add(30 * time.Second) }); won != 0 {
			t.Fatalf("%d more orders in the minute after midnight", won)
		}
		if won := race(func(int) time.Time { return midnight.Add(62 * time.Second) }); won != limit {
			t.Fatalf("%d orders in the next minute, want %d", won, limit)
		}
	})
}

// BenchmarkAccountEntry is an entry's intent on SQLite checked against
// its account's limits, summed over the account's three deployments (the
// account's row locked, its deployments' figures and orders of the last
// minute read), an entry a second.
func BenchmarkAccountEntry(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	bd := setup(b, d)
	if err := bd.store.SetAccountLimits(ctx, bd.alice, "sim", "paper-1", json.RawMessage(`{"max_orders_per_minute": 100000, "max_position_notional_total": 1e12}`)); err != nil {
		b.Fatal(err)
	}
	for range 3 {
		if _, err := bd.store.Create(ctx, bd.alice, spec()); err != nil {
			b.Fatal(err)
		}
	}
	ls, err := bd.store.Acquire(ctx, "r1", 3, time.Hour)
	if err != nil || len(ls) != 3 {
		b.Fatal(ls, err)
	}
	seq := int64(0)
	for b.Loop() {
		seq++
		bd.clk.Advance(time.Second)
		l := ls[seq%3]
		fig := deploy.RiskDay{Day: deploy.Day(bd.clk.Now()), DayStart: 1000, DayHigh: 1000, High: 1000, Equity: 1000}
		if err := bd.store.Record(ctx, l, entryWrite(l, seq, "BTC/USDT", 1, fig)); err != nil {
			b.Fatal(err)
		}
	}
}

// Two deployments on one account, each losing 6 % of its day's start,
// together past the account's 5 %: HaltAccount pauses both (whatever
// runner holds them), their risk state says why, each pause is audited,
// and the breach once (account.risk_breach, with the figures), however
// often it is seen again that day — resumed the same day, they are paused
// again, with no new breach. The next UTC day, on its fresh start, they
// can be resumed and stay running.
func TestAccountBreachPausesEveryDeployment(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		a, c := twoOnOneAccount(t, b, `{"max_daily_loss": 0.05}`)
		for _, l := range []deploy.Lease{a, c} {
			if err := b.store.MarkRunning(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		day := deploy.Day(b.clk.Now())
		fig := func(day int64, start, eq float64) deploy.RiskDay {
			return deploy.RiskDay{Day: day, DayStart: start, DayHigh: start, High: start, Equity: eq, Positions: map[string]float64{}}
		}
		states := func() (out []deploy.State) {
			for _, l := range []deploy.Lease{a, c} {
				dep, err := b.store.Get(ctx, b.alice, l.Deployment)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, dep.State)
			}
			return out
		}
		one := fig(day, 1000, 940)
		if err := b.store.Record(ctx, a, deploy.Write{Risk: &one}); err != nil {
			t.Fatal(err)
		}
		// c alone within 5 %, with a 2.5 % on the account: no breach.
		if _, ok, err := b.store.HaltAccount(ctx, c, fig(day, 1000, 990)); err != nil || ok {
			t.Fatalf("2.5 %% down on the account: breach %v, %v", ok, err)
		}
		br, ok, err := b.store.HaltAccount(ctx, c, fig(day, 1000, 940))
		if err != nil || !ok || !br.New || br.Verdict.Limit != "max_daily_loss" || len(br.Paused) != 2 || br.Usage.Equity != 1880 || br.Account != "sim/paper-1" {
			t.Fatalf("6 %% down on the account: %+v %v %v", br, ok, err)
		}
		if s := states(); s[0] != deploy.Paused || s[1] != deploy.Paused {
			t.Fatalf("after the account's breach: %v", s)
		}
		dep, _ := b.store.Get(ctx, b.alice, a.Deployment)
		if !strings.Contains(dep.Risk.Halted, "account sim/paper-1: risk_limits.max_daily_loss") || dep.Risk.HaltedAt.IsZero() {
			t.Fatalf("risk state %+v", dep.Risk)
		}
		if n := auditCount(t, d, "account.risk_breach", "sim/paper-1"); n != 1 {
			t.Fatalf("%d account breaches audited", n)
		}
		for _, l := range []deploy.Lease{a, c} {
			if n := auditCount(t, d, "deployment.risk_breach", l.Deployment); n != 1 {
				t.Fatalf("%s: %d pauses audited", l.Deployment, n)
			}
		}
		// Seen again: no pause, no second breach.
		if br, ok, err := b.store.HaltAccount(ctx, a, one); err != nil || !ok || br.New || len(br.Paused) != 0 {
			t.Fatalf("the breach seen again: %+v %v %v", br, ok, err)
		}
		// Resumed the same day: paused again, the breach not again.
		for _, l := range []deploy.Lease{a, c} {
			if _, err := b.store.Resume(ctx, b.alice, l.Deployment); err != nil {
				t.Fatal(err)
			}
		}
		if br, ok, err := b.store.HaltAccount(ctx, a, one); err != nil || !ok || br.New || len(br.Paused) != 2 {
			t.Fatalf("resumed while the breach holds: %+v %v %v", br, ok, err)
		}
		if n := auditCount(t, d, "account.risk_breach", "sim/paper-1"); n != 1 {
			t.Fatalf("%d account breaches audited", n)
		}
		// The next UTC day starts afresh: resumed, they stay running.
		b.clk.Advance(24 * time.Hour)
		for _, l := range []deploy.Lease{a, c} {
			if _, err := b.store.Resume(ctx, b.alice, l.Deployment); err != nil {
				t.Fatal(err)
			}
		}
		next := fig(day+1, 940, 940)
		if err := b.store.Record(ctx, c, deploy.Write{Risk: &next}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := b.store.HaltAccount(ctx, a, next); err != nil || ok {
			t.Fatalf("the next day: breach %v, %v", ok, err)
		}
		if s := states(); s[0] != deploy.Running || s[1] != deploy.Running {
			t.Fatalf("the next day: %v", s)
		}
	})
}

// An account without a loss or drawdown limit has no breach to find: one
// read, nothing paused.
func TestHaltAccountWithoutLossLimits(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		a, _ := twoOnOneAccount(t, b, `{"max_orders_per_day": 3}`)
		if _, ok, err := b.store.HaltAccount(t.Context(), a, deploy.RiskDay{Day: deploy.Day(b.clk.Now()), DayStart: 1000, Equity: 1}); err != nil || ok {
			t.Fatalf("breach %v, %v", ok, err)
		}
	})
}
