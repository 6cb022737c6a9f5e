package jobs

import (
	"context"
	"fmt"
)

// CountByState returns how many River jobs are in each state (states
// without jobs are absent), for the operator's metrics.
//
// River v0.31.0's client has no count: JobList returns whole rows, at most
// 10,000 a call, so counting through it would read every completed job's
// row at each scrape, or stop counting at a bound. This one query reads
// River's table instead; it lives here, beside the River client, so no other
// package depends on River's schema.
func (s *Service) CountByState(ctx context.Context) (map[string]int, error) {
	out, err := s.db.Counts(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count queue jobs by state: %w", err)
	}
	return out, nil
}
