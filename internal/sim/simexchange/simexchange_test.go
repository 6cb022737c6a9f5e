package simexchange_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/exchangetest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
	"github.com/tradai/tradai/internal/sim/simexchange"
)

// TestContract runs the exchange contract suite against the simulator
// in-process, each subtest on an account of its own.
func TestContract(t *testing.T) {
	eng, feed := replaytest.Market(t, 60, nil)
	var n atomic.Int64
	exchangetest.Run(t, func(t *testing.T) exchangetest.Setup {
		id := fmt.Sprintf("contract-%d", n.Add(1))
		if err := eng.CreateAccount(id); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Fund(feed.Now(), id, "USDT", fixed.MustParse("10000")); err != nil {
			t.Fatal(err)
		}
		x, err := simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: id})
		if err != nil {
			t.Fatal(err)
		}
		return exchangetest.Setup{Exchange: x, Symbol: "BTCUSDT", Move: move(eng, feed)}
	})
}

// An account the engine does not know is refused as authentication, and
// an order the store could not keep is of unknown fate: the runner asks.
func TestAccountAndStoreFailures(t *testing.T) {
	eng, feed := replaytest.Market(t, 60, nil)
	x, err := simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Balances(t.Context()); !errors.Is(err, exchange.ErrAuth) {
		t.Fatalf("balances of an unknown account: %v, want %v", err, exchange.ErrAuth)
	}
	if err := eng.CreateAccount("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Fund(feed.Now(), "alice", "USDT", fixed.MustParse("10000")); err != nil {
		t.Fatal(err)
	}
	x, err = simexchange.New(simexchange.Config{Engine: eng, Feed: feed, Account: "alice",
		Sync: func(context.Context) error { return errors.New("disk full") }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = x.PlaceOrder(t.Context(), exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, QuoteQuantity: fixed.MustParse("100")})
	if !errors.Is(err, exchange.ErrUnknownStatus) {
		t.Fatalf("an order the store did not keep: %v, want %v", err, exchange.ErrUnknownStatus)
	}
}

// move moves the engine's BTCUSDT price, as market data would.
func move(eng *sim.Engine, feed *replay.Feed) func(t *testing.T, p fixed.Dec) {
	return func(t *testing.T, p fixed.Dec) {
		if _, err := eng.MoveTo("BTCUSDT", feed.Now(), p); err != nil {
			t.Fatal(err)
		}
	}
}
