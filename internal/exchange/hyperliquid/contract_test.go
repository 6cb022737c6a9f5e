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

// TestContract runs the exchange contract suite against the test server.
func TestContract(t *testing.T) {
	_, open := start(t)
	exchangetest.Run(t, func(t *testing.T) exchangetest.Setup {
		return exchangetest.Setup{Exchange: open(t), Symbol: "BTC"}
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
