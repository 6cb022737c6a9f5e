package hyperliquid_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/exchangetest"
	"github.com/tradai/tradai/internal/exchange/hyperliquid"
	"github.com/tradai/tradai/internal/fixed"
	hl "github.com/tradai/tradai/internal/hyperliquid"
)

var testnet = false

// start runs the test server and returns it with a function that makes a
// funded account and the adapter acting for it.
func start(t *testing.T) (*server, func(t *testing.T) *hyperliquid.Exchange) {
	srv := newServer()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, func(t *testing.T) *hyperliquid.Exchange {
		key, master := srv.newAccount(t, "10000")
		c, err := hl.New(hl.Config{BaseURL: hs.URL, Mainnet: &testnet, PrivateKey: key, Account: master})
		if err != nil {
			t.Fatal(err)
		}
		return hyperliquid.New(c, nil)
	}
}

// TestContract runs the exchange contract suite against the test server,
// whose mark price the suite may move (so stop orders trigger and fill).
func TestContract(t *testing.T) {
	srv, open := start(t)
	exchangetest.Run(t, func(t *testing.T) exchangetest.Setup {
		return exchangetest.Setup{Exchange: open(t), Symbol: "BTC", Move: func(_ *testing.T, p fixed.Dec) { srv.move("BTC", p) }}
	})
}

func TestRateLimitedAnswerIsTyped(t *testing.T) {
	srv, open := start(t)
	x := open(t)
	srv.mu.Lock()
	srv.limited = 1
	srv.mu.Unlock()
	_, err := x.Markets(context.Background())
	var e *exchange.Error
	if !errors.Is(err, exchange.ErrRateLimited) || !errors.As(err, &e) || e.HTTPStatus != 429 {
		t.Fatalf("a 429 answer: %v", err)
	}
	if _, err := x.Markets(context.Background()); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
}

func TestPartialFillOfAMarketOrder(t *testing.T) {
	srv, open := start(t)
	x := open(t)
	srv.mu.Lock()
	srv.depth = fixed.MustParse("0.0003")
	srv.mu.Unlock()
	ctx := context.Background()
	o, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.MustParse("0.001")})
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != exchange.StatusExpired || o.Executed != fixed.MustParse("0.0003") || o.Quantity != fixed.MustParse("0.001") {
		t.Fatalf("a market order the book filled in part: %+v", o)
	}
	ts, err := x.MyTrades(ctx, "BTC", 0)
	if err != nil {
		t.Fatal(err)
	}
	var sum, quote fixed.Dec
	for _, tr := range ts {
		if tr.OrderID == o.ID {
			sum += tr.Qty
			quote += tr.QuoteQty
		}
	}
	if len(ts) != 2 || sum != o.Executed || quote != o.QuoteExecuted {
		t.Fatalf("fills %+v do not add up to %+v", ts, o)
	}
	bs, err := x.Balances(ctx)
	if err != nil || len(bs) != 2 || bs[0].Asset != "BTC" || bs[0].Free != o.Executed {
		t.Fatalf("balances %+v, %v: want the position of 0.0003 BTC", bs, err)
	}
}

func TestSigningForTheWrongNetworkIsRefused(t *testing.T) {
	srv := newServer()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	key, master := srv.newAccount(t, "10000")
	mainnet := true
	c, err := hl.New(hl.Config{BaseURL: hs.URL, Mainnet: &mainnet, PrivateKey: key, Account: master})
	if err != nil {
		t.Fatal(err)
	}
	_, err = hyperliquid.New(c, nil).PlaceOrder(context.Background(), exchange.OrderRequest{Symbol: "BTC", Side: exchange.Buy, Type: exchange.LimitOrder,
		Price: fixed.MustParse("50000"), Quantity: fixed.MustParse("0.001")})
	if !errors.Is(err, exchange.ErrAuth) {
		t.Fatalf("an action signed for mainnet on a testnet server: %v, want ErrAuth", err)
	}
}

func TestUnapprovedWalletIsRefused(t *testing.T) {
	srv := newServer()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := hl.New(hl.Config{BaseURL: hs.URL, Mainnet: &testnet, PrivateKey: "0x0123456789012345678901234567890123456789012345678901234567890123"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = hyperliquid.New(c, nil).CancelOrder(context.Background(), "BTC", exchange.OrderRef{ID: 1})
	var e *exchange.Error
	if !errors.Is(err, exchange.ErrAuth) || !errors.As(err, &e) || e.Msg == "" {
		t.Fatalf("a wallet no account approved: %v, want ErrAuth with the venue's message", err)
	}
}

// serverOrder is the test server's order oid.
func (s *server) serverOrder(t *testing.T, oid int64) order {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.users {
		for _, o := range a.orders {
			if o.oid == oid {
				return *o
			}
		}
	}
	t.Fatalf("no order %d at the server", oid)
	return order{}
}

// A stop-loss sell rests as the venue's trigger order (tpsl "sl",
// isMarket, reduce-only, its limit 5% under the trigger), shows among the
// open orders with its stop price, locks what it sells, and fills when
// the price falls through it; one that would sell what the account does
// not hold is cancelled when it triggers instead of opening a short.
func TestStopRestsAsATriggerOrder(t *testing.T) {
	ctx := context.Background()
	srv, open := start(t)
	x := open(t)
	qty := fixed.MustParse("0.01")
	if _, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: qty}); err != nil {
		t.Fatal(err)
	}
	stop := fixed.MustParse("57000")
	o, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: qty, StopPrice: stop,
		ClientOrderID: "stop-1"})
	if err != nil || o.Status != exchange.StatusNew || o.Type != exchange.StopLossOrder || o.StopPrice != stop || o.ClientOrderID != "stop-1" {
		t.Fatalf("placed stop %+v, %v", o, err)
	}
	so := srv.serverOrder(t, o.ID)
	if so.trigger == nil || *so.trigger != stop || !so.market || !so.reduce || so.px != fixed.MustParse("54150") || so.buy {
		t.Fatalf("at the venue: %+v, want a reduce-only stop market sell triggering at %v, its limit 54150", so, stop)
	}
	os, err := x.OpenOrders(ctx, "BTC")
	if err != nil || len(os) != 1 || os[0].ID != o.ID || os[0].Type != exchange.StopLossOrder || os[0].StopPrice != stop {
		t.Fatalf("open orders %+v, %v", os, err)
	}
	bs, err := x.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Asset == "BTC" && (b.Locked != qty || b.Free != 0) {
			t.Fatalf("BTC %+v, want the stop's %v locked", b, qty)
		}
	}
	if st, err := x.Positions(ctx); err != nil || len(st.AssetPositions) != 1 || st.AssetPositions[0].Position.Szi != qty {
		t.Fatalf("positions %+v, %v", st, err)
	}
	srv.move("BTC", fixed.MustParse("56000"))
	got, err := x.Order(ctx, "BTC", exchange.OrderRef{ClientID: "stop-1"})
	if err != nil || got.Status != exchange.StatusFilled || got.Executed != qty || got.Type != exchange.StopLossOrder {
		t.Fatalf("after the price fell through the stop: %+v, %v", got, err)
	}
	if st, err := x.Positions(ctx); err != nil || len(st.AssetPositions) != 0 {
		t.Fatalf("positions after the stop %+v, %v", st, err)
	}

	// Nothing held: the stop sell triggers and is cancelled, no short.
	limit, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Sell, Type: exchange.StopLossLimitOrder, Quantity: qty,
		StopPrice: fixed.MustParse("55000"), Price: fixed.MustParse("54000"), ClientOrderID: "stop-2"})
	if err != nil || limit.Type != exchange.StopLossLimitOrder || limit.Price != fixed.MustParse("54000") || limit.StopPrice != fixed.MustParse("55000") {
		t.Fatalf("placed stop-limit %+v, %v", limit, err)
	}
	srv.move("BTC", fixed.MustParse("53000"))
	got, err = x.Order(ctx, "BTC", exchange.OrderRef{ClientID: "stop-2"})
	if err != nil || got.Status != exchange.StatusCanceled || got.Executed != 0 {
		t.Fatalf("a stop selling what is not held, triggered: %+v, %v", got, err)
	}
	if st, err := x.Positions(ctx); err != nil || len(st.AssetPositions) != 0 {
		t.Fatalf("a stop opened a position: %+v, %v", st, err)
	}
}

// A trigger order answered with the bare status "waitingForTrigger" (no
// oid) is found by its client order id; without one, its fate is unknown.
func TestWaitingTriggerOrderIsFoundByItsClientID(t *testing.T) {
	ctx := context.Background()
	srv, open := start(t)
	x := open(t)
	qty := fixed.MustParse("0.01")
	if _, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: qty}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.waiting = true
	srv.mu.Unlock()
	req := exchange.OrderRequest{Symbol: "BTC", Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: qty, StopPrice: fixed.MustParse("57000"),
		ClientOrderID: "stop-w"}
	o, err := x.PlaceOrder(ctx, req)
	if err != nil || o.ID == 0 || o.Status != exchange.StatusNew || o.ClientOrderID != "stop-w" {
		t.Fatalf("placed %+v, %v", o, err)
	}
	req.ClientOrderID, req.StopPrice = "", fixed.MustParse("56000")
	if _, err := x.PlaceOrder(ctx, req); !errors.Is(err, exchange.ErrUnknownStatus) {
		t.Fatalf("waiting, no client id: %v, want an unknown status", err)
	}
}
