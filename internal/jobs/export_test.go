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

// SetBeforeStudyEnqueue installs a hook before a study's next batch job
// is enqueued in the transaction that records a batch (an error rolls the
// batch's record back and fails the job's attempt).
func (s *Service) SetBeforeStudyEnqueue(fn func() error) { s.beforeStudyEnqueue = fn }
