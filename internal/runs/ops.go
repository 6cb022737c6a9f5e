package runs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/db"
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
	out, err := db.Collect(ctx, s.db, func(sc db.Scanner) (Live, error) {
		var hb sql.NullInt64
		r, err := scanRun(sc, &hb)
		l := Live{Run: r}
		if hb.Valid && hb.Int64 > 0 {
			l.Heartbeat = time.UnixMilli(hb.Int64)
		}
		return l, err
	}, `SELECT `+runColumns+`, heartbeat_at FROM runs WHERE status = ? ORDER BY COALESCE(started_at, created_at), id LIMIT ?`,
		string(Running), limit)
	if err != nil {
		return nil, fmt.Errorf("list running runs: %w", err)
	}
	return out, nil
}

// Failures lists the failed and dead-lettered runs of every tenant, the
// most recently finished first, at most limit, for the operators' page.
func (s *Store) Failures(ctx context.Context, limit int) ([]Run, error) {
	out, err := db.Collect(ctx, s.db, func(sc db.Scanner) (Run, error) { return scanRun(sc) }, `SELECT `+runColumns+` FROM runs WHERE status IN (?, ?) ORDER BY COALESCE(finished_at, created_at) DESC, id DESC LIMIT ?`,
		string(Failed), string(DeadLetter), limit)
	if err != nil {
		return nil, fmt.Errorf("list failed runs: %w", err)
	}
	return out, nil
}
