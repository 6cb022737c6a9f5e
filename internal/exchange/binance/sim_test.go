package binance_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/binance"
	"github.com/tradai/tradai/internal/exchange/exchangetest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

// simulator starts the simulator's Binance API on a test server and
// returns a function that makes a funded account and a client for it.
func simulator(t *testing.T) func(t *testing.T) exchangetest.Setup {
	eng, feed := replaytest.Market(t, 60, nil)
	keys := &binanceapi.MemoryKeys{}
	srv, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: keys, WeightLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	var n atomic.Int64
	return func(t *testing.T) exchangetest.Setup {
		id := fmt.Sprintf("contract-%d", n.Add(1))
		if err := eng.CreateAccount(id); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Fund(feed.Now(), id, "USDT", fixed.MustParse("10000")); err != nil {
			t.Fatal(err)
		}
		keys.Add(binanceapi.Key{APIKey: "key" + id[len("contract-"):], Secret: "secret-" + id, Account: id})
		c, err := rest.New(rest.Config{BaseURL: hs.URL, APIKey: "key" + id[len("contract-"):], Secret: "secret-" + id})
		if err != nil {
			t.Fatal(err)
		}
		return exchangetest.Setup{Exchange: binance.New(c), Symbol: "BTCUSDT", Move: func(t *testing.T, p fixed.Dec) {
			if _, err := eng.MoveTo("BTCUSDT", feed.Now(), p); err != nil {
				t.Fatal(err)
			}
		}}
	}
}

// TestContractOnSimulator runs the exchange contract suite against the
// simulator through the Binance adapter.
func TestContractOnSimulator(t *testing.T) {
	exchangetest.Run(t, simulator(t))
}

func ExampleClient() {
	c, err := rest.New(rest.Config{BaseURL: "http://127.0.0.1:8090", APIKey: "…", Secret: "…", Attempts: 1})
	if err != nil {
		panic(err)
	}
	var ex exchange.Exchange = binance.New(c) // what the runners take
	_, err = ex.OpenOrders(context.Background(), "BTCUSDT")
	fmt.Println(err != nil) // nothing listens here
	// Output: true
}
