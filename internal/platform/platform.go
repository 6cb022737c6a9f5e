// Package platform runs TradAI's server as a service: the database
// (opened and migrated), the first user and token, the run store, the job
// service and its workers with their maintenance (orphan rescue), the HTTP
// API with the web app (internal/web, mounted outside /api/) on a listener
// tuned for pooled clients, optionally the paper
// exchange simulator (internal/simserver) beside it, and for a worker
// process the Prometheus metrics endpoint.
//
// A Platform goes New (check the Config, fill its defaults), Start (bring
// everything up; it returns once the API accepts connections, when Ready
// is closed), and Shutdown, which stops in this order: the API stops
// accepting and drains its requests, the simulator stops, running jobs get
// a while to finish (then are cancelled and re-queued) and the maintenance
// loops end, the metrics endpoint closes, and last the database. Every
// goroutine the Platform starts is counted and waited for.
//
// `tradai serve`, `tradai worker` and the API tests' servers
// (internal/client/clienttest) are all a Platform; cmd/tradai only turns
// flags into a Config.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/wasm"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/lifecycle"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/simserver"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/telemetry"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/web"
)

// Config is what a Platform runs. A Config with Addr serves the API (and
// is "tradai serve"); one without is a worker process ("tradai worker").
type Config struct {
	// Home is TradAI's home folder, created for this user alone (0700);
	// the first user's API token is written to Home/token when the API
	// creates it. Empty: no folder, no token file.
	Home string
	// DataDir is the market data folder backtests read (created 0755;
	// required).
	DataDir string
	// Database is the database URL: postgres://… or an SQLite file. DB,
	// when set instead, is an open, migrated database the caller closes
	// after Shutdown.
	Database string
	DB       *db.DB
	// ArtifactStore is where the runs' artifacts (result JSON, reports)
	// are written (nil: the database). Every process of a platform names
	// the same store: the API reads what the workers wrote.
	ArtifactStore objstore.Store
	// Addr is where the API listens (host:port; port 0 picks a free one).
	// Empty: no API, a worker process.
	Addr string
	// MetricsAddr, when set on a process without an API (a worker or a
	// runner), serves the process's Prometheus metrics (the job service's,
	// its deployments' and venues' (internal/telemetry), the Go runtime's
	// and the process's) at /metrics there, and the probes /health (the
	// process serves) and /ready (its database answers). The API serves
	// the same families, and the runs, queue and heartbeat gauges, at its
	// own /metrics.
	MetricsAddr string
	// Workers is how many jobs this process runs at once (0: none, the
	// queue is left to other processes).
	Workers int
	// AllowExternalStrategies lets tenants run Python files and exec:
	// programs, in the API's checks and the workers alike.
	AllowExternalStrategies bool
	// Jobs tunes the job service; its Workers and AllowExternalStrategies
	// are the Config's.
	Jobs jobs.Options
	// API tunes the API; its AllowExternalStrategies and Operators are the
	// Config's.
	API api.Options
	// Operators are the users (ids) who see the operations view (API and
	// web app), may retry any tenant's run and stop every tenant's
	// deployments at once (the kill switch).
	Operators []string
	// Sim, when set, runs the simulator beside the API on the platform's
	// database and data folder (its DB, DataDir and Log are the Config's).
	Sim *simserver.Config
	// Runner, when set, runs the deployment runner tier in this process: a
	// runner.Host taking deployments from the database (`tradai serve`
	// in embedded mode, `tradai runner`).
	Runner *RunnerConfig
	// SimURL is the simulator the venue "sim" names when this process runs
	// none (Sim unset): the base URL of a `tradai serve --sim` or `tradai
	// sim` on this database; SimAdminToken its admin token.
	SimURL, SimAdminToken string
	// AlertWebhook, when set, receives a POST of a StaleAlert (JSON) for
	// each deployment whose heartbeat stopped for three intervals, once per
	// episode, with retries. The API process always logs the alert; a
	// runner process (no API) watches the heartbeats only with it set.
	AlertWebhook string
	// Drift are the thresholds of the deployments' drift (internal/drift;
	// zero fields: drift.Defaults). The API process computes each
	// deployment's drift against a backtest of its version, config, pairs
	// and timeframe on DataDir's candles, over the config's timerange (or
	// the DefaultReferenceDays before the deployment was created), on
	// GET /api/v1/deployments/{id} and every 15 minutes; a score reaching
	// 1 logs an error and POSTs a DriftAlert to AlertWebhook.
	Drift drift.Thresholds
	// VenueURLs are the Binance-compatible base URLs deployments may name
	// as their venue besides "sim" (none: sim only).
	VenueURLs []string
	// HyperliquidURL is the API the venue "hyperliquid" names
	// (hyperliquid.MainnetURL when empty).
	HyperliquidURL string
	// KEK is the key-encryption key of the tenants' venue accounts
	// (internal/accounts): the API stores credentials with it, the runners
	// open them for live deployments. Nil: accounts can be listed and
	// removed, not added or traded with.
	KEK *secrets.KEK
	// Log receives the platform's log (nil: discarded).
	Log *slog.Logger
	// Out receives the lines for the operator: the first token's file,
	// where the simulator and the API listen (nil: discarded).
	Out io.Writer
	// Version is the version the API reports.
	Version string
	// Clock is the clock of the run store and the tokens, and of the job
	// service, the API and the simulator where their options set none (nil:
	// the system clock).
	Clock clock.Clock
	// OTLPEndpoint, when set, exports the process's traces to that
	// OTLP/HTTP collector (its base URL: http://collector:4318);
	// TracerProvider, when set instead, takes them (tests: an in-memory
	// exporter). Neither: no traces. The spans: an API request, the
	// enqueueing of its run, the worker's job (continuing the request's
	// trace through the job's arguments), each strategy call; a
	// deployment's tick and its venue requests.
	OTLPEndpoint   string
	TracerProvider trace.TracerProvider
	// DrainAPI bounds how long Shutdown waits for API requests in flight
	// (10 s); DrainWorkers how long running jobs get to finish before they
	// are cancelled and re-queued (20 s).
	DrainAPI, DrainWorkers time.Duration
}

// RunnerConfig is the runner tier in a platform process.
type RunnerConfig struct {
	// Name identifies the process in the deployments' leases (default
	// the host name and the process id).
	Name string
	// Max is how many deployments the process holds at once (100).
	Max int
	// Heartbeat and TTL are the leases' renewal and length (10 s, 30 s).
	Heartbeat, TTL time.Duration
}

// maxAttempts is how often a run is tried; the run store holds the limit
// and the queue takes it from there.
const maxAttempts = 3

// Platform is a running (or startable) TradAI server or worker process.
type Platform struct {
	cfg Config

	ready  chan struct{}
	failed chan error // the API stopped serving by itself (buffered)
	stop   chan struct{}

	mu        sync.Mutex
	started   bool
	shut      bool
	db        *db.DB
	ownDB     bool
	auth      *tenancy.Store
	jobs      *jobs.Service
	jobsOn    bool
	api       *http.Server
	apiAddr   net.Addr
	sim       *simserver.Server
	deploys   *deploy.Store
	venues    *Venues
	drift     *driftMonitor      // the API process's
	life      *lifecycle.Service // the API process's, with a registry
	host      *runner.Host
	stopHost  context.CancelFunc
	hostDone  chan struct{} // closed when the host stopped and released its leases
	metrics   *http.Server
	reg       *prometheus.Registry // the process's metrics
	telemetry *telemetry.Metrics
	tracing   *telemetry.Tracing // the OTLP exporter the Platform made, flushed at Shutdown
	tracer    trace.Tracer
	wasm      *wasm.Runtime  // the process's wasm runtime, when the Platform made it
	wg        sync.WaitGroup // every goroutine the Platform starts
	tokenFile string
}

// New checks cfg and fills its defaults; Start does the work.
func New(cfg Config) (*Platform, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("platform: a market data folder is required")
	}
	if cfg.DB == nil && cfg.Database == "" {
		return nil, errors.New("platform: a database is required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("platform: %d workers: want 0 or more", cfg.Workers)
	}
	if cfg.Addr == "" && cfg.Workers == 0 && cfg.Runner == nil {
		return nil, errors.New("platform: a process without an API runs workers or deployments: set Workers or Runner")
	}
	if cfg.Addr == "" && cfg.Sim != nil {
		return nil, errors.New("platform: the simulator runs beside the API: an API address is required")
	}
	if err := checkAlertWebhook(cfg.AlertWebhook); err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Jobs.Clock == nil {
		cfg.Jobs.Clock = cfg.Clock
	}
	if cfg.API.Clock == nil {
		cfg.API.Clock = cfg.Clock
	}
	if cfg.DrainAPI <= 0 {
		cfg.DrainAPI = 10 * time.Second
	}
	if cfg.DrainWorkers <= 0 {
		cfg.DrainWorkers = 20 * time.Second
	}
	cfg.Jobs.Workers = max(cfg.Workers, 1)
	cfg.Jobs.AllowExternalStrategies = cfg.AllowExternalStrategies
	cfg.API.AllowExternalStrategies = cfg.AllowExternalStrategies
	cfg.API.Operators = cfg.Operators
	if cfg.Runner != nil {
		rc := *cfg.Runner
		if rc.Name == "" {
			host, _ := os.Hostname()
			rc.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		cfg.Runner = &rc
	}
	if cfg.Sim != nil {
		sc := *cfg.Sim
		sc.DataDir, sc.Market, sc.Log = cfg.DataDir, cfg.Jobs.Market, cfg.Log
		if sc.Clock == nil {
			sc.Clock = cfg.Clock
		}
		cfg.Sim = &sc
	}
	p := &Platform{cfg: cfg, ready: make(chan struct{}), failed: make(chan error, 1), stop: make(chan struct{})}
	if cfg.OTLPEndpoint != "" && cfg.TracerProvider == nil {
		service := "tradai-worker"
		switch {
		case cfg.Addr != "":
			service = "tradai-server"
		case cfg.Runner != nil && cfg.Workers == 0:
			service = "tradai-runner"
		}
		tr, err := telemetry.NewTracing(cfg.OTLPEndpoint, service)
		if err != nil {
			return nil, err
		}
		p.tracing, p.cfg.TracerProvider = tr, tr.Provider()
	}
	p.tracer = telemetry.Tracer(p.cfg.TracerProvider)
	p.cfg.Jobs.Tracer = p.tracer
	return p, nil
}

// Start brings the platform up: folders, database (migrated), job service,
// and with an API address the first user, the simulator, the API and the
// workers; without one the metrics endpoint and the workers. It returns
// once everything runs, Ready closed; on an error, what it started is
// stopped again. ctx bounds the start only: the platform runs until
// Shutdown.
func (p *Platform) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("platform: already started")
	}
	p.started = true
	if err := p.start(ctx); err != nil {
		p.shutdown(context.WithoutCancel(ctx))
		return err
	}
	close(p.ready)
	return nil
}

func (p *Platform) start(ctx context.Context) error {
	cfg, log := p.cfg, p.cfg.Log
	// The home folder holds the database and the first API token: this
	// user's alone. Market data is not secret.
	if cfg.Home != "" {
		if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", cfg.Home, err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", cfg.DataDir, err)
	}
	p.db = cfg.DB
	if p.db == nil {
		d, err := db.Open(ctx, cfg.Database, log)
		if err != nil {
			return err
		}
		p.db, p.ownDB = d, true
		if err := d.Migrate(ctx); err != nil {
			return err
		}
	}
	store := runs.New(p.db, cfg.Clock, maxAttempts, log).WithArtifactStore(cfg.ArtifactStore)
	if cfg.Jobs.Strategies.Wasm == nil {
		// One wasm runtime for the process: each module version is
		// compiled once (and kept compiled under the home folder).
		var cache string
		if cfg.Home != "" {
			cache = filepath.Join(cfg.Home, "wasm-cache")
		}
		rt, err := wasm.New(ctx, wasm.Options{CacheDir: cache})
		if err != nil {
			return fmt.Errorf("start the wasm runtime: %w", err)
		}
		p.wasm = rt
		cfg.Jobs.Strategies.Wasm = rt
	}
	var reg *registry.Registry
	if cfg.Home != "" {
		// The registry's versions are materialised under the home folder.
		// Pushed code is started once for its spec only where tenant code
		// may run: in the process sandbox (or, on a trusted team's server,
		// with --allow-external-strategies).
		var specs registry.SpecReader
		if cfg.Jobs.Strategies.External.Sandbox != nil || cfg.AllowExternalStrategies {
			specs = strategyref.Specs{Options: cfg.Jobs.Strategies}
		}
		var err error
		if reg, err = registry.New(registry.Config{DB: p.db, Dir: filepath.Join(cfg.Home, "strategies"), Specs: specs, Clock: cfg.Clock, Log: log}); err != nil {
			return err
		}
		cfg.Jobs.Registry = reg.Tenant
	}
	// One registry for the process: the API serves it at /metrics, a
	// worker or runner process on its metrics listener.
	p.reg, p.telemetry = prometheus.NewRegistry(), telemetry.NewMetrics()
	p.reg.MustRegister(p.telemetry.Collectors()...)
	cfg.Jobs.Trials = p.telemetry.TrialsDone
	// Every process of a cluster inserts the lifecycle's periodic tick
	// while it leads River (a worker cannot know which leads); the API's
	// process, where the lifecycle lives (it needs the registry), works
	// it. An API process without a registry inserts none.
	var life *lifecycle.Service // set before the queue starts
	switch {
	case cfg.Addr == "":
		cfg.Jobs.TickEvery = lifecycle.TickEvery
	case reg != nil:
		cfg.Jobs.TickEvery = lifecycle.TickEvery
		cfg.Jobs.Tick = func(ctx context.Context) error { return life.Tick(ctx) }
	}
	svc, err := jobs.New(p.db, store, cfg.DataDir, log, cfg.Jobs)
	if err != nil {
		return err
	}
	p.jobs = svc
	if p.deploys, err = deploy.New(deploy.Config{DB: p.db, Clock: cfg.Clock, Log: log}); err != nil {
		return err
	}
	keys, err := accounts.New(accounts.Config{DB: p.db, KEK: cfg.KEK, Clock: cfg.Clock, Log: log})
	if err != nil {
		return err
	}
	p.venues = &Venues{SimURL: p.simURL, SimAdminToken: cfg.SimAdminToken, URLs: cfg.VenueURLs, Accounts: simstore.New(p.db, cfg.Clock, log),
		Keys: keys, HyperliquidURL: cfg.HyperliquidURL, Clock: cfg.Clock, Log: log,
		Observe: func(venue string) binance.Observer { return p.telemetry.Venue(venue) }, Tracer: p.tracer}
	if cfg.Sim != nil {
		p.venues.SimAdminToken = cfg.Sim.AdminToken
	}
	var registryOf func(string) strategyref.Resolver
	if reg != nil {
		registryOf = reg.Tenant
	}
	alerts, err := newAlertHook(cfg.AlertWebhook, cfg.Clock, log)
	if err != nil {
		return err
	}
	job := &deploymentJob{store: p.deploys, venues: p.venues, strategies: cfg.Jobs.Strategies, registry: registryOf,
		external: cfg.AllowExternalStrategies, metrics: p.telemetry, tracer: p.tracer, clock: cfg.Clock, log: log, alerts: alerts}
	if cfg.Addr == "" {
		if err := p.startWorker(ctx); err != nil {
			return err
		}
		if cfg.Runner != nil && cfg.AlertWebhook != "" {
			if err := p.startHeartbeatWatch(); err != nil {
				return err
			}
		}
		return p.startRunner(job)
	}

	p.auth = tenancy.New(p.db, cfg.Clock, log)
	if err := p.bootstrap(ctx); err != nil {
		return err
	}
	if cfg.Sim != nil {
		sc := *cfg.Sim
		sc.DB = p.db
		sim, err := simserver.New(sc)
		if err != nil {
			return err
		}
		if err := sim.Start(ctx); err != nil {
			return err
		}
		p.sim = sim
		fmt.Fprintln(cfg.Out, sim.Describe())
		p.wg.Go(func() {
			select {
			case err := <-sim.Failed():
				log.Error("simulator failed", "err", err)
			case <-p.stop:
			}
		})
	}
	// The heartbeats of every tenant's deployments: one process reports
	// them, the API's (the one that raises the missed-heartbeat alert).
	p.reg.MustRegister(telemetry.NewHeartbeats(p.heartbeats, cfg.Clock))
	hook, err := newAlertHook(cfg.AlertWebhook, cfg.Clock, log)
	if err != nil {
		return err
	}
	// A deployment whose config names no exchange is backtested (its drift
	// reference, its re-optimisations) on the candles the simulator replays.
	exchange := lifecycle.DefaultExchange
	if cfg.Sim != nil && cfg.Sim.Exchange != "" {
		exchange = cfg.Sim.Exchange
	}
	p.drift = newDriftMonitor(p.deploys, backtestReference(job, cfg.DataDir, cfg.Jobs.Market, exchange), cfg.Drift, p.telemetry, hook, cfg.Clock, log)
	deps := api.Deps{DB: p.db, Runs: store, Jobs: svc, Tenancy: p.auth, Registry: reg, DataDir: cfg.DataDir, Market: cfg.Jobs.Market, Log: log, Version: cfg.Version,
		Deployments: p.deploys, Venues: p.venues, Drift: p.drift, Accounts: keys, AccountTester: p.venues, Metrics: p.reg}
	sub := &submitter{} // the API's submissions, once it is built
	if reg != nil {
		if life, err = lifecycle.New(lifecycle.Config{DB: p.db, Deployments: p.deploys, Submitter: sub, Studies: svc.Studies(), Registry: reg,
			Runs: store, Exchange: exchange, Clock: cfg.Clock, Log: log}); err != nil {
			return err
		}
		deps.Lifecycle, p.life = life, life
	}
	srv, err := api.New(deps, cfg.API)
	if err != nil {
		return err
	}
	sub.Server = srv
	ops, err := webOps(p, store, reg, keys, log, cfg)
	if err != nil {
		return err
	}
	pages, err := mountWeb(srv, store, p.auth, reg, ops, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.Workers > 0 {
		if err := p.startJobs(); err != nil {
			ln.Close()
			return err
		}
	}
	hs := apiServer(telemetry.HTTP(srv.Handler(), cfg.TracerProvider), log)
	// The web app's event streams end when the server shuts down.
	hs.RegisterOnShutdown(pages.Close)
	p.api, p.apiAddr = hs, ln.Addr()
	p.wg.Go(func() {
		if err := hs.Serve(idleFirstListener{Listener: ln, idle: hs.IdleTimeout}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.failed <- fmt.Errorf("serve: %w", err)
		}
	})
	if err := p.startRunner(job); err != nil {
		return err
	}
	if err := p.startHeartbeatWatch(); err != nil {
		return err
	}
	p.startDriftWatch()
	url := p.url()
	log.Info("serving", "url", url, "database", p.db.Dialect().String(), "data", cfg.DataDir, "workers", cfg.Workers,
		"download", cfg.Jobs.Download != nil, "webhook", cfg.Jobs.Webhook.URL != "")
	fmt.Fprintf(cfg.Out, "TradAI %s serving on %s (open it in a browser; API docs: %s/docs)\n", cfg.Version, url, url)
	return nil
}

// webOps are the API's deployment, study and account operations the web
// app's pages call.
func webOps(p *Platform, store *runs.Store, reg *registry.Registry, keys *accounts.Store, log *slog.Logger, cfg Config) (web.Deps, error) {
	dep, err := api.NewDeployments(api.DeploymentsConfig{Store: p.deploys, Venues: p.venues, Registry: reg, Clock: cfg.Clock, Log: log,
		Operators: cfg.Operators, Users: p.auth, Promote: cfg.API.Promote, Drift: p.drift})
	if err != nil {
		return web.Deps{}, err
	}
	acc, err := api.NewAccounts(keys, p.venues, log)
	if err != nil {
		return web.Deps{}, err
	}
	return web.Deps{Deployments: dep, Studies: api.NewStudies(p.jobs, log), Accounts: acc,
		Operations: api.NewOperations(store, p.jobs, p.deploys, cfg.Operators, p.auth, cfg.Clock, log)}, nil
}

// mountWeb serves the web app on the API's handler, outside /api/, with
// the operations of ops.
func mountWeb(srv *api.Server, store *runs.Store, auth *tenancy.Store, reg *registry.Registry, ops web.Deps, cfg Config) (*web.Server, error) {
	doc, err := json.Marshal(srv.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("web app: the OpenAPI document: %w", err)
	}
	d := web.Deps{Auth: auth, Runs: store, Submit: srv, Limits: srv, Downloads: srv, WalkForwards: srv, DataDir: cfg.DataDir, Market: cfg.Jobs.Market, OpenAPI: doc, Log: cfg.Log, Version: cfg.Version,
		Deployments: ops.Deployments, Studies: ops.Studies, Accounts: ops.Accounts, Operations: ops.Operations}
	if reg != nil {
		d.Registry = reg
	}
	pages, err := web.New(d, web.Options{Clock: cfg.Clock, TrustForwardedProto: cfg.API.TrustForwardedFor})
	if err != nil {
		return nil, err
	}
	srv.Mount(pages.Handler())
	return pages, nil
}

// startJobs starts the workers and the maintenance loops. The queue runs
// until Shutdown, not until Start's context ends, so running jobs get
// DrainWorkers to finish.
func (p *Platform) startJobs() error {
	if err := p.jobs.Start(context.Background()); err != nil {
		return err
	}
	p.jobsOn = true
	return nil
}

// simURL is the base URL of the simulator the venue "sim" names: the
// in-process one, else Config.SimURL.
func (p *Platform) simURL() string {
	if p.sim != nil {
		return "http://" + p.sim.Addr().String()
	}
	return p.cfg.SimURL
}

// startRunner starts the runner tier's host when the Config asks for one.
// It runs until Shutdown, which releases its leases.
func (p *Platform) startRunner(job *deploymentJob) error {
	rc := p.cfg.Runner
	if rc == nil {
		return nil
	}
	h, err := runner.NewHost(runner.HostConfig{Name: rc.Name, Leases: p.deploys, Job: job.run, Max: rc.Max, TTL: rc.TTL, Heartbeat: rc.Heartbeat,
		Clock: p.cfg.Clock, Log: p.cfg.Log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.host, p.stopHost, p.hostDone = h, cancel, make(chan struct{})
	p.wg.Go(func() {
		defer close(p.hostDone)
		_ = h.Run(ctx)
		job.alerts.wg.Wait() // the risk alerts being sent (their retries end with ctx)
	})
	p.cfg.Log.Info("runner started", "name", rc.Name, "max", rc.Max, "sim", p.simURL())
	return nil
}

// startHeartbeatWatch raises the missed-heartbeat alert (heartbeatWatch)
// until Shutdown.
func (p *Platform) startHeartbeatWatch() error {
	w, err := newHeartbeatWatch(p.deploys, p.cfg.Clock, p.cfg.Log, p.cfg.AlertWebhook)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.wg.Go(func() {
		<-p.stop
		cancel()
	})
	p.wg.Go(func() { w.run(ctx) })
	return nil
}

// startDriftWatch recomputes every deployment's drift (driftMonitor)
// until Shutdown.
func (p *Platform) startDriftWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	p.wg.Go(func() {
		<-p.stop
		cancel()
	})
	p.wg.Go(func() { p.drift.run(ctx) })
}

// heartbeats lists the heartbeat of every deployment that should trade:
// those whose lease is not renewed by now are every one of them.
func (p *Platform) heartbeats(ctx context.Context) ([]telemetry.Heartbeat, error) {
	ds, err := p.deploys.Stale(ctx, p.cfg.Clock.Now().Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	out := make([]telemetry.Heartbeat, len(ds))
	for i, d := range ds {
		out[i] = telemetry.Heartbeat{Deployment: d.ID, Last: d.Heartbeat, Since: d.Created}
	}
	return out, nil
}

// startWorker starts a worker process: the metrics endpoint, then the
// workers.
func (p *Platform) startWorker(context.Context) error {
	cfg, log := p.cfg, p.cfg.Log
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("worker: metrics listener on %s: %w", cfg.MetricsAddr, err)
		}
		p.reg.MustRegister(append(p.jobs.Collectors(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))...)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}))
		// Probes for an orchestrator: alive while the process serves;
		// ready while the database answers.
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
		})
		mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			w.Header().Set("Content-Type", "application/json")
			var one int
			if err := p.db.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
				log.Warn("worker: not ready: the database does not answer", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"status":"unavailable","detail":"the database does not answer"}`+"\n")
				return
			}
			_, _ = io.WriteString(w, `{"status":"ready"}`+"\n")
		})
		p.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		p.wg.Go(func() {
			if err := p.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("worker: metrics listener", "err", err)
			}
		})
		log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	if cfg.Workers > 0 {
		if err := p.startJobs(); err != nil {
			return err
		}
	}
	if cfg.Workers == 0 {
		return nil
	}
	log.Info("worker started", "workers", cfg.Workers, "data", cfg.DataDir, "download", cfg.Jobs.Download != nil, "webhook", cfg.Jobs.Webhook.URL != "")
	return nil
}

// bootstrap creates the first user and writes its token to Home/token.
func (p *Platform) bootstrap(ctx context.Context) error {
	if p.cfg.Home == "" {
		_, _, err := p.auth.Bootstrap(ctx)
		return err
	}
	path, err := Bootstrap(ctx, p.auth, p.cfg.Home)
	if err != nil || path == "" {
		return err
	}
	p.tokenFile = path
	fmt.Fprintf(p.cfg.Out, "first start: created user admin (tenant default); its API token is in %s\n", path)
	return nil
}

// Bootstrap makes a database without users usable, as the server's first
// start does: it creates the user admin in the tenant default and writes
// its API token to home/token (0600), returning that file's path; with
// users already it does nothing and returns "".
func Bootstrap(ctx context.Context, auth *tenancy.Store, home string) (string, error) {
	token, created, err := auth.Bootstrap(ctx)
	if err != nil || !created {
		return "", err
	}
	path := filepath.Join(home, "token")
	if err := atomicfile.WriteMode(path, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, token+"\n")
		return err
	}); err != nil {
		return "", fmt.Errorf("write the first API token: %w", err)
	}
	return path, nil
}

// apiServer is the HTTP server of the API. A request's header must arrive
// within 10 s of its first byte and the whole request within a minute; a
// kept-alive connection may idle 2 minutes between requests, longer than
// clients keep idle connections (Go's 90 s), so clients close them first
// (it serves on an idleFirstListener for the same wait before the first
// request). Headers are bounded to 64 KiB.
func apiServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (p *Platform) url() string { return "http://" + p.apiAddr.String() }

// Ready is closed once Start has brought everything up.
func (p *Platform) Ready() <-chan struct{} { return p.ready }

// Failed delivers the error that stopped the API from serving; Shutdown
// is still due.
func (p *Platform) Failed() <-chan error { return p.failed }

// URL is the API's base URL, http://host:port (empty without an API or
// before Start).
func (p *Platform) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apiAddr == nil {
		return ""
	}
	return p.url()
}

// TokenFile is the file the first user's API token was written to when
// this start created that user (empty otherwise).
func (p *Platform) TokenFile() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenFile
}

// Tenancy is the platform's users, tenants and tokens (nil without an API
// or before Start).
func (p *Platform) Tenancy() *tenancy.Store {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auth
}

// Lifecycle is the strategy lifecycle of the API's process (nil without
// an API or a registry, or before Start). River's periodic job calls its
// Tick every minute of the wall clock; a test moving Config.Clock calls
// Tick itself after each move.
func (p *Platform) Lifecycle() *lifecycle.Service {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.life
}

// Shutdown stops the platform, each part bounded by ctx and its own drain
// time: the API stops accepting and drains its requests (DrainAPI), the
// simulator stops, running jobs get DrainWorkers to finish before they are
// cancelled (and re-queued) with the maintenance loops, the metrics
// endpoint closes, then the database if the Platform opened it. It waits
// for every goroutine it started and returns what failed on the way (each
// also logged); it does nothing a second time.
func (p *Platform) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.shut {
		return nil
	}
	if p.api != nil {
		p.cfg.Log.Info("shutting down")
	} else {
		p.cfg.Log.Info("worker stopping")
	}
	return p.shutdown(ctx)
}

func (p *Platform) shutdown(ctx context.Context) error {
	p.shut = true
	log := p.cfg.Log
	var errs []error
	if p.api != nil {
		sctx, cancel := context.WithTimeout(ctx, p.cfg.DrainAPI)
		if err := p.api.Shutdown(sctx); err != nil {
			log.Warn("API shutdown", "err", err)
			p.api.Close()
			errs = append(errs, fmt.Errorf("stop the API: %w", err))
		}
		cancel()
	}
	if p.stopHost != nil {
		// The runner tier stops first (its jobs end, its leases are
		// released: another runner takes the deployments at once), while
		// the simulator still answers.
		p.stopHost()
		<-p.hostDone
	}
	if p.sim != nil {
		if err := p.sim.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if p.jobsOn {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.DrainWorkers)
		if err := p.jobs.Stop(wctx); err != nil {
			log.Warn("workers shutdown", "err", err)
			errs = append(errs, err)
		}
		cancel()
	}
	if p.metrics != nil {
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := p.metrics.Shutdown(mctx); err != nil {
			p.metrics.Close()
		}
		cancel()
	}
	close(p.stop)
	p.wg.Wait()
	if p.wasm != nil {
		if err := p.wasm.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close the wasm runtime: %w", err))
		}
	}
	if p.ownDB && p.db != nil {
		if err := p.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the database: %w", err))
		}
	}
	if p.tracing != nil {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := p.tracing.Shutdown(tctx); err != nil {
			log.Warn("traces not exported", "err", err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// submitter is the API server as the lifecycle's Submitter: the lifecycle
// is built before the server that serves it, which is set here next.
type submitter struct{ *api.Server }
