package binanceapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

func TestTrailingStopOrders(t *testing.T) {
	e := setup(t, nil)
	order := func(v url.Values) resp {
		v.Set("symbol", "BTCUSDT")
		v.Set("quantity", "0.5")
		v.Set("newOrderRespType", "RESULT")
		return e.signed(t, "POST", "/api/v3/order", v)
	}
	// Without a stop price it tracks from the last price at once.
	var placed resultResp
	r := order(url.Values{"side": {"SELL"}, "type": {"STOP_LOSS"}, "trailingDelta": {"150"}, "newClientOrderId": {"trail-1"}})
	r.decode(t, &placed)
	if r.status != 200 || placed.Status != "NEW" || placed.TrailingDelta == nil || *placed.TrailingDelta != 150 ||
		placed.TrailingTime == nil || *placed.TrailingTime != e.feed.Now() || placed.WorkingTime != -1 {
		t.Fatalf("place = %d %s", r.status, r.body)
	}
	var got orderResp
	e.signed(t, "GET", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "origClientOrderId": {"trail-1"}}).decode(t, &got)
	if got.TrailingDelta == nil || *got.TrailingDelta != 150 || got.StopPrice != 0 || got.IsWorking {
		t.Fatalf("query = %+v", got)
	}
	// A take-profit sell activated by its stop price above the price: not
	// tracking yet.
	r = order(url.Values{"side": {"SELL"}, "type": {"TAKE_PROFIT_LIMIT"}, "timeInForce": {"GTC"}, "price": {"150"}, "stopPrice": {"160"},
		"trailingDelta": {"500"}})
	r.decode(t, &placed)
	if r.status != 200 || placed.TrailingTime == nil || *placed.TrailingTime != -1 || *placed.StopPrice != fixed.MustParse("160") {
		t.Fatalf("place = %d %s", r.status, r.body)
	}
	// Other orders show no trailing fields.
	r = order(url.Values{"side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "price": {"50"}})
	if r.status != 200 || strings.Contains(string(r.body), "trailing") {
		t.Fatalf("place = %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		v          url.Values
		status     int
		code       int
		msg        string
		wantPlaced bool
	}{
		{v: url.Values{"side": {"SELL"}, "type": {"STOP_LOSS"}, "trailingDelta": {"0"}}, status: 400, code: -1013, msg: "Filter failure: TRAILING_DELTA"},
		{v: url.Values{"side": {"SELL"}, "type": {"STOP_LOSS"}, "trailingDelta": {"2001"}}, status: 400, code: -1013, msg: "Filter failure: TRAILING_DELTA"},
		{v: url.Values{"side": {"SELL"}, "type": {"STOP_LOSS"}, "trailingDelta": {"-5"}}, status: 400, code: -1100,
			msg: "Illegal characters found in parameter 'trailingDelta'; legal range is '^[0-9]{1,20}$'."},
		{v: url.Values{"side": {"SELL"}, "type": {"STOP_LOSS"}, "trailingDelta": {"1.5"}}, status: 400, code: -1100},
		{v: url.Values{"side": {"SELL"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "price": {"200"}, "trailingDelta": {"100"}}, status: 400, code: -1106,
			msg: "Parameter 'trailingDelta' sent when not required."},
	} {
		order(tc.v).wantError(t, tc.status, tc.code, tc.msg)
	}
	// exchangeInfo shows the filter.
	info := e.do(t, "GET", "/api/v3/exchangeInfo", "symbol=BTCUSDT", "", nil)
	for _, want := range []string{`"allowTrailingStop":true`, `"filterType":"TRAILING_DELTA"`, `"maxTrailingBelowDelta":2000`} {
		if !strings.Contains(string(info.body), want) {
			t.Fatalf("exchangeInfo lacks %s: %s", want, info.body)
		}
	}
}

// FuzzNewOrder sends new orders with fuzzed type, side, prices and
// trailingDelta: every answer is an order or one of Binance's errors, and
// an order placed carries the delta sent.
func FuzzNewOrder(f *testing.F) {
	f.Add("STOP_LOSS", "SELL", "", "100", "0.1", "")
	f.Add("TAKE_PROFIT_LIMIT", "SELL", "160", "500", "0.1", "150")
	f.Add("STOP_LOSS_LIMIT", "BUY", "", "10", "0.1", "110")
	f.Add("LIMIT", "BUY", "", "1", "0.1", "90")
	f.Add("STOP_LOSS", "SELL", "120", "00099", "1e3", "")
	f.Add("TAKE_PROFIT", "BUY", "", "99999999999999999999999", "0.1", "")
	e := setup(f, nil)
	f.Fuzz(func(t *testing.T, typ, side, stop, delta, qty, price string) {
		v := map[string]string{"symbol": "BTCUSDT", "type": typ, "side": side, "stopPrice": stop, "trailingDelta": delta, "quantity": qty, "price": price}
		if price != "" {
			v["timeInForce"] = "GTC"
		}
		c := &call{ctx: t.Context(), p: params{vals: map[string]string{}}, wall: wall, account: "acct1", header: http.Header{}}
		for k, x := range v {
			if x != "" {
				c.p.vals[k] = x
			}
		}
		out, err := e.s.newOrder(c)
		if err != nil {
			var se *sim.Error
			if !errors.As(err, &se) || se.Code >= 0 || se.Msg == "" {
				t.Fatalf("%v: not one of Binance's errors: %v", v, err)
			}
			return
		}
		var td *int64
		switch o := out.(type) {
		case resultResp:
			td = o.TrailingDelta
		case fullResp:
			td = o.TrailingDelta
		case ackResp:
			return
		default:
			t.Fatalf("answer %T", out)
		}
		n, perr := strconv.ParseInt(delta, 10, 64)
		if delta == "" && td != nil || delta != "" && (perr != nil || td == nil || *td != n) {
			t.Fatalf("%v: placed with trailingDelta %v", v, td)
		}
	})
}
