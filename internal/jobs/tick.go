package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// KindTick is the River kind of the periodic job that calls Options.Tick
// (the strategy lifecycle's schedules and challengers, internal/lifecycle).
// River's leader inserts one every Options.TickEvery (unique per period)
// on TickQueue, which only the processes given Tick work: whichever
// process leads, the tick runs where the lifecycle lives.
const KindTick = "lifecycle_tick"

// TickQueue is the River queue of the tick jobs.
const TickQueue = "lifecycle"

// TickArgs is the periodic tick's job.
type TickArgs struct{}

// Kind is KindTick.
func (TickArgs) Kind() string { return KindTick }

// InsertOpts puts a tick on TickQueue.
func (TickArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: TickQueue} }

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

// Timeout bounds a tick by its period.
func (w *tickWorker) Timeout(*river.Job[TickArgs]) time.Duration { return w.s.opts.TickEvery }

// periodicJobs are the River periodic jobs of the options (the tick when
// TickEvery is positive), registering the tick's worker when Tick is set.
func (s *Service) periodicJobs(workers *river.Workers) []*river.PeriodicJob {
	if s.opts.Tick != nil {
		river.AddWorker(workers, &tickWorker{s: s})
	}
	if s.opts.TickEvery <= 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.TickEvery),
		func() (river.JobArgs, *river.InsertOpts) {
			// At most one tick waiting or running: a slow tick absorbs the
			// next, and a cluster where no process works the queue keeps
			// one row, not one a minute.
			return TickArgs{}, &river.InsertOpts{Queue: TickQueue, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		}, &river.PeriodicJobOpts{ID: KindTick, RunOnStart: true})}
}
