package runs

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Live is a running run with its worker's last heartbeat (zero before the
// first).
type Live struct {
	Run       Run
	Heartbeat time.Time
}

// Running lists the running runs of every tenant, longest running first, at
// most limit: what the workers are doing, for the operators' page.
func (s *Store) Running(ctx context.Context, limit int) ([]Live, error) {
	rows, err := s.db.Query(ctx, `SELECT `+runColumns+`, heartbeat_at FROM runs WHERE status = ? ORDER BY COALESCE(started_at, created_at), id LIMIT ?`,
		string(Running), limit)
	if err != nil {
		return nil, fmt.Errorf("list running runs: %w", err)
	}
	defer rows.Close()
	var out []Live
	for rows.Next() {
		var hb sql.NullInt64
		r, err := scanRun(rows, &hb)
		if err != nil {
			return nil, fmt.Errorf("list running runs: %w", err)
		}
		l := Live{Run: r}
		if hb.Valid && hb.Int64 > 0 {
			l.Heartbeat = time.UnixMilli(hb.Int64)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list running runs: %w", err)
	}
	return out, nil
}

// Failures lists the failed and dead-lettered runs of every tenant, the
// most recently finished first, at most limit, for the operators' page.
func (s *Store) Failures(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.db.Query(ctx, `SELECT `+runColumns+` FROM runs WHERE status IN (?, ?) ORDER BY COALESCE(finished_at, created_at) DESC, id DESC LIMIT ?`,
		string(Failed), string(DeadLetter), limit)
	if err != nil {
		return nil, fmt.Errorf("list failed runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list failed runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list failed runs: %w", err)
	}
	return out, nil
}
