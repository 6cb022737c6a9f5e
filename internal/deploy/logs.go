package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// LogLine is one line of a deployment's log.
type LogLine struct {
	Seq   int64
	Time  time.Time
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// Log appends a line to l's deployment log, dropping the oldest lines
// beyond the store's cap and cutting a long message or attribute.
func (s *Store) Log(ctx context.Context, l Lease, level slog.Level, msg string, attrs map[string]string) error {
	msg = cut(msg, s.maxBytes)
	kept := make(map[string]string, len(attrs))
	for k, v := range attrs {
		kept[cut(k, s.maxBytes)] = cut(v, s.maxBytes)
	}
	enc, err := json.Marshal(kept)
	if err != nil {
		return fmt.Errorf("deployment %s: log: %w", l.Deployment, err)
	}
	return s.fenced(ctx, l, "log", func(tx *db.Tx, now time.Time) error {
		var seq int64
		if err := tx.QueryRow(ctx, `UPDATE deployments SET log_seq = log_seq + 1 WHERE id = ? RETURNING log_seq`, l.Deployment).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deployment_logs (deployment_id, seq, at, level, msg, attrs) VALUES (?, ?, ?, ?, ?, ?)`,
			l.Deployment, seq, now.UnixMilli(), level.String(), msg, string(enc)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM deployment_logs WHERE deployment_id = ? AND seq <= ?`, l.Deployment, seq-int64(s.maxLines))
		return err
	})
}

// cut bounds s to n bytes, marking that it was cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…(cut)"
	return strings.ToValidUTF8(s[:max(0, n-len(mark))], "") + mark
}

// Logs returns up to limit lines of a deployment's log of tenant after
// line seq after (0: from the oldest kept), oldest first; `logs -f`
// follows by passing the last Seq it saw.
func (s *Store) Logs(ctx context.Context, tenant, id string, after int64, limit int) ([]LogLine, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 10_000
	}
	out, err := db.Collect(ctx, s.db, func(r db.Scanner) (LogLine, error) {
		var g LogLine
		var at int64
		var level, attrs string
		if err := r.Scan(&g.Seq, &at, &level, &g.Msg, &attrs); err != nil {
			return g, err
		}
		g.Time = time.UnixMilli(at)
		if err := g.Level.UnmarshalText([]byte(level)); err != nil {
			return g, fmt.Errorf("log line %d: %w", g.Seq, err)
		}
		if err := json.Unmarshal([]byte(attrs), &g.Attrs); err != nil {
			return g, fmt.Errorf("log line %d: %w", g.Seq, err)
		}
		return g, nil
	}, `SELECT g.seq, g.at, g.level, g.msg, g.attrs FROM deployment_logs g JOIN deployments d ON d.id = g.deployment_id
		WHERE g.deployment_id = ? AND d.tenant_id = ? AND g.seq > ? ORDER BY g.seq LIMIT ?`, id, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: logs: %w", id, err)
	}
	return out, nil
}
