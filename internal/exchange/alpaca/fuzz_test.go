package alpaca

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
)

// TestFixturesDecode reads each documented payload through the decoders.
func TestFixturesDecode(t *testing.T) {
	var o order
	if err := json.Unmarshal(alpacatest.Fixture("order.json"), &o); err != nil {
		t.Fatal(err)
	}
	if x := o.toExchange(); x.Status != exchange.StatusNew || x.Type != exchange.LimitOrder || x.Price != fixed.MustParse("180.5") ||
		x.Quantity != fixed.MustParse("2") || x.TimeInForce != exchange.GTC || x.ID != OrderID("61e69015-8549-4bfd-b9c3-01e75843f47d") || !o.pending() {
		t.Fatalf("order.json = %+v", x)
	}
	if err := json.Unmarshal(alpacatest.Fixture("order_partial.json"), &o); err != nil {
		t.Fatal(err)
	}
	if x := o.toExchange(); x.Status != exchange.StatusPartiallyFilled || x.Executed != fixed.MustParse("4") || x.QuoteExecuted != fixed.MustParse("721") {
		t.Fatalf("order_partial.json = %+v", x)
	}
	var fs []fill
	if err := json.Unmarshal(alpacatest.Fixture("activities_fill.json"), &fs); err != nil {
		t.Fatal(err)
	}
	if a, b := fs[0].toExchange(), fs[1].toExchange(); a.Side != exchange.Buy || a.QuoteQty != fixed.MustParse("721") || a.OrderID != OrderID("904837e3-3b76-47ec-b432-046db621571b") ||
		b.Side != exchange.Sell || b.Qty != fixed.MustParse("0.5") || b.QuoteQty != fixed.MustParse("90.155") {
		t.Fatalf("activities_fill.json = %+v, %+v", a, b)
	}
	var as []asset
	if err := json.Unmarshal(alpacatest.Fixture("assets.json"), &as); err != nil {
		t.Fatal(err)
	}
	if m := as[0].toMarket(); m.StepSize != 1 || m.TickSize != fixed.MustParse("0.01") || m.MinNotional != fixed.One || !m.Takes(exchange.StopLossLimitOrder) {
		t.Fatalf("AAPL = %+v", m)
	}
	if m := as[1].toMarket(); m.StepSize != fixed.One || m.MinQty != fixed.One {
		t.Fatalf("BRK.A = %+v", m)
	}
	var ps []position
	if err := json.Unmarshal(alpacatest.Fixture("positions.json"), &ps); err != nil || ps[0].Qty-ps[0].QtyAvailable != dec(fixed.MustParse("2.5")) {
		t.Fatalf("positions.json = %+v, %v", ps, err)
	}
	var a account
	if err := json.Unmarshal(alpacatest.Fixture("account.json"), &a); err != nil || a.Status != "ACTIVE" || a.Cash != dec(fixed.MustParse("10000")) {
		t.Fatalf("account.json = %+v, %v", a, err)
	}
	var mc marketClock
	if err := json.Unmarshal(alpacatest.Fixture("clock.json"), &mc); err != nil || !mc.IsOpen {
		t.Fatalf("clock.json = %+v, %v", mc, err)
	}
	if _, off := mc.Timestamp.Zone(); off != -5*3600 {
		t.Fatalf("clock.json offset %d", off)
	}
	var days []calendarDay
	if err := json.Unmarshal(alpacatest.Fixture("calendar.json"), &days); err != nil {
		t.Fatal(err)
	}
	edt := time.FixedZone("ET", -4*3600)
	s, err := sessionOf("2024-07-03", edt, days)
	if err != nil || !s.trading || s.shut.Hour() != 13 || s.pre.Hour() != 4 || s.post.Hour() != 20 {
		t.Fatalf("2024-07-03 = %+v, %v", s, err)
	}
	if s, err := sessionOf("2024-07-04", edt, days); err != nil || s.trading {
		t.Fatalf("2024-07-04 (a holiday) = %+v, %v", s, err)
	}
	var p barsPage
	if err := json.Unmarshal(alpacatest.Fixture("bars.json"), &p); err != nil {
		t.Fatal(err)
	}
	if ks := barsToKlines("1m", p.Bars); len(ks) != 2 || ks[1].Close != fixed.MustParse("180.25") || ks[0].Volume != fixed.MustParse("211923") {
		t.Fatalf("bars.json = %+v", ks)
	}
}

// FuzzDecoders: no answer of the venue makes a decoder panic, and an
// order that decodes converts.
func FuzzDecoders(f *testing.F) {
	for _, name := range []string{"order.json", "order_partial.json", "activities_fill.json", "assets.json", "positions.json", "account.json", "clock.json", "calendar.json", "bars.json"} {
		f.Add(alpacatest.Fixture(name))
	}
	f.Add([]byte(`{"qty":"1e400","filled_qty":"-0.0000000001","limit_price":1e-9,"filled_avg_price":"99999999999"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o order
		if json.Unmarshal(b, &o) == nil {
			_ = o.toExchange()
		}
		var fs []fill
		if json.Unmarshal(b, &fs) == nil {
			for i := range fs {
				_ = fs[i].toExchange()
			}
		}
		var as []asset
		if json.Unmarshal(b, &as) == nil {
			for i := range as {
				_ = as[i].toMarket()
			}
		}
		var days []calendarDay
		if json.Unmarshal(b, &days) == nil && len(days) > 0 {
			_, _ = sessionOf(days[0].Date, time.UTC, days)
		}
		var p barsPage
		if json.Unmarshal(b, &p) == nil {
			_ = barsToKlines("1m", p.Bars)
		}
		var a account
		_ = json.Unmarshal(b, &a)
		var mc marketClock
		_ = json.Unmarshal(b, &mc)
	})
}

// FuzzErrorAnswer: every error answer becomes an *exchange.Error with a
// message, whatever its body.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(403, []byte(`{"code":40310000,"message":"insufficient buying power"}`))
	f.Add(422, []byte(`{"code":"x","message":7}`))
	f.Add(429, []byte(``))
	f.Add(500, []byte("<html>bad gateway</html>"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 400 || status > 599 {
			return
		}
		e := parseError(status, "/v2/orders", body)
		if e.Msg == "" || e.HTTPStatus != status {
			t.Fatalf("parseError(%d, %q) = %+v", status, body, e)
		}
	})
}

// FuzzDec: amounts parse or fail, never panic; what parses prints back
// as itself cut to 8 decimals.
func FuzzDec(f *testing.F) {
	for _, s := range []string{"10", "0.5", "-3.25", "180.123456789", "1e-5", "null", `"12.5"`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d dec
		if d.UnmarshalJSON([]byte(s)) != nil {
			return
		}
		if v, err := parseDec(fixed.Dec(d).String()); err != nil || v != fixed.Dec(d) {
			t.Fatalf("%q → %v → %v, %v", s, fixed.Dec(d), v, err)
		}
	})
}

// FuzzTradeUpdate: no message of the trade updates stream makes the
// reader panic; a fill it reads has an order, a symbol and a quantity.
func FuzzTradeUpdate(f *testing.F) {
	for _, name := range []string{"trade_update_fill.json", "stream_authorization.json", "stream_listening.json"} {
		f.Add(alpacatest.Fixture(name))
	}
	f.Add([]byte(`{"stream":"trade_updates","data":{"event":"fill","order":{"id":"x","symbol":"A"},"qty":"-1"}}`))
	f.Add([]byte(`{"stream":"trade_updates","data":{"event":"new","order":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, o, ok, err := parseTradeUpdate(b)
		if ok && (err != nil || o.ID == "" || tr.Symbol == "" || tr.Qty <= 0 || tr.OrderID != OrderID(o.ID)) {
			t.Fatalf("%s: %+v %v", b, tr, err)
		}
	})
}

// The documented trade update of a partial fill reads as that fill.
func TestTradeUpdateFixture(t *testing.T) {
	tr, o, ok, err := parseTradeUpdate(alpacatest.Fixture("trade_update_fill.json"))
	if err != nil || !ok {
		t.Fatalf("ok %v: %v", ok, err)
	}
	if o.ID != "904837e3-3b76-47ec-b432-046db621571b" || tr.OrderID != OrderID(o.ID) || tr.ID != OrderID("2f63ea93-423d-4169-b3f6-3fdafc10c418") ||
		tr.Side != exchange.Buy || tr.Qty != fixed.MustParse("4") || tr.Price != fixed.MustParse("180.25") || tr.QuoteQty != fixed.MustParse("721") ||
		tr.Time.UnixMilli() != time.Date(2024, 1, 10, 15, 31, 5, 500e6, time.UTC).UnixMilli() {
		t.Fatalf("%+v", tr)
	}
}
