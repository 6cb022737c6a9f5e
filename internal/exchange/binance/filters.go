package binance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// symbolRules are the filters of one symbol that an order is checked
// against before it is sent (exchangeInfo's filters; zero: off).
type symbolRules struct {
	minPrice, maxPrice, tick      fixed.Dec // PRICE_FILTER
	minQty, maxQty, step          fixed.Dec // LOT_SIZE
	mktMinQty, mktMaxQty, mktStep fixed.Dec // MARKET_LOT_SIZE
	notionalName                  string    // NOTIONAL or MIN_NOTIONAL
	minNotional, maxNotional      fixed.Dec
	minToMarket, maxToMarket      bool
	// PERCENT_PRICE_BY_SIDE: a priced order's price within its side's
	// multipliers of the average price over avgMins minutes (0: the last
	// price).
	bidUp, bidDown, askUp, askDown fixed.Dec
	avgMins                        int
	maxNumOrders                   int // MAX_NUM_ORDERS
	// TRAILING_DELTA: the trailing deltas of stops that trigger on a fall
	// (STOP_LOSS sells, TAKE_PROFIT buys) and on a rise (the others).
	below, above exchange.DeltaRange
}

// rawFilter is one exchangeInfo filter, every field the checks and Markets read.
type rawFilter struct {
	FilterType       string    `json:"filterType"`
	MinPrice         fixed.Dec `json:"minPrice"`
	MaxPrice         fixed.Dec `json:"maxPrice"`
	TickSize         fixed.Dec `json:"tickSize"`
	MinQty           fixed.Dec `json:"minQty"`
	MaxQty           fixed.Dec `json:"maxQty"`
	StepSize         fixed.Dec `json:"stepSize"`
	MinNotional      fixed.Dec `json:"minNotional"`
	MaxNotional      fixed.Dec `json:"maxNotional"`
	ApplyToMarket    bool      `json:"applyToMarket"`
	ApplyMinToMarket bool      `json:"applyMinToMarket"`
	ApplyMaxToMarket bool      `json:"applyMaxToMarket"`
	BidMultiplierUp  fixed.Dec `json:"bidMultiplierUp"`
	BidMultiplierDn  fixed.Dec `json:"bidMultiplierDown"`
	AskMultiplierUp  fixed.Dec `json:"askMultiplierUp"`
	AskMultiplierDn  fixed.Dec `json:"askMultiplierDown"`
	AvgPriceMins     int       `json:"avgPriceMins"`
	MaxNumOrders     int       `json:"maxNumOrders"`
	MinTrailingAbove int64     `json:"minTrailingAboveDelta"`
	MaxTrailingAbove int64     `json:"maxTrailingAboveDelta"`
	MinTrailingBelow int64     `json:"minTrailingBelowDelta"`
	MaxTrailingBelow int64     `json:"maxTrailingBelowDelta"`
}

// rulesOf reads a symbol's filters; a filter of a shape it does not know
// is skipped (Binance adds new ones).
func rulesOf(filters []json.RawMessage) symbolRules {
	var r symbolRules
	for _, raw := range filters {
		var f rawFilter
		if json.Unmarshal(raw, &f) != nil {
			continue
		}
		switch f.FilterType {
		case "PRICE_FILTER":
			r.minPrice, r.maxPrice, r.tick = f.MinPrice, f.MaxPrice, f.TickSize
		case "LOT_SIZE":
			r.minQty, r.maxQty, r.step = f.MinQty, f.MaxQty, f.StepSize
		case "MARKET_LOT_SIZE":
			r.mktMinQty, r.mktMaxQty, r.mktStep = f.MinQty, f.MaxQty, f.StepSize
		case "NOTIONAL":
			r.notionalName, r.minNotional, r.maxNotional = f.FilterType, f.MinNotional, f.MaxNotional
			r.minToMarket, r.maxToMarket = f.ApplyMinToMarket, f.ApplyMaxToMarket
		case "MIN_NOTIONAL":
			r.notionalName, r.minNotional, r.minToMarket = f.FilterType, f.MinNotional, f.ApplyToMarket
		case "PERCENT_PRICE_BY_SIDE":
			r.bidUp, r.bidDown, r.askUp, r.askDown = f.BidMultiplierUp, f.BidMultiplierDn, f.AskMultiplierUp, f.AskMultiplierDn
			r.avgMins = f.AvgPriceMins
		case "MAX_NUM_ORDERS":
			r.maxNumOrders = f.MaxNumOrders
		case "TRAILING_DELTA":
			r.below = exchange.DeltaRange{Min: f.MinTrailingBelow, Max: f.MaxTrailingBelow}
			r.above = exchange.DeltaRange{Min: f.MinTrailingAbove, Max: f.MaxTrailingAbove}
		}
	}
	return r
}

// filterCheck keeps the symbols' rules, read from exchangeInfo once (and
// again for a symbol it does not know).
type filterCheck struct {
	mu    sync.Mutex
	rules map[string]symbolRules
}

// refused is an order the filters refuse, said as Binance says it: -1013
// (exchange.ErrFilter), but MAX_NUM_ORDERS, which Binance answers as a
// rejected order (-2010).
func refused(name, why string) error {
	e := &exchange.Error{Code: -1013, Msg: fmt.Sprintf("Filter failure: %s (checked before sending: %s)", name, why), Kind: exchange.ErrFilter}
	if name == "MAX_NUM_ORDERS" {
		e.Code, e.Kind = -2010, exchange.ErrRejected
	}
	return e
}

// rulesFor returns symbol's rules, reading exchangeInfo when it has none.
func (c *Client) rulesFor(ctx context.Context, symbol string) (symbolRules, bool, error) {
	c.check.mu.Lock()
	r, ok := c.check.rules[symbol]
	c.check.mu.Unlock()
	if ok {
		return r, true, nil
	}
	var info struct {
		Symbols []struct {
			Symbol  string            `json:"symbol"`
			Filters []json.RawMessage `json:"filters"`
		} `json:"symbols"`
	}
	if err := c.do(ctx, "GET", "/api/v3/exchangeInfo", 20, url.Values{"symbol": {symbol}}, false, &info); err != nil {
		return r, false, fmt.Errorf("read the filters of %s: %w", symbol, err)
	}
	c.check.mu.Lock()
	defer c.check.mu.Unlock()
	if c.check.rules == nil {
		c.check.rules = map[string]symbolRules{}
	}
	for _, s := range info.Symbols {
		c.check.rules[s.Symbol] = rulesOf(s.Filters)
	}
	r, ok = c.check.rules[symbol]
	return r, ok, nil
}

// checkFilters refuses an order its symbol's filters would refuse, before
// it is sent: PRICE_FILTER (price and stop price), PERCENT_PRICE_BY_SIDE,
// LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL or MIN_NOTIONAL, MAX_NUM_ORDERS —
// Binance's order. The last or average price and the open orders are read
// only when a filter needs them. A symbol exchangeInfo does not list is
// left to the venue (it answers -1121).
func (c *Client) checkFilters(ctx context.Context, req exchange.OrderRequest) error {
	r, ok, err := c.rulesFor(ctx, req.Symbol)
	if err != nil || !ok {
		return err
	}
	priced := req.Type.HasPrice()
	market := req.Type == exchange.MarketOrder
	priceOK := func(p fixed.Dec) bool {
		return p > 0 && (r.minPrice == 0 || p >= r.minPrice) && (r.maxPrice == 0 || p <= r.maxPrice) && p.OnGrid(r.tick)
	}
	if priced && !priceOK(req.Price) {
		return refused("PRICE_FILTER", fmt.Sprintf("price %s; min %s, max %s, tick %s", req.Price, r.minPrice, r.maxPrice, r.tick))
	}
	if req.Type.IsStop() && (req.StopPrice != 0 || req.TrailingDelta == 0) && !priceOK(req.StopPrice) {
		return refused("PRICE_FILTER", fmt.Sprintf("stop price %s; min %s, max %s, tick %s", req.StopPrice, r.minPrice, r.maxPrice, r.tick))
	}
	if d := req.TrailingDelta; d != 0 {
		rg := r.below
		if (req.Type == exchange.TakeProfitOrder) == (req.Side == exchange.Sell) {
			rg = r.above
		}
		if rg.Max > 0 && !rg.Has(d) {
			return refused("TRAILING_DELTA", fmt.Sprintf("trailing delta %d; min %d, max %d", d, rg.Min, rg.Max))
		}
	}
	var last fixed.Dec
	lastPrice := func() (fixed.Dec, error) {
		if last == 0 {
			last, err = c.referencePrice(ctx, req.Symbol, r.avgMins)
		}
		return last, err
	}
	if up, down := r.bidUp, r.bidDown; priced && (up > 0 || r.askUp > 0) {
		if req.Side == exchange.Sell {
			up, down = r.askUp, r.askDown
		}
		p, err := lastPrice()
		if err != nil {
			return err
		}
		hi, okHi := fixed.Mul(p, up)
		lo, okLo := fixed.Mul(p, down)
		if okHi && hi.Cmp(req.Price) < 0 || okLo && lo.Cmp(req.Price) > 0 {
			return refused("PERCENT_PRICE_BY_SIDE", fmt.Sprintf("price %s; the %s side's bounds are %s × and %s × the price %s", req.Price, req.Side, down, up, p))
		}
	}
	lotOK := func(q, lo, hi, step fixed.Dec) bool { return q >= lo && (hi == 0 || q <= hi) && q.OnGrid(step) }
	q := req.Quantity
	if q != 0 && !lotOK(q, r.minQty, r.maxQty, r.step) {
		return refused("LOT_SIZE", fmt.Sprintf("quantity %s; min %s, max %s, step %s", q, r.minQty, r.maxQty, r.step))
	}
	if q != 0 && market && !lotOK(q, r.mktMinQty, r.mktMaxQty, r.mktStep) {
		return refused("MARKET_LOT_SIZE", fmt.Sprintf("quantity %s; min %s, max %s, step %s", q, r.mktMinQty, r.mktMaxQty, r.mktStep))
	}
	minOn := r.minNotional > 0 && (!market || r.minToMarket)
	maxOn := r.maxNotional > 0 && (!market || r.maxToMarket)
	if minOn || maxOn {
		var n fixed.Exact
		switch {
		case req.QuoteQuantity != 0:
			n = fixed.Exact{Units: req.QuoteQuantity}
		case market || req.TrailingDelta != 0 && req.StopPrice == 0: // a trailing stop without a stop price: at the price
			p, err := lastPrice()
			if err != nil {
				return err
			}
			n, _ = fixed.Mul(p, q)
		case priced:
			n, _ = fixed.Mul(req.Price, q)
		default:
			n, _ = fixed.Mul(req.StopPrice, q)
		}
		if minOn && n.Cmp(r.minNotional) < 0 || maxOn && n.Cmp(r.maxNotional) > 0 {
			return refused(r.notionalName, fmt.Sprintf("notional %s; min %s, max %s", n.Floor(), r.minNotional, r.maxNotional))
		}
	}
	if r.maxNumOrders > 0 {
		open, err := c.OpenOrders(ctx, req.Symbol)
		if err != nil {
			return fmt.Errorf("count the open orders of %s: %w", req.Symbol, err)
		}
		if len(open) >= r.maxNumOrders {
			return refused("MAX_NUM_ORDERS", fmt.Sprintf("%d orders open on %s, at most %d", len(open), req.Symbol, r.maxNumOrders))
		}
	}
	return nil
}

// referencePrice is the price PERCENT_PRICE_BY_SIDE and a market order's
// notional are measured against: the average over mins minutes
// (/api/v3/avgPrice), or the last price when mins is 0
// (/api/v3/ticker/price).
func (c *Client) referencePrice(ctx context.Context, symbol string, mins int) (fixed.Dec, error) {
	var r struct {
		Price fixed.Dec `json:"price"`
	}
	path := "/api/v3/ticker/price"
	if mins > 0 {
		path = "/api/v3/avgPrice"
	}
	if err := c.do(ctx, "GET", path, 2, url.Values{"symbol": {symbol}}, false, &r); err != nil {
		return 0, fmt.Errorf("read the price of %s for its filters: %w", symbol, err)
	}
	if r.Price <= 0 {
		return 0, fmt.Errorf("read the price of %s for its filters: %s answered no price", symbol, path)
	}
	return r.Price, nil
}
