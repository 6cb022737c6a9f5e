package exchange_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

var btc = exchange.Market{
	Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT",
	TickSize: fixed.MustParse("0.01"), MinPrice: fixed.MustParse("0.01"), MaxPrice: fixed.MustParse("1000000"),
	StepSize: fixed.MustParse("0.00001"), MinQty: fixed.MustParse("0.00001"), MaxQty: fixed.MustParse("9000"),
	MinNotional: fixed.MustParse("5"),
}

func TestOrder(t *testing.T) {
	t.Parallel()
	d := fixed.MustParse
	cases := []struct {
		name       string
		side       exchange.Side
		typ        exchange.OrderType
		price, qty float64
		wantPrice  fixed.Dec
		wantQty    fixed.Dec
		wantRule   string // "" accepted
	}{
		{"buy limit price down, quantity down", exchange.Buy, exchange.LimitOrder, 43_210.129, 0.0123456, d("43210.12"), d("0.01234"), ""},
		{"sell limit price up", exchange.Sell, exchange.LimitOrder, 43_210.121, 0.0123456, d("43210.13"), d("0.01234"), ""},
		{"a price on the tick stays", exchange.Sell, exchange.LimitOrder, 0.29, 100, d("0.29"), d("100"), ""},
		{"a quantity on the step stays despite float error", exchange.Buy, exchange.LimitOrder, 100, 0.29, d("100"), d("0.29"), ""},
		{"market orders send no price", exchange.Buy, exchange.MarketOrder, 43_210.129, 0.001, 0, d("0.001"), ""},
		{"min notional", exchange.Buy, exchange.LimitOrder, 100, 0.0499, 0, 0, "min notional"},
		{"min notional, market valued at the price", exchange.Sell, exchange.MarketOrder, 100, 0.0499, 0, 0, "min notional"},
		{"quantity floors to zero", exchange.Buy, exchange.LimitOrder, 100, 0.000009, 0, 0, "step size"},
		{"max quantity", exchange.Sell, exchange.MarketOrder, 100, 9000.1, 0, 0, "max quantity"},
		{"max price", exchange.Sell, exchange.LimitOrder, 1_000_000.001, 1, 0, 0, "max price"},
		{"buy price floors below the min", exchange.Buy, exchange.LimitOrder, 0.019, 1000, d("0.01"), d("1000"), ""},
		{"buy price floors to zero", exchange.Buy, exchange.LimitOrder, 0.009, 1000, 0, 0, "tick size"},
	}
	for _, tc := range cases {
		req, err := btc.Order(tc.side, tc.typ, tc.price, tc.qty)
		if tc.wantRule != "" {
			if !errors.Is(err, exchange.ErrFilter) || !strings.Contains(err.Error(), tc.wantRule) || !strings.Contains(err.Error(), "BTCUSDT") {
				t.Errorf("%s: got %+v, %v; want a %s failure", tc.name, req, err, tc.wantRule)
			}
			continue
		}
		want := exchange.OrderRequest{Symbol: "BTCUSDT", Side: tc.side, Type: tc.typ, Price: tc.wantPrice, Quantity: tc.wantQty}
		if err != nil || req != want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, req, err, want)
		}
	}
	for _, bad := range [][2]float64{{math.NaN(), 1}, {100, math.Inf(1)}, {-1, 1}, {100, 0}, {1e12, 1}} {
		if _, err := btc.Order(exchange.Buy, exchange.LimitOrder, bad[0], bad[1]); err == nil || errors.Is(err, exchange.ErrFilter) {
			t.Errorf("price %v, quantity %v: %v, want an input error", bad[0], bad[1], err)
		}
	}
	if _, err := btc.Order("HOLD", exchange.LimitOrder, 100, 1); err == nil {
		t.Error("an unknown side accepted")
	}
}

// drawGrid draws a step of a grid: 0 (no grid) or 10^k, 2.5 × 10^k or 5 ×
// 10^k units of 10⁻⁸.
func drawGrid(t *rapid.T, name string) fixed.Dec {
	if rapid.IntRange(0, 5).Draw(t, name+" off") == 0 {
		return 0
	}
	base := fixed.Dec(rapid.SampledFrom([]int64{1, 5, 25}).Draw(t, name+" base"))
	return base * fixed.Dec(math.Pow10(rapid.IntRange(0, 10).Draw(t, name+" exponent")))
}

// drawBound draws a bound near v (in units): 0 (off), v itself, one unit
// either side of it, or v scaled by a ratio around 1, so that orders land
// on both sides of it and on it.
func drawBound(t *rapid.T, name string, v fixed.Dec) fixed.Dec {
	switch rapid.IntRange(0, 4).Draw(t, name+" kind") {
	case 0:
		return 0
	case 1:
		return v
	case 2:
		return max(v-1, 0)
	case 3:
		return v + 1
	}
	return fixed.Dec(float64(v) * rapid.Float64Range(0.5, 2).Draw(t, name+" ratio"))
}

// TestOrderProperties: an accepted order is on the market's grid, never
// asks more quantity than given nor a worse limit price, rounds by less
// than one step or tick, and meets every rule; an order is refused, with
// ErrFilter naming the symbol, exactly when its rounded form breaks a
// rule.
func TestOrderProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		price := math.Pow(10, rapid.Float64Range(-4, 5).Draw(t, "log price"))
		qty := math.Pow(10, rapid.Float64Range(-5, 4).Draw(t, "log qty"))
		if rapid.Bool().Draw(t, "qty on a decimal") {
			qty = max(math.Round(qty*1000)/1000, 0.001)
		}
		m := exchange.Market{Symbol: "XY", TickSize: drawGrid(t, "tick"), StepSize: drawGrid(t, "step")}
		side := rapid.SampledFrom([]exchange.Side{exchange.Buy, exchange.Sell}).Draw(t, "side")
		typ := rapid.SampledFrom([]exchange.OrderType{exchange.MarketOrder, exchange.LimitOrder}).Draw(t, "type")
		limit := typ == exchange.LimitOrder
		// The decided amounts as Decs, never rounded to the worse side
		// (fixed's own property test holds them to the exact values).
		toDec := fixed.FromFloat
		if limit {
			toDec = fixed.FloorFloat
			if side == exchange.Sell {
				toDec = fixed.CeilFloat
			}
		}
		pd, err := toDec(price)
		if err != nil {
			t.Fatal(err)
		}
		qd, err := fixed.FloorFloat(qty)
		if err != nil {
			t.Fatal(err)
		}

		// The rounded order, from the definition of the grid.
		q := qd
		if m.StepSize > 0 {
			q = qd / m.StepSize * m.StepSize
		}
		p := pd
		if limit && m.TickSize > 0 {
			p = pd / m.TickSize * m.TickSize
			if side == exchange.Sell && p < pd {
				p += m.TickSize
			}
		}
		n, _ := fixed.Mul(p, q)
		// Bounds at, next to and around the rounded order.
		m.MinPrice, m.MaxPrice = drawBound(t, "min price", p), drawBound(t, "max price", p)
		m.MinQty, m.MaxQty = drawBound(t, "min qty", q), drawBound(t, "max qty", q)
		m.MinNotional = drawBound(t, "min notional", n.Ceil())
		ok := q > 0 && q >= m.MinQty && (m.MaxQty == 0 || q <= m.MaxQty) &&
			(!limit || p > 0 && p >= m.MinPrice && (m.MaxPrice == 0 || p <= m.MaxPrice)) &&
			(m.MinNotional == 0 || n.Cmp(m.MinNotional) >= 0)

		req, err := m.Order(side, typ, price, qty)
		if !ok {
			if err == nil || !errors.Is(err, exchange.ErrFilter) || !strings.Contains(err.Error(), "XY") {
				t.Fatalf("order %v × %v on %+v: %+v, %v; want a refusal", p, q, m, req, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("order %v × %v on %+v refused: %v", p, q, m, err)
		}
		if req.Quantity > qd || !req.Quantity.OnGrid(m.StepSize) || m.StepSize > 0 && qd-req.Quantity >= m.StepSize {
			t.Fatalf("quantity %v asked, %v given at step %v", qd, req.Quantity, m.StepSize)
		}
		if !limit {
			if req.Price != 0 {
				t.Fatalf("market order with price %v", req.Price)
			}
			if got, _ := fixed.Mul(pd, req.Quantity); m.MinNotional > 0 && got.Cmp(m.MinNotional) < 0 {
				t.Fatalf("notional %v below %v accepted", got, m.MinNotional)
			}
			return
		}
		worse := side == exchange.Buy && req.Price > pd || side == exchange.Sell && req.Price < pd
		if worse || !req.Price.OnGrid(m.TickSize) || m.TickSize > 0 && max(req.Price-pd, pd-req.Price) >= m.TickSize {
			t.Fatalf("%s limit at %v priced %v at tick %v", side, pd, req.Price, m.TickSize)
		}
		if got, _ := fixed.Mul(req.Price, req.Quantity); m.MinNotional > 0 && got.Cmp(m.MinNotional) < 0 {
			t.Fatalf("notional %v below %v accepted", got, m.MinNotional)
		}
	})
}

// A stop's trigger is rounded towards the side it triggers on (a sell's
// down, a buy's up), its limit as a limit; STOP_LOSS sends no price.
func TestStop(t *testing.T) {
	t.Parallel()
	d := fixed.MustParse
	cases := []struct {
		name                string
		side                exchange.Side
		stop, limit, qty    float64
		wantType            exchange.OrderType
		wantStop, wantPrice fixed.Dec
		wantRule            string
	}{
		{"sell stop floored, market", exchange.Sell, 43_210.129, 0, 0.0123456, exchange.StopLossOrder, d("43210.12"), 0, ""},
		{"sell stop-limit: limit raised", exchange.Sell, 43_210.129, 43_000.001, 0.0123456, exchange.StopLossLimitOrder, d("43210.12"), d("43000.01"), ""},
		{"buy stop raised", exchange.Buy, 43_210.121, 0, 0.001, exchange.StopLossOrder, d("43210.13"), 0, ""},
		{"a stop on the tick stays", exchange.Sell, 98.76, 0, 1, exchange.StopLossOrder, d("98.76"), 0, ""},
		{"min notional at the stop", exchange.Sell, 100, 0, 0.0499, "", 0, 0, "min notional"},
		{"a limit-less stop rounding to 0", exchange.Sell, 0.009, 0, 1000, "", 0, 0, "tick size"},
	}
	for _, c := range cases {
		req, err := btc.Stop(c.side, c.stop, c.limit, c.qty)
		if c.wantRule != "" {
			if !errors.Is(err, exchange.ErrFilter) || !strings.Contains(err.Error(), c.wantRule) {
				t.Errorf("%s: %v, want a %s failure", c.name, err, c.wantRule)
			}
			continue
		}
		if err != nil || req.Type != c.wantType || req.StopPrice != c.wantStop || req.Price != c.wantPrice || req.Side != c.side {
			t.Errorf("%s: %+v, %v", c.name, req, err)
		}
	}
	// On a tick of one unit (8 decimals) the rounding to a Dec is the
	// rounding to the tick: a sell stop of 3.78081e-5 must not become
	// 3.781e-5 (nearest), which a low of 3.781e-5 triggers where the
	// backtest's stop does not; nor a buy limit pay half a unit more.
	xlm := exchange.Market{Symbol: "XLMBTC", TickSize: 1, StepSize: 1}
	if req, err := xlm.Stop(exchange.Sell, 3.78081e-5, 0, 100); err != nil || req.StopPrice != d("0.0000378") {
		t.Errorf("sell stop on an 8-decimal tick: %+v, %v", req, err)
	}
	if req, err := xlm.Order(exchange.Buy, exchange.LimitOrder, 3.78081e-5, 100); err != nil || req.Price != d("0.0000378") {
		t.Errorf("buy limit on an 8-decimal tick: %+v, %v", req, err)
	}
	if req, err := xlm.Order(exchange.Sell, exchange.LimitOrder, 3.78011e-5, 100); err != nil || req.Price != d("0.00003781") {
		t.Errorf("sell limit on an 8-decimal tick: %+v, %v", req, err)
	}
	if req, err := xlm.Order(exchange.Buy, exchange.MarketOrder, 1, 0.123456789); err != nil || req.Quantity != d("0.12345678") {
		t.Errorf("quantity on an 8-decimal step: %+v, %v", req, err)
	}
	if _, err := btc.Stop(exchange.Sell, math.NaN(), 0, 1); err == nil || errors.Is(err, exchange.ErrFilter) {
		t.Errorf("a NaN stop: %v", err)
	}
	if !btc.Takes(exchange.LimitOrder) || btc.Takes(exchange.StopLossOrder) {
		t.Error("a market without order types takes market and limit orders only")
	}
	m := btc
	m.OrderTypes = []exchange.OrderType{exchange.LimitOrder, exchange.MarketOrder, exchange.StopLossOrder}
	if !m.Takes(exchange.StopLossOrder) || m.Takes(exchange.StopLossLimitOrder) {
		t.Error("Takes does not read the market's order types")
	}
}

func TestTrailing(t *testing.T) {
	m := btc
	m.TrailingBelow = exchange.DeltaRange{Min: 10, Max: 2000}
	stop, err := m.Stop(exchange.Sell, 90000, 0, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Trailing(stop, 150)
	if err != nil || got.TrailingDelta != 150 || got.StopPrice != stop.StopPrice || got.Type != exchange.StopLossOrder {
		t.Fatalf("Trailing = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name  string
		m     exchange.Market
		req   exchange.OrderRequest
		delta int64
	}{
		{"below the range", m, stop, 9},
		{"above it", m, stop, 2001},
		{"a buy: the range above, not set", m, exchange.OrderRequest{Side: exchange.Buy, Type: exchange.StopLossOrder}, 100},
		{"a venue without trailing stops", btc, stop, 100},
	} {
		if _, err := tc.m.Trailing(tc.req, tc.delta); !errors.Is(err, exchange.ErrFilter) {
			t.Errorf("%s: %v, want ErrFilter", tc.name, err)
		}
	}
	if _, err := m.Trailing(exchange.OrderRequest{Side: exchange.Sell, Type: exchange.LimitOrder}, 100); err == nil || errors.Is(err, exchange.ErrFilter) {
		t.Errorf("a limit order: %v, want the caller's error", err)
	}
}
