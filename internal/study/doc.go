// Package study owns distributed studies: an optimisation (tradai
// hyperopt) shared by any number of workers through the database. A study
// is a parent run of kind "study" (internal/runs) with a row of its own
// (its Spec, its search space) and one row per trial, numbered from 1.
//
// Ask and tell go through the database. A worker claims a batch of trials
// (Store.Claim) in a transaction that holds the study's row: the sampler
// is rebuilt from the stored trials (a fresh sampler seeded with Seed +
// the trials asked so far, told the finished trials in number order and
// the trials in flight as failed), asked for the batch's points, and the
// trials are inserted under the next numbers, held by the batch's name.
// The worker runs them with optimize.Evaluator on the study's data, loaded
// once per process (a cache keyed by study) and shared read-only, and
// records them in one transaction (Store.Finish) that writes only trials
// the batch still holds: a batch run again after a crash (the same name:
// the job queue re-delivers the same job) finds its trials and runs them
// again under their numbers; a trial is never told twice. A killed worker
// loses at most its batch in flight.
//
// Every trial is stored with its point, decoded parameters, figures,
// loss, duration, status and error. A failed trial does not stop the
// study until more than Spec.FailShare of at least optimize.FailMinTrials
// finished trials failed; then the study's run fails. The run completes
// once every trial is told. Cancel stops further claims; Resume makes the
// trials that were held pending (claimed again first) and queues the
// study again.
//
// The job queue (internal/jobs) delivers the batches: its study-batch job
// calls Worker.RunBatch, and Finish enqueues the study's next batch job
// in the transaction that records a batch.
package study
