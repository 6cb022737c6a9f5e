package binanceapi

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// TestOrderRateLimits: Binance's ORDERS limits per account, counted on
// the wall clock and shown in the X-MBX-ORDER-COUNT headers; an order
// that fills when placed gives its count back.
func TestOrderRateLimits(t *testing.T) {
	clk := clock.NewFake(wall)
	e := setup(t, func(c *Config) {
		c.Clock = clk
		c.OrderLimits = OrderLimits{PerTenSeconds: 3, PerDay: 5}
	})
	var info struct{ RateLimits []rateLimit }
	e.do(t, "GET", "/api/v3/exchangeInfo", "", "", nil).decode(t, &info)
	if len(info.RateLimits) != 3 || info.RateLimits[1] != (rateLimit{"ORDERS", "SECOND", 10, 3}) || info.RateLimits[2] != (rateLimit{"ORDERS", "DAY", 1, 5}) {
		t.Fatalf("rateLimits = %+v", info.RateLimits)
	}
	limitBuy := func() resp {
		return e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"},
			"timeInForce": {"GTC"}, "quantity": {"0.1"}, "price": {"90"}, "timestamp": {ms(clk.Now())}})
	}
	counts := func(r resp) string { return r.header.Get(headerOrders10s) + "/" + r.header.Get(headerOrders1d) }

	// A market order that fills at once is not counted.
	r := e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"MARKET"}, "quantity": {"0.1"}, "timestamp": {ms(clk.Now())}})
	if r.status != 200 || counts(r) != "0/0" {
		t.Fatalf("market order: %d %s counts %s", r.status, r.body, counts(r))
	}
	// A rejected one is not either.
	r = e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.0001"}, "price": {"90"}, "timestamp": {ms(clk.Now())}})
	if r.status != 400 || counts(r) != "0/0" {
		t.Fatalf("rejected order: %d %s counts %s", r.status, r.body, counts(r))
	}
	for i, want := range []string{"1/1", "2/2", "3/3"} {
		if r := limitBuy(); r.status != 200 || counts(r) != want {
			t.Fatalf("order %d: %d %s counts %s", i+1, r.status, r.body, counts(r))
		}
	}
	r = limitBuy()
	r.wantError(t, 429, -1015, "Too many new orders; current limit is 3 orders per 10 SECOND.")
	if counts(r) != "3/3" || r.header.Get("Retry-After") != "5" { // wall is 03:04:05
		t.Fatalf("refused: counts %s, Retry-After %q", counts(r), r.header.Get("Retry-After"))
	}
	clk.Advance(10 * time.Second)
	for i, want := range []string{"1/4", "2/5"} {
		if r := limitBuy(); r.status != 200 || counts(r) != want {
			t.Fatalf("order %d after 10 s: %d %s counts %s", i+4, r.status, r.body, counts(r))
		}
	}
	clk.Advance(10 * time.Second)
	limitBuy().wantError(t, 429, -1015, "Too many new orders; current limit is 5 orders per DAY.")
	clk.Advance(24 * time.Hour)
	if r := limitBuy(); r.status != 200 || counts(r) != "1/1" {
		t.Fatalf("the next day: %d %s counts %s", r.status, r.body, counts(r))
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
