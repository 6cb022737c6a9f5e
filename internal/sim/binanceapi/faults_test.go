package binanceapi

import (
	"net/url"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

func TestFaults(t *testing.T) {
	t.Run("429s", func(t *testing.T) {
		e := setup(t, func(c *Config) { c.Faults = Faults{TooManyRequests: 1} })
		r := e.do(t, "GET", "/api/v3/ping", "", "", nil)
		r.wantError(t, 429, -1003, "Too many requests queued.")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		if r := e.do(t, "GET", "/sim/v1/clock", "", "", nil); r.status != 200 {
			t.Fatalf("admin endpoint got a fault: %d", r.status)
		}
	})
	t.Run("a share of them", func(t *testing.T) {
		e := setup(t, func(c *Config) { c.Faults = Faults{TooManyRequests: 0.3, Seed: 7}; c.WeightLimit = -1 })
		n := 0
		for range 200 {
			if e.do(t, "GET", "/api/v3/ping", "", "", nil).status == 429 {
				n++
			}
		}
		if n < 40 || n > 80 {
			t.Fatalf("%d of 200 requests got 429, want about 60", n)
		}
	})
	t.Run("5xx after placing", func(t *testing.T) {
		e := setup(t, func(c *Config) { c.Faults = Faults{ErrorAfterOrder: 1} })
		r := e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
			"quantity": {"0.1"}, "price": {"100"}, "newClientOrderId": {"lost-1"}})
		r.wantError(t, 503, -1007, "")
		var got orderResp
		e.signed(t, "GET", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "origClientOrderId": {"lost-1"}}).decode(t, &got)
		if got.Status != "NEW" {
			t.Fatalf("the order behind the 503 = %+v", got)
		}
	})
	t.Run("latency", func(t *testing.T) {
		e := setup(t, func(c *Config) { c.Faults = Faults{Latency: 50 * time.Millisecond}; c.Clock = clock.Real() })
		start := time.Now()
		if r := e.do(t, "GET", "/api/v3/ping", "", "", nil); r.status != 200 {
			t.Fatalf("ping: %d", r.status)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Fatalf("answered in %v", d)
		}
	})
}
