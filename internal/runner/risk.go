package runner

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/trade"
)

// The kinds of Alert.
const (
	// AlertBreach: the deployment's own loss or drawdown limit paused it.
	AlertBreach = "deployment.risk_breach"
	// AlertAccountBreach: its account's loss or drawdown limit, on the sum
	// of the account's deployments, paused every deployment on it (one
	// alert per limit, account and UTC day, by the runner that saw it first).
	AlertAccountBreach = "account.risk_breach"
	// AlertRefused: a limit refused an order (at most one alert per limit
	// an hour for a deployment; each refusal is audited).
	AlertRefused = "deployment.order_refused"
)

// refusedAlertEvery is how often the refusals of one limit alert.
const refusedAlertEvery = time.Hour

// Alert is a risk breach or refusal (Config.Alert); as JSON, the body the
// platform POSTs to its alert webhook: a deployment paused by its loss or
// drawdown limit, every deployment of an account paused by the account's
// (once per limit and UTC day), or orders refused by a limit (once per
// deployment and limit an hour).
type Alert struct {
	// Type is AlertBreach, AlertAccountBreach or AlertRefused.
	Type       string `json:"type"`
	Tenant     string `json:"tenant"`
	Deployment string `json:"deployment"`
	// Account is the venue/account of an account's breach.
	Account string `json:"account,omitempty"`
	// Limit is the risk_limits key; Message says by how much.
	Limit   string `json:"limit"`
	Message string `json:"message"`
	// Flattened: the deployment's trades were closed (flatten_on_breach).
	Flattened bool `json:"flattened,omitempty"`
}

// riskState is what the runner keeps for the risk limits.
type riskState struct {
	sent                    []time.Time // orders sent in the last minute
	day                     int64       // the UTC day of dayStart (days since 1970)
	dayStart, dayHigh, high float64     // the equity at the day's start, its highs of the day and since the start
	halted                  bool        // a loss or drawdown limit paused the deployment
	haltedAt                time.Time
	recorded                deploy.RiskState // the risk state last recorded
	recordedOnce            bool
	ordersToday             int            // entries sent this day
	lastDay                 deploy.RiskDay // the risk figures last recorded
	dayRecorded             bool
	pauseRead               bool                 // a pause seen was read for a breach of the account (until resumed)
	refusedAlerts           map[string]time.Time // the last refusal alert by limit
}

// refused is the status of an order the risk limits (or the venue's
// circuit breaker) kept from being sent: it is neither recorded nor sent.
const refused exchange.Status = "REFUSED_BY_RISK"

// admit checks an order about to be sent against the risk limits and the
// venue's circuit breaker. Exits (sells of a held trade) always pass.
// A refused order is logged in the deployment's log and audited. An
// entry admitted here is checked again against its account's limits,
// summed over every deployment on the account, when its intent is
// recorded (send).
func (r *Runner) admit(ctx context.Context, ps *pairState, leg deploy.Leg, req exchange.OrderRequest) (risk.Order, bool) {
	if leg == deploy.Exit {
		return risk.Order{Pair: ps.pair, Reduces: true}, true
	}
	now := r.clk.Now()
	last := r.lastClose(ps, 0)
	price := req.Price.Float()
	if price == 0 {
		price = last
	}
	o := risk.Order{Pair: ps.pair, Price: price, Notional: orderNotional(req.Quantity.Float(), req.QuoteQuantity.Float(), price)}
	st := risk.State{LastPrice: last, OrdersLastMinute: r.sentSince(now), OrdersToday: r.risk.ordersToday,
		Equity: r.equity(), DayStart: r.risk.dayStart, DayHigh: r.risk.dayHigh, High: r.risk.high}
	st.Positions, st.OpenOrders = r.exposure(false)
	v := r.cfg.Limits.Check(st, o)
	if v.OK() && !r.cfg.Breaker.Allow() {
		v = risk.Verdict{Limit: "circuit_breaker", Why: "the venue failed too often: new orders wait for the breaker's cool-down"}
	}
	if v.OK() {
		return o, true
	}
	r.refused(ctx, ps, req, v, o.Notional)
	return o, false
}

// refused logs, audits and alerts (once an hour by limit) an order the
// risk limits refused. A loss or drawdown refusal (the account's: the
// deployment's own pauses it before) pauses the account's deployments
// (haltAccount); this one acts on it at its next close.
func (r *Runner) refused(ctx context.Context, ps *pairState, req exchange.OrderRequest, v risk.Verdict, notional float64) {
	r.logf(ctx, slog.LevelWarn, "order refused by the risk limits", "pair", ps.pair, "limit", v.Limit, "why", v.Why, "side", string(req.Side),
		"quantity", req.Quantity.String(), "notional", fmt.Sprint(notional))
	if err := r.cfg.Store.Audit(ctx, r.cfg.Lease, AlertRefused, map[string]any{"pair": ps.pair, "limit": v.Limit, "why": v.Why,
		"side": req.Side, "quantity": req.Quantity.String(), "notional": notional}); err != nil {
		r.log.Warn("refused order not audited", "err", err)
	}
	if now := r.clk.Now(); r.cfg.Alert != nil {
		if last, ok := r.risk.refusedAlerts[v.Limit]; !ok || now.Sub(last) >= refusedAlertEvery {
			if r.risk.refusedAlerts == nil {
				r.risk.refusedAlerts = map[string]time.Time{}
			}
			r.risk.refusedAlerts[v.Limit] = now
			r.cfg.Alert(ctx, Alert{Type: AlertRefused, Tenant: r.cfg.Lease.Tenant, Deployment: r.cfg.Lease.Deployment, Limit: v.Limit,
				Message: "order refused on " + ps.pair + ": " + v.String()})
		}
	}
	if v.Limit == "max_daily_loss" || v.Limit == "max_drawdown" {
		if _, err := r.haltAccount(ctx); err != nil {
			r.log.Warn("the account's loss limits not checked", "err", err)
		}
	}
}

// haltAccount checks the loss and drawdown limits of the deployment's
// account on its deployments' summed figures (deploy.Store.HaltAccount),
// which pauses them all on a breach, and alerts a breach the store
// recorded first here. paused says why this deployment was paused by
// it (Halted "": it was not).
func (r *Runner) haltAccount(ctx context.Context) (paused deploy.RiskState, err error) {
	b, ok, err := r.cfg.Store.HaltAccount(ctx, r.cfg.Lease, r.riskDay())
	if err != nil || !ok {
		return deploy.RiskState{}, err
	}
	if b.New {
		r.logf(ctx, slog.LevelError, "account risk limit breached: its deployments paused", "account", b.Account, "limit", b.Verdict.Limit,
			"why", b.Verdict.Why, "paused", strings.Join(b.Paused, ","))
		if r.cfg.Alert != nil {
			r.cfg.Alert(ctx, Alert{Type: AlertAccountBreach, Tenant: r.cfg.Lease.Tenant, Deployment: r.cfg.Lease.Deployment, Account: b.Account,
				Limit: b.Verdict.Limit, Message: b.Halted()})
		}
	}
	if slices.Contains(b.Paused, r.cfg.Lease.Deployment) {
		return deploy.RiskState{Halted: b.Halted(), Flatten: b.Flatten}, nil
	}
	return deploy.RiskState{}, nil
}

// orderNotional is an order's value in the stake currency: its quote
// quantity, else its quantity at price.
func orderNotional(qty, quote, price float64) float64 {
	if quote > 0 {
		return quote
	}
	return qty * price
}

// exposure is the notional of the open positions at their last price by
// pair (with waiting, the limit entries waiting to fill too) and how many
// orders are open at the venue.
func (r *Runner) exposure(waiting bool) (map[string]float64, int) {
	pos, open := map[string]float64{}, 0
	for _, h := range r.pairs {
		if h.open != nil {
			pos[h.pair] += h.open.venueQty * r.lastClose(h, h.open.tr.OpenRate)
			if h.open.rest != nil {
				open++
			}
		}
		if h.entry != nil {
			open++
			if waiting {
				e := h.entry.rec
				pos[h.pair] += orderNotional(e.Quantity.Float(), e.QuoteQuantity.Float(), e.Price.Float())
			}
		}
	}
	return pos, open
}

// riskDay is the deployment's risk figures now, to record.
func (r *Runner) riskDay() deploy.RiskDay {
	rd := deploy.RiskDay{Day: r.risk.day, DayStart: r.risk.dayStart, DayHigh: r.risk.dayHigh, High: r.risk.high, Equity: r.equity(), Orders: r.risk.ordersToday}
	rd.Positions, rd.OpenOrders = r.exposure(true)
	if rd.Day == 0 { // before the first close
		rd.Day = deploy.Day(r.clk.Now())
	}
	return rd
}

// sameDay reports whether two risk figures are equal.
func sameDay(a, b deploy.RiskDay) bool {
	return a.Day == b.Day && a.DayStart == b.DayStart && a.DayHigh == b.DayHigh && a.High == b.High && a.Equity == b.Equity &&
		a.OpenOrders == b.OpenOrders && a.Orders == b.Orders && maps.Equal(a.Positions, b.Positions)
}

// restoreRisk continues the risk figures last recorded: the day's start,
// its high and its entries when they are today's (a restart does not
// reset a daily loss), the deployment's high in any case.
func (r *Runner) restoreRisk(ctx context.Context, now time.Time) error {
	rd, ok, err := r.cfg.Store.LastRiskDay(ctx, r.cfg.Lease)
	if err != nil || !ok {
		return err
	}
	r.risk.high = rd.High
	if rd.Day == deploy.Day(now) {
		r.risk.day, r.risk.dayStart, r.risk.dayHigh, r.risk.ordersToday = rd.Day, rd.DayStart, rd.DayHigh, rd.Orders
	}
	return nil
}

// sentOrder counts an order sent at now for max_orders_per_minute.
func (r *Runner) sentOrder(now time.Time) {
	r.sentSince(now)
	r.risk.sent = append(r.risk.sent, now)
}

// sentSince is how many orders were sent in the minute before now; it
// forgets the older ones.
func (r *Runner) sentSince(now time.Time) int {
	keep := r.risk.sent[:0]
	for _, t := range r.risk.sent {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	r.risk.sent = keep
	return len(keep)
}

// venueCall tells the breaker how a placement went: a transient failure
// (the venue down, an answer lost) counts, a refusal does not.
func (r *Runner) venueCall(err error) {
	switch {
	case err == nil:
		r.cfg.Breaker.Success()
	case transient(err):
		r.cfg.Breaker.Failure()
	}
}

// watchLoss follows the equity at the close nowMs and pauses the
// deployment when a loss or drawdown limit is breached: its open limit
// entries are cancelled, its trades closed with flatten_on_breach, the
// breach audited and alerted. A deployment resumed while the breach holds
// is paused again; the next day's start ends a daily loss.
func (r *Runner) watchLoss(ctx context.Context, d deploy.Control, nowMs int64) error {
	eq := r.equity()
	if day := clock.Day(nowMs); day != r.risk.day || r.risk.dayStart == 0 {
		r.risk.day, r.risk.dayStart, r.risk.dayHigh, r.risk.ordersToday = day, eq, eq, 0
	}
	r.risk.dayHigh, r.risk.high = max(r.risk.dayHigh, eq), max(r.risk.high, eq)
	if d.State == deploy.Running {
		r.risk.halted, r.risk.pauseRead = false, false // resumed (or never halted)
	}
	st := risk.State{Equity: eq, DayStart: r.risk.dayStart, DayHigh: r.risk.dayHigh, High: r.risk.high}
	if v := r.cfg.Limits.Breach(st); !v.OK() && !r.risk.halted {
		rs := r.riskNow()
		rs.Halted, rs.HaltedAt = v.String(), time.UnixMilli(nowMs)
		if err := r.cfg.Store.Halt(ctx, r.cfg.Lease, v.Limit, rs); err != nil {
			return err
		}
		r.logf(ctx, slog.LevelError, "risk limit breached: deployment paused", "limit", v.Limit, "why", v.Why)
		flattened, err := r.halt(ctx, rs, nowMs)
		if err != nil {
			return err
		}
		if r.cfg.Alert != nil {
			r.cfg.Alert(ctx, Alert{Type: AlertBreach, Tenant: r.cfg.Lease.Tenant, Deployment: r.cfg.Lease.Deployment, Limit: v.Limit, Message: v.String(),
				Flattened: flattened})
		}
	}
	return r.watchAccount(ctx, d, nowMs)
}

// watchAccount follows the loss and drawdown limits of the deployment's
// account at the close nowMs: a breach of the summed figures pauses every
// deployment on it (haltAccount). A deployment the account's breach
// paused — here, or by another deployment's runner, seen as the pause of
// its state — cancels its limit entries and flattens with
// flatten_on_breach, as for its own breach (the alert is the account's,
// sent once).
//
// The account is checked at the closes of a deployment with a loss or
// drawdown limit (its own, or its account's when its runner started: its
// limits are the tighter): one read of the account's limits, and the sums
// when it has such a limit. A deployment without one sees the account's
// breach as the pause of its state, and checks the account when its
// entry is refused for it (refused).
func (r *Runner) watchAccount(ctx context.Context, d deploy.Control, nowMs int64) error {
	var paused deploy.RiskState
	if r.cfg.Limits.MaxDailyLoss > 0 || r.cfg.Limits.MaxDrawdown > 0 {
		var err error
		if paused, err = r.haltAccount(ctx); err != nil {
			return err
		}
	}
	if r.risk.halted {
		return nil
	}
	rs := r.riskNow()
	switch {
	case paused.Halted != "":
		rs.Halted, rs.HaltedAt, rs.Flatten = paused.Halted, time.UnixMilli(nowMs), paused.Flatten
	case d.State == deploy.Paused && !r.risk.pauseRead:
		// Paused since the last close: by its user, or by a breach of the
		// account another runner saw.
		r.risk.pauseRead = true
		dep, err := r.cfg.Store.Deployment(ctx, r.cfg.Lease)
		if err != nil {
			return err
		}
		if dep.Risk.Halted == "" {
			return nil
		}
		rs.Halted, rs.HaltedAt, rs.Flatten = dep.Risk.Halted, dep.Risk.HaltedAt, dep.Risk.Flatten
	default:
		return nil
	}
	r.logf(ctx, slog.LevelError, "account risk limit breached: deployment paused", "why", rs.Halted)
	_, err := r.halt(ctx, rs, nowMs)
	return err
}

// halt acts on a breach that paused the deployment (rs, as recorded): its
// limit entries are cancelled, its trades closed with flatten_on_breach
// (its limits', or its account's: rs.Flatten).
// flattened says none is left open.
func (r *Runner) halt(ctx context.Context, rs deploy.RiskState, nowMs int64) (flattened bool, err error) {
	r.risk.halted, r.risk.haltedAt = true, rs.HaltedAt
	r.risk.recorded, r.risk.recordedOnce = rs, true
	if err := r.cancelEntries(ctx, nowMs); err != nil {
		return false, err
	}
	if !r.cfg.Limits.FlattenOnBreach && !rs.Flatten {
		return false, nil
	}
	for _, ps := range append([]*pairState(nil), r.held...) {
		if err := r.exit(ctx, ps, nowMs, trade.ExitForce, r.lastClose(ps, ps.open.tr.OpenRate)); err != nil {
			return false, err
		}
	}
	return len(r.held) == 0, nil
}

// cancelEntries cancels the limit entries waiting to fill (what they
// bought, if anything, opens a trade).
func (r *Runner) cancelEntries(ctx context.Context, nowMs int64) error {
	for _, ps := range r.pairs {
		if ps.entry != nil {
			ps.entry.until = 0
			if err := r.settleEntry(ctx, ps, nowMs); err != nil {
				return err
			}
		}
	}
	return nil
}

// riskNow is the risk state to record.
func (r *Runner) riskNow() deploy.RiskState {
	st, since := r.cfg.Breaker.State()
	rs := deploy.RiskState{Breaker: string(st), BreakerSince: since}
	if r.risk.halted {
		rs.Halted, rs.HaltedAt, rs.Flatten = r.risk.recorded.Halted, r.risk.haltedAt, r.risk.recorded.Flatten
	}
	return rs
}

// recordRisk records the risk state when it changed since last recorded.
func (r *Runner) recordRisk(ctx context.Context) error {
	rs := r.riskNow()
	if r.risk.recordedOnce && rs == r.risk.recorded {
		return nil
	}
	if err := r.cfg.Store.SetRisk(ctx, r.cfg.Lease, rs); err != nil {
		return err
	}
	if rs.Breaker != r.risk.recorded.Breaker && r.risk.recordedOnce {
		r.logf(ctx, slog.LevelWarn, "the venue's circuit breaker is "+rs.Breaker)
	}
	if rs.Breaker != r.risk.recorded.Breaker || !r.risk.recordedOnce {
		r.cfg.Observe.Breaker(r.cfg.Lease.Deployment, rs.Breaker == string(risk.Open))
	}
	r.risk.recorded, r.risk.recordedOnce = rs, true
	return nil
}

// checkStop reads the deployment between candle closes (Run, every
// StopPoll): a stop asked (the kill switch, stop --flatten) is acted on at
// once (ErrStopped); a deployment stopped or taken over ends the run
// (deploy.ErrFenced). The breaker's state is recorded when it changed.
func (r *Runner) checkStop(ctx context.Context) error {
	d, err := r.cfg.Store.Control(ctx, r.cfg.Lease)
	if err != nil {
		return err
	}
	if !d.Held(r.cfg.Lease) {
		return fmt.Errorf("deployment %s is %s: %w", r.cfg.Lease.Deployment, d.State, deploy.ErrFenced)
	}
	if d.Flatten || d.StopAsked {
		return r.stop(ctx, r.cfg.Timeframe.Floor(r.clk.Now().UnixMilli()), d.Flatten)
	}
	return r.recordRisk(ctx)
}
