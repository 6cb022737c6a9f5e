package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// Step names, in order. They are part of the API (a run's steps) and of
// docs/operations.md: keep them stable.
const (
	StepValidate   = "validate"
	StepEnsureData = "ensure_data"
	StepRun        = "run"
	StepRecord     = "record"
	// StepNotify is recorded after the run finished, by the webhook
	// delivery (only when a webhook is configured).
	StepNotify = "notify"
)

// StepRank is a step's place in the workflow, for ordering steps that
// started in the same millisecond; unknown names come last.
func StepRank(name string) int {
	switch name {
	case StepValidate:
		return 0
	case StepEnsureData:
		return 1
	case StepRun:
		return 2
	case StepRecord:
		return 3
	case StepNotify:
		return 4
	}
	return 5
}

// permanentError is a failure that another attempt would repeat: a bad
// strategy, config or missing data. The run fails at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// errRunLeftRunning cancels a job whose run is no longer running (cancelled
// by a user, or re-queued by the orphan rescuer).
var errRunLeftRunning = errors.New("run is no longer running")

type backtestWorker struct {
	river.WorkerDefaults[BacktestArgs]
	s *Service
}

func (w *backtestWorker) Work(ctx context.Context, job *river.Job[BacktestArgs]) error {
	err := w.work(ctx, job)
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
		w.s.log.Error("move run to dead letter", "run", job.Args.RunID, "err", dlErr)
	}
	return err
}

func (w *backtestWorker) work(ctx context.Context, job *river.Job[BacktestArgs]) error {
	s := w.s
	p := tenancy.Principal{Tenant: job.Args.Tenant}
	id := job.Args.RunID
	log := s.log.With("run", id, "tenant", p.Tenant, "attempt", job.Attempt)
	r, err := s.runs.MarkRunning(ctx, p, id, StepValidate)
	switch {
	case errors.Is(err, runs.ErrNotFound):
		return river.JobCancel(fmt.Errorf("backtest job: %w", err))
	case errors.Is(err, runs.ErrIllegalTransition):
		// Started by another job, or finished: nothing to do here.
		log.Debug("job skipped", "reason", err)
		return nil
	case err != nil:
		return fmt.Errorf("backtest job: %w", err)
	}

	jobCtx, stop := context.WithCancelCause(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watch(jobCtx, p, id, stop)
	}()
	err = s.execute(jobCtx, p, r, log)
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
	var perm permanentError
	if errors.As(err, &perm) {
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
	after, ferr := s.requeue(bg, p, id, err, true)
	if ferr != nil && !finishedElsewhere(ferr) {
		return fmt.Errorf("%w (and recording it failed: %v)", err, ferr)
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

// watch stamps the run's heartbeat and cancels the job when the run stops
// being running.
func (s *Service) watch(ctx context.Context, p tenancy.Principal, id string, stop context.CancelCauseFunc) {
	beat := func() {
		if err := s.runs.Heartbeat(ctx, p, id); err != nil && ctx.Err() == nil {
			s.log.Warn("run heartbeat", "run", id, "err", err)
		}
	}
	// MarkRunning stamped the first heartbeat.
	poll := time.NewTicker(s.opts.CancelPoll)
	defer poll.Stop()
	hb := time.NewTicker(s.opts.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			beat()
		case <-poll.C:
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
	began := time.Now()
	detail, err := fn()
	detail, err = s.dataRelative(detail), s.dataRelativeErr(err)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.stepSeconds.WithLabelValues(name, outcome).Observe(time.Since(began).Seconds())
	if next == "" && err == nil {
		return nil
	}
	if ferr := s.runs.FinishStep(context.WithoutCancel(ctx), p, id, name, detail, err, progress, next); ferr != nil && err == nil {
		return ferr
	}
	return err
}

func (s *Service) execute(ctx context.Context, p tenancy.Principal, r runs.Run, log *slog.Logger) error {
	var (
		cfg     *config.Config
		strat   sdk.Strategy // as strategyref opened it
		release func() error // releases strat
		res     *result.Result
	)
	err := s.step(ctx, p, r.ID, StepValidate, StepEnsureData, 0.1, noDetail(func() error {
		c, err := config.Parse(r.Spec.Config, "of run "+r.ID)
		if err != nil {
			return permanent(err)
		}
		c.Datadir = s.dataDir
		c.Strategy = r.Spec.Strategy
		if strategyref.IsExternal(c.Strategy) && !s.opts.AllowExternalStrategies {
			return permanent(fmt.Errorf("strategy %q: this worker runs built-in strategies only (start it with --allow-external-strategies to run programs unsandboxed)", c.Strategy))
		}
		if len(r.Spec.Params) > 0 && string(r.Spec.Params) != "{}" {
			if err := json.Unmarshal(r.Spec.Params, &c.StrategyParams); err != nil {
				return permanent(fmt.Errorf("strategy parameters: %w", err))
			}
		}
		st, closeFn, err := strategyref.Open(ctx, r.Spec.Strategy, s.opts.Strategies)
		if err != nil {
			return permanent(err)
		}
		cfg, strat, release = c, st, closeFn
		return nil
	}))
	if release != nil {
		defer func() {
			if err := release(); err != nil {
				s.log.Warn("close strategy", "run", r.ID, "err", err)
			}
		}()
	}
	if err != nil {
		return err
	}
	err = s.step(ctx, p, r.ID, StepEnsureData, StepRun, 0.2, func() (string, error) {
		return s.ensureData(ctx, cfg, strat.Spec(), log)
	})
	if err != nil {
		return err
	}
	err = s.step(ctx, p, r.ID, StepRun, StepRecord, 0.8, noDetail(func() error {
		if s.beforeRun != nil {
			if err := s.beforeRun(ctx); err != nil {
				return err
			}
		}
		var err error
		res, err = backtest.Run(ctx, cfg, strat, s.log)
		if err != nil && ctx.Err() == nil {
			return permanent(err)
		}
		return err
	}))
	if err != nil {
		return err
	}
	err = s.step(ctx, p, r.ID, StepRecord, "", 1, noDetail(func() error {
		m := metrics.Compute(res)
		summary, err := json.Marshal(m.Summary)
		if err != nil {
			return permanent(fmt.Errorf("encode the metrics summary: %w", err))
		}
		var artifacts []runs.Artifact
		for _, a := range []struct {
			name, media string
			write       func(io.Writer, *result.Result, metrics.Report) error
		}{
			{"result.json", "application/json", report.WriteJSON},
			{"report.html", "text/html", report.WriteHTML},
		} {
			var buf bytes.Buffer
			if err := a.write(&buf, res, m); err != nil {
				return permanent(fmt.Errorf("write artifact %s: %w", a.name, err))
			}
			artifacts = append(artifacts, runs.Artifact{Name: a.name, MediaType: a.media, Content: buf.Bytes()})
		}
		// The run ends with this step: Complete records both.
		done, err := s.runs.Complete(ctx, p, r.ID, runs.Outcome{Metrics: summary, DataFingerprint: res.DataFingerprint, Artifacts: artifacts, Step: StepRecord})
		if err != nil {
			return err
		}
		s.runSeconds.Observe(done.Finished.Sub(done.Started).Seconds())
		return nil
	}))
	if finishedElsewhere(err) {
		// The first result stands.
		log.Info("run finished elsewhere; result not recorded", "reason", err)
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("run completed")
	return nil
}

// finishedElsewhere reports whether err says the run is no longer this
// job's to finish: completed or cancelled by someone else, or deleted.
func finishedElsewhere(err error) bool {
	return errors.Is(err, runs.ErrIllegalTransition) || errors.Is(err, runs.ErrNotFound)
}

// noDetail adapts a step function that records no detail.
func noDetail(fn func() error) func() (string, error) {
	return func() (string, error) { return "", fn() }
}

// dataRelative rewrites the data folder out of a message a tenant sees: a
// file in it is named relative to it ("binance/ETH_BTC-5m.feather"), the
// folder itself "<datadir>". The server's paths are not the tenant's
// business.
func (s *Service) dataRelative(msg string) string {
	abs, err := filepath.Abs(s.dataDir)
	if err != nil || msg == "" {
		return msg
	}
	dirs := []string{abs}
	if c := filepath.Clean(s.dataDir); c != abs && c != "." {
		dirs = append(dirs, c)
	}
	for _, d := range dirs {
		msg = strings.ReplaceAll(msg, d+string(filepath.Separator), "")
	}
	return strings.ReplaceAll(msg, abs, "<datadir>")
}

// dataRelativeErr is dataRelative on err's message; errors.Is and
// errors.As see through the result.
func (s *Service) dataRelativeErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := s.dataRelative(err.Error()); msg != err.Error() {
		return &rewordedError{msg: msg, err: err}
	}
	return err
}

// rewordedError is err with another message.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
