package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// Depth is how many jobs of a River kind are in a state.
type Depth struct {
	Kind, State string
	Jobs        int
}

// Leader is the process River elected to run the queue's maintenance
// (scheduling, rescuing stuck jobs), with its term.
type Leader struct {
	ID               string
	Elected, Expires time.Time
}

// Depths counts the queue's jobs by kind and state (pairs without jobs are
// absent), by kind then state. Like CountByState it reads River's table,
// here beside River's client.
func (s *Service) Depths(ctx context.Context) ([]Depth, error) {
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (Depth, error) {
		var d Depth
		err := r.Scan(&d.Kind, &d.State, &d.Jobs)
		return d, err
	}, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("count queue jobs by kind and state: %w", err)
	}
	return out, nil
}

// Leader is the queue's elected leader; ok is false when none holds the
// office (no process runs the queue, or its term ran out and was removed).
func (s *Service) Leader(ctx context.Context) (l Leader, ok bool, err error) {
	// River keeps the times as timestamps: SQLite's text in UTC, PostgreSQL's
	// timestamptz; both read here as Unix milliseconds.
	q := `SELECT leader_id, CAST(EXTRACT(EPOCH FROM elected_at) * 1000 AS BIGINT), CAST(EXTRACT(EPOCH FROM expires_at) * 1000 AS BIGINT) FROM river_leader LIMIT 1`
	if s.db.Dialect() != db.Postgres {
		q = `SELECT leader_id, CAST(ROUND((julianday(elected_at) - 2440587.5) * 86400000) AS INTEGER), CAST(ROUND((julianday(expires_at) - 2440587.5) * 86400000) AS INTEGER) FROM river_leader LIMIT 1`
	}
	var elected, expires int64
	err = s.db.QueryRow(ctx, q).Scan(&l.ID, &elected, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Leader{}, false, nil
	case err != nil:
		return Leader{}, false, fmt.Errorf("read the queue's leader: %w", err)
	}
	l.Elected, l.Expires = time.UnixMilli(elected), time.UnixMilli(expires)
	return l, true, nil
}
