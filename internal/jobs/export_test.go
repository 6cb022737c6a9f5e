package jobs

import (
	"context"

	"github.com/tradai/tradai/internal/jobs/backtestjob"
)

// SetBeforeRun installs a hook at the start of a backtest's run step.
func (s *Service) SetBeforeRun(fn func(ctx context.Context) error) {
	s.beforeStep = func(ctx context.Context, step string) error {
		if step != backtestjob.StepRun {
			return nil
		}
		return fn(ctx)
	}
}

// SetBeforeRequeueInsert installs a hook between a run's re-queueing and
// the insert of its new job.
func (s *Service) SetBeforeRequeueInsert(fn func(runID string) error) { s.beforeRequeueInsert = fn }
