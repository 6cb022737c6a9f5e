// Package runkind is the contract between the job queue (internal/jobs)
// and a kind of run it works: a Kind names its steps and runs them, one
// Attempt per job; the queue does the rest (starting the run, the cancel
// watch and heartbeat, recording each step, retries, completion). It
// imports nothing of the queue, so a kind's package and the queue do not
// cycle.
package runkind

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tradai/tradai/internal/runs"
)

// Kind is one kind of run (runs.RunSpec.Kind).
type Kind interface {
	// Name is the run kind, and the kind of the River jobs that run it.
	Name() string
	// Steps are the kind's steps in the order they run; their names are
	// what the API shows of a run: keep them stable.
	Steps() []Step
	// Begin starts an attempt at run r. The queue runs its steps in order
	// and closes it once, whatever happened.
	Begin(r runs.Run, log *slog.Logger) Attempt
}

// Step is one step of a kind's workflow.
type Step struct {
	Name string
	// Progress is the run's progress once the step is done (0 to 1).
	Progress float64
}

// Attempt is one attempt at a run: its steps share its state.
type Attempt interface {
	// Do runs step, which the queue has recorded as started. A Permanent
	// error fails the run; any other error is retried while attempts
	// remain. The last step's Result carries the run's Outcome, which the
	// queue stores as it completes the run.
	Do(ctx context.Context, step string) (Result, error)
	// Close releases what the steps acquired.
	Close() error
}

// Result is what a step did.
type Result struct {
	// Detail says what the step did, for people; empty for most steps.
	Detail string
	// Outcome is the completed run's outcome: the last step's only.
	Outcome runs.Outcome
}

// permanentError is a failure that another attempt would repeat.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that another attempt would repeat (a
// bad strategy, config or missing data): the run fails at once. Nil stays
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, is Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
