package binance

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// FuzzFilterRules: whatever filters a venue's exchangeInfo lists, reading
// them never fails or panics, and an order checked against them (here
// without the reads a filter may need) is either let through or refused
// as a filter failure.
func FuzzFilterRules(f *testing.F) {
	f.Add([]byte(`[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000","tickSize":"0.01"},{"filterType":"LOT_SIZE","minQty":"0.00001","maxQty":"9000","stepSize":"0.00001"},{"filterType":"NOTIONAL","minNotional":"5","applyMinToMarket":true,"maxNotional":"9000000","applyMaxToMarket":false,"avgPriceMins":5}]`),
		"BUY", "LIMIT", "100.01", "0.5")
	f.Add([]byte(`[{"filterType":"MIN_NOTIONAL","minNotional":"10","applyToMarket":true},{"filterType":"MARKET_LOT_SIZE","minQty":"0","maxQty":"100","stepSize":"0"},{"filterType":"ICEBERG_PARTS","limit":10},{"filterType":7}]`),
		"SELL", "MARKET", "0", "1")
	f.Add([]byte(`[{"filterType":"PRICE_FILTER","tickSize":"-1"},"x",null,{}]`), "BUY", "STOP_LOSS", "1", "99999999999")
	f.Fuzz(func(t *testing.T, raw []byte, side, typ, price, qty string) {
		var filters []json.RawMessage
		if json.Unmarshal(raw, &filters) != nil {
			return
		}
		r := rulesOf(filters)
		r.bidUp, r.askUp, r.maxNumOrders = 0, 0, 0 // the filters that read the venue
		r.minToMarket, r.maxToMarket = false, false
		p, _ := fixed.Parse(price)
		q, _ := fixed.Parse(qty)
		req := exchange.OrderRequest{Symbol: "X", Side: exchange.Side(side), Type: exchange.OrderType(typ), Price: p, StopPrice: p, Quantity: q}
		c := &Client{check: &filterCheck{rules: map[string]symbolRules{"X": r}}}
		if err := c.checkFilters(t.Context(), req); err != nil && !errors.Is(err, exchange.ErrFilter) {
			t.Fatalf("%+v against %+v: %v", req, r, err)
		}
	})
}
