package alpaca_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
)

// streamFills runs c.StreamFills until the test ends and waits until the
// server has it listening; its fills and its end come on the channels.
func streamFills(t *testing.T, srv *alpacatest.Server, c *alpaca.Client, listening int) (<-chan exchange.Trade, <-chan error) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	got := make(chan exchange.Trade, 10)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errc <- c.StreamFills(sctx, func(tr exchange.Trade) { got <- tr })
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for srv.Listening() < listening {
		if time.Now().After(deadline) {
			t.Fatal("the stream is not listening")
		}
		time.Sleep(time.Millisecond)
	}
	return got, errc
}

func nextFill(t *testing.T, got <-chan exchange.Trade) exchange.Trade {
	t.Helper()
	select {
	case tr := <-got:
		return tr
	case <-time.After(5 * time.Second):
		t.Fatal("no fill streamed")
	}
	return exchange.Trade{}
}

// TestStreamFills: a partial fill and the fill of a resting limit buy
// arrive on the trade updates stream, with the order's id, as they
// happen; the order is then known by that id.
func TestStreamFills(t *testing.T) {
	srv, c := newAccount(t)
	got, _ := streamFills(t, srv, c, 1)
	o, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("170"),
		Quantity: fixed.MustParse("10"), ClientOrderID: "stream-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Fill(rawOrderID(t, srv, "stream-1"), fixed.MustParse("4")); err != nil {
		t.Fatal(err)
	}
	first := nextFill(t, got)
	if first.OrderID != o.ID || first.Symbol != "AAPL" || first.Side != exchange.Buy || first.Qty != fixed.MustParse("4") ||
		first.Price != fixed.MustParse("170") || first.QuoteQty != fixed.MustParse("680") || first.Time.IsZero() {
		t.Fatalf("partial fill streamed as %+v (order %d)", first, o.ID)
	}
	srv.Move("AAPL", fixed.MustParse("169"))
	last := nextFill(t, got)
	if last.OrderID != o.ID || last.Qty != fixed.MustParse("6") || last.ID == first.ID {
		t.Fatalf("fill streamed as %+v after %+v", last, first)
	}
	if st, err := c.Order(ctx, "AAPL", exchange.OrderRef{ID: last.OrderID}); err != nil || st.Status != exchange.StatusFilled {
		t.Fatalf("the streamed order: %+v, %v", st, err)
	}
}

// TestStreamFillsDrop: a dropped stream ends StreamFills with an error; a
// wrong key is refused as exchange.ErrAuth.
func TestStreamFillsDrop(t *testing.T) {
	srv, c := newAccount(t)
	_, errc := streamFills(t, srv, c, 1)
	srv.DropStreams()
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("dropped stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dropped stream did not end")
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	bad, err := alpaca.New(alpaca.Config{BaseURL: hs.URL, KeyID: "key", Secret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.StreamFills(ctx, func(exchange.Trade) {}); !errors.Is(err, exchange.ErrAuth) {
		t.Fatalf("a wrong key: %v", err)
	}
}
