package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// KindTick is the River kind of the periodic job that calls Options.Tick
// (the strategy lifecycle's schedules and challengers, internal/lifecycle):
// River's leader inserts one every Options.TickEvery, so one process in a
// cluster ticks at a time, whichever works the job.
const KindTick = "lifecycle_tick"

// TickArgs is the periodic tick's job.
type TickArgs struct{}

// Kind is KindTick.
func (TickArgs) Kind() string { return KindTick }

// tickWorker calls Options.Tick.
type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Service
}

// Work ticks once; a failed tick is not retried (the next one comes).
func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	if err := w.s.opts.Tick(ctx); err != nil {
		w.s.log.Warn("lifecycle tick failed", "err", err)
		return river.JobCancel(fmt.Errorf("lifecycle tick: %w", err))
	}
	return nil
}

// Timeout bounds a tick.
func (w *tickWorker) Timeout(*river.Job[TickArgs]) time.Duration { return w.s.opts.TickEvery }

// periodicJobs are the River periodic jobs of the options: the tick when
// Tick is set.
func (s *Service) periodicJobs(workers *river.Workers) []*river.PeriodicJob {
	if s.opts.Tick == nil {
		return nil
	}
	river.AddWorker(workers, &tickWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.TickEvery),
		func() (river.JobArgs, *river.InsertOpts) {
			// One tick per period, however many leaders a partition made.
			return TickArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: s.opts.TickEvery}}
		}, &river.PeriodicJobOpts{ID: KindTick, RunOnStart: true})}
}
