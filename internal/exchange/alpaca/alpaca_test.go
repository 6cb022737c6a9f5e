package alpaca_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
)

var ctx = context.Background()

// TestErrorShapes: each documented error answer becomes its kind of
// failure, with Alpaca's code and message kept.
func TestErrorShapes(t *testing.T) {
	var cases []struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}
	if err := json.Unmarshal(alpacatest.Fixture("errors.json"), &cases); err != nil {
		t.Fatal(err)
	}
	want := []error{exchange.ErrAuth, exchange.ErrInsufficientBalance, exchange.ErrInsufficientBalance, exchange.ErrFilter, exchange.ErrAuth,
		exchange.ErrUnknownOrder, exchange.ErrUnknownSymbol, exchange.ErrDuplicateOrder, exchange.ErrUnknownOrder, exchange.ErrFilter,
		exchange.ErrFilter, exchange.ErrRejected, exchange.ErrUnknownSymbol, exchange.ErrRateLimited, exchange.ErrUnknownStatus}
	if len(cases) != len(want) {
		t.Fatalf("%d fixtures, %d kinds", len(cases), len(want))
	}
	for i, tc := range cases {
		srv, c := newAccount(t)
		a := alpacatest.Scripted{Status: tc.Status, Body: string(tc.Body), Headers: tc.Headers}
		srv.Script("/v2/orders", a, a, a) // a 429 is tried again: three times
		_, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("100"), Quantity: fixed.One})
		var e *exchange.Error
		if !errors.Is(err, want[i]) || !errors.As(err, &e) || e.HTTPStatus != tc.Status || e.Msg == "" || e.Code == 0 {
			t.Errorf("%s: got %v (%+v), want %v", tc.Body, err, e, want[i])
		}
	}
}

// scripted is an adapter on a server answering path as told, on a
// skipping clock that records the waits.
func scripted(t *testing.T, path string, answers ...alpacatest.Scripted) (*alpacatest.Server, *alpaca.Client, *clock.Skipping) {
	t.Helper()
	clk := clock.NewSkipping(time.Date(2024, 1, 10, 15, 30, 0, 0, time.UTC))
	srv := alpacatest.New(alpacatest.Config{KeyID: "key", Secret: "secret", Cash: fixed.MustParse("10000"), Clock: clk,
		Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}}})
	srv.Script(path, answers...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := alpaca.New(alpaca.Config{BaseURL: hs.URL, DataURL: hs.URL, KeyID: "key", Secret: "secret", HTTP: hs.Client(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, clk
}

func rateLimited(reset time.Time) alpacatest.Scripted {
	return alpacatest.Scripted{Status: 429, Body: `{"code":42910000,"message":"rate limit exceeded"}`,
		Headers: map[string]string{"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)}}
}

// TestRateLimitWaitedOut: a 429 is waited out until X-RateLimit-Reset on
// the clock and the request sent again — a placement too (Alpaca refused
// it: nothing was placed).
func TestRateLimitWaitedOut(t *testing.T) {
	start := time.Date(2024, 1, 10, 15, 30, 0, 0, time.UTC)
	_, c, clk := scripted(t, "/v2/orders", rateLimited(start.Add(20*time.Second)))
	o, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("170"), Quantity: fixed.One})
	if err != nil || o.Status != exchange.StatusNew {
		t.Fatalf("PlaceOrder after a 429 = %+v, %v", o, err)
	}
	if w := clk.Sleeps(); len(w) == 0 || w[0] < 20*time.Second || w[0] > 21*time.Second {
		t.Fatalf("waits %v: want the 20 s until the reset first", w)
	}
	if open, _ := c.OpenOrders(ctx, "AAPL"); len(open) != 1 {
		t.Fatalf("open orders %+v: want the one order", open)
	}
}

// TestRateLimitExhausted: after the last attempt the 429 is
// ErrRateLimited with the wait it asked for.
func TestRateLimitExhausted(t *testing.T) {
	reset := time.Date(2024, 1, 10, 15, 30, 30, 0, time.UTC)
	_, c, _ := scripted(t, "/v2/positions", rateLimited(reset), rateLimited(reset), rateLimited(reset))
	_, err := c.Balances(ctx)
	var e *exchange.Error
	if !errors.Is(err, exchange.ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatalf("Balances = %v (%+v): want ErrRateLimited with a wait", err, e)
	}
}

// TestServerErrors: reads are retried after a 5xx; a placement is not —
// its fate is unknown (ErrUnknownStatus), for the runner to look it up.
func TestServerErrors(t *testing.T) {
	e500 := alpacatest.Scripted{Status: 500, Body: `{"code":50010000,"message":"internal server error occurred"}`}
	_, c, _ := scripted(t, "/v2/positions", e500, e500)
	if _, err := c.Balances(ctx); err != nil {
		t.Fatalf("Balances after two 500s: %v", err)
	}
	srv, c, _ := scripted(t, "/v2/orders", e500)
	n := srv.Requests()
	_, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.One, ClientOrderID: "x-1"})
	if !errors.Is(err, exchange.ErrUnknownStatus) {
		t.Fatalf("PlaceOrder on a 500 = %v, want ErrUnknownStatus", err)
	}
	if got := srv.Requests() - n; got != 3 { // clock, calendar, the one POST
		t.Fatalf("%d requests: the placement was sent again", got)
	}
}

// TestPartialFill: a resting limit filled in part shows PARTIALLY_FILLED,
// its fill (a partial_fill activity) in MyTrades, and holds cash for the
// rest only.
func TestPartialFill(t *testing.T) {
	srv, c := newAccount(t)
	o, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("170"),
		Quantity: fixed.MustParse("10"), ClientOrderID: "partial-1"})
	if err != nil || o.TimeInForce != exchange.GTC {
		t.Fatalf("place = %+v, %v", o, err)
	}
	open, _ := c.OpenOrders(ctx, "AAPL")
	uuid := rawOrderID(t, srv, "partial-1") // the server's UUID of the order
	if err := srv.Fill(uuid, fixed.MustParse("4")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Order(ctx, "AAPL", exchange.OrderRef{ID: open[0].ID})
	if err != nil || got.Status != exchange.StatusPartiallyFilled || got.Executed != fixed.MustParse("4") || got.QuoteExecuted != fixed.MustParse("680") {
		t.Fatalf("after a partial fill = %+v, %v", got, err)
	}
	ts, err := c.MyTrades(ctx, "AAPL", 0)
	if err != nil || len(ts) != 1 || ts[0].OrderID != o.ID || ts[0].Qty != fixed.MustParse("4") || ts[0].Commission != 0 {
		t.Fatalf("trades = %+v, %v", ts, err)
	}
	bs, _ := c.Balances(ctx)
	if bs[0].Asset != "USD" || bs[0].Locked != fixed.MustParse("1020") || bs[0].Free != fixed.MustParse("8300") {
		t.Fatalf("balances = %+v: want 6 × 170 held, 10000 − 680 − 1020 free", bs)
	}
	if bs[1].Asset != "AAPL" || bs[1].Free != fixed.MustParse("4") {
		t.Fatalf("balances = %+v: want the 4 shares", bs)
	}
}

func rawOrderID(t *testing.T, srv *alpacatest.Server, clientID string) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/v2/orders:by_client_order_id?client_order_id="+clientID, nil)
	req.Header.Set("APCA-API-KEY-ID", "key")
	req.Header.Set("APCA-API-SECRET-KEY", "secret")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var o struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || o.ID == "" {
		t.Fatalf("order %s: %v", clientID, err)
	}
	return o.ID
}

// TestOrderByIDAfterRestart: a new client (a restarted runner) finds an
// order by its numeric id among the account's orders.
func TestOrderByIDAfterRestart(t *testing.T) {
	srv, c := newAccount(t)
	o, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("170"), Quantity: fixed.One})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c2, _ := alpaca.New(alpaca.Config{BaseURL: hs.URL, DataURL: hs.URL, KeyID: "key", Secret: "secret", HTTP: hs.Client()})
	got, err := c2.Order(ctx, "AAPL", exchange.OrderRef{ID: o.ID})
	if err != nil || got.ID != o.ID || got.Status != exchange.StatusNew {
		t.Fatalf("Order by id on a new client = %+v, %v", got, err)
	}
}

// TestFractional: a fractional quantity of a fractionable asset goes as a
// day order; of a whole-share asset the market's step refuses it before
// it is sent, and Alpaca's refusal is ErrFilter.
func TestFractional(t *testing.T) {
	_, c := newAccount(t)
	ms, err := c.Markets(ctx)
	if err != nil || len(ms) != 2 {
		t.Fatalf("markets = %+v, %v", ms, err)
	}
	aapl, brk := ms[0], ms[1]
	if aapl.Symbol != "AAPL" || aapl.StepSize != 1 || brk.Symbol != "BRK.A" || brk.StepSize != fixed.One {
		t.Fatalf("markets = %+v: AAPL fractionable, BRK.A whole shares", ms)
	}
	req, err := aapl.Order(exchange.Buy, exchange.LimitOrder, 170, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.PlaceOrder(ctx, req)
	if err != nil || o.TimeInForce != "DAY" || o.Quantity != fixed.MustParse("0.5") {
		t.Fatalf("fractional order = %+v, %v", o, err)
	}
	if _, err := brk.Order(exchange.Buy, exchange.LimitOrder, 600000, 0.5); !errors.Is(err, exchange.ErrFilter) {
		t.Fatalf("half a BRK.A share: %v, want ErrFilter", err)
	}
	_, err = c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BRK.A", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("1000"), Quantity: fixed.MustParse("0.5")})
	if !errors.Is(err, exchange.ErrFilter) {
		t.Fatalf("half a BRK.A share at Alpaca: %v, want ErrFilter", err)
	}
}

// TestKlines: the newest bars, oldest first, the last at the price.
func TestKlines(t *testing.T) {
	_, c := newAccount(t)
	ks, err := c.Klines(ctx, "AAPL", "5m", 3)
	if err != nil || len(ks) != 3 || !ks[0].Time.Before(ks[2].Time) || ks[2].Time.Sub(ks[1].Time) != 5*time.Minute || ks[2].Close != fixed.MustParse("180.25") {
		t.Fatalf("klines = %+v, %v", ks, err)
	}
	if _, err := c.Klines(ctx, "AAPL", "3d", 3); err == nil {
		t.Fatal("3d bars: want an error, Alpaca has none")
	}
}

// TestPlacedThenLookupFails: a placement Alpaca took is reported as placed
// (open, by its id) even when looking at it again fails — never as an
// error that would make the runner think nothing was placed.
func TestPlacedThenLookupFails(t *testing.T) {
	e503 := alpacatest.Scripted{Status: 503, Body: `{"code":50310000,"message":"service unavailable"}`}
	srv, c, _ := scripted(t, "/v2/orders", alpacatest.Scripted{Status: 200, Body: string(alpacatest.Fixture("order.json"))})
	srv.Script("/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d", e503, e503, e503)
	o, err := c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("180.5"),
		Quantity: fixed.MustParse("2")})
	if err != nil || o.Status != exchange.StatusNew || o.ID != alpaca.OrderID("61e69015-8549-4bfd-b9c3-01e75843f47d") {
		t.Fatalf("PlaceOrder = %+v, %v: want the accepted order", o, err)
	}
}
