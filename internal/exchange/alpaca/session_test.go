package alpaca_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
)

// fixtureCalendar is the exchange calendar of testdata/calendar.json:
// 2024-07-03 closes at 13:00, 2024-07-04 is a holiday.
func fixtureCalendar(t *testing.T) func(string) (alpacatest.Day, bool) {
	var days []struct {
		Date, Open, Close string
		SO                string `json:"session_open"`
		SC                string `json:"session_close"`
	}
	if err := json.Unmarshal(alpacatest.Fixture("calendar.json"), &days); err != nil {
		t.Fatal(err)
	}
	return func(date string) (alpacatest.Day, bool) {
		for _, d := range days {
			if d.Date == date {
				return alpacatest.Day{Open: d.Open, Close: d.Close, SessionOpen: d.SO, SessionClose: d.SC}, true
			}
		}
		return alpacatest.Day{}, false
	}
}

// TestMarketHours: orders go in the regular session only — not after an
// early close, not on a holiday or a weekend — and, with extended hours
// allowed, limit orders in the pre- and after-market too, as day orders
// marked extended_hours.
func TestMarketHours(t *testing.T) {
	edt := time.FixedZone("EDT", -4*3600)
	clk := clock.NewSkipping(time.Date(2024, 7, 3, 10, 0, 0, 0, edt))
	srv := alpacatest.New(alpacatest.Config{KeyID: "k", Secret: "s", Cash: fixed.MustParse("100000"), Clock: clk, Location: edt,
		Calendar: fixtureCalendar(t), Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	regular, _ := alpaca.New(alpaca.Config{BaseURL: hs.URL, KeyID: "k", Secret: "s", HTTP: hs.Client(), Clock: clk})
	extended, _ := alpaca.New(alpaca.Config{BaseURL: hs.URL, KeyID: "k", Secret: "s", HTTP: hs.Client(), Clock: clk, ExtendedHours: true})
	limit := exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: fixed.MustParse("170"), Quantity: fixed.One}
	market := exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.One}
	for _, tc := range []struct {
		at     time.Time
		c      *alpaca.Client
		req    exchange.OrderRequest
		placed bool
	}{
		{time.Date(2024, 7, 3, 10, 0, 0, 0, edt), regular, limit, true},
		{time.Date(2024, 7, 3, 12, 59, 0, 0, edt), regular, market, true},
		{time.Date(2024, 7, 3, 13, 0, 0, 0, edt), regular, limit, false}, // the early close
		{time.Date(2024, 7, 3, 13, 30, 0, 0, edt), extended, limit, true},
		{time.Date(2024, 7, 4, 10, 0, 0, 0, edt), regular, limit, false}, // Independence Day
		{time.Date(2024, 7, 4, 10, 0, 0, 0, edt), extended, limit, false},
		{time.Date(2024, 7, 5, 9, 29, 0, 0, edt), regular, limit, false},
		{time.Date(2024, 7, 5, 9, 30, 0, 0, edt), regular, limit, true},
		{time.Date(2024, 7, 5, 8, 0, 0, 0, edt), extended, limit, true},
		{time.Date(2024, 7, 5, 8, 0, 0, 0, edt), extended, market, false}, // only limits outside the session
		{time.Date(2024, 7, 5, 20, 0, 0, 0, edt), extended, limit, false},
		{time.Date(2024, 7, 6, 11, 0, 0, 0, edt), regular, limit, false}, // a Saturday
	} {
		clk.Set(tc.at)
		o, err := tc.c.PlaceOrder(ctx, tc.req)
		switch {
		case tc.placed && err != nil:
			t.Errorf("%v %s: %v, want it placed", tc.at, tc.req.Type, err)
		case !tc.placed && !errors.Is(err, exchange.ErrRejected):
			t.Errorf("%v %s: %+v, %v: want it refused as the market is closed", tc.at, tc.req.Type, o, err)
		case tc.placed && tc.c == extended && tc.at.Hour() < 9 && o.TimeInForce != "DAY":
			t.Errorf("%v: extended-hours order %+v: want a day order", tc.at, o)
		}
	}
}
