package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
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
// attempt's client order id) when the one wanted changes: the stop moved,
// the ROI step changed with the trade's age, or the other became the
// nearer.
//
// A trailing stop rests as the venue's trailing stop where the venue takes
// them (exchange.Market.TrailingBelow) and the config's trailing is one
// delta a candle long (trailStop): a STOP_LOSS sell with trailingDelta δ,
// the distance in force, and a stop price A whose trailing stop is the
// trade's stop S (A = S / (1 − δ), on the tick). The price is at or below
// A, so the venue tracks from A at once: its stop is S until the price
// passes A, the highest price the trade has seen, then follows the highest
// price by δ — the backtest's stop, inside the candle, with the candle's
// low reaching the moved stop (the simulator meets a candle's prices in
// the backtest's order for trailing stops). Kept while δ holds, it is
// replaced when the distance changes (trailing_stop_positive once its
// offset is passed) or by the ROI take-profit when that is nearer; the
// stop price carries the trade's highest price into the new order.

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
			if t, ok := r.trailStop(ps, q, price); ok {
				q = t
			}
			req, reason, ok, best = q, trade.ExitStopLoss, true, (price-tr.StopLoss)/price
			if tr.StopLoss != tr.InitialStopLoss {
				reason = trade.ExitTrailingStop
			}
		}
	}
	if q, at, found := r.trailActivation(ps, price); found && (at-price)/price < best {
		req, reason, ok, best = q, trade.ExitTrailingStop, true, (at-price)/price
	}
	if roi, found := r.roiTrigger(tr, nowMs, enter); found && roi > price && (roi-price)/price < best {
		if q, err := ps.market.Order(exchange.Sell, exchange.LimitOrder, roi, ot.venueQty); err == nil {
			req, reason, ok = q, trade.ExitROI, true
		}
	}
	return req, reason, ok
}

// trailDelta is the trailing delta (BIPS) of ps's trade's stop over the
// next candle, when the venue can carry it: the trailing stop is on
// (long, spot, a STOP_LOSS stop), its distance in force — |stoploss|, or
// trailing_stop_positive once the trade's highest price passed its offset
// — is a whole number of BIPS the market takes. Not while
// trailing_only_offset_is_reached holds the stop still (a plain stop).
func (r *Runner) trailDelta(ps *pairState) (int64, bool) {
	rules := &r.pol.Rules
	risk, tr := &rules.Risk, ps.open.tr
	if !risk.TrailingStop || tr.IsShort || rules.Leverage != 1 || r.cfg.Orders.StopLimit || ps.open.noTrail {
		return 0, false
	}
	sl := risk.Stoploss
	switch p := tr.ProfitRatioAt(tr.MaxRate); {
	case risk.TrailingStopPositive > 0 && p > risk.TrailingStopPositiveOffset:
		sl = -risk.TrailingStopPositive
	case risk.TrailingOnlyOffsetIsReached && p < risk.TrailingStopPositiveOffset:
		return 0, false
	}
	return trailBips(math.Abs(sl), ps.market.TrailingBelow)
}

// trailBips is the trailing distance ratio (0.005: half a percent) as a
// venue's trailing delta in BIPS, when it is a whole number of them in r.
func trailBips(ratio float64, r exchange.DeltaRange) (int64, bool) {
	bips := ratio * 10_000
	d := int64(math.Round(bips))
	if math.Abs(bips-float64(d)) > 1e-6 || !r.Has(d) {
		return 0, false
	}
	return d, true
}

// trailStop makes stop, ps's trade's STOP_LOSS sell at its stop S, the
// venue's trailing stop of the delta in force (trailDelta) that tracks
// from A at once: the highest price on the tick whose trailing stop (A
// less the delta, floored to the tick) is stop's own stop price. Not when
// A lies below the price: the venue would wait for the price to fall to
// A (the plain stop rests then).
func (r *Runner) trailStop(ps *pairState, stop exchange.OrderRequest, price float64) (exchange.OrderRequest, bool) {
	d, ok := r.trailDelta(ps)
	if !ok {
		return exchange.OrderRequest{}, false
	}
	tick := max(ps.market.TickSize, 1)
	a, err := fixed.FromFloat(stop.StopPrice.Float() / (1 - float64(d)/10_000))
	if err != nil {
		return exchange.OrderRequest{}, false
	}
	a = a.CeilTo(tick) + tick
	for a > tick && venueTrail(a, d, tick) > stop.StopPrice {
		a -= tick
	}
	if a.Float() < price || venueTrail(a, d, tick) != stop.StopPrice {
		return exchange.OrderRequest{}, false
	}
	q, err := ps.market.Stop(exchange.Sell, a.Float(), 0, stop.Quantity.Float())
	if err != nil || q.StopPrice != a {
		return exchange.OrderRequest{}, false
	}
	if q, err = ps.market.Trailing(q, d); err != nil {
		return exchange.OrderRequest{}, false
	}
	return q, true
}

// venueTrail is a sell trailing stop's trigger having tracked peak: peak
// less delta BIPS, floored to the tick (Binance triggers at the first
// trade that far down; trades are on the tick).
func venueTrail(peak fixed.Dec, delta int64, tick fixed.Dec) fixed.Dec {
	return fixed.MulFloor(peak, fixed.Dec((10_000-delta)*10_000)).FloorTo(tick)
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
	return profitPrice(tr, step.Ratio)
}

// profitPrice is the price at which tr's profit ratio (after both fees)
// is ratio: the profit ratio is affine in the price.
func profitPrice(tr *trade.Trade, ratio float64) (float64, bool) {
	f0, f1 := tr.ProfitRatioAt(0), tr.ProfitRatioAt(1)
	if f1 <= f0 {
		return 0, false
	}
	return (ratio - f0) / (f1 - f0), true
}

// trailActivation is the venue's trailing stop that takes over where
// trailing_stop_positive does, while the trade has not yet passed its
// offset: a TAKE_PROFIT sell with the positive distance as its trailing
// delta, activated by the price at which the profit passes the offset
// (raised to the tick). Activated, it tracks from there and trails the
// highest price by the distance: the backtest's stop once its high passes
// the offset, the candle's low reaching it in the same candle. It holds no
// stop below the price before: it rests only when its activation is nearer
// to the price than the stop (the runner exits at the next open when the
// stop is passed meanwhile). at is the activation price.
func (r *Runner) trailActivation(ps *pairState, price float64) (req exchange.OrderRequest, at float64, ok bool) {
	rules := &r.pol.Rules
	risk, tr := &rules.Risk, ps.open.tr
	if !r.cfg.Orders.StopOnVenue || r.cfg.Orders.StopLimit || ps.open.noTrail || !risk.TrailingStop || risk.TrailingStopPositive <= 0 || tr.IsShort ||
		rules.Leverage != 1 || !ps.market.Takes(exchange.TakeProfitOrder) || tr.ProfitRatioAt(tr.MaxRate) > risk.TrailingStopPositiveOffset {
		return req, 0, false
	}
	d, ok := trailBips(risk.TrailingStopPositive, ps.market.TrailingAbove)
	if !ok {
		return req, 0, false
	}
	at, found := profitPrice(tr, risk.TrailingStopPositiveOffset)
	if !found || at <= price {
		return req, 0, false
	}
	q, err := ps.market.TakeProfit(exchange.Sell, at, ps.open.venueQty)
	if err != nil {
		return req, 0, false
	}
	if exact, err := fixed.FromFloat(at); err == nil && exact == q.StopPrice {
		q.StopPrice += max(ps.market.TickSize, 1) // the offset must be passed, not reached
	}
	if q, err = ps.market.Trailing(q, d); err != nil {
		return req, 0, false
	}
	return q, at, true
}

// rest makes the order wantRest names rest for ps's trade, replacing the
// one resting if it differs. The trade may close meanwhile (the order it
// replaces had filled).
func (r *Runner) rest(ctx context.Context, ps *pairState, nowMs int64, price float64, enter bool) error {
	req, reason, ok := r.wantRest(ps, nowMs, price, enter)
	if cur := ps.open.rest; cur != nil {
		same := cur.Price == req.Price && cur.StopPrice == req.StopPrice && cur.Reason == string(reason)
		if req.TrailingDelta > 0 {
			// The venue's trailing stop has moved as the trade's stop.
			same = true
		}
		if ok && cur.Type == req.Type && cur.Quantity == req.Quantity && ps.open.restTrail == req.TrailingDelta && same {
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
	if err == nil && !sent && rec.Status == exchange.StatusRejected && req.TrailingDelta > 0 && !ot.noTrail {
		// The venue would not take it (a venue reading Binance's rules
		// otherwise): the stop rests as a plain one, moved at closes.
		ot.noTrail = true
		r.logf(ctx, slog.LevelWarn, "trailing stop refused: the stop rests as a plain stop", "pair", ps.pair, "client_order_id", rec.ClientOrderID)
		return r.rest(ctx, ps, nowMs, price, enter)
	}
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
	ot.rest, ot.restFrom, ot.restTrail = &rec, nowMs, req.TrailingDelta
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
	if o.Type == exchange.TakeProfitOrder && max(hi, ot.tr.MaxRate) < o.StopPrice.Float() {
		return false // not activated
	}
	if o.Type.IsStop() {
		stop := o.StopPrice.Float()
		if d := ot.restTrail; d > 0 {
			// At most the highest price seen less the delta.
			stop = max(stop, ot.tr.MaxRate, hi) * (1 - float64(d)/10_000)
		}
		return lo <= stop
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
		ps.open.rest, ps.open.restUntil, ps.open.restTrail = nil, 0, 0
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
			ps.open.rest, ps.open.restUntil, ps.open.restTrail = nil, 0, 0
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
	trail := ps.open.restTrail
	ps.open.rest, ps.open.restUntil, ps.open.restTrail = nil, 0, 0
	p, err := r.fills(ctx, ps, rec, o)
	if err != nil {
		return err
	}
	if p.rec.Executed == 0 {
		return r.cfg.Store.Record(ctx, r.cfg.Lease, deploy.Write{Orders: []deploy.Order{p.rec}})
	}
	at, reason := r.cfg.Timeframe.Floor(p.when), trade.ExitReason(rec.Reason)
	if trail > 0 {
		qty, quote := p.executed()
		reason = r.trailReason(ps, at, quote/qty)
	}
	r.logf(ctx, slog.LevelInfo, "resting exit filled", "pair", ps.pair, "client_order_id", rec.ClientOrderID, "reason", string(reason))
	return r.closed(ctx, ps, at, reason, p)
}

// trailReason is why the venue's trailing stop closed ps's trade at rate
// in the candle opening at at: a trailing stop when the trade's stop had
// moved from its initial stop by the end of that candle, as the backtest's
// policy moves it (a stop-loss otherwise). Without that candle at hand (a
// fill the venue streamed inside the candle, a restart), the stop as the
// runner last moved it decides, or a fill above the initial stop.
func (r *Runner) trailReason(ps *pairState, at int64, rate float64) trade.ExitReason {
	tr := *ps.open.tr
	w := &ps.win
	seen := false
	for i := w.Len() - 1; i >= 0 && w.Time[i] >= at; i-- {
		if w.Time[i] == at && at >= tr.OpenTime {
			r.pol.Exit(&tr, trade.Candle{Time: at, Open: w.Open[i], High: w.High[i], Low: w.Low[i], Close: w.Close[i]}, &r.xs)
			seen = true
			break
		}
	}
	if tr.StopLoss != tr.InitialStopLoss || !seen && rate > tr.InitialStopLoss+ps.market.TickSize.Float() {
		return trade.ExitTrailingStop
	}
	return trade.ExitStopLoss
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
