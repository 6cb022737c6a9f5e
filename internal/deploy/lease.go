package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// Lease is a runner's hold on one deployment: valid while Token is the
// deployment's current token (no other runner acquired it since).
type Lease struct {
	Deployment string
	Tenant     string
	Runner     string
	Token      int64
	Expires    time.Time
}

// Acquire gives runner up to max deployments that need a runner (state
// starting, running or paused) and whose lease is unheld or expired, oldest
// first, each with a new fencing token (one more than the last) valid for
// ttl. A runner that stopped heart-beating thereby loses its deployments
// to the next one that asks. On PostgreSQL concurrent runners skip each
// other's rows (FOR UPDATE SKIP LOCKED); on SQLite writers take turns.
func (s *Store) Acquire(ctx context.Context, runner string, max int, ttl time.Duration) ([]Lease, error) {
	if runner == "" || max <= 0 || ttl <= 0 {
		return nil, errors.New("acquire deployments: want a runner name, a positive count and a positive lease time")
	}
	now := s.clock.Now()
	exp := now.Add(ttl)
	lock, materialized := "", ""
	if s.db.Dialect() == db.Postgres {
		// The picked rows are chosen once: a subquery with LIMIT and SKIP
		// LOCKED inside the UPDATE's WHERE may be evaluated again and
		// pick more than max.
		lock, materialized = ` FOR UPDATE SKIP LOCKED`, ` MATERIALIZED`
	}
	var out []Lease
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = db.Collect(ctx, tx, func(r db.Scanner) (Lease, error) {
			l := Lease{Runner: runner, Expires: time.UnixMilli(exp.UnixMilli())}
			err := r.Scan(&l.Deployment, &l.Tenant, &l.Token)
			return l, err
		}, `WITH picked AS`+materialized+` (SELECT id FROM deployments WHERE state IN ('starting', 'running', 'paused')
				AND (lease_runner = '' OR lease_expires_at <= ?) ORDER BY created_at, id LIMIT ?`+lock+`)
			UPDATE deployments SET lease_runner = ?, lease_token = lease_token + 1, lease_expires_at = ?, heartbeat_at = ?
			WHERE id IN (SELECT id FROM picked) AND state IN ('starting', 'running', 'paused') AND (lease_runner = '' OR lease_expires_at <= ?)
			RETURNING id, tenant_id, lease_token`,
			now.UnixMilli(), max, runner, exp.UnixMilli(), now.UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("acquire deployments for runner %s: %w", runner, err)
	}
	for _, l := range out {
		s.log.Info("deployment acquired", "deployment", l.Deployment, "runner", runner, "token", l.Token)
	}
	return out, nil
}

// fence checks in tx that l is still the deployment's lease, and locks the
// row (an UPDATE) so that no Acquire takes it over before tx ends.
func fence(ctx context.Context, tx *db.Tx, l Lease) error {
	res, err := tx.Exec(ctx, `UPDATE deployments SET lease_token = lease_token WHERE id = ? AND lease_runner = ? AND lease_token = ?`, l.Deployment, l.Runner, l.Token)
	if err != nil {
		return fmt.Errorf("check the lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrFenced
	}
	return nil
}

// Renew is the runner's heartbeat: it extends l by ttl from now and
// records the heartbeat time. ErrFenced when another runner took the
// deployment over, or it was stopped (its lease released).
func (s *Store) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	ls, errs := s.RenewAll(ctx, []Lease{l}, ttl)
	return ls[0], errs[0]
}

// RenewAll is Renew of each of ls in one write (a runner renews every
// lease it holds at each heartbeat): renewed[i] is ls[i] extended, errs[i]
// ErrFenced (wrapped) when ls[i] was lost, then renewed[i] is ls[i] as it
// was. When the write fails, every errs[i] is its error.
func (s *Store) RenewAll(ctx context.Context, ls []Lease, ttl time.Duration) (renewed []Lease, errs []error) {
	now := s.clock.Now()
	exp := time.UnixMilli(now.Add(ttl).UnixMilli())
	renewed, errs = slices.Clone(ls), make([]error, len(ls))
	err := s.commit(ctx, writer{}, func(ctx context.Context, tx *db.Tx) error {
		for i, l := range ls {
			res, err := tx.Exec(ctx, `UPDATE deployments SET lease_expires_at = ?, heartbeat_at = ? WHERE id = ? AND lease_runner = ? AND lease_token = ?`,
				exp.UnixMilli(), now.UnixMilli(), l.Deployment, l.Runner, l.Token)
			if err != nil {
				return fmt.Errorf("deployment %s: renew the lease: %w", l.Deployment, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				errs[i] = fmt.Errorf("deployment %s: renew the lease: %w", l.Deployment, ErrFenced)
				continue
			}
			renewed[i].Expires = exp
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return slices.Clone(ls), errs
	}
	return renewed, errs
}

// Release gives l up (a runner shutting down), so another runner can
// acquire the deployment at once.
func (s *Store) Release(ctx context.Context, l Lease) error {
	return s.fenced(ctx, l, "release the lease", func(tx *db.Tx, _ time.Time) error {
		_, err := tx.Exec(ctx, `UPDATE deployments SET lease_runner = '', lease_expires_at = 0 WHERE id = ?`, l.Deployment)
		return err
	})
}

// Deployment returns the deployment l holds (the runner's view: no tenant
// check beyond the lease's).
func (s *Store) Deployment(ctx context.Context, l Lease) (Deployment, error) {
	d, err := scanDeployment(s.db.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, l.Deployment))
	if err != nil {
		return Deployment{}, fmt.Errorf("deployment %s: %w", l.Deployment, err)
	}
	return d, nil
}

// Control is what a runner checks of its deployment at every tick and
// between ticks (a stop asked): the deployment's state, its lease's holder
// and token, and the stops asked.
type Control struct {
	State      State
	Runner     string
	LeaseToken int64
	Flatten    bool
	StopAsked  bool
}

// Held reports whether l is still the lease of a deployment not ended.
func (c Control) Held(l Lease) bool {
	return !c.State.Terminal() && c.Runner == l.Runner && c.LeaseToken == l.Token
}

// Control reads the control fields of the deployment l holds: five
// columns, where Deployment reads and decodes all of them (runners read
// these twice a second each).
func (s *Store) Control(ctx context.Context, l Lease) (Control, error) {
	var c Control
	var state string
	var flatten, asked int64
	err := s.db.QueryRow(ctx, `SELECT state, lease_runner, lease_token, flatten, stop_asked FROM deployments WHERE id = ?`, l.Deployment).
		Scan(&state, &c.Runner, &c.LeaseToken, &flatten, &asked)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Control{}, fmt.Errorf("deployment %s: %w", l.Deployment, err)
	}
	c.State, c.Flatten, c.StopAsked = State(state), flatten != 0, asked != 0
	return c, nil
}

// MarkRunning records that the runner holding l started trading
// (starting → running; a paused or running deployment stays as it is).
func (s *Store) MarkRunning(ctx context.Context, l Lease) error {
	return s.fenced(ctx, l, "mark running", func(tx *db.Tx, now time.Time) error {
		_, err := tx.Exec(ctx, `UPDATE deployments SET state = ?, updated_at = ? WHERE id = ? AND state = ?`, string(Running), now.UnixMilli(), l.Deployment, string(Starting))
		return err
	})
}

// MarkStopped records that the runner holding l stopped the deployment
// (after closing its trades for StopFlatten, or cancelling its open orders
// for StopAll), releasing l.
func (s *Store) MarkStopped(ctx context.Context, l Lease) error {
	return s.fenced(ctx, l, "mark stopped", func(tx *db.Tx, now time.Time) error {
		var flatten, asked int64
		if err := tx.QueryRow(ctx, `SELECT flatten, stop_asked FROM deployments WHERE id = ?`, l.Deployment).Scan(&flatten, &asked); err != nil {
			return fmt.Errorf("read deployment: %w", err)
		}
		if _, err := setState(ctx, tx, l.Deployment, l.Tenant, Stopped, "", now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: "deployment.stop", Target: l.Deployment, At: now,
			Detail: map[string]any{"runner": l.Runner, "flattened": flatten != 0, "kill_switch": asked != 0}})
	})
}

// Fail records that the deployment cannot go on (why), releasing l.
func (s *Store) Fail(ctx context.Context, l Lease, why string) error {
	return s.fenced(ctx, l, "record the failure", func(tx *db.Tx, now time.Time) error {
		if _, err := setState(ctx, tx, l.Deployment, l.Tenant, Failed, why, now); err != nil {
			return err
		}
		return db.Audit(ctx, tx, db.AuditEntry{Tenant: l.Tenant, Action: "deployment.fail", Target: l.Deployment, At: now, Detail: map[string]any{"error": why, "runner": l.Runner}})
	})
}

// Stale lists the deployments of every tenant that should be trading
// (starting, running or paused) but whose runner has not renewed their
// lease since before — or that no runner has taken since they were
// created before it —, oldest first: the missed-heartbeat alert.
func (s *Store) Stale(ctx context.Context, before time.Time) ([]Deployment, error) {
	out, err := db.Collect(ctx, s.db, scanDeployment, `SELECT `+deploymentColumns+` FROM deployments WHERE state IN ('starting', 'running', 'paused')
		AND (heartbeat_at > 0 AND heartbeat_at < ? OR heartbeat_at = 0 AND created_at < ?) ORDER BY created_at, id`, before.UnixMilli(), before.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("find stale deployments: %w", err)
	}
	return out, nil
}
