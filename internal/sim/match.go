package sim

import (
	"fmt"

	"github.com/tradai/tradai/internal/fixed"
)

// Candle is one candle of market data as the engine replays it.
type Candle struct {
	Time                           int64 // open time, Unix ms
	Open, High, Low, Close, Volume fixed.Dec
}

// PathTimes are the times at which ReplayCandle (and a feed replaying a
// candle of length dur ms) moves the price: the open at the candle's start,
// the low at a third, the high at two thirds, the close at its last
// millisecond.
func PathTimes(open, dur int64) [4]int64 {
	return [4]int64{open, open + dur/3, open + 2*dur/3, open + dur - 1}
}

// ReplayCandle plays a whole candle of length dur ms through the symbol's
// orders: a jump to the open, then a continuous move to the low, to the
// high and to the close — the low before the high, as the backtest engine
// assumes. It returns the fills it caused.
func (e *Engine) ReplayCandle(symbol string, c Candle, dur int64) ([]Fill, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[symbol]
	if !ok {
		return nil, fmt.Errorf("replay candle: unknown symbol %s", symbol)
	}
	ts := PathTimes(c.Time, dur)
	e.startCandle(b, c)
	e.move(b, c.Open, true, ts[0])
	e.commit(ts[0])
	for i, p := range [...]fixed.Dec{c.Low, c.High, c.Close} {
		e.move(b, p, false, ts[i+1])
		e.commit(ts[i+1])
	}
	fills := e.fills
	e.fills = nil
	return fills, nil
}

// OpenCandle starts candle c (its volume caps fills while it lasts) and
// jumps the price to its open, at time c.Time.
func (e *Engine) OpenCandle(symbol string, c Candle) ([]Fill, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[symbol]
	if !ok {
		return nil, fmt.Errorf("open candle: unknown symbol %s", symbol)
	}
	e.startCandle(b, c)
	e.move(b, c.Open, true, c.Time)
	return e.commitFills(c.Time), nil
}

// MoveTo moves the price continuously from the last price to p at time t:
// stop orders trigger at their stop price and limit orders fill at their
// limit price when the path crosses them.
func (e *Engine) MoveTo(symbol string, t int64, p fixed.Dec) ([]Fill, error) {
	return e.moveOp(symbol, t, p, false)
}

// JumpTo sets the price to p at time t without passing the prices between
// (a gap): stops that it crosses trigger at p.
func (e *Engine) JumpTo(symbol string, t int64, p fixed.Dec) ([]Fill, error) {
	return e.moveOp(symbol, t, p, true)
}

func (e *Engine) moveOp(symbol string, t int64, p fixed.Dec, jump bool) ([]Fill, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[symbol]
	if !ok {
		return nil, fmt.Errorf("move price: unknown symbol %s", symbol)
	}
	if p <= 0 {
		return nil, fmt.Errorf("move price of %s: price %v is not positive", symbol, p)
	}
	e.move(b, p, jump, t)
	return e.commitFills(t), nil
}

func (e *Engine) startCandle(b *book, c Candle) {
	b.candleTime, b.candleVol, b.hasCandle = c.Time, c.Volume, true
	b.candleLo, b.candleHi = c.Low, c.High
}

// move takes the price of b to p at time t — as a gap when jump is set —
// triggering stops and filling resting limits the path reaches, in order
// of order id.
func (e *Engine) move(b *book, p fixed.Dec, jump bool, t int64) {
	a := b.last
	if !b.has {
		a, jump = p, true
	}
	b.last, b.has = p, true
	segLo, segHi := min(a, p), max(a, p)
	if jump {
		segLo, segHi = p, p
	}
	for i := 0; i < len(b.orders); i++ {
		o := b.orders[i]
		if o.done {
			continue
		}
		lo, hi := segLo, segHi
		if !o.Working() {
			tp, hit := o.StopPrice, false
			switch {
			case o.TrailingDelta > 0:
				tp, hit = e.trail(b, o, a, p, jump, t)
			case triggered(o.Type, o.Side, o.StopPrice, lo, hi):
				hit = true
				if jump {
					tp = p
				}
			}
			if !hit {
				continue
			}
			o.WorkingTime, o.UpdateTime = t, t
			e.emit(o, ExecTriggered, nil)
			e.take(b, o, tp, t)
			if o.done {
				continue
			}
			if o.Type.isMarket() || o.TimeInForce != GTC {
				e.finish(o, StatusExpired, t)
				continue
			}
			lo, hi = min(tp, p), max(tp, p)
		}
		if o.Side == Buy && lo <= o.Price || o.Side == Sell && hi >= o.Price {
			if qty := e.available(b, o, o.OrigQty-o.ExecutedQty); qty > 0 {
				e.fill(b, o, o.Price, qty, true, t)
			}
		}
	}
	e.compact(b)
}

// trail follows trailing stop o along the price's move from a to p (a gap
// when jump) and reports whether, and at which price, it triggers.
//
// Not yet tracking, it starts when the move meets its stop price, from the
// stop price (from p on a gap), or, without a stop price, at the first
// move. Tracking, a sell follows the highest price and triggers when the
// price falls to its stop — the highest less trailingDelta, floored to the
// tick, the first price on the grid that is that far down — a buy
// mirrored (the lowest, plus the delta, raised to the tick). A continuous
// move triggers at the stop, a gap at the price it lands on.
//
// Inside a candle played as its four points (OpenCandle, then the low,
// the high and the close: ReplayCandle and the replay feed) a trailing
// stop meets the candle's prices in the order the backtest assumes: the
// favourable extreme moves the stop first, then the adverse one is
// checked against the moved stop. So when a move reaches a sell's candle
// high after the order saw the candle's low, the low is checked again
// against the stop the high moved (a buy's high against the stop its
// low moved): the path is open, low, high, close for every other order,
// but a trailing stop fills where the backtest's trailing stop exits.
// Other moves (MoveTo to prices that are not the candle's extremes) are
// a plain path.
func (e *Engine) trail(b *book, o *order, a, p fixed.Dec, jump bool, t int64) (fixed.Dec, bool) {
	tr := o.trail
	if jump {
		a = p
	}
	// The prices the order saw in the candle, tracking or not.
	if !b.hasCandle || tr.spanCandle != b.candleTime {
		tr.spanCandle, tr.spanLo, tr.spanHi = b.candleTime, a, a
	}
	tr.spanLo, tr.spanHi = min(tr.spanLo, p), max(tr.spanHi, p)
	if o.TrailingTime == 0 {
		if o.StopPrice > 0 {
			if !triggered(o.Type, o.Side, o.StopPrice, min(a, p), max(a, p)) {
				return 0, false
			}
			if !jump {
				a = o.StopPrice
			}
		}
		o.TrailingTime, tr.peak = t, a
	}
	up := o.Side == Buy
	// The adverse move first (a continuous one reaches the stop in force).
	if stop := trailStop(b, o.Side, o.TrailingDelta, tr.peak); trailHit(o.Side, stop, p) {
		if jump {
			return p, true
		}
		return stop, true
	}
	// The favourable one moves the stop, which the candle's adverse
	// extreme then meets. (A candle's open moves it only with the high,
	// which the feed plays after the low: the low meets the stop in force
	// before the candle, as in the backtest.)
	if (up && p < tr.peak || !up && p > tr.peak) && !(jump && b.hasCandle) {
		tr.peak = p
	}
	// At the candle's favourable extreme (the high of a sell), the
	// adverse one it saw meets the stop as the extreme left it.
	if stop := trailStop(b, o.Side, o.TrailingDelta, tr.peak); b.hasCandle && !jump &&
		(up && p == b.candleLo && tr.spanHi >= b.candleHi && tr.spanHi >= stop || !up && p == b.candleHi && tr.spanLo <= b.candleLo && tr.spanLo <= stop) {
		return stop, true
	}
	return 0, false
}

// trailStop is the trigger of a trailing stop on side with delta (BIPS)
// that tracked peak: a fall of delta from it floored to the tick (sells,
// stop-loss or take-profit), a rise raised to it (buys).
func trailStop(b *book, side Side, delta int64, peak fixed.Dec) fixed.Dec {
	if side == Buy {
		return fixed.MulCeil(peak, fixed.Dec(10_000+delta)*fixed.Dec(10_000)).CeilTo(b.sym.TickSize)
	}
	return fixed.MulFloor(peak, fixed.Dec(10_000-delta)*fixed.Dec(10_000)).FloorTo(b.sym.TickSize)
}

// trailHit reports whether price p reaches stop, the trigger of a
// trailing stop on side.
func trailHit(side Side, stop, p fixed.Dec) bool {
	if side == Buy {
		return p >= stop
	}
	return p <= stop
}

// triggered reports whether a stop order's stop price lies in the price
// range [lo, hi] reached: STOP_LOSS sells and TAKE_PROFIT buys trigger at
// or below their stop price, STOP_LOSS buys and TAKE_PROFIT sells at or
// above it.
func triggered(t OrderType, side Side, stop, lo, hi fixed.Dec) bool {
	below := (t == StopLoss || t == StopLossLimit) == (side == Sell)
	if below {
		return lo <= stop
	}
	return hi >= stop
}

// marketable reports whether a limit order at price would take at once
// with ref as the last price: a buy at or above the ask, a sell at or below
// the bid.
func (e *Engine) marketable(b *book, side Side, price, ref fixed.Dec) bool {
	half := e.cfg.Spread / 2
	if side == Buy {
		return price >= e.buyPrice(b, ref, half)
	}
	return price <= e.sellPrice(b, ref, half)
}

// take executes o as a taker with ref as the last price: market orders at
// the taker price, limit orders only when marketable, at the taker price
// bounded by their limit. FOK fills all or nothing.
func (e *Engine) take(b *book, o *order, ref fixed.Dec, now int64) {
	price := e.takerPrice(b, o.Side, ref)
	if o.Type.hasPrice() {
		if !e.marketable(b, o.Side, o.Price, ref) {
			return
		}
		if o.Side == Buy {
			price = min(price, o.Price)
		} else {
			price = max(price, o.Price)
		}
	}
	want := o.OrigQty - o.ExecutedQty
	qty := e.available(b, o, want)
	if qty < want && o.TimeInForce == FOK {
		return
	}
	if o.Side == Buy {
		// What the order may spend: its lock and the free balance. Only a
		// triggered STOP_LOSS or TAKE_PROFIT buy can find it short (its
		// lock was valued at the stop price); it then buys what it can.
		quote := o.acct.balance(b.sym.Quote)
		can := quote.free
		if o.lockQuote {
			can += o.locked
		}
		if fixed.MulCeil(price, qty) > can {
			qty = fixed.QuoFloor(can, price).FloorTo(b.sym.StepSize)
			if o.TimeInForce == FOK && qty < want {
				return
			}
			for qty > 0 && fixed.MulCeil(price, qty) > can {
				qty -= max(b.sym.StepSize, 1)
			}
		}
	}
	if qty > 0 {
		e.fill(b, o, price, qty, false, now)
	}
}

// available is how much of want o may fill now under the volume cap.
func (e *Engine) available(b *book, o *order, want fixed.Dec) fixed.Dec {
	if e.cfg.VolumeShare == 0 || !b.hasCandle {
		return want
	}
	step := b.sym.StepSize
	if o.Type == Market && b.sym.MarketStepSize > 0 {
		step = b.sym.MarketStepSize
	}
	if o.candleTime != b.candleTime {
		o.candleTime, o.candleFilled = b.candleTime, 0
	}
	left := fixed.MulFloor(b.candleVol, e.cfg.VolumeShare).FloorTo(step) - o.candleFilled
	return max(0, min(want, left))
}

// fill executes qty of o at price: moves the assets, charges the fee once
// in the asset received, records the trade, and closes o when it is done.
func (e *Engine) fill(b *book, o *order, price, qty fixed.Dec, maker bool, now int64) {
	before := o.cum
	ex, _ := fixed.Mul(price, qty)
	o.cum, _ = o.cum.Add(ex)
	rate := e.cfg.TakerFee
	if maker {
		rate = e.cfg.MakerFee
	}
	a := o.acct
	base, quote := a.balance(b.sym.Base), a.balance(b.sym.Quote)
	var amount, fee fixed.Dec
	feeAsset := b.sym.Base
	if o.Side == Buy {
		amount = o.cum.Ceil() - before.Ceil()
		e.pay(o, quote, amount, true)
		fee = mulRound(qty, rate)
		base.free += qty - fee
	} else {
		amount = o.cum.Floor() - before.Floor()
		e.pay(o, base, qty, false)
		fee = mulRound(amount, rate)
		quote.free += amount - fee
		feeAsset = b.sym.Quote
	}
	e.touch(base)
	e.touch(quote)
	if o.candleTime != b.candleTime {
		o.candleTime, o.candleFilled = b.candleTime, 0
	}
	o.candleFilled += qty
	o.ExecutedQty += qty
	o.CumQuote += amount
	o.UpdateTime = now
	o.Status = StatusPartiallyFilled
	if o.ExecutedQty == o.OrigQty {
		o.Status = StatusFilled
	}
	e.nextTrade++
	f := Fill{Symbol: o.Symbol, TradeID: e.nextTrade, OrderID: o.ID, Account: a.id, Side: o.Side, Price: price, Qty: qty,
		QuoteQty: amount, Commission: fee, CommissionAsset: feeAsset, Time: now, Maker: maker}
	e.fills = append(e.fills, f)
	a.trades = append(a.trades, f)
	if len(a.trades) > 2*e.cfg.HistoryLimit {
		a.trades = append(a.trades[:0], a.trades[len(a.trades)-e.cfg.HistoryLimit:]...)
	}
	e.emit(o, ExecTrade, &f)
	if o.Status == StatusFilled {
		e.finish(o, StatusFilled, now)
	}
}

// pay takes amt of bal's asset for o: from what o locks in that asset
// first, the rest from the free balance.
func (e *Engine) pay(o *order, bal *balance, amt fixed.Dec, quoteSide bool) {
	var x fixed.Dec
	if o.lockQuote == quoteSide {
		x = min(amt, o.locked)
	}
	o.locked -= x
	bal.locked -= x
	bal.free -= amt - x
}

func mulRound(a, b fixed.Dec) fixed.Dec {
	e, ok := fixed.Mul(a, b)
	if !ok {
		return fixed.Max
	}
	return e.Round()
}

// compact drops closed orders from the book once they are half of it.
func (e *Engine) compact(b *book) {
	if b.dead < 16 || b.dead*2 < len(b.orders) {
		return
	}
	kept := b.orders[:0]
	for _, o := range b.orders {
		if !o.done {
			kept = append(kept, o)
		}
	}
	clear(b.orders[len(kept):])
	b.orders = kept
	b.dead = 0
}
