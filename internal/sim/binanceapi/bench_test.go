package binanceapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/binanceapi/apitest"
)

// BenchmarkRESTPlaceOrder measures signed order placements per second over
// HTTP on loopback, state in memory: 4 clients per core sign and send
// POST /api/v3/order (LIMIT, resting, FULL answer) and read the answer.
func BenchmarkRESTPlaceOrder(b *testing.B) {
	f := fixed.MustParse
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{{Name: "BTCUSDT", Base: "BTC", Quote: "USDT",
		Filters: sim.Filters{TickSize: f("0.01"), StepSize: f("0.001"), MinQty: f("0.001")}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	eng.CreateAccount("acct")
	eng.Fund(0, "acct", "USDT", f("90000000000"))
	eng.JumpTo("BTCUSDT", 0, f("100"))
	keys := &binanceapi.MemoryKeys{}
	keys.Add(binanceapi.Key{APIKey: "benchkey", Secret: "benchsecret", Account: "acct"})
	api, err := binanceapi.New(binanceapi.Config{Engine: eng, Keys: keys, WeightLimit: -1, OrderLimits: binanceapi.OrderLimits{PerTenSeconds: -1, PerDay: -1}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	apitest.PlaceOrders(b, srv.URL, "benchkey", "benchsecret", 4)
}
