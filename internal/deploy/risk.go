package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/tenancy"
)

// RiskState is a deployment's risk state as its runner last recorded it:
// the circuit breaker of its venue, and the loss or drawdown limit that
// paused it, if any.
type RiskState struct {
	// Breaker is the venue's circuit breaker (closed, open, half_open;
	// "" before the runner recorded one) and since when it is not closed.
	Breaker      string    `json:"breaker,omitempty"`
	BreakerSince time.Time `json:"breaker_since,omitzero"`
	// Halted is the limit that paused the deployment and why ("": none
	// since it started or resumed); HaltedAt when.
	Halted   string    `json:"halted,omitempty"`
	HaltedAt time.Time `json:"halted_at,omitzero"`
	// Flatten says the breach asks the deployment's trades closed: its
	// account's flatten_on_breach, when the account's breach paused it
	// (its own limits' is the runner's).
	Flatten bool `json:"flatten_on_breach,omitempty"`
}

// SetRisk records the risk state the runner holding l sees.
func (s *Store) SetRisk(ctx context.Context, l Lease, rs RiskState) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("deployment %s: risk state: %w", l.Deployment, err)
	}
	return s.fenced(ctx, l, "record the risk state", func(tx *db.Tx, _ time.Time) error {
		_, err := tx.Exec(ctx, `UPDATE deployments SET risk_state = ? WHERE id = ?`, string(b), l.Deployment)
		return err
	})
}

// Audit writes an audit entry of the runner holding l about its
// deployment (action, e.g. deployment.order_refused), by the system.
func (s *Store) Audit(ctx context.Context, l Lease, action string, detail map[string]any) error {
	return s.fenced(ctx, l, "audit "+action, func(tx *db.Tx, now time.Time) error {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["runner"] = l.Runner
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: action, Target: l.Deployment, At: now, Detail: detail})
	})
}

// Halt pauses l's deployment because the risk limit limit was breached
// (rs.Halted says how): running → paused, the breach kept in its risk
// state, audited as deployment.risk_breach. A deployment already paused stays paused (the
// breach is recorded all the same).
func (s *Store) Halt(ctx context.Context, l Lease, limit string, rs RiskState) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("deployment %s: risk state: %w", l.Deployment, err)
	}
	return s.fenced(ctx, l, "pause on a risk breach", func(tx *db.Tx, now time.Time) error {
		if _, err := tx.Exec(ctx, `UPDATE deployments SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(Paused), now.UnixMilli(), l.Deployment, string(Running)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE deployments SET risk_state = ? WHERE id = ?`, string(b), l.Deployment); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: "deployment.risk_breach", Target: l.Deployment, At: now,
			Detail: map[string]any{"limit": limit, "why": rs.Halted, "runner": l.Runner}})
	})
}

// StopAllRequest is the kill switch: which deployments stop, and how.
type StopAllRequest struct {
	// Platform stops every tenant's deployments (an operator's call; the
	// caller checks who may); else the principal's tenant's.
	Platform bool
	// Modes are the modes stopped (none: paper and live).
	Modes []Mode
	// Flatten closes the open trades at the market before the stop.
	Flatten bool
}

// StopAllResult lists what the kill switch did: Asked are the deployments
// a runner holds, asked to cancel their open orders (and flatten) and
// stop, which their runners do within a second or two; Stopped those no
// runner held, stopped at once (with Flatten they are asked too: the
// next runner to take one flattens it).
type StopAllResult struct {
	Asked   []string
	Stopped []string
}

// StopAll is the kill switch: every deployment that still trades (in the
// principal's tenant, or every tenant's with Platform) is asked to stop.
// One audit entry per deployment (deployment.stop_all, by the principal)
// and one for the call.
func (s *Store) StopAll(ctx context.Context, p tenancy.Principal, req StopAllRequest) (StopAllResult, error) {
	modes := req.Modes
	if len(modes) == 0 {
		modes = []Mode{Paper, Live}
	}
	now := s.clock.Now()
	var out StopAllResult
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		out = StopAllResult{}
		q := `SELECT id, tenant_id, mode, state, lease_runner, lease_expires_at FROM deployments WHERE state IN ('starting', 'running', 'paused')`
		var args []any
		if !req.Platform {
			q += ` AND tenant_id = ?`
			args = append(args, p.Tenant)
		}
		rows, err := tx.Query(ctx, q+` ORDER BY created_at, id`, args...)
		if err != nil {
			return fmt.Errorf("list deployments: %w", err)
		}
		type target struct {
			id, tenant, state string
			held              bool
		}
		var ts []target
		for rows.Next() {
			var t target
			var mode, runner string
			var exp int64
			if err := rows.Scan(&t.id, &t.tenant, &mode, &t.state, &runner, &exp); err != nil {
				rows.Close()
				return err
			}
			if slices.Contains(modes, Mode(mode)) {
				t.held = runner != "" && exp > now.UnixMilli()
				ts = append(ts, t)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		flatten := 0
		if req.Flatten {
			flatten = 1
		}
		for _, t := range ts {
			how := "asked"
			if t.held || req.Flatten {
				if _, err := tx.Exec(ctx, `UPDATE deployments SET stop_asked = 1, flatten = CASE WHEN ? = 1 THEN 1 ELSE flatten END, updated_at = ? WHERE id = ?`,
					flatten, now.UnixMilli(), t.id); err != nil {
					return fmt.Errorf("stop %s: %w", t.id, err)
				}
				out.Asked = append(out.Asked, t.id)
			} else {
				if _, err := setState(ctx, tx, t.id, t.tenant, Stopped, "", now); err != nil {
					return fmt.Errorf("stop %s: %w", t.id, err)
				}
				out.Stopped = append(out.Stopped, t.id)
				how = "stopped"
			}
			if err := db.Audit(ctx, tx, db.AuditEntry{Tenant: t.tenant, User: p.User, Action: "deployment.stop_all", Target: t.id, At: now,
				Detail: map[string]any{"from": t.state, "flatten": req.Flatten, "platform": req.Platform, "by_tenant": p.Tenant, "how": how}}); err != nil {
				return err
			}
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "deployments.stop_all", Target: p.Tenant, At: now,
			Detail: map[string]any{"flatten": req.Flatten, "platform": req.Platform, "modes": modes, "asked": len(out.Asked), "stopped": len(out.Stopped)}})
	})
	if err != nil {
		return StopAllResult{}, fmt.Errorf("stop all deployments: %w", err)
	}
	return out, nil
}

// SetAccountLimits records the risk limits of the principal's tenant's
// account on venue (a JSON object of risk_limits keys, checked by the
// caller), binding every deployment on it; audited.
func (s *Store) SetAccountLimits(ctx context.Context, p tenancy.Principal, venue, account string, limits json.RawMessage) error {
	if venue == "" || account == "" || !json.Valid(limits) {
		return Invalid("risk_limits", "need a venue, an account and a JSON object of limits")
	}
	now := s.clock.Now()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO account_risk_limits (tenant_id, venue, account, limits, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, venue, account) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at`,
			p.Tenant, venue, account, string(limits), now.UnixMilli()); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "account.risk_limits", Target: venue + "/" + account, At: now,
			Detail: map[string]any{"limits": limits}})
	})
	if err != nil {
		return fmt.Errorf("set the risk limits of account %s on %s: %w", account, venue, err)
	}
	return nil
}

// AccountLimits returns the risk limits recorded for tenant's account on
// venue (nil: none).
func (s *Store) AccountLimits(ctx context.Context, tenant, venue, account string) (json.RawMessage, error) {
	var limits string
	err := s.db.QueryRow(ctx, `SELECT limits FROM account_risk_limits WHERE tenant_id = ? AND venue = ? AND account = ?`, tenant, venue, account).Scan(&limits)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("risk limits of account %s on %s: %w", account, venue, err)
	}
	return json.RawMessage(limits), nil
}
