package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/db"
)

// Runner is a runner process as the deployments' leases show it.
type Runner struct {
	Name string
	// Deployments is how many deployments it holds a lease on.
	Deployments int
	// Heartbeat is its latest renewal of any of them; Expires the
	// earliest end of its leases (past: it stopped renewing).
	Heartbeat, Expires time.Time
}

// Runners lists the runners holding a lease on a deployment of any tenant
// that should be trading (starting, running or paused), by name: the
// runner tier as the database knows it, for the operators' page.
func (s *Store) Runners(ctx context.Context) ([]Runner, error) {
	out, err := db.Collect(ctx, s.db, func(sc db.Scanner) (Runner, error) {
		var r Runner
		var hb, exp int64
		err := sc.Scan(&r.Name, &r.Deployments, &hb, &exp)
		if hb > 0 {
			r.Heartbeat = time.UnixMilli(hb)
		}
		r.Expires = time.UnixMilli(exp)
		return r, err
	}, `SELECT lease_runner, COUNT(*), MAX(heartbeat_at), MIN(lease_expires_at) FROM deployments
		WHERE lease_runner <> '' AND state IN ('starting', 'running', 'paused') GROUP BY lease_runner ORDER BY lease_runner`)
	if err != nil {
		return nil, fmt.Errorf("list runners: %w", err)
	}
	return out, nil
}
