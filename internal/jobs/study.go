package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

// KindStudyBatch is the River kind of a study's batch job: a worker that
// takes one claims a batch of the study's trials, runs them and records
// them (study.Worker.RunBatch), enqueueing the study's next batch job in
// the transaction that records them. A study keeps Spec.Parallel such
// jobs queued or running, so that many workers help it at once.
const KindStudyBatch = "study_batch"

// StudyBatchArgs is the job of one batch of a study.
type StudyBatchArgs struct {
	StudyID string `json:"study_id"`
	Tenant  string `json:"tenant"`
}

// Kind is KindStudyBatch.
func (StudyBatchArgs) Kind() string { return KindStudyBatch }

// studyWorker works study batch jobs.
type studyWorker struct {
	river.WorkerDefaults[StudyBatchArgs]
	s *Service
}

// Work runs the job's batch. The batch is named after the job, so a
// retried or rescued job (the same job) runs the trials it held again
// rather than new ones. A study that cannot run (its strategy, config or
// data) has been failed: the job is cancelled. When the last attempt
// fails, the batch's trials are told as failed with the error
// (study.Store.GiveUp) and the study's next batch is queued.
func (w *studyWorker) Work(ctx context.Context, job *river.Job[StudyBatchArgs]) error {
	p := tenancy.Principal{Tenant: job.Args.Tenant}
	id := job.Args.StudyID
	next := func(tx *db.Tx) error {
		if w.s.beforeStudyEnqueue != nil {
			if err := w.s.beforeStudyEnqueue(); err != nil {
				return err
			}
		}
		return w.s.enqueueStudyBatches(ctx, tx, id, p.Tenant, 1)
	}
	prog, err := w.s.studyWorker.RunBatch(ctx, p, id, study.BatchName(job.ID), next)
	switch {
	case err == nil:
		if w.s.opts.Trials != nil && prog.Ran > 0 {
			w.s.opts.Trials(prog.Ran)
		}
		return nil
	case errors.Is(err, study.ErrPermanent), study.IsNotFound(err):
		w.s.log.Info("study batch cancelled", "study", id, "err", err)
		return river.JobCancel(err)
	}
	if job.Attempt >= job.MaxAttempts {
		// The queue discards the job: tell its trials as failed so that
		// the study moves on (or fails past its failure share).
		if _, gerr := w.s.studies.GiveUp(context.WithoutCancel(ctx), p, id, study.BatchName(job.ID), err, next); gerr != nil {
			w.s.log.Error("give up a study batch", "study", id, "err", gerr)
		}
	}
	return fmt.Errorf("study %s batch: %w", id, err)
}

// enqueueStudyBatches inserts n batch jobs of study id in tx.
func (s *Service) enqueueStudyBatches(ctx context.Context, tx *db.Tx, id, tenant string, n int) error {
	for range n {
		if _, err := s.txInserter.InsertTx(ctx, tx.SQL(), StudyBatchArgs{StudyID: id, Tenant: tenant}, nil); err != nil {
			return fmt.Errorf("enqueue a batch of study %s: %w", id, err)
		}
	}
	return nil
}

// Studies is the study store the queue works for.
func (s *Service) Studies() *study.Store { return s.studies }

// SubmitStudy stores a queued study and enqueues its Spec.Parallel first
// batch jobs in the same transaction. With an idempotency key already
// used for the same request it returns the existing study.
func (s *Service) SubmitStudy(ctx context.Context, p tenancy.Principal, req study.Request, idempotencyKey string) (*study.Study, error) {
	st, err := s.studies.Create(ctx, p, req, idempotencyKey, func(tx *db.Tx, st *study.Study) error {
		return s.enqueueStudyBatches(ctx, tx, st.ID(), p.Tenant, st.Spec.Parallel)
	})
	if err != nil {
		return nil, fmt.Errorf("submit study: %w", err)
	}
	return st, nil
}

// ResumeStudy puts a cancelled or failed study back in the queue with
// Spec.Parallel batch jobs, enqueued in the transaction that resumes it.
func (s *Service) ResumeStudy(ctx context.Context, p tenancy.Principal, id string) (*study.Study, error) {
	return s.studies.Resume(ctx, p, id, func(tx *db.Tx, st *study.Study) error {
		return s.enqueueStudyBatches(ctx, tx, id, p.Tenant, st.Spec.Parallel)
	})
}

// CancelStudy cancels a queued or running study.
func (s *Service) CancelStudy(ctx context.Context, p tenancy.Principal, id string) (*study.Study, error) {
	return s.studies.Cancel(ctx, p, id)
}
