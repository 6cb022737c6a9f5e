package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/risk"
)

// RiskDay is a deployment's risk figures of one UTC day, as its runner
// last recorded them (Write.Risk): kept so that a restarted runner goes on
// with the day's start and the highs, and so that an account's limits
// count every deployment trading on it.
type RiskDay struct {
	// Day is the UTC day (days since 1970).
	Day int64
	// DayStart is the equity at the day's start (or at the deployment's
	// start that day); DayHigh and High its highs of the day and since the
	// deployment started; Equity its equity now.
	DayStart, DayHigh, High, Equity float64
	// Positions are the open positions and the entries waiting to fill,
	// their notional by pair.
	Positions map[string]float64
	// OpenOrders are the orders open at the venue; Orders the entries sent
	// this day.
	OpenOrders, Orders int
}

// Day is the UTC day of t (days since 1970), RiskDay.Day's unit.
func Day(t time.Time) int64 { return clock.Day(t.UnixMilli()) }

// RefusedError is an entry an account's risk limits refused (Record with
// Write.Entry): nothing of the write was recorded.
type RefusedError struct {
	Account string // venue/account
	Verdict risk.Verdict
}

func (e *RefusedError) Error() string {
	return "account " + e.Account + ": " + e.Verdict.String() + " (summed over its deployments)"
}

// LastRiskDay returns the latest risk figures recorded for l's deployment
// (ok false: none yet). A runner starting again continues them when their
// day is today, and keeps the deployment's high from them otherwise.
func (s *Store) LastRiskDay(ctx context.Context, l Lease) (rd RiskDay, ok bool, err error) {
	var pos string
	err = s.db.QueryRow(ctx, `SELECT day, day_start, day_high, high, equity, positions, open_orders, orders FROM deployment_risk_days
		WHERE deployment_id = ? ORDER BY day DESC LIMIT 1`, l.Deployment).Scan(&rd.Day, &rd.DayStart, &rd.DayHigh, &rd.High, &rd.Equity, &pos, &rd.OpenOrders, &rd.Orders)
	if errors.Is(err, sql.ErrNoRows) {
		return RiskDay{}, false, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(pos), &rd.Positions)
	}
	if err != nil {
		return RiskDay{}, false, fmt.Errorf("deployment %s: the risk figures: %w", l.Deployment, err)
	}
	return rd, true, nil
}

// AccountUsage is what every deployment trading on one venue account
// uses of its limits on one UTC day: the sum of their risk figures
// (positions and open orders of the deployments still trading; equity,
// the day's start, entries and highs of all that traded that day), and
// the orders they all sent in the last 60 s. The
// highs (of the day, since the start) are the sums of the deployments':
// at least the summed equity's, so the account's drawdown from them binds
// as soon or sooner, and a deployment that stopped does not lower them.
type AccountUsage struct {
	Day         int64
	Deployments int // deployments with figures that day
	Positions   map[string]float64
	Exposure    float64 // Positions added
	OpenOrders  int
	Orders      int
	// OrdersLastMinute are the orders (exits included) the account's
	// deployments recorded in the 60 s before the store's clock's now.
	OrdersLastMinute int
	Equity           float64
	DayStart         float64
	DayHigh          float64
	High             float64
}

// State is the usage as the risk checker's state.
func (u AccountUsage) State() risk.State {
	return risk.State{Positions: u.Positions, OpenOrders: u.OpenOrders, OrdersLastMinute: u.OrdersLastMinute, OrdersToday: u.Orders, Equity: u.Equity, DayStart: u.DayStart,
		DayHigh: u.DayHigh, High: u.High}
}

// AccountUsage returns the usage of tenant's account on venue on day
// (its orders of the last minute: of the minute before now, on the
// store's clock).
func (s *Store) AccountUsage(ctx context.Context, tenant, venue, account string, day int64) (AccountUsage, error) {
	var u AccountUsage
	now := s.clock.Now()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		u, err = accountUsage(ctx, tx, tenant, venue, account, day, "", now)
		return err
	})
	if err != nil {
		return AccountUsage{}, fmt.Errorf("the usage of account %s on %s: %w", account, venue, err)
	}
	return u, nil
}

// accountUsage sums the figures of day of the account's deployments but
// except, and counts the orders all of them recorded in the minute
// before now.
func accountUsage(ctx context.Context, tx *db.Tx, tenant, venue, account string, day int64, except string, now time.Time) (AccountUsage, error) {
	u := AccountUsage{Day: day, Positions: map[string]float64{}}
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM deployment_orders o JOIN deployments d ON d.id = o.deployment_id
		WHERE d.tenant_id = ? AND d.venue = ? AND d.account = ? AND o.created_at > ?`,
		tenant, venue, account, now.Add(-time.Minute).UnixMilli()).Scan(&u.OrdersLastMinute); err != nil {
		return AccountUsage{}, fmt.Errorf("count the account's orders of the last minute: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT r.day_start, r.day_high, r.high, r.equity, r.positions, r.open_orders, r.orders, d.state FROM deployment_risk_days r
		JOIN deployments d ON d.id = r.deployment_id
		WHERE d.tenant_id = ? AND d.venue = ? AND d.account = ? AND r.day = ? AND d.id <> ?`, tenant, venue, account, day, except)
	if err != nil {
		return AccountUsage{}, fmt.Errorf("sum the account's deployments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			start, dayHi, hi, eq float64
			pos, state           string
			open, orders         int
		)
		if err := rows.Scan(&start, &dayHi, &hi, &eq, &pos, &open, &orders, &state); err != nil {
			return AccountUsage{}, err
		}
		u.Deployments++
		u.DayStart, u.DayHigh, u.High, u.Equity, u.Orders = u.DayStart+start, u.DayHigh+dayHi, u.High+hi, u.Equity+eq, u.Orders+orders
		if State(state).Terminal() {
			continue // stopped: nothing of it is open any more
		}
		var p map[string]float64
		if err := json.Unmarshal([]byte(pos), &p); err != nil {
			return AccountUsage{}, fmt.Errorf("positions: %w", err)
		}
		u.add(RiskDay{Positions: p, OpenOrders: open})
	}
	return u, rows.Err()
}

// addOwn adds to u the figures rd of the deployment asking (its own,
// which accountUsage left out): positions, open orders, equity, the day's
// start, the highs and the orders of the day.
func (u *AccountUsage) addOwn(rd RiskDay) {
	u.add(rd)
	u.Equity, u.DayStart, u.DayHigh, u.High, u.Orders = u.Equity+rd.Equity, u.DayStart+rd.DayStart, u.DayHigh+rd.DayHigh, u.High+rd.High, u.Orders+rd.Orders
}

// rowQuerier is a database or a transaction, for one-row reads.
type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

// accountLimitsOf returns the venue and account of deployment and the
// account's risk limits; nil limits when the account has none of its own.
func accountLimitsOf(ctx context.Context, q rowQuerier, deployment string) (venue, account string, al *risk.Limits, err error) {
	var limits string
	if err := q.QueryRow(ctx, `SELECT d.venue, d.account, COALESCE(a.limits, '') FROM deployments d
		LEFT JOIN account_risk_limits a ON a.tenant_id = d.tenant_id AND a.venue = d.venue AND a.account = d.account
		WHERE d.id = ?`, deployment).Scan(&venue, &account, &limits); err != nil {
		return "", "", nil, fmt.Errorf("read the deployment's account: %w", err)
	}
	if limits == "" {
		return venue, account, nil, nil
	}
	parsed, err := risk.Parse([]byte(`{"` + risk.Key + `": ` + limits + `}`))
	if err != nil {
		return "", "", nil, Invalid("account", fmt.Sprintf("the risk limits of account %s: %s", account, err))
	}
	return venue, account, &parsed, nil
}

// add adds rd's positions and open orders to u.
func (u *AccountUsage) add(rd RiskDay) {
	for pair, n := range rd.Positions {
		u.Positions[pair] += n
		u.Exposure += n
	}
	u.OpenOrders += rd.OpenOrders
}

// putRisk records rd for l's deployment in tx; entry, when not nil, is
// an entry about to be sent: checked first against the limits of the
// deployment's account (checkAccount), then counted in rd.
func putRisk(ctx context.Context, tx *db.Tx, l Lease, rd RiskDay, entry *risk.Order, now time.Time) error {
	if entry != nil {
		if err := checkAccount(ctx, tx, l, rd, *entry, now); err != nil {
			return err
		}
	}
	if rd.Positions = maps.Clone(rd.Positions); rd.Positions == nil {
		rd.Positions = map[string]float64{}
	}
	if entry != nil {
		rd.Positions[entry.Pair] += entry.Notional
		rd.OpenOrders++
		rd.Orders++
	}
	pos, err := json.Marshal(rd.Positions)
	if err != nil {
		return fmt.Errorf("positions: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO deployment_risk_days (deployment_id, day, day_start, day_high, high, equity, positions, open_orders, orders, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (deployment_id, day) DO UPDATE SET day_start = excluded.day_start, day_high = excluded.day_high,
		high = excluded.high, equity = excluded.equity, positions = excluded.positions, open_orders = excluded.open_orders, orders = excluded.orders,
		updated_at = excluded.updated_at`,
		l.Deployment, rd.Day, rd.DayStart, rd.DayHigh, rd.High, rd.Equity, string(pos), rd.OpenOrders, rd.Orders, now.UnixMilli()); err != nil {
		return fmt.Errorf("record the risk figures: %w", err)
	}
	return nil
}

// checkAccount checks entry, about to be sent by l's deployment whose
// figures before it are rd, against the limits of the deployment's
// account on the sum of the account's deployments' figures: a
// *RefusedError when they refuse it. The account's rows of the days its
// checks span (rd's day, and the days of the minute before now whose
// orders max_orders_per_minute counts) are locked first, oldest first,
// so two deployments on one account, whatever process runs them, check
// and count one after the other, across midnight too (on SQLite, writers
// take turns anyway).
func checkAccount(ctx context.Context, tx *db.Tx, l Lease, rd RiskDay, entry risk.Order, now time.Time) error {
	venue, account, al, err := accountLimitsOf(ctx, tx, l.Deployment)
	if err != nil || al == nil {
		return err // nil: the account has no limits of its own
	}
	// The lock: an upsert holds the row until the transaction ends.
	for _, day := range lockDays(rd.Day, now) {
		if _, err := tx.Exec(ctx, `INSERT INTO account_risk_days (tenant_id, venue, account, day, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, venue, account, day) DO UPDATE SET updated_at = excluded.updated_at`,
			l.Tenant, venue, account, day, now.UnixMilli()); err != nil {
			return fmt.Errorf("lock the account's risk figures: %w", err)
		}
	}
	u, err := accountUsage(ctx, tx, l.Tenant, venue, account, rd.Day, l.Deployment, now)
	if err != nil {
		return err
	}
	u.addOwn(rd)
	al.PriceCollar, al.AllowedPairs = 0, nil // the deployment's own limits hold these (made tighter by the account's)
	if v := al.Check(u.State(), entry); !v.OK() {
		return &RefusedError{Account: venue + "/" + account, Verdict: v}
	}
	return nil
}

// lockDays are the days of the account's rows an entry's check locks, in
// ascending order (every transaction takes them in that order, so none
// waits for another in a cycle): the day of its figures and the days of
// the minute before now. Two entries less than a minute apart, whose
// counts of the last minute could each miss the other, share a day.
func lockDays(figures int64, now time.Time) []int64 {
	days := []int64{figures, Day(now.Add(-time.Minute)), Day(now)}
	slices.Sort(days)
	return slices.Compact(days)
}

// AccountBreach is a loss or drawdown limit of a venue account that the
// summed figures of its deployments reached (HaltAccount).
type AccountBreach struct {
	Account string // venue/account
	Verdict risk.Verdict
	// Usage is the account's summed figures the verdict is about.
	Usage AccountUsage
	// Paused are the deployments HaltAccount paused (running until then).
	Paused []string
	// Flatten is the account's flatten_on_breach: the paused deployments'
	// trades are to be closed (their risk state says so too).
	Flatten bool
	// New says the breach is the first of its limit on the account this
	// UTC day: it was audited as account.risk_breach, and its alert is
	// the caller's to send. Later calls that day find it and say false.
	New bool
}

// Halted is what a paused deployment's risk state says of the breach.
func (b AccountBreach) Halted() string {
	return "account " + b.Account + ": " + b.Verdict.String() + " (summed over its deployments)"
}

// HaltAccount checks the loss and drawdown limits of the account of l's
// deployment on the sum of the figures of every deployment on it: rd for
// l's (its figures now), the others' as their runners last recorded them.
// ok is false when none is reached (or the account has neither limit).
// When one is, every deployment on the account still running is paused
// (its risk state says why, each audited as deployment.risk_breach with
// the account), whatever runner holds it: its runner sees the pause at
// its next tick and cancels its orders there (and flattens with
// flatten_on_breach). The breach itself is audited once per limit and
// UTC day (account.risk_breach, target venue/account, with the figures):
// New tells the one caller that recorded it to send the alert.
//
// The deployments are paused in the kill switch's order (created_at, id),
// so the two never wait for each other in a cycle; the account's rows
// entries lock (account_risk_days) are not taken.
func (s *Store) HaltAccount(ctx context.Context, l Lease, rd RiskDay) (b AccountBreach, ok bool, err error) {
	venue, account, al, err := accountLimitsOf(ctx, s.db, l.Deployment)
	if err != nil {
		return AccountBreach{}, false, fmt.Errorf("deployment %s: %w", l.Deployment, err)
	}
	if al == nil || al.MaxDailyLoss == 0 && al.MaxDrawdown == 0 {
		return AccountBreach{}, false, nil
	}
	now := s.clock.Now()
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		b, ok = AccountBreach{Account: venue + "/" + account}, false
		u, err := accountUsage(ctx, tx, l.Tenant, venue, account, rd.Day, l.Deployment, now)
		if err != nil {
			return err
		}
		u.Deployments++
		u.addOwn(rd)
		if b.Verdict = al.Breach(u.State()); b.Verdict.OK() {
			return nil
		}
		ok, b.Usage, b.Flatten = true, u, al.FlattenOnBreach
		if b.Paused, err = pauseAccount(ctx, tx, l, venue, account, b, now); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO account_risk_breaches (tenant_id, venue, account, day, risk_limit, why, at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, venue, account, day, risk_limit) DO NOTHING`, l.Tenant, venue, account, rd.Day, b.Verdict.Limit, b.Verdict.Why, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("record the breach: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // recorded (and alerted) before, this day
		}
		b.New = true
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: "account.risk_breach", Target: b.Account, At: now,
			Detail: map[string]any{"limit": b.Verdict.Limit, "why": b.Verdict.Why, "day": rd.Day, "equity": u.Equity, "day_start": u.DayStart,
				"day_high": u.DayHigh, "high": u.High, "deployments": u.Deployments, "paused": b.Paused, "runner": l.Runner, "by_deployment": l.Deployment}})
	})
	if err != nil {
		return AccountBreach{}, false, fmt.Errorf("account %s on %s: the loss and drawdown limits: %w", account, venue, err)
	}
	return b, ok, nil
}

// pauseAccount pauses every running deployment on the account for b
// (running → paused, its risk state's Halted set, audited), in the kill
// switch's order, and returns them.
func pauseAccount(ctx context.Context, tx *db.Tx, l Lease, venue, account string, b AccountBreach, now time.Time) ([]string, error) {
	type target struct{ id, risk string }
	ts, err := db.Collect(ctx, tx, func(r db.Scanner) (target, error) {
		var t target
		err := r.Scan(&t.id, &t.risk)
		return t, err
	}, `SELECT id, risk_state FROM deployments WHERE tenant_id = ? AND venue = ? AND account = ? AND state = ?
		ORDER BY created_at, id`, l.Tenant, venue, account, string(Running))
	if err != nil {
		return nil, fmt.Errorf("list the account's deployments: %w", err)
	}
	var paused []string
	for _, t := range ts {
		var rs RiskState
		if t.risk != "" {
			if err := json.Unmarshal([]byte(t.risk), &rs); err != nil {
				return nil, fmt.Errorf("deployment %s: risk state: %w", t.id, err)
			}
		}
		rs.Halted, rs.HaltedAt, rs.Flatten = b.Halted(), now, b.Flatten
		st, err := json.Marshal(rs)
		if err != nil {
			return nil, fmt.Errorf("deployment %s: risk state: %w", t.id, err)
		}
		res, err := tx.Exec(ctx, `UPDATE deployments SET state = ?, risk_state = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(Paused), string(st), now.UnixMilli(), t.id, string(Running))
		if err != nil {
			return nil, fmt.Errorf("pause deployment %s: %w", t.id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // no longer running
		}
		paused = append(paused, t.id)
		if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: "deployment.risk_breach", Target: t.id, At: now,
			Detail: map[string]any{"limit": b.Verdict.Limit, "why": b.Halted(), "account": b.Account, "runner": l.Runner}}); err != nil {
			return nil, err
		}
	}
	return paused, nil
}
