package exchange

import (
	"fmt"

	"github.com/tradai/tradai/internal/fixed"
)

// Order turns an order that a decision computed in float64 (the trade
// core's intents) into the order request m accepts, or says which of m's
// rules it breaks. It is the one place where money that reaches an
// exchange is rounded.
//
// price and qty are rounded to a [fixed.Dec] (8 decimals) and to m's grid,
// both in the direction that never makes the order worse than decided:
// the quantity is floored to StepSize (never more than asked), a buy
// limit's price floored to TickSize (never pays more) and a sell limit's
// raised to it (never sells for less). (ccxt and Freqtrade round the price
// to the nearest tick by default; a limit that lands on the wrong side of
// the decided price by half a tick is what this avoids.) A market order
// sends no price: price is the price expected, which values the order for
// MinNotional, and the request's Price is zero.
//
// The rounded order is then checked against MinPrice and MaxPrice (limit
// orders), MinQty and MaxQty (a quantity that floors to zero always
// fails) and MinNotional (price × quantity, exactly). A failure wraps
// [ErrFilter] and names the rule, the symbol and the values. Inputs that
// are not finite, not positive or too large for a Dec fail without
// ErrFilter: they are the caller's bug, not the market's rule.
func (m Market) Order(side Side, typ OrderType, price, qty float64) (OrderRequest, error) {
	if side != Buy && side != Sell {
		return OrderRequest{}, fmt.Errorf("%s order: unknown side %q", m.Symbol, side)
	}
	if typ != MarketOrder && typ != LimitOrder {
		return OrderRequest{}, fmt.Errorf("%s order: unknown order type %q", m.Symbol, typ)
	}
	// Each amount is rounded to 8 decimals in the direction its grid
	// rounding goes, so that the two together never make it worse.
	toDec := fixed.FromFloat // a market order's expected price
	if typ == LimitOrder {
		toDec = fixed.FloorFloat
		if side == Sell {
			toDec = fixed.CeilFloat
		}
	}
	p, err := toDec(price)
	if err != nil || p <= 0 {
		return OrderRequest{}, fmt.Errorf("%s order: price %v is not a positive amount", m.Symbol, price)
	}
	q, err := fixed.FloorFloat(qty)
	if err != nil || q <= 0 {
		return OrderRequest{}, fmt.Errorf("%s order: quantity %v is not a positive amount", m.Symbol, qty)
	}
	q = q.FloorTo(m.StepSize)
	if typ == LimitOrder {
		if side == Buy {
			p = p.FloorTo(m.TickSize)
		} else {
			p = p.CeilTo(m.TickSize)
		}
	}
	if err := m.check(typ, p, q); err != nil {
		return OrderRequest{}, err
	}
	req := OrderRequest{Symbol: m.Symbol, Side: side, Type: typ, Quantity: q}
	if typ == LimitOrder {
		req.Price = p
	}
	return req, nil
}

// Stop is [Market.Order] for a stop-loss order of qty that triggers at
// stop: a STOP_LOSS (at the market once triggered) when limit is 0, else a
// STOP_LOSS_LIMIT with that limit price. The stop price is rounded to the
// tick towards the side it triggers on — a sell's floored, a buy's raised
// — so that on prices that trade on the tick it triggers exactly when the
// price reaches the decided stop, never before; the limit is rounded as
// [Market.Order] rounds a limit, and the quantity floored to the step.
// The stop price is checked as a price and values the order for
// MinNotional.
func (m Market) Stop(side Side, stop, limit, qty float64) (OrderRequest, error) {
	typ := StopLossOrder
	if limit != 0 {
		typ = StopLossLimitOrder
	}
	price := stop
	if limit != 0 {
		price = limit
	}
	req, err := m.Order(side, LimitOrder, price, qty)
	if err != nil {
		return OrderRequest{}, err
	}
	toDec := fixed.FloorFloat // a sell's stop, floored as it is to the tick
	if side == Buy {
		toDec = fixed.CeilFloat
	}
	s, err := toDec(stop)
	if err != nil || s <= 0 {
		return OrderRequest{}, fmt.Errorf("%s order: stop price %v is not a positive amount", m.Symbol, stop)
	}
	if side == Sell {
		s = s.FloorTo(m.TickSize)
	} else {
		s = s.CeilTo(m.TickSize)
	}
	if err := m.check(LimitOrder, s, req.Quantity); err != nil {
		return OrderRequest{}, err
	}
	req.Type, req.StopPrice = typ, s
	if typ == StopLossOrder {
		req.Price = 0
	}
	return req, nil
}

// TakeProfit is [Market.Stop] for a TAKE_PROFIT order of qty that
// triggers at stop (at the market): a sell's stop price raised to the
// tick, a buy's floored (as [Market.Order] rounds a limit), so that it
// triggers when the price passes the decided stop, never before.
func (m Market) TakeProfit(side Side, stop, qty float64) (OrderRequest, error) {
	req, err := m.Order(side, LimitOrder, stop, qty)
	if err != nil {
		return OrderRequest{}, err
	}
	req.Type, req.StopPrice, req.Price = TakeProfitOrder, req.Price, 0
	return req, nil
}

// Trailing makes stop order req (from [Market.Stop] or
// [Market.TakeProfit]) a trailing stop of delta BIPS, or says that m does
// not take that delta: a stop-loss sell's or take-profit buy's must lie in
// TrailingBelow, the others' in TrailingAbove. Its stop price stays: the
// venue starts tracking from it once the price meets it.
func (m Market) Trailing(req OrderRequest, delta int64) (OrderRequest, error) {
	if !req.Type.IsStop() {
		return OrderRequest{}, fmt.Errorf("%s order: a %s order cannot trail", m.Symbol, req.Type)
	}
	r := m.TrailingBelow
	if (req.Type == TakeProfitOrder) == (req.Side == Sell) {
		r = m.TrailingAbove
	}
	if !r.Has(delta) {
		if r.Max == 0 {
			return OrderRequest{}, fmt.Errorf("%w: %s: the venue takes no trailing stops", ErrFilter, m.Symbol)
		}
		return OrderRequest{}, fmt.Errorf("%w: %s: trailing delta: %d BIPS outside %d to %d", ErrFilter, m.Symbol, delta, r.Min, r.Max)
	}
	req.TrailingDelta = delta
	return req, nil
}

// check applies m's rules to an order of q at p (on the grid already).
func (m Market) check(typ OrderType, p, q fixed.Dec) error {
	fail := func(rule, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s: "+format, append([]any{ErrFilter, m.Symbol, rule}, args...)...)
	}
	if typ == LimitOrder {
		switch {
		case p <= 0:
			return fail("tick size", "price rounds to 0 at tick %s", m.TickSize)
		case m.MinPrice > 0 && p < m.MinPrice:
			return fail("min price", "price %s below %s", p, m.MinPrice)
		case m.MaxPrice > 0 && p > m.MaxPrice:
			return fail("max price", "price %s above %s", p, m.MaxPrice)
		}
	}
	switch {
	case q <= 0:
		return fail("step size", "quantity floors to 0 at step %s", m.StepSize)
	case q < m.MinQty:
		return fail("min quantity", "quantity %s below %s", q, m.MinQty)
	case m.MaxQty > 0 && q > m.MaxQty:
		return fail("max quantity", "quantity %s above %s", q, m.MaxQty)
	}
	if m.MinNotional > 0 {
		if n, ok := fixed.Mul(p, q); ok && n.Cmp(m.MinNotional) < 0 {
			return fail("min notional", "price %s × quantity %s = %s below %s", p, q, n.Floor(), m.MinNotional)
		}
	}
	return nil
}
