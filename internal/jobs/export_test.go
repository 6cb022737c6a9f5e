package jobs

import "context"

// SetBeforeRun installs a hook at the start of the run step.
func (s *Service) SetBeforeRun(fn func(ctx context.Context) error) { s.beforeRun = fn }

// SetBeforeRequeueInsert installs a hook between a run's re-queueing and
// the insert of its new job.
func (s *Service) SetBeforeRequeueInsert(fn func(runID string) error) { s.beforeRequeueInsert = fn }
