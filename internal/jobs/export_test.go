package jobs

import "context"

// SetBeforeRun installs a hook at the start of the run step.
func (s *Service) SetBeforeRun(fn func(ctx context.Context) error) { s.beforeRun = fn }
