package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/tenancy"
)

// The states of a challenger.
const (
	StateOptimising  = "optimising"
	StateBacktesting = "backtesting"
	StatePending     = "pending"
	StatePromoted    = "promoted"
	StateRejected    = "rejected"
	StateFailed      = "failed"
)

// Challenger is a re-optimisation's candidate against the champion.
type Challenger struct {
	ID         string
	Tenant     string
	Schedule   string
	Deployment string
	Strategy   string
	// Champion is the version the deployment ran when the study was
	// made; Version the challenger's (0 until the study is exported).
	Champion int
	Version  int
	Study    string
	// Holdout is the out-of-sample time range both are backtested over
	// (YYYYMMDD-YYYYMMDD, end exclusive).
	Holdout string
	Policy  Policy
	// ChampionRun and ChallengerRun are the backtests over Holdout.
	ChampionRun   string
	ChallengerRun string
	State         string
	Reason        string
	Figures       Figures
	Created       time.Time
	Updated       time.Time
	DecidedBy     string // the user who approved or rejected it
}

const challengerColumns = `id, tenant_id, schedule_id, deployment, strategy, champion_version, challenger_version, study_id, oos_timerange,
	policy, champion_run, challenger_run, state, reason, figures, created_at, updated_at, decided_by`

func scanChallenger(row interface{ Scan(...any) error }) (Challenger, error) {
	var c Challenger
	var policy, figures string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Tenant, &c.Schedule, &c.Deployment, &c.Strategy, &c.Champion, &c.Version, &c.Study, &c.Holdout,
		&policy, &c.ChampionRun, &c.ChallengerRun, &c.State, &c.Reason, &figures, &created, &updated, &c.DecidedBy); err != nil {
		return Challenger{}, err
	}
	if err := json.Unmarshal([]byte(policy), &c.Policy); err != nil {
		return Challenger{}, fmt.Errorf("challenger %s: stored policy: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(figures), &c.Figures); err != nil {
		return Challenger{}, fmt.Errorf("challenger %s: stored figures: %w", c.ID, err)
	}
	c.Created, c.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return c, nil
}

// Ref is the challenger's version reference, NAME@N ("" before it has one).
func (c Challenger) Ref() string {
	if c.Version == 0 {
		return ""
	}
	return fmt.Sprintf("%s@%d", c.Strategy, c.Version)
}

// Challengers lists p's tenant's challengers, newest first.
func (s *Service) Challengers(ctx context.Context, p tenancy.Principal) ([]Challenger, error) {
	return s.challengers(ctx, `SELECT `+challengerColumns+` FROM challengers WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, p.Tenant)
}

func (s *Service) challengers(ctx context.Context, q string, args ...any) ([]Challenger, error) {
	out, err := db.Collect(ctx, s.c.DB, scanChallenger, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list challengers: %w", err)
	}
	return out, nil
}

// Challenger is p's challenger id.
func (s *Service) Challenger(ctx context.Context, p tenancy.Principal, id string) (Challenger, error) {
	cs, err := s.challengers(ctx, `SELECT `+challengerColumns+` FROM challengers WHERE id = ? AND tenant_id = ?`, id, p.Tenant)
	if err != nil {
		return Challenger{}, fmt.Errorf("challenger %s: %w", id, err)
	}
	if len(cs) == 0 {
		return Challenger{}, fmt.Errorf("challenger %s: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

func (s *Service) insertChallenger(ctx context.Context, tx *db.Tx, c Challenger) error {
	policy, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO challengers (id, tenant_id, schedule_id, deployment, strategy, champion_version, study_id, oos_timerange, policy, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Tenant, c.Schedule, c.Deployment, c.Strategy, c.Champion, c.Study, c.Holdout, string(policy), c.State, c.Created.UnixMilli(), c.Updated.UnixMilli())
	return err
}

// move records c (its new state and what it learnt) if its state is
// still from; false when another tick moved it first.
func (s *Service) move(ctx context.Context, tx *db.Tx, c *Challenger, from string) (bool, error) {
	figures, err := json.Marshal(c.Figures)
	if err != nil {
		return false, err
	}
	c.Updated = s.c.Clock.Now().UTC().Truncate(time.Millisecond)
	res, err := tx.Exec(ctx, `UPDATE challengers SET challenger_version = ?, champion_run = ?, challenger_run = ?, state = ?, reason = ?, figures = ?, updated_at = ?, decided_by = ?
		WHERE id = ? AND state = ?`, c.Version, c.ChampionRun, c.ChallengerRun, c.State, c.Reason, string(figures), c.Updated.UnixMilli(), c.DecidedBy, c.ID, from)
	if err != nil {
		return false, fmt.Errorf("challenger %s: record %s: %w", c.ID, c.State, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Approve promotes p's pending challenger id to production in the
// registry (audited there, and as challenger.approve here).
func (s *Service) Approve(ctx context.Context, p tenancy.Principal, id, reason string) (Challenger, error) {
	c, err := s.Challenger(ctx, p, id)
	if err != nil {
		return Challenger{}, fmt.Errorf("approve: %w", err)
	}
	if c.State != StatePending {
		return Challenger{}, fmt.Errorf("approve challenger %s: it is %s, not pending: %w", id, c.State, ErrConflict)
	}
	if reason == "" {
		reason = "challenger " + c.ID + " approved: " + c.Reason
	}
	if err := s.promote(ctx, p, &c, reason, "challenger.approve"); err != nil {
		return Challenger{}, fmt.Errorf("approve: %w", err)
	}
	return c, nil
}

// Reject rejects p's pending challenger id, audited.
func (s *Service) Reject(ctx context.Context, p tenancy.Principal, id, reason string) (Challenger, error) {
	c, err := s.Challenger(ctx, p, id)
	if err != nil {
		return Challenger{}, fmt.Errorf("reject: %w", err)
	}
	if c.State != StatePending {
		return Challenger{}, fmt.Errorf("reject challenger %s: it is %s, not pending: %w", id, c.State, ErrConflict)
	}
	c.State, c.DecidedBy = StateRejected, p.User
	if reason != "" {
		c.Reason = "rejected: " + reason
	} else {
		c.Reason = "rejected"
	}
	err = s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		ok, err := s.move(ctx, tx, &c, StatePending)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("it was decided meanwhile: %w", ErrConflict)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: "challenger.reject", Target: c.ID, At: c.Updated, Detail: map[string]string{"reason": reason}})
	})
	if err != nil {
		return Challenger{}, fmt.Errorf("reject challenger %s: %w", id, err)
	}
	return c, nil
}

// promote promotes c's version to production (the registry audits the
// stage change), then records c promoted with the audit action.
func (s *Service) promote(ctx context.Context, p tenancy.Principal, c *Challenger, reason, action string) error {
	from := c.State
	if _, err := s.c.Registry.Promote(ctx, p, c.Ref(), registry.StageProduction, reason); err != nil && !errors.Is(err, registry.ErrConflict) {
		return fmt.Errorf("challenger %s: promote %s: %w", c.ID, c.Ref(), err)
	}
	c.State, c.DecidedBy = StatePromoted, p.User
	return s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		ok, err := s.move(ctx, tx, c, from)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("challenger %s was decided meanwhile: %w", c.ID, ErrConflict)
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: p.Tenant, User: p.User, Action: action, Target: c.ID, At: c.Updated,
			Detail: map[string]any{"version": c.Ref(), "reason": reason}})
	})
}
