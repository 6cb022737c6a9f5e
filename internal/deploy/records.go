package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/trade"
)

// Pending is the status of an order recorded before it is sent: its
// outcome is unknown until the venue is asked (by its client order id).
const Pending exchange.Status = "PENDING"

// Order is one order a deployment placed (or is about to place).
type Order struct {
	ClientOrderID string
	TradeSeq      int64
	Leg           Leg
	Attempt       int
	Pair          string
	Side          exchange.Side
	Type          exchange.OrderType
	Reason        string    // entry: the enter tag; exit: the exit reason
	Price         fixed.Dec // limit and stop-limit orders
	StopPrice     fixed.Dec // stop orders: the trigger
	Quantity      fixed.Dec
	QuoteQuantity fixed.Dec
	Status        exchange.Status // Pending until the venue answered
	VenueID       int64
	Executed      fixed.Dec
	QuoteExecuted fixed.Dec
	Created       time.Time
	Updated       time.Time
}

// Open reports whether the order may still trade or its fate is unknown.
func (o Order) Open() bool { return o.Status == Pending || o.Status.Open() }

// Fill is one execution of one of the deployment's orders, as the venue
// reported it.
type Fill struct {
	Pair            string
	VenueTradeID    int64
	ClientOrderID   string
	Side            exchange.Side
	Price           fixed.Dec
	Qty             fixed.Dec
	QuoteQty        fixed.Dec
	Commission      fixed.Dec
	CommissionAsset string
	Time            time.Time
}

// Trade is one of the deployment's trades: the trade core's record, its
// number in the deployment, and the base quantity held at the venue (what
// the exit sells: the entry's fills less commission taken in the base
// asset).
type Trade struct {
	Seq      int64
	Record   trade.Trade
	Open     bool
	VenueQty fixed.Dec
}

// EquityPoint is the deployment's equity (wallet plus open trades marked
// to market) at a candle close.
type EquityPoint struct {
	Time   time.Time
	Equity float64
}

// Write is what a runner records in one transaction, after checking its
// lease: order states (new or changed), fills (a fill already recorded is
// kept as it is), trades (new or changed), equity points, unless zero
// the candle close the runner acted on (Deployment.LastTick), and the cost
// it measured since its last write (Cost: added to the deployment's).
type Write struct {
	Orders []Order
	Fills  []Fill
	Trades []Trade
	Equity []EquityPoint
	Tick   time.Time
	Cost   CostDelta
	// Risk, when set, are the deployment's risk figures of their day
	// (recorded, and summed into its account's). Entry, when set, is an
	// entry about to be sent (Orders holds its intent): it is checked
	// against the account's limits on the sum of every deployment on the
	// account and Risk (the figures before it) first, and counted in them;
	// refused, nothing is written (a *RefusedError).
	Risk  *RiskDay
	Entry *risk.Order
}

// CostDelta is what a runner measured of its deployment since its last
// write: CPU time and venue weight to add, the peak memory seen (kept
// when above the recorded peak) and the venue's last count of the minute
// (replaces the recorded one unless 0).
type CostDelta struct {
	CPU           time.Duration
	PeakMemory    int64
	VenueWeight   int64
	VenueWeight1m int64
}

// Record writes w for l's deployment in one transaction, or nothing when
// the lease was lost (ErrFenced). It returns once w is committed; writes of
// concurrent callers are committed together (see committer), each as if
// alone.
func (s *Store) Record(ctx context.Context, l Lease, w Write) error {
	if w.Entry != nil && w.Risk == nil {
		return fmt.Errorf("deployment %s: an entry to check needs the risk figures before it", l.Deployment)
	}
	now := s.clock.Now()
	if err := s.commit(ctx, writerOf(l), func(ctx context.Context, tx *db.Tx) error { return record(ctx, tx, l, w, now) }); err != nil {
		return fmt.Errorf("deployment %s: record orders and trades: %w", l.Deployment, err)
	}
	return nil
}

// RecordLater is Record of a write that carries no order, fill, trade or
// entry — a tick's bookkeeping: the candle close acted on, the cost, the
// equity point, the risk figures —, which the runner need not wait for:
// while another group of writes is being committed, w is queued, committed
// with the next group (in order with the deployment's other writes), and
// RecordLater returns at once; else it commits w before it returns. A w
// that fails (the lease lost: ErrFenced) fails the runner's next write of the
// deployment (on l) with its error. A crash of the process may lose a write still queued:
// what a crash cut short before it, done again by the next runner.
func (s *Store) RecordLater(ctx context.Context, l Lease, w Write) error {
	if len(w.Orders) > 0 || len(w.Fills) > 0 || len(w.Trades) > 0 || w.Entry != nil {
		return fmt.Errorf("deployment %s: orders, fills, trades and entries are recorded before the runner goes on, not later", l.Deployment)
	}
	now := s.clock.Now()
	if err := s.commitLater(ctx, writerOf(l), func(ctx context.Context, tx *db.Tx) error { return record(ctx, tx, l, w, now) }); err != nil {
		return fmt.Errorf("deployment %s: record the tick: %w", l.Deployment, err)
	}
	return nil
}

// record writes w for l's deployment in tx, after checking the lease.
func record(ctx context.Context, tx *db.Tx, l Lease, w Write, now time.Time) error {
	// The lease's check is the tick's and cost's update (one statement
	// a tick fewer), or fence's without them.
	if err := fenceTick(ctx, tx, l, w); err != nil {
		return err
	}
	if w.Risk != nil {
		if err := putRisk(ctx, tx, l, *w.Risk, w.Entry, now); err != nil {
			return err
		}
	}
	for _, o := range w.Orders {
		if err := putOrder(ctx, tx, l.Deployment, o, now); err != nil {
			return err
		}
	}
	for _, f := range w.Fills {
		if _, err := tx.Exec(ctx, `INSERT INTO deployment_fills (deployment_id, pair, venue_trade_id, client_order_id, side, price, qty, quote_qty, commission, commission_asset, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (deployment_id, pair, venue_trade_id) DO NOTHING`,
			l.Deployment, f.Pair, f.VenueTradeID, f.ClientOrderID, string(f.Side), f.Price.String(), f.Qty.String(), f.QuoteQty.String(),
			f.Commission.String(), f.CommissionAsset, f.Time.UnixMilli()); err != nil {
			return fmt.Errorf("fill %d of %s: %w", f.VenueTradeID, f.ClientOrderID, err)
		}
	}
	for _, t := range w.Trades {
		rec, err := json.Marshal(t.Record)
		if err != nil {
			return fmt.Errorf("trade %d: %w", t.Seq, err)
		}
		open := 0
		if t.Open {
			open = 1
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deployment_trades (deployment_id, seq, pair, open, open_time, close_time, record, venue_qty) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (deployment_id, seq) DO UPDATE SET open = excluded.open, close_time = excluded.close_time, record = excluded.record, venue_qty = excluded.venue_qty`,
			l.Deployment, t.Seq, t.Record.Pair, open, t.Record.OpenTime, t.Record.CloseTime, string(rec), t.VenueQty.String()); err != nil {
			return fmt.Errorf("trade %d: %w", t.Seq, err)
		}
	}
	for _, e := range w.Equity {
		if _, err := tx.Exec(ctx, `INSERT INTO deployment_equity (deployment_id, at, equity) VALUES (?, ?, ?) ON CONFLICT (deployment_id, at) DO UPDATE SET equity = excluded.equity`,
			l.Deployment, e.Time.UnixMilli(), e.Equity); err != nil {
			return fmt.Errorf("equity: %w", err)
		}
	}
	return nil
}

// fenceTick is fence for Record's w: when w has a tick or a cost, the
// statement that records them checks the lease and locks the row.
func fenceTick(ctx context.Context, tx *db.Tx, l Lease, w Write) error {
	var res sql.Result
	var err error
	// The tick and the cost in one statement (a runner records both at
	// every candle close); the tick alone in a shorter one.
	switch c := w.Cost; {
	case c != (CostDelta{}):
		var tick int64
		if !w.Tick.IsZero() {
			tick = w.Tick.UnixMilli()
		}
		res, err = tx.Exec(ctx, `UPDATE deployments SET last_tick_at = CASE WHEN CAST(? AS BIGINT) > 0 THEN ? ELSE last_tick_at END,
			cpu_ms = cpu_ms + ?, venue_weight = venue_weight + ?, peak_memory = CASE WHEN peak_memory < ? THEN ? ELSE peak_memory END,
			venue_weight_1m = CASE WHEN CAST(? AS BIGINT) > 0 THEN ? ELSE venue_weight_1m END WHERE id = ? AND lease_runner = ? AND lease_token = ?`,
			tick, tick, c.CPU.Milliseconds(), c.VenueWeight, c.PeakMemory, c.PeakMemory, c.VenueWeight1m, c.VenueWeight1m, l.Deployment, l.Runner, l.Token)
	case !w.Tick.IsZero():
		res, err = tx.Exec(ctx, `UPDATE deployments SET last_tick_at = ? WHERE id = ? AND lease_runner = ? AND lease_token = ?`,
			w.Tick.UnixMilli(), l.Deployment, l.Runner, l.Token)
	default:
		return fence(ctx, tx, l)
	}
	if err != nil {
		return fmt.Errorf("tick and cost: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrFenced
	}
	return nil
}

func putOrder(ctx context.Context, tx *db.Tx, dep string, o Order, now time.Time) error {
	if o.Status == "" {
		o.Status = Pending
	}
	_, err := tx.Exec(ctx, `INSERT INTO deployment_orders (deployment_id, client_order_id, trade_seq, leg, attempt, pair, side, type, reason, price, stop_price, quantity, quote_quantity,
			status, venue_order_id, executed, quote_executed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (deployment_id, client_order_id) DO UPDATE SET status = excluded.status, venue_order_id = excluded.venue_order_id,
			executed = excluded.executed, quote_executed = excluded.quote_executed, updated_at = excluded.updated_at`,
		dep, o.ClientOrderID, o.TradeSeq, string(o.Leg), o.Attempt, o.Pair, string(o.Side), string(o.Type), o.Reason, o.Price.String(), o.StopPrice.String(), o.Quantity.String(),
		o.QuoteQuantity.String(), string(o.Status), o.VenueID, o.Executed.String(), o.QuoteExecuted.String(), now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("order %s: %w", o.ClientOrderID, err)
	}
	return nil
}

// Orders lists a deployment's orders of tenant, oldest first.
func (s *Store) Orders(ctx context.Context, tenant, id string) ([]Order, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Order, error) {
		var o Order
		var leg, side, typ, status, price, stop, qty, quote, exec, qexec string
		var created, updated int64
		if err := r.Scan(&o.ClientOrderID, &o.TradeSeq, &leg, &o.Attempt, &o.Pair, &side, &typ, &o.Reason, &price, &stop, &qty, &quote,
			&status, &o.VenueID, &exec, &qexec, &created, &updated); err != nil {
			return o, err
		}
		if len(leg) == 1 {
			o.Leg = Leg(leg[0])
		}
		o.Side, o.Type, o.Status = exchange.Side(side), exchange.OrderType(typ), exchange.Status(status)
		if err := parseDecs([]string{price, stop, qty, quote, exec, qexec}, &o.Price, &o.StopPrice, &o.Quantity, &o.QuoteQuantity, &o.Executed, &o.QuoteExecuted); err != nil {
			return o, fmt.Errorf("order %s: %w", o.ClientOrderID, err)
		}
		o.Created, o.Updated = time.UnixMilli(created), time.UnixMilli(updated)
		return o, nil
	}, `SELECT o.client_order_id, o.trade_seq, o.leg, o.attempt, o.pair, o.side, o.type, o.reason, o.price, o.stop_price, o.quantity, o.quote_quantity,
			o.status, o.venue_order_id, o.executed, o.quote_executed, o.created_at, o.updated_at
		FROM deployment_orders o JOIN deployments d ON d.id = o.deployment_id
		WHERE o.deployment_id = ? AND d.tenant_id = ? ORDER BY o.created_at, o.trade_seq, o.leg, o.attempt`, id, tenant)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: orders: %w", id, err)
	}
	return out, nil
}

func parseDecs(s []string, dst ...*fixed.Dec) error {
	for i, d := range dst {
		v, err := fixed.Parse(s[i])
		if err != nil {
			return err
		}
		*d = v
	}
	return nil
}

// Fills lists a deployment's fills of tenant, oldest first.
func (s *Store) Fills(ctx context.Context, tenant, id string) ([]Fill, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Fill, error) {
		var f Fill
		var side, price, qty, quote, comm string
		var at int64
		if err := r.Scan(&f.Pair, &f.VenueTradeID, &f.ClientOrderID, &side, &price, &qty, &quote, &comm, &f.CommissionAsset, &at); err != nil {
			return f, err
		}
		f.Side, f.Time = exchange.Side(side), time.UnixMilli(at)
		if err := parseDecs([]string{price, qty, quote, comm}, &f.Price, &f.Qty, &f.QuoteQty, &f.Commission); err != nil {
			return f, fmt.Errorf("fill %d: %w", f.VenueTradeID, err)
		}
		return f, nil
	}, `SELECT f.pair, f.venue_trade_id, f.client_order_id, f.side, f.price, f.qty, f.quote_qty, f.commission, f.commission_asset, f.at
		FROM deployment_fills f JOIN deployments d ON d.id = f.deployment_id
		WHERE f.deployment_id = ? AND d.tenant_id = ? ORDER BY f.at, f.pair, f.venue_trade_id`, id, tenant)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: fills: %w", id, err)
	}
	return out, nil
}

// Trades lists a deployment's trades of tenant in the order they opened.
func (s *Store) Trades(ctx context.Context, tenant, id string) ([]Trade, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Trade, error) {
		var t Trade
		var open int
		var rec, qty string
		err := r.Scan(&t.Seq, &open, &rec, &qty)
		if err != nil {
			return t, err
		}
		if err := json.Unmarshal([]byte(rec), &t.Record); err != nil {
			return t, fmt.Errorf("trade %d: %w", t.Seq, err)
		}
		if t.VenueQty, err = fixed.Parse(qty); err != nil {
			return t, fmt.Errorf("trade %d: %w", t.Seq, err)
		}
		t.Open = open == 1
		return t, nil
	}, `SELECT t.seq, t.open, t.record, t.venue_qty FROM deployment_trades t JOIN deployments d ON d.id = t.deployment_id
		WHERE t.deployment_id = ? AND d.tenant_id = ? ORDER BY t.seq`, id, tenant)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: trades: %w", id, err)
	}
	return out, nil
}

// Equity lists a deployment's equity points of tenant in time order.
func (s *Store) Equity(ctx context.Context, tenant, id string) ([]EquityPoint, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (EquityPoint, error) {
		var at int64
		var e EquityPoint
		err := r.Scan(&at, &e.Equity)
		e.Time = time.UnixMilli(at)
		return e, err
	}, `SELECT e.at, e.equity FROM deployment_equity e JOIN deployments d ON d.id = e.deployment_id
		WHERE e.deployment_id = ? AND d.tenant_id = ? ORDER BY e.at`, id, tenant)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: equity: %w", id, err)
	}
	return out, nil
}
