package simstore

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/sim"
)

// TestTrailingStopSurvivesRestart: a trailing stop resumes with its delta,
// its tracking and the highest price it had tracked at its last event.
func TestTrailingStopSurvivesRestart(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d1 *db.DB) {
		ctx := context.Background()
		sym := symbol()
		sym.TrailingDelta = sim.TrailingDeltaFilter{MinAbove: 10, MaxAbove: 2000, MinBelow: 10, MaxBelow: 2000}
		open := func(s *Store) *sim.Engine {
			e, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, s)
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Restore(st); err != nil {
				t.Fatal(err)
			}
			return e
		}
		s := New(d1, clock.NewFake(t2026), nil)
		k, err := s.CreateAccount(ctx, "acme", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fund(ctx, k.Account, "BTC", d("1")); err != nil {
			t.Fatal(err)
		}
		e := open(s)
		e.JumpTo("BTCUSDT", 10, d("100"))
		// Tracking from its stop price 101 at once: it triggers at 98.98.
		o, _, err := e.Place(11, sim.OrderRequest{Account: k.Account, Symbol: "BTCUSDT", Side: sim.Sell, Type: sim.StopLoss, Quantity: d("1"),
			StopPrice: d("101"), TrailingDelta: 200})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}

		e2 := open(New(d1, clock.NewFake(t2026), nil))
		got, err := e2.Order(k.Account, "BTCUSDT", o.ID, "")
		if err != nil || got.TrailingDelta != 200 || got.TrailingTime != 11 {
			t.Fatalf("after the restart %+v, %v", got, err)
		}
		e2.JumpTo("BTCUSDT", 20, d("100"))
		if fills, _ := e2.MoveTo("BTCUSDT", 21, d("98.5")); len(fills) != 1 || fills[0].Price != d("98.98") {
			t.Fatalf("fills %+v, want one at 98.98", fills)
		}
	})
}
