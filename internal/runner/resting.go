package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/trade"
)

// An open trade's exit rests on the venue as one order: its stop-loss (a
// STOP_LOSS sell at the trade's stop, where the venue takes them) or its
// ROI take-profit (a limit sell at the price above which the ROI step in
// force takes profit, raised to the tick),
// whichever of the two is nearer to the price; the other is managed by the
// runner at each candle close. A spot account holds the base quantity
// once, so two orders cannot both sell it (the simulator has no OCO). The
// resting order is replaced (cancelled, then placed with the next exit
// attempt's client order id) when the one wanted changes: the trailing
// stop moved, the ROI step changed with the trade's age, or the other
// became the nearer.

// wantRest is the exit order that should rest for ps's trade now (at the
// open nowMs, price the price now, enter the entry signal of the candle
// that closed), or ok false for none.
func (r *Runner) wantRest(ps *pairState, nowMs int64, price float64, enter bool) (req exchange.OrderRequest, reason trade.ExitReason, ok bool) {
	ot := ps.open
	tr := ot.tr
	best := math.Inf(1)
	stopType, limit := exchange.StopLossOrder, 0.0
	if r.cfg.Orders.StopLimit {
		stopType, limit = exchange.StopLossLimitOrder, tr.StopLoss*r.cfg.Orders.StopLimitRatio
	}
	if r.cfg.Orders.StopOnVenue && tr.StopLoss > 0 && ps.market.Takes(stopType) && price > tr.StopLoss {
		if q, err := ps.market.Stop(exchange.Sell, tr.StopLoss, limit, ot.venueQty); err == nil {
			req, reason, ok, best = q, trade.ExitStopLoss, true, (price-tr.StopLoss)/price
			if tr.StopLoss != tr.InitialStopLoss {
				reason = trade.ExitTrailingStop
			}
		}
	}
	if roi, found := r.roiTrigger(tr, nowMs, enter); found && roi > price && (roi-price)/price < best {
		if q, err := ps.market.Order(exchange.Sell, exchange.LimitOrder, roi, ot.venueQty); err == nil {
			req, reason, ok = q, trade.ExitROI, true
		}
	}
	return req, reason, ok
}

// roiTrigger is the price above which the ROI step in force at nowMs
// takes the trade's profit: where the policy's profit ratio (after both
// fees) passes the step's ratio. None for a ROI of -1 (the policy exits
// at the market) or while the entry signal suspends the ROI
// (ignore_roi_if_entry_signal).
func (r *Runner) roiTrigger(tr *trade.Trade, nowMs int64, enter bool) (float64, bool) {
	rules := &r.pol.Rules
	if enter && rules.IgnoreROIIfEntrySignal {
		return 0, false
	}
	step, ok := rules.Risk.MinimalROI.At((nowMs - tr.OpenTime) / 60_000)
	if !ok || step.Ratio == -1 {
		return 0, false
	}
	// The profit ratio is affine in the price.
	f0, f1 := tr.ProfitRatioAt(0), tr.ProfitRatioAt(1)
	if f1 <= f0 {
		return 0, false
	}
	return (step.Ratio - f0) / (f1 - f0), true
}

// rest makes the order wantRest names rest for ps's trade, replacing the
// one resting if it differs. The trade may close meanwhile (the order it
// replaces had filled).
func (r *Runner) rest(ctx context.Context, ps *pairState, nowMs int64, price float64, enter bool) error {
	req, reason, ok := r.wantRest(ps, nowMs, price, enter)
	if cur := ps.open.rest; cur != nil {
		if ok && cur.Type == req.Type && cur.Price == req.Price && cur.StopPrice == req.StopPrice && cur.Quantity == req.Quantity && cur.Reason == string(reason) {
			return nil
		}
		if err := r.cancelRest(ctx, ps); err != nil || ps.open == nil {
			return err
		}
	}
	if !ok {
		return nil
	}
	ot := ps.open
	attempt := ot.exitAttempt
	ot.exitAttempt++
	rec, o, sent, err := r.send(ctx, ps, ot.seq, deploy.Exit, attempt, string(reason), req)
	if err != nil || !sent {
		return err
	}
	if !o.Status.Open() {
		// Filled (or ended) at once.
		p, err := r.fills(ctx, ps, rec, o)
		if err != nil {
			return err
		}
		return r.closed(ctx, ps, r.cfg.Timeframe.Floor(p.when), reason, p)
	}
	rec.Status, rec.VenueID, rec.Executed, rec.QuoteExecuted = o.Status, o.ID, o.Executed, o.QuoteExecuted
	ot.rest, ot.restFrom = &rec, nowMs
	return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
}

// mayHaveTraded reports whether ps's resting exit may have traded since it
// was last known open (the venue is asked only then): the prices the
// venue traded since — the candles from restFrom on and the price now —
// reached its stop price (a stop) or its limit (a take-profit). A limit
// exit waiting to fill, or one whose candles are not all in the window,
// may have.
func (r *Runner) mayHaveTraded(ps *pairState, price float64) bool {
	ot := ps.open
	o := ot.rest
	if ot.restUntil > 0 || ot.restFrom == 0 {
		return true
	}
	w := &ps.win
	lo, hi, seen := price, price, false
	for i := w.Len() - 1; i >= 0 && w.Time[i] >= ot.restFrom; i-- {
		lo, hi, seen = min(lo, w.Low[i]), max(hi, w.High[i]), seen || w.Time[i] == ot.restFrom
	}
	if !seen {
		return true
	}
	if o.Type.IsStop() {
		return lo <= o.StopPrice.Float()
	}
	return hi >= o.Price.Float()
}

// settleRest asks the venue about ps's resting order: one that ended is
// settled (its fills close the trade, inside the candle they happened
// in); one still open stays.
func (r *Runner) settleRest(ctx context.Context, ps *pairState) error {
	rec := *ps.open.rest
	o, err := r.lookup(ctx, ps, rec.ClientOrderID)
	if errors.Is(err, exchange.ErrUnknownOrder) {
		ps.open.rest, ps.open.restUntil = nil, 0
		rec.Status = exchange.StatusExpired
		return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
	}
	if err != nil || o.Status.Open() {
		return err
	}
	return r.endRest(ctx, ps, rec, o)
}

// cancelRest cancels ps's resting order and settles it: it may have filled
// before the cancel (the trade then closes). The lease is checked first: a
// runner that lost the deployment must not cancel its new holder's order.
func (r *Runner) cancelRest(ctx context.Context, ps *pairState) error {
	rec := *ps.open.rest
	if err := r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{}); err != nil {
		return err
	}
	o, err := retry(ctx, r, "cancel "+rec.ClientOrderID, func() (exchange.Order, error) {
		return r.cfg.Exchange.CancelOrder(ctx, ps.market.Symbol, exchange.OrderRef{ClientID: rec.ClientOrderID})
	})
	if errors.Is(err, exchange.ErrUnknownOrder) {
		// Not open any more (filled, or never placed): ask.
		if o, err = r.lookup(ctx, ps, rec.ClientOrderID); errors.Is(err, exchange.ErrUnknownOrder) {
			ps.open.rest, ps.open.restUntil = nil, 0
			rec.Status = exchange.StatusExpired
			return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{rec}})
		}
	}
	if err != nil {
		return err
	}
	if o.Status.Open() {
		return fmt.Errorf("cancel %s: the venue still shows it %s", rec.ClientOrderID, o.Status)
	}
	return r.endRest(ctx, ps, rec, o)
}

// endRest records the end of ps's resting order o: its fills close the
// trade at the candle of its last fill, for the order's reason.
func (r *Runner) endRest(ctx context.Context, ps *pairState, rec deploy.Order, o exchange.Order) error {
	ps.open.rest, ps.open.restUntil = nil, 0
	p, err := r.fills(ctx, ps, rec, o)
	if err != nil {
		return err
	}
	if p.rec.Executed == 0 {
		return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{p.rec}})
	}
	r.logf(ctx, slog.LevelInfo, "resting exit filled", "pair", ps.pair, "client_order_id", rec.ClientOrderID, "reason", rec.Reason)
	return r.closed(ctx, ps, r.cfg.Timeframe.Floor(p.when), trade.ExitReason(rec.Reason), p)
}

// resting reports whether o is an exit that rests on the venue (a stop, a
// take-profit, or a limit exit waiting to fill), not one sent to fill now.
func resting(o deploy.Order) bool { return o.Leg == deploy.Exit && o.Type != exchange.MarketOrder }

// timed reports whether a resting exit of reason is a limit exit waiting
// to fill (cancelled and placed again after unfilledtimeout's exit), not a
// stop or take-profit resting until replaced.
func timed(reason string) bool {
	switch trade.ExitReason(reason) {
	case trade.ExitStopLoss, trade.ExitTrailingStop, trade.ExitROI:
		return false
	}
	return true
}
