package binance

import (
	"context"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/clock"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// answer is a scripted answer of the test server.
type answer struct {
	status     int
	retryAfter string
	weight     string // X-MBX-USED-WEIGHT-1M
	body       string
}

// scripted serves answers[n] to request n (0-based; the last one again
// when there are more requests) and counts requests; the client tries a
// request at most attempts times.
func scripted(t *testing.T, clk *clock.Skipping, attempts int, answers ...answer) (*Client, *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.weight != "" {
			w.Header().Set("X-MBX-USED-WEIGHT-1M", a.weight)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(srv.Close)
	c, err := rest.New(rest.Config{BaseURL: srv.URL, APIKey: "k", Secret: "s", HTTP: srv.Client(), Clock: clk, Attempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	return New(c), &n
}

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		kind   error
	}{
		{400, `{"code":-2013,"msg":"Order does not exist."}`, exchange.ErrUnknownOrder},
		{400, `{"code":-2011,"msg":"Unknown order sent."}`, exchange.ErrUnknownOrder},
		{400, `{"code":-2010,"msg":"Account has insufficient balance for requested action."}`, exchange.ErrInsufficientBalance},
		{400, `{"code":-2010,"msg":"Duplicate order sent."}`, exchange.ErrDuplicateOrder},
		{400, `{"code":-2010,"msg":"Order would immediately match and take."}`, exchange.ErrRejected},
		{400, `{"code":-1013,"msg":"Filter failure: LOT_SIZE"}`, exchange.ErrFilter},
		{400, `{"code":-1121,"msg":"Invalid symbol."}`, exchange.ErrUnknownSymbol},
		{401, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, exchange.ErrAuth},
		{429, `{"code":-1003,"msg":"Too much request weight used"}`, exchange.ErrRateLimited},
		{418, `{"code":-1003,"msg":"banned"}`, exchange.ErrRateLimited},
		{503, `{"code":-1007,"msg":"Timeout waiting for response from backend server."}`, exchange.ErrUnknownStatus},
		{502, `<html>bad gateway</html>`, nil},
	} {
		// One attempt: a POST is retried on 429 only.
		c, n := scripted(t, clock.NewSkipping(time.Now()), 1, answer{status: tc.status, retryAfter: "3", body: tc.body})
		_, err := c.PlaceOrder(context.Background(), exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.MustParse("1")})
		var e *exchange.Error
		if !errors.As(err, &e) || e.HTTPStatus != tc.status || e.Msg == "" {
			t.Fatalf("%s: %#v", tc.body, err)
		}
		if (tc.status == 429 || tc.status == 418) && e.RetryAfter != 3*time.Second {
			t.Errorf("%s: retry after %v", tc.body, e.RetryAfter)
		}
		if tc.kind != nil && !errors.Is(err, tc.kind) || tc.kind == nil && e.Kind != nil {
			t.Errorf("%s: kind %v, want %v", tc.body, e.Kind, tc.kind)
		}
		if *n != 1 {
			t.Errorf("%s: %d requests, want 1", tc.body, *n)
		}
	}
}

// The adapter keeps to the request-weight budget, waits out HTTP 429 and
// retries, stops at HTTP 418 with the ban's length, and retries server
// errors for GET requests only.
func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	timeBody := `{"serverTime":1700000000000}`
	t.Run("weight header", func(t *testing.T) {
		clk := clock.NewSkipping(time.Date(2024, 1, 1, 0, 0, 20, 0, time.UTC))
		// Someone else on this IP used 5399 of the 5400 (90% of 6000).
		c, n := scripted(t, clk, 0, answer{status: 200, weight: "5399", body: timeBody}, answer{status: 200, weight: "1", body: timeBody})
		for range 2 {
			if _, err := c.ServerTime(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// The second request (weight 1) fits; the exchangeInfo request
		// (weight 20) waits for the next minute.
		if len(clk.Sleeps()) != 0 {
			t.Fatalf("slept %v before the budget was used", clk.Sleeps())
		}
		if _, err := c.Markets(ctx); err != nil {
			t.Fatal(err)
		}
		if s := clk.Sleeps(); len(s) != 1 || s[0] != 40*time.Second || *n != 3 {
			t.Errorf("slept %v, %d requests; want 40s to the next minute, 3 requests", s, *n)
		}
	})
	t.Run("429 Retry-After", func(t *testing.T) {
		clk := clock.NewSkipping(time.Now())
		c, n := scripted(t, clk, 0, answer{status: 429, retryAfter: "7", body: `{"code":-1003,"msg":"Too much request weight used"}`}, answer{status: 200, body: timeBody})
		if _, err := c.ServerTime(ctx); err != nil {
			t.Fatal(err)
		}
		if s := clk.Sleeps(); len(s) != 1 || s[0] != 7*time.Second || *n != 2 {
			t.Errorf("slept %v, %d requests; want 7s and 2", s, *n)
		}
	})
	t.Run("418 ban", func(t *testing.T) {
		clk := clock.NewSkipping(time.Now())
		c, n := scripted(t, clk, 0, answer{status: 418, retryAfter: "120", body: `{"code":-1003,"msg":"Way too much request weight used; IP banned"}`}, answer{status: 200, body: timeBody})
		_, err := c.ServerTime(ctx)
		var e *exchange.Error
		if !errors.As(err, &e) || !errors.Is(err, exchange.ErrRateLimited) || e.HTTPStatus != 418 || e.RetryAfter != 2*time.Minute {
			t.Fatalf("error %#v", err)
		}
		if len(clk.Sleeps()) != 0 || *n != 1 {
			t.Errorf("slept %v, %d requests; want no wait, 1 request", clk.Sleeps(), *n)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		clk := clock.NewSkipping(time.Now())
		c, n := scripted(t, clk, 0, answer{status: 502, body: "<html>bad gateway</html>"}, answer{status: 200, body: timeBody})
		if _, err := c.ServerTime(ctx); err != nil || *n != 2 {
			t.Fatalf("GET: %v after %d requests", err, *n)
		}
		c, n = scripted(t, clk, 0, answer{status: 503, body: `{"code":-1007,"msg":"Timeout waiting for response from backend server."}`}, answer{status: 200, body: "{}"})
		_, err := c.CancelOrder(ctx, "BTCUSDT", exchange.OrderRef{ID: 1})
		if !errors.Is(err, exchange.ErrUnknownStatus) || *n != 1 {
			t.Fatalf("DELETE: %v after %d requests; want the unknown status at once", err, *n)
		}
	})
}

func FuzzParseKlines(f *testing.F) {
	f.Add([]byte(`[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]`))
	f.Add([]byte(`[[1,"1","2","0.5","1.5","10"]]`))
	f.Add([]byte(`[[1,2,3,4,5,6]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := parseKlines(data)
		rows, derr := rest.DecodeKlines(data)
		if err == nil && (derr != nil || len(ks) != rows.Len()) {
			t.Fatalf("%d klines from %d rows (%v)", len(ks), rows.Len(), derr)
		}
		if err != nil && !errors.Is(err, rest.ErrUndecodable) {
			t.Fatalf("error %v does not say the answer is undecodable", err)
		}
	})
}

func FuzzParseKlineEvent(f *testing.F) {
	f.Add([]byte(`{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1704067859999,"s":"BTCUSDT","k":{"t":1704067800000,"T":1704067859999,"s":"BTCUSDT","i":"1m","f":-1,"L":-1,"o":"100.00000000","c":"101.00000000","h":"101.50000000","l":"98.50000000","v":"10.00000000","n":4,"x":true,"q":"1010.00000000","V":"5.00000000","Q":"505.00000000","B":"0"}}}`))
	f.Add([]byte(`{"result":null,"id":1}`))
	f.Add([]byte(`{"data":{"s":"X","k":{"t":1,"o":"1","x":false}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sym, k, closed, err := parseKlineEvent(data)
		if err != nil {
			if !errors.Is(err, rest.ErrUndecodable) {
				t.Fatalf("error %v does not say the event is undecodable", err)
			}
			return
		}
		if closed && sym == "" {
			t.Fatalf("a closed candle %+v without a symbol", k)
		}
	})
}
