package jobs

import (
	"context"
	"fmt"
	"strings"
)

// QueueCount is how many River jobs of a kind are in a state.
type QueueCount struct {
	State, Kind string
	Jobs        int
}

// CountJobs returns how many River jobs are in each state, per job kind
// (pairs without jobs are absent), for the operator's metrics.
//
// River v0.31.0's client has no count: JobList returns whole rows, at most
// 10,000 a call, so counting through it would read every completed job's
// row at each scrape, or stop counting at a bound. This one query reads
// River's table instead; it lives here, beside the River client, so no other
// package depends on River's schema.
func (s *Service) CountJobs(ctx context.Context) ([]QueueCount, error) {
	// Neither a state nor a kind holds a space (River's states; run kinds
	// and "notify").
	counts, err := s.db.Counts(ctx, `SELECT state || ' ' || kind, COUNT(*) FROM river_job GROUP BY state, kind`)
	if err != nil {
		return nil, fmt.Errorf("count queue jobs by state and kind: %w", err)
	}
	out := make([]QueueCount, 0, len(counts))
	for k, n := range counts {
		state, kind, _ := strings.Cut(k, " ")
		out = append(out, QueueCount{State: state, Kind: kind, Jobs: n})
	}
	return out, nil
}

// Kinds are the job kinds this Service works: its run kinds, and notify
// (webhook deliveries).
func (s *Service) Kinds() []string {
	out := make([]string, 0, len(s.kinds)+1)
	for k := range s.kinds {
		out = append(out, k)
	}
	return append(out, NotifyArgs{}.Kind())
}
