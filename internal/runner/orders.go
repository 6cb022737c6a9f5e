package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/trade"
)

// transient reports whether a failed venue call may succeed when tried
// again: rate limits, 5xx answers, network failures and timeouts, unknown
// statuses. The venue's refusals (filters, balance, unknown order, …) are
// not.
func transient(err error) bool {
	var e *exchange.Error
	if errors.As(err, &e) {
		return e.Kind == nil && (e.HTTPStatus >= 500 || e.HTTPStatus == 0) || errors.Is(err, exchange.ErrRateLimited) || errors.Is(err, exchange.ErrUnknownStatus)
	}
	return true // not the venue's answer: the network, a timeout
}

// wait is how long to wait before attempt i+1 after err.
func (r *Runner) wait(err error, i int) time.Duration {
	var e *exchange.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return r.cfg.RetryWait << min(i, 6)
}

// retry calls fn until it succeeds, fails for good, or Retries attempts
// failed transiently.
func retry[T any](ctx context.Context, r *Runner, what string, fn func() (T, error)) (T, error) {
	var zero T
	var err error
	for i := range r.cfg.Retries {
		var v T
		if v, err = fn(); err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if !transient(err) {
			break
		}
		r.log.Warn("venue call failed, trying again", "call", what, "attempt", i+1, "err", err)
		if err := r.clk.Sleep(ctx, r.wait(err, i)); err != nil {
			return zero, fmt.Errorf("%s: %w", what, err)
		}
	}
	return zero, fmt.Errorf("%s: %w", what, err)
}

// placed is an order's outcome: its last state and its fills, and when
// it last traded (its last fill, or its last update).
type placed struct {
	rec   deploy.Order
	fills []deploy.Fill
	when  int64
}

func (p placed) executed() (qty, quote float64) {
	return p.rec.Executed.Float(), p.rec.QuoteExecuted.Float()
}

// place records req as attempt of leg of trade seq (pending), sends it
// with its client order id and follows it to its outcome (send, then
// follow).
func (r *Runner) place(ctx context.Context, ps *pairState, seq int64, leg deploy.Leg, attempt int, reason string, req exchange.OrderRequest) (placed, error) {
	rec, o, ok, err := r.send(ctx, ps, seq, leg, attempt, reason, req)
	if err != nil || !ok {
		return placed{rec: rec}, err
	}
	return r.follow(ctx, ps, rec, o)
}

// send records req as attempt of leg of trade seq (pending) and sends it
// with its client order id: the one seam every order passes. An entry the
// risk limits or the venue's circuit breaker refuse (admit) is neither
// recorded nor sent (its status is refused, ok false). A placement whose answer is lost is looked up
// by the client order id and sent again only when the venue does not know
// it. ok is false when the venue refused the order (recorded as rejected).
func (r *Runner) send(ctx context.Context, ps *pairState, seq int64, leg deploy.Leg, attempt int, reason string, req exchange.OrderRequest) (deploy.Order, exchange.Order, bool, error) {
	req.ClientOrderID = deploy.ClientOrderID(r.cfg.Lease.Deployment, seq, leg, attempt)
	rec := deploy.Order{ClientOrderID: req.ClientOrderID, TradeSeq: seq, Leg: leg, Attempt: attempt, Pair: ps.pair, Side: req.Side, Type: req.Type,
		Reason: reason, Price: req.Price, StopPrice: req.StopPrice, Quantity: req.Quantity, QuoteQuantity: req.QuoteQuantity, Status: deploy.Pending}
	ro, ok := r.admit(ctx, ps, leg, req)
	if !ok {
		rec.Status = refused // neither recorded nor sent
		return rec, exchange.Order{}, false, nil
	}
	w := deploy.Write{Orders: []deploy.Order{rec}}
	if !ro.Reduces {
		// The account's limits, summed over its deployments, checked with
		// the intent.
		before := r.riskDay()
		w.Risk, w.Entry = &before, &ro
	}
	if err := r.cfg.Store.Record(ctx, r.cfg.Lease, w); err != nil {
		var re *deploy.RefusedError
		if errors.As(err, &re) {
			r.refused(ctx, ps, req, re.Verdict, ro.Notional)
			rec.Status = refused
			return rec, exchange.Order{}, false, nil
		}
		return rec, exchange.Order{}, false, err
	}
	if !ro.Reduces {
		r.risk.ordersToday++
		r.risk.dayRecorded = false // the entry is counted in the figures recorded
	}
	r.sentOrder(r.clk.Now())
	var o exchange.Order
	var err error
	for i := range r.cfg.Retries {
		o, err = r.cfg.Exchange.PlaceOrder(ctx, req)
		r.venueCall(err)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return rec, o, false, fmt.Errorf("place %s: %w", req.ClientOrderID, ctx.Err())
		}
		switch {
		case errors.Is(err, exchange.ErrRateLimited):
			// Refused before it was placed: send it again after the wait.
		case errors.Is(err, exchange.ErrDuplicateOrder) || transient(err):
			// Placed or not: ask the venue.
			found, lerr := r.lookup(ctx, ps, req.ClientOrderID)
			if lerr == nil {
				o, err = found, nil
			} else if !errors.Is(lerr, exchange.ErrUnknownOrder) {
				return rec, o, false, lerr
			}
		default:
			// Refused by the venue: recorded as rejected.
			r.logf(ctx, slog.LevelWarn, "order refused", "pair", ps.pair, "client_order_id", req.ClientOrderID, "err", err.Error())
			rec.Status = exchange.StatusRejected
			return rec, o, false, r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
		}
		if err == nil {
			break
		}
		r.log.Warn("order placement failed, trying again", "client_order_id", req.ClientOrderID, "attempt", i+1, "err", err)
		if err := r.clk.Sleep(ctx, r.wait(err, i)); err != nil {
			return rec, o, false, err
		}
	}
	if err != nil {
		// Still unknown: the order stays pending in the store; the next
		// start (or reconciliation) asks the venue again.
		return rec, o, false, fmt.Errorf("place %s: %w", req.ClientOrderID, err)
	}
	return rec, o, true, nil
}

// lookup asks the venue for an order by its client order id.
func (r *Runner) lookup(ctx context.Context, ps *pairState, clientID string) (exchange.Order, error) {
	return retry(ctx, r, "look up order "+clientID, func() (exchange.Order, error) {
		return r.cfg.Exchange.Order(ctx, ps.market.Symbol, exchange.OrderRef{ClientID: clientID})
	})
}

// follow waits (polling on the clock) until o no longer trades, then
// reads its fills.
func (r *Runner) follow(ctx context.Context, ps *pairState, rec deploy.Order, o exchange.Order) (placed, error) {
	var err error
	for i := 0; o.Status.Open() && i < r.cfg.Retries; i++ {
		if err := r.clk.Sleep(ctx, r.cfg.RetryWait<<min(i, 6)); err != nil {
			return placed{}, err
		}
		if o, err = r.lookup(ctx, ps, rec.ClientOrderID); err != nil {
			return placed{}, err
		}
	}
	if o.Status.Open() {
		// A market order still open after the waits: cancel the rest.
		if c, err := retry(ctx, r, "cancel "+rec.ClientOrderID, func() (exchange.Order, error) {
			return r.cfg.Exchange.CancelOrder(ctx, ps.market.Symbol, exchange.OrderRef{ClientID: rec.ClientOrderID})
		}); err == nil {
			o = c
		} else if !errors.Is(err, exchange.ErrUnknownOrder) {
			return placed{}, err
		} else if o, err = r.lookup(ctx, ps, rec.ClientOrderID); err != nil {
			return placed{}, err
		}
	}
	return r.fills(ctx, ps, rec, o)
}

// fills reads the fills of o, an order that no longer trades (or one
// partly filled).
func (r *Runner) fills(ctx context.Context, ps *pairState, rec deploy.Order, o exchange.Order) (placed, error) {
	rec.Status, rec.VenueID, rec.Executed, rec.QuoteExecuted = o.Status, o.ID, o.Executed, o.QuoteExecuted
	p := placed{rec: rec, when: o.UpdateTime.UnixMilli()}
	if o.Executed == 0 {
		return p, nil
	}
	for i := range r.cfg.Retries {
		ts, err := retry(ctx, r, "read the fills of "+rec.ClientOrderID, func() ([]exchange.Trade, error) {
			return r.cfg.Exchange.MyTrades(ctx, ps.market.Symbol, 1000)
		})
		if err != nil {
			return placed{}, err
		}
		p.fills = p.fills[:0]
		var qty fixed.Dec
		for _, t := range ts {
			if t.OrderID == o.ID {
				p.fills = append(p.fills, deploy.Fill{Pair: ps.pair, VenueTradeID: t.ID, ClientOrderID: rec.ClientOrderID, Side: t.Side, Price: t.Price,
					Qty: t.Qty, QuoteQty: t.QuoteQty, Commission: t.Commission, CommissionAsset: t.CommissionAsset, Time: t.Time})
				qty += t.Qty
				p.when = t.Time.UnixMilli()
			}
		}
		if qty >= o.Executed {
			break
		}
		if err := r.clk.Sleep(ctx, r.cfg.RetryWait<<min(i, 6)); err != nil {
			return placed{}, err
		}
	}
	return p, nil
}

// heldQty is the base quantity the fills of an entry leave in the account
// (commission taken in the base asset is not there).
func heldQty(ps *pairState, p placed) float64 {
	q := p.rec.Executed
	for _, f := range p.fills {
		if f.CommissionAsset == ps.market.Base {
			q -= f.Commission
		}
	}
	return q.Float()
}

// enter opens a trade on x: at the market, or with a limit order at the
// price now (order_types entry "limit") that waits to fill until
// unfilledtimeout's entry.
func (r *Runner) enter(ctx context.Context, ps *pairState, at int64, x trade.Enter) error {
	seq := r.next
	r.next++
	typ := exchange.MarketOrder
	if r.cfg.Orders.EntryLimit {
		typ = exchange.LimitOrder
	}
	req, err := ps.market.Order(exchange.Buy, typ, x.Price, x.Stake/x.Price)
	if err != nil {
		r.logf(ctx, slog.LevelWarn, "entry skipped: the order breaks the market's rules", "pair", ps.pair, "err", err.Error())
		return nil
	}
	if typ == exchange.MarketOrder {
		p, err := r.place(ctx, ps, seq, deploy.Entry, 0, x.Tag, req)
		if err != nil || p.rec.Status == refused {
			if p.rec.Status == refused {
				r.next = seq // the number was not used
			}
			return err
		}
		return r.opened(ctx, ps, seq, at, x.Tag, p)
	}
	rec, o, sent, err := r.send(ctx, ps, seq, deploy.Entry, 0, x.Tag, req)
	if rec.Status == refused {
		r.next = seq
	}
	if err != nil || !sent {
		return err
	}
	return r.entryState(ctx, ps, rec, o, at)
}

// entryState goes on with limit entry rec that the venue shows as o: one
// that ended opens the trade its fills bought (if any); one still open
// waits, until unfilledtimeout's entry from its placement.
func (r *Runner) entryState(ctx context.Context, ps *pairState, rec deploy.Order, o exchange.Order, at int64) error {
	if !o.Status.Open() {
		ps.entry = nil
		p, err := r.fills(ctx, ps, rec, o)
		if err != nil {
			return err
		}
		return r.opened(ctx, ps, rec.TradeSeq, at, rec.Reason, p)
	}
	rec.Status, rec.VenueID, rec.Executed, rec.QuoteExecuted = o.Status, o.ID, o.Executed, o.QuoteExecuted
	ps.entry = &pendingEntry{rec: rec, at: at, until: o.Time.Add(r.cfg.Orders.EntryTimeout).UnixMilli()}
	return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
}

// settleEntry asks the venue about ps's limit entry at the candle close
// nowMs: filled, it opens the trade; out of time, it is cancelled (what
// it bought, if anything, opens the trade: Freqtrade's rule).
func (r *Runner) settleEntry(ctx context.Context, ps *pairState, nowMs int64) error {
	pe := ps.entry
	o, err := r.lookup(ctx, ps, pe.rec.ClientOrderID)
	if errors.Is(err, exchange.ErrUnknownOrder) {
		ps.entry = nil
		pe.rec.Status = exchange.StatusExpired
		return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{pe.rec}})
	}
	if err != nil {
		return err
	}
	if o.Status.Open() && nowMs >= pe.until {
		if err := r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{}); err != nil { // the lease first
			return err
		}
		c, err := retry(ctx, r, "cancel "+pe.rec.ClientOrderID, func() (exchange.Order, error) {
			return r.cfg.Exchange.CancelOrder(ctx, ps.market.Symbol, exchange.OrderRef{ClientID: pe.rec.ClientOrderID})
		})
		if errors.Is(err, exchange.ErrUnknownOrder) {
			c, err = r.lookup(ctx, ps, pe.rec.ClientOrderID)
		}
		if err != nil {
			return err
		}
		o = c
		r.logf(ctx, slog.LevelInfo, "limit entry cancelled: unfilled in time", "pair", ps.pair, "client_order_id", pe.rec.ClientOrderID,
			"executed", o.Executed.String())
	}
	return r.entryState(ctx, ps, pe.rec, o, pe.at)
}

// opened records the trade an entry's fills opened (or the entry's end
// without fills).
func (r *Runner) opened(ctx context.Context, ps *pairState, seq, at int64, tag string, p placed) error {
	qty, quote := p.executed()
	w := deploy.Write{Orders: []deploy.Order{p.rec}, Fills: p.fills}
	if qty == 0 {
		return r.cfg.Store.Record(ctx, r.cfg.Lease, w)
	}
	t := r.pol.Rules.Open(ps.pair, false, at, quote/qty, quote, tag)
	t.Amount = qty
	// What the fills cost is a fact: a market entry that filled above the
	// close may cost more than the stake available.
	tr, err := r.pf.Filled(ps.id, t)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	ps.open = &openTrade{seq: seq, tr: tr, venueQty: heldQty(ps, p)}
	r.held = append(r.held, ps)
	w.Trades = []deploy.Trade{{Seq: seq, Record: *tr, Open: true, VenueQty: mustDec(ps.open.venueQty)}}
	if err := r.cfg.Store.Record(ctx, r.cfg.Lease, w); err != nil {
		return err
	}
	r.logf(ctx, slog.LevelInfo, "trade opened", "pair", ps.pair, "trade", fmt.Sprint(seq), "rate", fmt.Sprint(tr.OpenRate), "amount", fmt.Sprint(tr.Amount))
	return nil
}

func mustDec(v float64) fixed.Dec {
	d, err := fixed.FromFloat(v)
	if err != nil {
		return 0
	}
	return d
}

// exit closes the pair's trade for reason, after cancelling its resting
// exit (which may have filled meanwhile: the trade is then closed by it):
// at the market, or with a limit order at the price now (order_types exit
// "limit"; not a stop-loss's, trailing stop's or a flatten's exit) that
// waits to fill until unfilledtimeout's exit, then is placed again.
func (r *Runner) exit(ctx context.Context, ps *pairState, at int64, reason trade.ExitReason, price float64) error {
	if ps.open.rest != nil {
		if err := r.cancelRest(ctx, ps); err != nil || ps.open == nil {
			return err
		}
	}
	ot := ps.open
	if r.cfg.Orders.ExitLimit && reason != trade.ExitStopLoss && reason != trade.ExitTrailingStop && reason != trade.ExitForce {
		return r.limitExit(ctx, ps, at, reason, price)
	}
	req, err := ps.market.Order(exchange.Sell, exchange.MarketOrder, price, ot.venueQty)
	if err != nil {
		r.logf(ctx, slog.LevelError, "exit impossible: the order breaks the market's rules", "pair", ps.pair, "reason", string(reason), "err", err.Error())
		return nil
	}
	attempt := ot.exitAttempt
	ot.exitAttempt++
	p, err := r.place(ctx, ps, ot.seq, deploy.Exit, attempt, string(reason), req)
	if err != nil {
		return err
	}
	return r.closed(ctx, ps, at, reason, p)
}

// limitExit places a limit sell of ps's trade at price for reason; filled
// at once, the trade closes at the candle close at; else it rests until
// unfilledtimeout's exit.
func (r *Runner) limitExit(ctx context.Context, ps *pairState, at int64, reason trade.ExitReason, price float64) error {
	ot := ps.open
	req, err := ps.market.Order(exchange.Sell, exchange.LimitOrder, price, ot.venueQty)
	if err != nil {
		r.logf(ctx, slog.LevelError, "exit impossible: the order breaks the market's rules", "pair", ps.pair, "reason", string(reason), "err", err.Error())
		return nil
	}
	attempt := ot.exitAttempt
	ot.exitAttempt++
	rec, o, sent, err := r.send(ctx, ps, ot.seq, deploy.Exit, attempt, string(reason), req)
	if err != nil || !sent {
		return err
	}
	if !o.Status.Open() {
		p, err := r.fills(ctx, ps, rec, o)
		if err != nil {
			return err
		}
		return r.closed(ctx, ps, at, reason, p)
	}
	rec.Status, rec.VenueID, rec.Executed, rec.QuoteExecuted = o.Status, o.ID, o.Executed, o.QuoteExecuted
	ot.rest, ot.restUntil, ot.restTrail = &rec, o.Time.Add(r.cfg.Orders.ExitTimeout).UnixMilli(), 0
	return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
}

// closed records the end of the pair's trade by an exit's fills (or the
// exit's end without fills: the next attempt gets a new client order id).
func (r *Runner) closed(ctx context.Context, ps *pairState, at int64, reason trade.ExitReason, p placed) error {
	ot := ps.open
	qty, quote := p.executed()
	w := deploy.Write{Orders: []deploy.Order{p.rec}, Fills: p.fills}
	if qty == 0 {
		ot.exitAttempt = max(ot.exitAttempt, p.rec.Attempt+1)
		return r.cfg.Store.Record(ctx, r.cfg.Lease, w)
	}
	r.pol.Rules.Close(ot.tr, at, quote/qty, reason)
	rec, err := r.pf.Close(ps.id)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	ps.open = nil
	for i, h := range r.held {
		if h == ps {
			r.held = append(r.held[:i], r.held[i+1:]...)
			break
		}
	}
	w.Trades = []deploy.Trade{{Seq: ot.seq, Record: *rec, VenueQty: mustDec(max(0, ot.venueQty-qty))}}
	if err := r.cfg.Store.Record(ctx, r.cfg.Lease, w); err != nil {
		return err
	}
	r.logf(ctx, slog.LevelInfo, "trade closed", "pair", ps.pair, "trade", fmt.Sprint(ot.seq), "reason", string(reason), "rate", fmt.Sprint(rec.CloseRate),
		"profit", fmt.Sprint(rec.ProfitAbs))
	return nil
}

// reconcile settles every order the store holds as pending or open with
// the venue: an order the venue does not know was never placed; one it
// knows is followed to its end and its fills applied (the trade it opened
// or closed). An exit that ended without fills is sent again at once.
func (r *Runner) reconcile(ctx context.Context, now time.Time) error {
	l := r.cfg.Lease
	orders, err := r.cfg.Store.Orders(ctx, l.Tenant, l.Deployment)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	for _, o := range orders {
		r.next = max(r.next, o.TradeSeq+1)
		if ps := r.pairOf(o.Pair); ps != nil && ps.open != nil && ps.open.seq == o.TradeSeq && o.Leg == deploy.Exit {
			ps.open.exitAttempt = max(ps.open.exitAttempt, o.Attempt+1)
		}
	}
	at := r.cfg.Timeframe.Floor(now.UnixMilli())
	for _, o := range orders {
		if !o.Open() {
			continue
		}
		ps := r.pairOf(o.Pair)
		if ps == nil {
			return fmt.Errorf("runner: stored order %s is on %s, not one of the deployment's pairs", o.ClientOrderID, o.Pair)
		}
		v, err := r.lookup(ctx, ps, o.ClientOrderID)
		if errors.Is(err, exchange.ErrUnknownOrder) {
			o.Status = exchange.StatusExpired
			r.logf(ctx, slog.LevelWarn, "order never reached the venue", "pair", o.Pair, "client_order_id", o.ClientOrderID)
			if err := r.cfg.Store.Record(ctx, l, deploy.Write{Orders: []deploy.Order{o}}); err != nil {
				return err
			}
			if o.Leg == deploy.Exit && !resting(o) && ps.open != nil && ps.open.seq == o.TradeSeq {
				if err := r.exit(ctx, ps, at, trade.ExitReason(o.Reason), r.lastClose(ps, o.Price.Float())); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		if resting(o) {
			if err := r.reconcileRest(ctx, ps, o, v); err != nil {
				return err
			}
			continue
		}
		if o.Leg == deploy.Entry && o.Type == exchange.LimitOrder && ps.open == nil && ps.entry == nil {
			// A limit entry: waits on (until its timeout) or opens the trade.
			if err := r.entryState(ctx, ps, o, v, r.cfg.Timeframe.Floor(v.Time.UnixMilli())); err != nil {
				return err
			}
			continue
		}
		p, err := r.follow(ctx, ps, o, v)
		if err != nil {
			return err
		}
		when := r.cfg.Timeframe.Floor(v.Time.UnixMilli())
		r.logf(ctx, slog.LevelInfo, "order reconciled with the venue", "pair", o.Pair, "client_order_id", o.ClientOrderID, "status", string(p.rec.Status))
		switch {
		case o.Leg == deploy.Entry && ps.open == nil:
			if err := r.opened(ctx, ps, o.TradeSeq, when, o.Reason, p); err != nil {
				return err
			}
		case o.Leg == deploy.Exit && ps.open != nil && ps.open.seq == o.TradeSeq:
			if err := r.closed(ctx, ps, when, trade.ExitReason(o.Reason), p); err != nil {
				return err
			}
			if ps.open != nil { // ended unfilled: exit again now
				if err := r.exit(ctx, ps, at, trade.ExitReason(o.Reason), r.lastClose(ps, o.Price.Float())); err != nil {
					return err
				}
			}
		default:
			if err := r.cfg.Store.Record(ctx, l, deploy.Write{Orders: []deploy.Order{p.rec}, Fills: p.fills}); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileRest settles a resting exit o that the venue shows as v: still
// open, it rests on for its trade (or is cancelled when its trade is not
// open); ended, its fills close its trade.
func (r *Runner) reconcileRest(ctx context.Context, ps *pairState, o deploy.Order, v exchange.Order) error {
	o.Status, o.VenueID, o.Executed, o.QuoteExecuted = v.Status, v.ID, v.Executed, v.QuoteExecuted
	mine := ps.open != nil && ps.open.seq == o.TradeSeq
	r.logf(ctx, slog.LevelInfo, "resting exit reconciled with the venue", "pair", o.Pair, "client_order_id", o.ClientOrderID, "status", string(v.Status))
	switch {
	case mine && v.Status.Open():
		ps.open.rest, ps.open.restTrail = &o, v.TrailingDelta
		if timed(o.Reason) {
			ps.open.restUntil = v.Time.Add(r.cfg.Orders.ExitTimeout).UnixMilli()
		}
		return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{o}})
	case mine:
		ps.open.rest, ps.open.restTrail = &o, v.TrailingDelta
		return r.endRest(ctx, ps, o, v)
	case v.Status.Open():
		// Its trade is closed: the order must not sell what another
		// trade holds.
		if err := r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{}); err != nil {
			return err
		}
		c, err := retry(ctx, r, "cancel "+o.ClientOrderID, func() (exchange.Order, error) {
			return r.cfg.Exchange.CancelOrder(ctx, ps.market.Symbol, exchange.OrderRef{ClientID: o.ClientOrderID})
		})
		if err != nil && !errors.Is(err, exchange.ErrUnknownOrder) {
			return err
		}
		if err == nil {
			o.Status, o.Executed, o.QuoteExecuted = c.Status, c.Executed, c.QuoteExecuted
		}
	}
	return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{o}})
}

// lastClose is the pair's last close, or def before any candle.
func (r *Runner) lastClose(ps *pairState, def float64) float64 {
	if n := ps.win.Len(); n > 0 {
		return ps.win.Close[n-1]
	}
	return def
}
