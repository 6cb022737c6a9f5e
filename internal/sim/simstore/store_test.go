package simstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
)

var d = fixed.MustParse

func symbol() sim.Symbol {
	return sim.Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Filters: sim.Filters{TickSize: d("0.01"), StepSize: d("0.001"), MinQty: d("0.001")}}
}

func engine(t testing.TB, s *Store) *sim.Engine {
	t.Helper()
	e, err := sim.New(sim.DefaultConfig(), []sim.Symbol{symbol()}, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var t2026 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestSurvivesRestart runs orders and fills through an engine journaled to
// the store, then builds a second engine from the store and checks it has
// the same accounts, balances and open orders, and continues the ids.
func TestSurvivesRestart(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d1 *db.DB) {
		ctx := context.Background()
		s := New(d1, clock.NewFake(t2026), nil)
		k, err := s.CreateAccount(ctx, "acme", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAccount(ctx, "acme", "alice"); !errors.Is(err, ErrExists) {
			t.Fatalf("second create: %v", err)
		}
		if len(k.APIKey) != 64 || len(k.Secret) != 64 {
			t.Fatalf("key = %+v", k)
		}
		got, err := s.Lookup(ctx, k.APIKey)
		if err != nil || got != k {
			t.Fatalf("lookup = %+v, %v", got, err)
		}
		if _, err := s.Lookup(ctx, "nope"); !errors.Is(err, binanceapi.ErrUnknownKey) {
			t.Fatalf("unknown key: %v", err)
		}
		// Funded while no simulator runs, as `tradai sim accounts fund` does.
		if _, err := s.Fund(ctx, k.Account, "USDT", d("1000")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fund(ctx, k.Account, "USDT", -d("2000")); err == nil {
			t.Fatal("funded below zero")
		}

		st, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e := engine(t, s)
		if err := e.Restore(st); err != nil {
			t.Fatal(err)
		}
		e.JumpTo("BTCUSDT", 10, d("100"))
		rest, _, err := e.Place(11, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("2"), Price: d("95"), ClientOrderID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		_, fills, err := e.Place(12, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Market, Quantity: d("1")})
		if err != nil || len(fills) != 1 {
			t.Fatal(err)
		}
		if _, _, err := e.Place(13, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Sell, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("0.5"), Price: d("110")}); err != nil {
			t.Fatal(err)
		}
		// A partial fill of the resting buy by the price path.
		e.Place(14, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Sell, Type: sim.Market, Quantity: d("0.2")})
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		wantBal, _ := e.Balances(k.Account)
		wantOpen, _ := e.OpenOrders(k.Account, "")

		// Restart on a fresh handle.
		s2 := New(d1, clock.NewFake(t2026), nil)
		st, err = s2.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e2 := engine(t, s2)
		if err := e2.Restore(st); err != nil {
			t.Fatal(err)
		}
		gotBal, _ := e2.Balances(k.Account)
		if len(gotBal) != len(wantBal) {
			t.Fatalf("balances after restart = %+v, want %+v", gotBal, wantBal)
		}
		for i := range wantBal {
			if gotBal[i] != wantBal[i] {
				t.Fatalf("balances after restart = %+v, want %+v", gotBal, wantBal)
			}
		}
		gotOpen, _ := e2.OpenOrders(k.Account, "")
		if len(gotOpen) != 2 || gotOpen[0] != wantOpen[0] || gotOpen[1] != wantOpen[1] {
			t.Fatalf("open orders after restart = %+v, want %+v", gotOpen, wantOpen)
		}
		// The restored order still fills and releases its lock exactly.
		e2.JumpTo("BTCUSDT", 20, d("100"))
		fills, _ = e2.MoveTo("BTCUSDT", 21, d("94"))
		if len(fills) != 1 || fills[0].OrderID != rest.ID || fills[0].TradeID != 3 {
			t.Fatalf("fills after restart = %+v", fills)
		}
		next, _, err := e2.Place(22, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Market, Quantity: d("0.1")})
		if err != nil || next.ID != 5 {
			t.Fatalf("next order id = %d, %v", next.ID, err)
		}
		if err := s2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		bs, _ := e2.Balances(k.Account)
		for _, b := range bs {
			if b.Asset == "USDT" && b.Locked != 0 {
				t.Fatalf("USDT still locked: %+v", b)
			}
		}

		// History from the database.
		orders, err := s2.Orders(ctx, k.Account, "BTCUSDT", binanceapi.Query{Limit: 500})
		if err != nil || len(orders) != 5 || orders[0].ID != 1 || orders[0].Status != sim.StatusFilled {
			t.Fatalf("orders = %+v, %v", orders, err)
		}
		orders, _ = s2.Orders(ctx, k.Account, "BTCUSDT", binanceapi.Query{Limit: 2})
		if len(orders) != 2 || orders[0].ID != 4 || orders[1].ID != 5 {
			t.Fatalf("newest two = %+v", orders)
		}
		orders, _ = s2.Orders(ctx, k.Account, "BTCUSDT", binanceapi.Query{OrderID: 2, Limit: 2})
		if len(orders) != 2 || orders[0].ID != 2 {
			t.Fatalf("from id 2 = %+v", orders)
		}
		trades, err := s2.Trades(ctx, k.Account, "BTCUSDT", binanceapi.Query{Limit: 500})
		if err != nil || len(trades) != 4 || trades[0].Commission != d("0.001") || trades[1].CommissionAsset != "USDT" || !trades[2].Maker {
			t.Fatalf("trades = %+v, %v", trades, err)
		}
		trades, _ = s2.Trades(ctx, k.Account, "BTCUSDT", binanceapi.Query{OrderID: rest.ID, Limit: 500})
		if len(trades) != 1 {
			t.Fatalf("trades of order %d = %+v", rest.ID, trades)
		}
		o, err := s2.Order(ctx, k.Account, "BTCUSDT", 0, "r1")
		if err != nil || o.ID != rest.ID || o.Status != sim.StatusFilled {
			t.Fatalf("order r1 = %+v, %v", o, err)
		}
		if _, err := s2.Order(ctx, k.Account, "BTCUSDT", 99, ""); !sim.IsCode(err, -2013) {
			t.Fatalf("unknown order: %v", err)
		}
		want := ClockState{Time: 1234, Speed: 0.5, Paused: true, Mode: "shifted", Offset: 60_000}
		if err := s2.SaveClock(ctx, want); err != nil {
			t.Fatal(err)
		}
		if c, err := s2.Clock(ctx); err != nil || c != want {
			t.Fatalf("clock = %+v, %v", c, err)
		}
	})
}

// TestClockSavedWithTheFills: a flush saves the followed clock in the
// transaction of the events, read before them; an unchanged clock and no
// events write nothing.
func TestClockSavedWithTheFills(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d1 *db.DB) {
		ctx := context.Background()
		s := New(d1, clock.NewFake(t2026), nil)
		if c, err := s.Clock(ctx); err != nil || c != (ClockState{}) {
			t.Fatalf("clock of a new database = %+v, %v", c, err)
		}
		k, err := s.CreateAccount(ctx, "acme", "carol")
		if err != nil {
			t.Fatal(err)
		}
		e := engine(t, s)
		e.CreateAccount(k.Account)
		e.Fund(1, k.Account, "USDT", d("1000"))
		now := ClockState{Time: 5, Speed: 1, Mode: "replay"}
		reads := 0
		s.FollowClock(func() ClockState { reads++; return now })
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Clock(ctx); c != now {
			t.Fatalf("clock after a flush = %+v, want %+v", c, now)
		}
		// The clock moves on after the state was read: the next flush
		// saves the newer one.
		now.Time = 9
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Clock(ctx); c.Time != 9 || reads != 2 {
			t.Fatalf("clock = %+v after %d reads", c, reads)
		}
		// Nothing new: no write (a broken database would fail one).
		if err := d1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("a flush with nothing to save wrote: %v", err)
		}
	})
}

// TestGroupCommit: many goroutines placing orders and syncing share
// transactions, and every answered order is in the database.
func TestGroupCommit(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d1 *db.DB) {
		ctx := context.Background()
		s := New(d1, clock.NewFake(t2026), nil)
		k, err := s.CreateAccount(ctx, "acme", "bob")
		if err != nil {
			t.Fatal(err)
		}
		e := engine(t, s)
		e.CreateAccount(k.Account)
		e.Fund(1, k.Account, "USDT", d("100000"))
		e.JumpTo("BTCUSDT", 1, d("100"))
		var wg sync.WaitGroup
		const workers, each = 8, 25
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, _, err := e.Place(2, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("0.01"), Price: d("90")}); err != nil {
						t.Error(err)
						return
					}
					if err := s.Sync(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var n int
		if err := d1.QueryRow(ctx, `SELECT COUNT(*) FROM sim_orders WHERE open = 1`).Scan(&n); err != nil || n != workers*each {
			t.Fatalf("stored open orders = %d, %v", n, err)
		}
	})
}
