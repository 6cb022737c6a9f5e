// Package jobs runs runs as queued jobs: Submit stores a run
// (internal/runs) and enqueues a River job for it; workers take the job,
// walk the run through the steps of its kind (a runkind.Kind, dispatched by
// the run's kind: backtestjob's validate → ensure_data → run → record) and
// record the outcome in the run store, which is the source of truth for a
// run's state. River is the delivery mechanism only. The queue does what
// every kind needs: the transactional insert, the cancel watch, heartbeats,
// the orphan rescuer, retries with back-off, dead letters, step records and
// their timings, webhooks.
//
// Webhooks. With Options.Webhook.URL set, every transition of a run into a
// terminal status (completed, failed, dead_letter, cancelled) records a
// delivery and enqueues a "notify" job in the same transaction; the job
// POSTs the signed Event on its own queue and retries with back-off. A
// delivery never changes its run.
//
// Exactly-once results. A job may be worked more than once (a retry after a
// crash, an orphan re-enqueued while its stuck job is later rescued by
// River). The run store's guarded transitions make that harmless: only a
// queued run can be started (MarkRunning) and only a running run completed,
// so a second worker finds the run started or finished and stops without
// touching it.
//
// Cancel. River v0.31.0 does not deliver a running job's cancellation to
// the worker on SQLite, so the worker watches the run itself: a goroutine
// reads the run's status every CancelPoll (200 ms) and cancels the job's
// context when the run is no longer running.
//
// Orphans. The same goroutine stamps the run's heartbeat_at every
// Heartbeat (5 s). A rescuer, every RescueEvery (10 s), re-queues running
// runs whose heartbeat is older than StaleAfter (30 s) and enqueues a fresh
// job for each, in the transaction that re-queues the run (as a worker does
// when it re-queues a run after a retryable failure): a run whose worker
// died is running again within StaleAfter + RescueEvery (≤ 40 s), and a
// crash never leaves a queued run without its job.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/jobs/backtestjob"
	"github.com/tradai/tradai/internal/jobs/downloadjob"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/jobs/walkforwardjob"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

// runArgs is the River job of one run. Its River kind is the run's kind,
// so each run kind has its own River kind (a backtest's job is "backtest"),
// registered with the kind's worker by river.AddWorkerArgs: River's typed
// registration (one Go type per job kind) cannot name kinds known only at
// run time. The kind is not part of the job's JSON.
type runArgs struct {
	RunID  string `json:"run_id"`
	Tenant string `json:"tenant"`
	// Traceparent is the W3C trace context of the enqueueing span (empty
	// without one): the worker's span continues that trace.
	Traceparent string `json:"traceparent,omitempty"`
	kind        string
}

// Kind is the job's River kind: the run's.
func (a runArgs) Kind() string { return a.kind }

// Options tunes a Service; zero fields take the defaults shown.
type Options struct {
	Workers     int           // concurrent jobs in this process (2)
	FetchPoll   time.Duration // River's fetch poll interval (20 ms)
	FetchCool   time.Duration // River's fetch cooldown (2 ms)
	RetryBase   time.Duration // first retry delay, doubled per attempt up to 1 min (1 s)
	CancelPoll  time.Duration // how often a running job reads its run's status (200 ms)
	Heartbeat   time.Duration // how often a running job stamps heartbeat_at (5 s)
	StaleAfter  time.Duration // heartbeat age after which a running run is an orphan (30 s)
	RescueEvery time.Duration // how often orphans are looked for (10 s)
	Strategies  strategyref.Options
	// Registry gives the strategy registry of a run's tenant (nil: none).
	Registry func(tenant string) strategyref.Resolver
	// AllowExternalStrategies lets runs use Python files and exec:
	// programs, which run as this process's user without a sandbox.
	AllowExternalStrategies bool
	// Download, when set, fetches the candles a backtest needs that the
	// market data store lacks (the ensure_data step). Nil: nothing is
	// downloaded.
	Download backtestjob.Fetcher
	// Market are the options every run kind opens the market data store
	// with: its Remote, the bucket the data folder is a cache of, makes
	// runs fetch the bucket's newer copy of the series they read.
	Market market.Options
	// Webhook, when its URL is set, sends an Event for every run that
	// reaches a terminal status.
	Webhook WebhookOptions
	// Clock is the clock (nil: the system clock): run and webhook times,
	// retry times, the heartbeat, cancel-poll and rescue tickers.
	Clock clock.Clock
	// Tracer makes the spans of enqueueing, of each job and of its
	// strategy's calls (nil: none).
	Tracer trace.Tracer
	// Trials, when set, is told how many study trials each batch this
	// process ran recorded (the metrics' trial count).
	Trials func(n int)
	// TickEvery, when positive, makes this process's River client insert
	// the periodic tick job (KindTick, on the queue TickQueue) every
	// TickEvery while it leads the cluster; every process of a platform
	// sets it, since any of them may lead.
	TickEvery time.Duration
	// Tick, when set, works the tick jobs: the strategy lifecycle's
	// schedules and challengers (lifecycle.Service.Tick). Only processes
	// that set it take jobs from TickQueue (TickEvery then defaults to
	// 1 min).
	Tick func(ctx context.Context) error
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	def(&o.FetchPoll, 20*time.Millisecond)
	def(&o.FetchCool, 2*time.Millisecond)
	def(&o.RetryBase, time.Second)
	def(&o.CancelPoll, 200*time.Millisecond)
	def(&o.Heartbeat, 5*time.Second)
	def(&o.StaleAfter, 30*time.Second)
	def(&o.RescueEvery, 10*time.Second)
	if o.Tick != nil {
		def(&o.TickEvery, time.Minute)
	}
	if o.FetchCool > o.FetchPoll {
		o.FetchCool = o.FetchPoll
	}
	o.Clock = clock.Or(o.Clock)
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("")
	}
	o.Webhook = o.Webhook.withDefaults()
	return o
}

// queue is what the Service needs of a River client, whichever driver.
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Service submits, runs and cancels runs as jobs.
type Service struct {
	db     *db.DB
	runs   *runs.Store
	log    *slog.Logger
	opts   Options
	kinds  map[string]runkind.Kind
	client queue
	// studies and studyWorker work the study batch jobs.
	studies     *study.Store
	studyWorker *study.Worker
	// txInserter enqueues in the run store's transaction: River's SQLite
	// client itself, or on PostgreSQL an insert-only client over the
	// store's database/sql pool (riverdatabasesql).
	txInserter interface {
		InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	}

	// beforeStep, when set (tests only), runs at the start of every step;
	// its error is the step's.
	beforeStep func(ctx context.Context, step string) error
	// beforeRequeueInsert, when set (tests only), runs when a run has been
	// put back in the queue and its new job is about to be inserted; its
	// error stands for a crash there.
	beforeRequeueInsert func(runID string) error
	// beforeStudyEnqueue, when set (tests only), runs before a study's
	// next batch job is enqueued in the transaction recording a batch.
	beforeStudyEnqueue func() error

	stepSeconds *prometheus.HistogramVec
	runSeconds  prometheus.Histogram
	waitSeconds *prometheus.HistogramVec

	mu         sync.Mutex
	stopRescue context.CancelFunc
	rescueDone chan struct{}
}

// New builds a Service on d (opened and migrated) with its River client,
// working backtests (backtestjob) on the market data store dataDir (a
// submitted config's datadir is ignored). Artifacts are stored with the run.
func New(d *db.DB, store *runs.Store, dataDir string, log *slog.Logger, opts Options) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := opts.Webhook.validate(); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	opts = opts.withDefaults()
	bt, err := backtestjob.New(backtestjob.Options{DataDir: dataDir, Strategies: opts.Strategies, Registry: opts.Registry,
		AllowExternalStrategies: opts.AllowExternalStrategies, Download: opts.Download, Market: opts.Market, Clock: opts.Clock, Log: log, Tracer: opts.Tracer})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	s := &Service{db: d, runs: store, log: log, opts: opts, kinds: map[string]runkind.Kind{},
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tradai_job_step_duration_seconds",
			Help:    "Duration of backtest workflow steps in this process, by step and outcome (ok, error).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"step", "outcome"}),
		runSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tradai_job_run_duration_seconds",
			Help:    "Start-to-completion time of the backtests this process completed.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10),
		}),
		waitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tradai_queue_wait_seconds",
			Help:    "Time from a job being due (enqueued, or its retry's back-off over) to a worker of this process starting it, by job kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10),
		}, []string{"kind"}),
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: s.opts.Workers}}
	if s.opts.Webhook.URL != "" {
		// Every finished run gets its event enqueued in the transaction
		// that finishes it.
		s.runs = store.OnFinish(s.enqueueEvent)
		queues[notifyQueue] = river.QueueConfig{MaxWorkers: 2}
	}
	wf, err := walkforwardjob.New(walkforwardjob.Options{DataDir: dataDir, Strategies: opts.Strategies, Registry: opts.Registry,
		AllowExternalStrategies: opts.AllowExternalStrategies, Market: opts.Market, Progress: store, Clock: opts.Clock, Log: log})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	kinds := []runkind.Kind{bt, wf}
	if opts.Download != nil {
		dl, err := downloadjob.New(opts.Download)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		kinds = append(kinds, dl)
	}
	if s.opts.Tick != nil {
		queues[TickQueue] = river.QueueConfig{MaxWorkers: 1}
	}
	workers := river.NewWorkers()
	for _, k := range kinds {
		s.kinds[k.Name()] = k
		river.AddWorkerArgs(workers, runArgs{kind: k.Name()}, &runWorker{s: s, kind: k})
	}
	river.AddWorker(workers, &notifyWorker{s: s})
	s.studies = study.NewStore(d, store, opts.Clock)
	if s.studyWorker, err = study.NewWorker(s.studies, study.WorkerOptions{DataDir: dataDir, Strategies: opts.Strategies, Registry: opts.Registry,
		AllowExternalStrategies: opts.AllowExternalStrategies, Market: opts.Market, Clock: opts.Clock, Log: log}); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	river.AddWorker(workers, &studyWorker{s: s})
	cfg := &river.Config{
		FetchCooldown:     s.opts.FetchCool,
		FetchPollInterval: s.opts.FetchPoll,
		// A backtest has no fixed time limit: liveness is our heartbeat's
		// business. River's rescue of jobs running longer than two thirds
		// of StaleAfter covers a worker that died after fetching a job but
		// before starting its run (the run still queued, the job held):
		// River looks every 30 s, so at the defaults such a run is queued
		// again within 50 s. Rescuing a job whose run is running or done is
		// harmless: the second job finds nothing to do.
		JobTimeout:           -1,
		RescueStuckJobsAfter: max(s.opts.StaleAfter*2/3, time.Second),
		MaxAttempts:          store.MaxAttempts(),
		Queues:               queues,
		RetryPolicy:          retryPolicy{o: s.opts},
		PeriodicJobs:         s.periodicJobs(workers),
		Workers:              workers,
		Logger:               log.With("component", "river"),
	}
	switch d.Dialect() {
	case db.Postgres:
		c, err := river.NewClient[pgx.Tx](riverpgxv5.New(d.RiverPool()), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: create the job queue client: %w", err)
		}
		ins, err := river.NewClient[*sql.Tx](riverdatabasesql.New(d.SQL()), &river.Config{
			MaxAttempts: cfg.MaxAttempts,
			Logger:      cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("jobs: create the job queue's transactional inserter: %w", err)
		}
		s.client, s.txInserter = c, ins
	default:
		c, err := river.NewClient[*sql.Tx](riversqlite.New(d.RiverSQLite()), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: create the job queue client: %w", err)
		}
		s.client, s.txInserter = c, c
	}
	return s, nil
}

// DownloadsFrom is the exchange download runs fetch from; ok is false when
// this service was given no downloader (Options.Download), and download
// runs would find no worker.
func (s *Service) DownloadsFrom() (exchange string, ok bool) {
	if s.opts.Download == nil {
		return "", false
	}
	return s.opts.Download.Exchange(), true
}

// Collectors are the Service's Prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.stepSeconds, s.runSeconds, s.waitSeconds}
}

// backoff is the wait before attempt+1: RetryBase, doubled per attempt, up
// to a minute.
func (o Options) backoff(attempt int) time.Duration {
	d := o.RetryBase
	for i := 1; i < attempt && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// retryPolicy is River's retry timing for jobs that fail unexpectedly
// (before or after their run's own bookkeeping): the same back-off.
type retryPolicy struct{ o Options }

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return p.o.Clock.Now().Add(p.o.backoff(job.Attempt))
}

// Submit stores a queued run for tenant and enqueues its job, of the
// spec's kind, in the same transaction, so there is never a run without its job nor
// a job without its run. With an idempotency key already used for the same
// spec it returns the existing run and enqueues nothing (a different spec
// is runs.ErrConflict).
//
// The transaction is the run store's (database/sql). On SQLite River's
// client writes the job through that transaction although River polls
// through its own one-connection pool on the same file; on PostgreSQL an
// insert-only River client on the store's pool (riverdatabasesql) does,
// while the workers use the pgx pool (riverpgxv5).
func (s *Service) Submit(ctx context.Context, p tenancy.Principal, spec runs.RunSpec, idempotencyKey string) (runs.Run, error) {
	r, _, err := s.runs.CreateWith(ctx, p, spec, idempotencyKey, func(tx *db.Tx, r runs.Run) error {
		return s.enqueue(ctx, tx, r.Spec.Kind, r.ID, p.Tenant, time.Time{})
	})
	if err != nil {
		return runs.Run{}, fmt.Errorf("submit run: %w", err)
	}
	return r, nil
}

// enqueue inserts the job of run id, of kind, in tx, to start at once or
// at at.
func (s *Service) enqueue(ctx context.Context, tx *db.Tx, kind, id, tenant string, at time.Time) error {
	if _, ok := s.kinds[kind]; !ok {
		return fmt.Errorf("enqueue run %s: this queue does not work %q runs", id, kind)
	}
	ctx, span := s.opts.Tracer.Start(ctx, "enqueue "+kind, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tradai.run_id", id), attribute.String("tradai.tenant", tenant)))
	defer span.End()
	tc := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, tc)
	args := runArgs{RunID: id, Tenant: tenant, Traceparent: tc["traceparent"], kind: kind}
	if _, err := s.txInserter.InsertTx(ctx, tx.SQL(), args, &river.InsertOpts{ScheduledAt: at}); err != nil {
		return fmt.Errorf("enqueue run %s: %w", id, err)
	}
	return nil
}

// StepRank is the place of step name in the workflow of run kind kind, for
// ordering steps that started in the same millisecond: the kind's steps in
// order, then the webhook's notify step; unknown names come last.
func (s *Service) StepRank(kind, name string) int {
	var steps []runkind.Step
	if k, ok := s.kinds[kind]; ok {
		steps = k.Steps()
	}
	if i := slices.IndexFunc(steps, func(st runkind.Step) bool { return st.Name == name }); i >= 0 {
		return i
	}
	if name == StepNotify {
		return len(steps)
	}
	return len(steps) + 1
}

// requeue puts a running run whose attempt failed (retryably) back in the
// queue and inserts its new job in the same transaction, to start at once or,
// with backoff, after the back-off for the attempts used. When its attempts
// are used up the run is dead-lettered and no job is inserted.
func (s *Service) requeue(ctx context.Context, p tenancy.Principal, kind, runID string, cause error, backoff bool) (runs.Run, error) {
	return s.runs.Requeue(ctx, p, runID, cause, func(tx *db.Tx, attempts int) error {
		if s.beforeRequeueInsert != nil {
			if err := s.beforeRequeueInsert(runID); err != nil {
				return err
			}
		}
		var at time.Time
		if backoff {
			at = s.opts.Clock.Now().Add(s.opts.backoff(attempts))
		}
		return s.enqueue(ctx, tx, kind, runID, p.Tenant, at)
	})
}

// Cancel cancels a queued or running run. A running job notices within
// CancelPoll and stops; a queued one finds the run cancelled and skips it.
func (s *Service) Cancel(ctx context.Context, p tenancy.Principal, runID string) (runs.Run, error) {
	r, err := s.runs.Cancel(ctx, p, runID)
	if err != nil {
		return runs.Run{}, fmt.Errorf("cancel: %w", err)
	}
	return r, nil
}

// Retry re-queues a failed, dead-lettered or cancelled run with fresh
// attempts, enqueueing its job in the same transaction.
func (s *Service) Retry(ctx context.Context, p tenancy.Principal, runID string) (runs.Run, error) {
	// A run's kind never changes: read outside the retry's transaction.
	cur, err := s.runs.Get(ctx, p, runID)
	if err != nil {
		return runs.Run{}, fmt.Errorf("retry: %w", err)
	}
	r, err := s.runs.Retry(ctx, p, runID, func(tx *db.Tx) error {
		return s.enqueue(ctx, tx, cur.Spec.Kind, runID, p.Tenant, time.Time{})
	})
	if err != nil {
		return runs.Run{}, fmt.Errorf("retry: %w", err)
	}
	return r, nil
}

// Start starts the workers and the orphan rescuer; they run until Stop.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopRescue != nil {
		return errors.New("jobs: already started")
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start the workers: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRescue, s.rescueDone = cancel, make(chan struct{})
	go s.rescueLoop(rctx, s.rescueDone)
	return nil
}

// Stop stops taking jobs and waits for running ones until ctx ends; then it
// cancels them (their runs are re-queued for another worker).
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopRescue == nil {
		return nil
	}
	s.stopRescue()
	<-s.rescueDone
	s.stopRescue = nil
	defer s.studyWorker.Close()
	err := s.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = s.client.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop the workers: %w", err)
	}
	return nil
}

func (s *Service) rescueLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	rescue := func(ctx context.Context) error {
		if _, err := s.RescueOrphans(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("orphan rescue failed", "err", err)
		}
		return nil
	}
	_ = rescue(ctx)
	_ = clock.Every(ctx, s.opts.Clock, s.opts.RescueEvery, rescue)
}

// RescueOrphans re-queues running runs whose heartbeat and start (of the
// current attempt) are both older than StaleAfter (their worker is gone) and enqueues a job for each; it returns
// how many it re-queued. A run whose attempts are used up goes to
// dead_letter instead.
func (s *Service) RescueOrphans(ctx context.Context) (int, error) {
	found, err := s.runs.Orphans(ctx, s.opts.StaleAfter)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, o := range found {
		if o.Kind == runs.KindStudy {
			// A study has no job of its own: its batch jobs are River's
			// to rescue, and a batch re-run finds its trials again.
			continue
		}
		cause := fmt.Errorf("worker lost: no heartbeat for %s", s.opts.StaleAfter)
		// The run goes back to the queue and its new job is inserted in
		// one transaction: a crash between them leaves the run running,
		// and the next rescue finds it again.
		r, err := s.requeue(ctx, tenancy.Principal{Tenant: o.Tenant}, o.Kind, o.ID, cause, false)
		if errors.Is(err, runs.ErrIllegalTransition) {
			continue // finished or re-queued meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Warn("orphaned run re-queued", "run_id", o.ID, "tenant", o.Tenant, "status", r.Status)
		if r.Status == runs.Queued {
			n++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("rescue orphaned runs: %w", err)
	}
	return n, nil
}
