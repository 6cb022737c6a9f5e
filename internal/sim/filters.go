package sim

import "github.com/tradai/tradai/internal/fixed"

// check applies the symbol's filters to an order of quantity qty, in
// Binance's order: PRICE_FILTER (price, then stopPrice),
// PERCENT_PRICE_BY_SIDE, LOT_SIZE, MARKET_LOT_SIZE, then NOTIONAL or
// MIN_NOTIONAL. last is the last price (valid when hasLast), which values
// MARKET orders and is the weighted average price.
func (s *Symbol) check(r *OrderRequest, qty, last fixed.Dec, hasLast bool) error {
	f := &s.Filters
	if r.Type.hasPrice() && !f.priceOK(r.Price) {
		return filterFailure("PRICE_FILTER")
	}
	if r.Type.IsStop() && (r.StopPrice > 0 || r.TrailingDelta == 0) && !f.priceOK(r.StopPrice) {
		return filterFailure("PRICE_FILTER")
	}
	if r.Type.hasPrice() && hasLast && !f.PercentPriceBySide.allows(r.Side, r.Price, last) {
		return filterFailure("PERCENT_PRICE_BY_SIDE")
	}
	if qty <= 0 || !lotOK(qty, f.MinQty, f.MaxQty, f.StepSize) {
		return filterFailure("LOT_SIZE")
	}
	market := r.Type == Market
	if market && !lotOK(qty, f.MarketMinQty, f.MarketMaxQty, f.MarketStepSize) {
		return filterFailure("MARKET_LOT_SIZE")
	}
	var notional fixed.Exact
	switch {
	case market && r.QuoteOrderQty > 0:
		notional = fixed.Exact{Units: r.QuoteOrderQty}
	case market && !hasLast:
		return nil
	case market:
		notional, _ = fixed.Mul(last, qty)
	case r.Type.hasPrice():
		notional, _ = fixed.Mul(r.Price, qty)
	case r.StopPrice == 0 && !hasLast: // a trailing stop without a stop price
		return nil
	case r.StopPrice == 0:
		notional, _ = fixed.Mul(last, qty)
	default:
		notional, _ = fixed.Mul(r.StopPrice, qty)
	}
	name := "NOTIONAL"
	if f.LegacyMinNotional {
		name = "MIN_NOTIONAL"
	}
	if f.MinNotional > 0 && (!market || f.ApplyMinToMarket) && notional.Cmp(f.MinNotional) < 0 {
		return filterFailure(name)
	}
	if !f.LegacyMinNotional && f.MaxNotional > 0 && (!market || f.ApplyMaxToMarket) && notional.Cmp(f.MaxNotional) > 0 {
		return filterFailure(name)
	}
	return nil
}

// priceOK is PRICE_FILTER: price ≥ minPrice, ≤ maxPrice, a multiple of
// tickSize; each rule is off when its value is zero.
func (f *Filters) priceOK(p fixed.Dec) bool {
	return p > 0 && (f.MinPrice == 0 || p >= f.MinPrice) && (f.MaxPrice == 0 || p <= f.MaxPrice) &&
		p.OnGrid(f.TickSize)
}

// lotOK is LOT_SIZE or MARKET_LOT_SIZE: q ≥ minQty, ≤ maxQty, a multiple of
// stepSize; a zero maximum or step is off.
func lotOK(q, minQ, maxQ, step fixed.Dec) bool {
	return q >= minQ && (maxQ == 0 || q <= maxQ) && q.OnGrid(step)
}

// allows is PERCENT_PRICE_BY_SIDE: price within the side's multipliers of
// the average price avg (exact products, no rounding).
func (p PercentPriceBySide) allows(side Side, price, avg fixed.Dec) bool {
	if !p.On() {
		return true
	}
	up, down := p.BidUp, p.BidDown
	if side == Sell {
		up, down = p.AskUp, p.AskDown
	}
	hi, ok := fixed.Mul(avg, up)
	if ok && hi.Cmp(price) < 0 {
		return false // (a product too large to hold is no bound)
	}
	lo, ok := fixed.Mul(avg, down)
	return !ok || lo.Cmp(price) <= 0
}
