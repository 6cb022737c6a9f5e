package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// StepNotify is the step the webhook delivery records after a run of any
// kind finished (only when a webhook is configured). Part of the API: keep
// it stable.
const StepNotify = "notify"

// errRunLeftRunning cancels a job whose run is no longer running (cancelled
// by a user, or re-queued by the orphan rescuer).
var errRunLeftRunning = errors.New("run is no longer running")

// runWorker works the jobs of one run kind.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	s    *Service
	kind runkind.Kind
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	w.s.waited(job.Kind, job.ScheduledAt)
	// The job's span continues the trace of the request that enqueued it.
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": job.Args.Traceparent})
	ctx, span := w.s.opts.Tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("tradai.run_id", job.Args.RunID), attribute.String("tradai.tenant", job.Args.Tenant),
			attribute.Int("tradai.attempt", job.Attempt)))
	defer span.End()
	err := w.work(ctx, job)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	if err == nil {
		return nil
	}
	var cancel *river.JobCancelError
	if errors.As(err, &cancel) || job.Attempt < job.MaxAttempts {
		return err
	}
	// River gives up on this job: the run ends in dead_letter.
	p := tenancy.Principal{Tenant: job.Args.Tenant}
	if _, dlErr := w.s.runs.DeadLetter(context.WithoutCancel(ctx), p, job.Args.RunID, err.Error()); dlErr != nil && !errors.Is(dlErr, runs.ErrIllegalTransition) {
		w.s.log.Error("move run to dead letter", "run_id", job.Args.RunID, "tenant", p.Tenant, "err", dlErr)
	}
	return err
}

func (w *runWorker) work(ctx context.Context, job *river.Job[runArgs]) error {
	s, kind := w.s, w.kind.Name()
	p := tenancy.Principal{Tenant: job.Args.Tenant}
	id := job.Args.RunID
	// Every line of the run's work names it: the kind's attempt logs with
	// this logger too.
	log := s.log.With("run_id", id, "tenant", p.Tenant, "attempt", job.Attempt)
	steps := w.kind.Steps()
	r, err := s.runs.MarkRunning(ctx, p, id, steps[0].Name)
	switch {
	case errors.Is(err, runs.ErrNotFound):
		return river.JobCancel(fmt.Errorf("%s job: %w", kind, err))
	case errors.Is(err, runs.ErrIllegalTransition):
		// Started by another job, or finished: nothing to do here.
		log.Debug("job skipped", "reason", err)
		return nil
	case err != nil:
		return fmt.Errorf("%s job: %w", kind, err)
	}

	jobCtx, stop := context.WithCancelCause(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watch(jobCtx, p, id, stop, log)
	}()
	err = s.execute(jobCtx, p, w.kind, r, log)
	stop(nil)
	<-watchDone
	if err == nil {
		return nil
	}
	bg := context.WithoutCancel(ctx)
	switch {
	case errors.Is(context.Cause(jobCtx), errRunLeftRunning):
		cur, gerr := s.runs.Get(bg, p, id)
		switch {
		case errors.Is(gerr, runs.ErrNotFound):
			log.Info("run deleted while running")
			return river.JobCancel(errors.New("run deleted"))
		case gerr == nil && cur.Status == runs.Cancelled:
			log.Info("run cancelled while running")
			return river.JobCancel(errors.New("run cancelled"))
		}
		return nil // re-queued elsewhere; that job carries on
	case ctx.Err() != nil:
		// The worker is shutting down: put the run back for another one.
		if _, ferr := s.runs.Fail(bg, p, id, errors.New("worker stopped during the run"), true); ferr != nil && !errors.Is(ferr, runs.ErrIllegalTransition) {
			log.Error("re-queue run on shutdown", "err", ferr)
		}
		return ctx.Err()
	}
	if runkind.IsPermanent(err) {
		if _, ferr := s.runs.Fail(bg, p, id, err, false); ferr != nil && !finishedElsewhere(ferr) {
			return fmt.Errorf("record failure of run %s: %w", id, ferr)
		}
		log.Info("run failed", "err", err)
		return river.JobCancel(err)
	}
	// Back in the queue with a fresh job, inserted in the same transaction,
	// that runs it after the back-off; this job is done. (Leaving the retry
	// to River would lose the run if River's rescuer had meanwhile taken
	// this job for a stuck one.) Should that transaction fail, the run stays
	// running and the orphan rescuer re-queues it.
	after, ferr := s.requeue(bg, p, kind, id, err, true)
	if ferr != nil && !finishedElsewhere(ferr) {
		return fmt.Errorf("%w (and recording it failed: %v)", err, ferr) //nolint:errorlint // the run's error is the one callers match; the recording failure is told, not wrapped
	}
	if ferr != nil {
		return nil // cancelled, finished or deleted meanwhile
	}
	if after.Status == runs.DeadLetter {
		log.Warn("run dead-lettered", "err", err)
		return river.JobCancel(err)
	}
	log.Warn("run attempt failed; will retry", "err", err, "after", s.opts.backoff(after.Attempts))
	return nil
}

// waited records how long a job of kind waited in the queue since it was
// due (River's clock, not ours: its time of insert).
func (s *Service) waited(kind string, due time.Time) {
	s.waitSeconds.WithLabelValues(kind).Observe(max(0, time.Since(due).Seconds())) //nolint:forbidigo // River stamps jobs with the wall clock
}

// watch stamps the run's heartbeat and cancels the job when the run stops
// being running.
func (s *Service) watch(ctx context.Context, p tenancy.Principal, id string, stop context.CancelCauseFunc, log *slog.Logger) {
	beat := func() {
		if err := s.runs.Heartbeat(ctx, p, id); err != nil && ctx.Err() == nil {
			log.Warn("run heartbeat", "err", err)
		}
	}
	// MarkRunning stamped the first heartbeat.
	poll := s.opts.Clock.NewTicker(s.opts.CancelPoll)
	defer poll.Stop()
	hb := s.opts.Clock.NewTicker(s.opts.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C():
			beat()
		case <-poll.C():
			st, err := s.runs.Status(ctx, p, id)
			// A vanished row is a run cancelled and deleted meanwhile.
			if errors.Is(err, runs.ErrNotFound) || (err == nil && st != runs.Running) {
				stop(errRunLeftRunning)
				return
			}
		}
	}
}

// step runs fn as step name, which MarkRunning or the previous step
// started, and records its end with the detail fn returns and, on success,
// the run's progress and the start of step next, in one transaction. The
// last step (next empty) is recorded by Complete, unless it fails.
func (s *Service) step(ctx context.Context, p tenancy.Principal, id, name, next string, progress float64, fn func() (string, error)) error {
	began := s.opts.Clock.Now()
	detail, err := fn()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.stepSeconds.WithLabelValues(name, outcome).Observe(s.opts.Clock.Now().Sub(began).Seconds())
	if next == "" && err == nil {
		return nil
	}
	if ferr := s.runs.FinishStep(context.WithoutCancel(ctx), p, id, name, detail, err, progress, next); ferr != nil && err == nil {
		return ferr
	}
	return err
}

// execute runs the steps of run r, of kind k, in order, and completes the
// run with the last step's outcome (which the last step's record ends).
func (s *Service) execute(ctx context.Context, p tenancy.Principal, k runkind.Kind, r runs.Run, log *slog.Logger) error {
	a := k.Begin(r, log)
	defer func() {
		if err := a.Close(); err != nil {
			log.Warn("end run attempt", "err", err)
		}
	}()
	steps := k.Steps()
	for i, st := range steps {
		next := ""
		if i+1 < len(steps) {
			next = steps[i+1].Name
		}
		err := s.step(ctx, p, r.ID, st.Name, next, st.Progress, func() (string, error) {
			if s.beforeStep != nil {
				if err := s.beforeStep(ctx, st.Name); err != nil {
					return "", err
				}
			}
			res, err := a.Do(ctx, st.Name)
			if err != nil || next != "" {
				return res.Detail, err
			}
			// The run ends with this step: Complete records both.
			o := res.Outcome
			o.Step = st.Name
			done, err := s.runs.Complete(ctx, p, r.ID, o)
			if err != nil {
				return res.Detail, err
			}
			s.runSeconds.Observe(done.Finished.Sub(done.Started).Seconds())
			return res.Detail, nil
		})
		if next == "" && finishedElsewhere(err) {
			// The first result stands.
			log.Info("run finished elsewhere; result not recorded", "reason", err)
			return nil
		}
		if err != nil {
			return err
		}
	}
	log.Info("run completed")
	return nil
}

// finishedElsewhere reports whether err says the run is no longer this
// job's to finish: completed or cancelled by someone else, or deleted.
func finishedElsewhere(err error) bool {
	return errors.Is(err, runs.ErrIllegalTransition) || errors.Is(err, runs.ErrNotFound)
}
