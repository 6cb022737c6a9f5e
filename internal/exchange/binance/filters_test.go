package binance_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/binance"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

// filterVenue is the simulator with BTCUSDT's usual filters and at most
// two open orders (MAX_NUM_ORDERS); it counts the orders that reached it.
func filterVenue(t *testing.T) (checked, unchecked *binance.Client, posts *atomic.Int64, last fixed.Dec) {
	t.Helper()
	f := replaytest.Frame(60)
	sym, err := replay.DefaultSymbol("BTC/USDT", f)
	if err != nil {
		t.Fatal(err)
	}
	sym.MaxNumOrders = 2
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	series, err := replay.FromFrame(sym.Name, f, sym.TickSize)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := replay.New(eng, []replay.Series{series}, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Step(10); err != nil {
		t.Fatal(err)
	}
	keys := &binanceapi.MemoryKeys{}
	api, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: keys, WeightLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	posts = &atomic.Int64{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v3/order" {
			posts.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	if err := eng.CreateAccount("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Fund(feed.Now(), "a", "USDT", fixed.MustParse("1000000")); err != nil {
		t.Fatal(err)
	}
	keys.Add(binanceapi.Key{APIKey: "k", Secret: "s", Account: "a"})
	c, err := rest.New(rest.Config{BaseURL: hs.URL, APIKey: "k", Secret: "s", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	unchecked = binance.New(c)
	ks, err := unchecked.Klines(t.Context(), "BTCUSDT", "1m", 1)
	if err != nil || len(ks) == 0 {
		t.Fatal(ks, err)
	}
	return unchecked.CheckingFilters(), unchecked, posts, ks[0].Close
}

// An order the venue's filters refuse is refused before it is sent, as
// the venue refuses it: each case below is refused by the checked client
// without a request, and by the simulator itself naming the same filter.
func TestFiltersCheckedBeforeSending(t *testing.T) {
	checked, unchecked, posts, last := filterVenue(t)
	ctx := t.Context()
	limit := func(side exchange.Side, price, qty fixed.Dec) exchange.OrderRequest {
		return exchange.OrderRequest{Symbol: "BTCUSDT", Side: side, Type: exchange.LimitOrder, Price: price, Quantity: qty}
	}
	m, err := unchecked.Markets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mk := m[0]
	qty := fixed.MustParse("1").FloorTo(mk.StepSize)
	below := fixed.MulFloor(last, fixed.MustParse("0.5")).FloorTo(mk.TickSize) // a resting buy
	for _, tc := range []struct {
		name   string
		req    exchange.OrderRequest
		filter string
	}{
		{"off the tick", limit(exchange.Buy, below+mk.TickSize/2, qty), "PRICE_FILTER"},
		{"buy far above the price", limit(exchange.Buy, fixed.MulFloor(last, fixed.MustParse("6")).FloorTo(mk.TickSize), qty), "PERCENT_PRICE_BY_SIDE"},
		{"sell far below the price", limit(exchange.Sell, fixed.MulFloor(last, fixed.MustParse("0.1")).FloorTo(mk.TickSize), qty), "PERCENT_PRICE_BY_SIDE"},
		{"quantity off the step", limit(exchange.Buy, below, qty+mk.StepSize/2), "LOT_SIZE"},
		{"too small", limit(exchange.Buy, below, mk.StepSize), "NOTIONAL"},
		{"market too small", exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: mk.StepSize}, "NOTIONAL"},
		{"trailing delta above the range", exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: qty, StopPrice: below,
			TrailingDelta: mk.TrailingBelow.Max + 1}, "TRAILING_DELTA"},
	} {
		before := posts.Load()
		_, err := checked.PlaceOrder(ctx, tc.req)
		var e *exchange.Error
		if !errors.Is(err, exchange.ErrFilter) || !errors.As(err, &e) || !strings.Contains(e.Msg, tc.filter) || posts.Load() != before {
			t.Errorf("%s: checked: %v, %d orders sent", tc.name, err, posts.Load()-before)
		}
		_, err = unchecked.PlaceOrder(ctx, tc.req)
		if !errors.Is(err, exchange.ErrFilter) || !strings.Contains(err.Error(), tc.filter) {
			t.Errorf("%s: the venue answered %v, want %s", tc.name, err, tc.filter)
		}
	}
	// Good orders pass, up to MAX_NUM_ORDERS open; the third is refused.
	for i := range 3 {
		before := posts.Load()
		_, err := checked.PlaceOrder(ctx, limit(exchange.Buy, below-fixed.Dec(i)*mk.TickSize, qty))
		switch {
		case i < 2 && (err != nil || posts.Load() != before+1):
			t.Fatalf("order %d: %v", i, err)
		case i == 2 && (!errors.Is(err, exchange.ErrRejected) || !strings.Contains(err.Error(), "MAX_NUM_ORDERS") || posts.Load() != before):
			t.Fatalf("the third open order: %v", err)
		}
	}
	if _, err := unchecked.PlaceOrder(ctx, limit(exchange.Buy, below-5*mk.TickSize, qty)); !errors.Is(err, exchange.ErrRejected) || !strings.Contains(err.Error(), "MAX_NUM_ORDERS") {
		t.Errorf("the venue answered %v to a third open order", err)
	}
}
