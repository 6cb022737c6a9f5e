package alpaca_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/exchange/exchangetest"
	"github.com/tradai/tradai/internal/fixed"
)

// allDay is a calendar on which the market never closes: the contract
// suite runs at any hour (the session rules have tests of their own).
func allDay(string) (alpacatest.Day, bool) {
	return alpacatest.Day{Open: "00:00", Close: "24:00", SessionOpen: "0000", SessionClose: "2400"}, true
}

// newAccount starts a test server with a funded account trading AAPL at
// 180.25 and returns the adapter on it.
func newAccount(t *testing.T) (*alpacatest.Server, *alpaca.Client) {
	t.Helper()
	srv := alpacatest.New(alpacatest.Config{KeyID: "key", Secret: "secret", Cash: fixed.MustParse("10000"), Calendar: allDay,
		Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}, {Symbol: "BRK.A", Price: fixed.MustParse("612000")}}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := alpaca.New(alpaca.Config{BaseURL: hs.URL, DataURL: hs.URL, KeyID: "key", Secret: "secret", HTTP: hs.Client(), SettlePoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// TestContract runs the exchange contract suite against the recorded-
// payload server through the adapter.
func TestContract(t *testing.T) {
	exchangetest.Run(t, func(t *testing.T) exchangetest.Setup {
		srv, c := newAccount(t)
		return exchangetest.Setup{Exchange: c, Symbol: "AAPL", Move: func(t *testing.T, p fixed.Dec) { srv.Move("AAPL", p) }, NoFees: true}
	})
}
