package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/jobs/backtestjob"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/objstore/s3store"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sandbox"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/strategyref"
)

// platformOpts are the flags the server and the workers share.
type platformOpts struct {
	dbOpts
	datadir       string
	workers       int
	allowExternal bool
	// sandboxMissing is what a strategy sandbox does on a host without
	// Landlock: refuse or warn.
	sandboxMissing string
	orphanAfter    time.Duration
	// download lets runs fetch missing candles from the exchange.
	download bool
	exchange exchangeFlags
	// webhookURL receives run events signed with the secret read from
	// webhookSecretFile or $TRADAI_WEBHOOK_SECRET.
	webhookURL, webhookSecretFile, publicURL string
	// venueURLs are the Binance-compatible APIs deployments may trade on
	// besides the simulator.
	venueURLs []string
	// hyperliquidURL is the API the venue "hyperliquid" names.
	hyperliquidURL string
	// kekFile holds the key-encryption key of the venue accounts (else
	// $TRADAI_KEK).
	kekFile string
	// artifactStore is the URL of the object store the runs' artifacts go
	// to (empty: the database); artifactCreds an AWS credentials file for
	// it (else $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY).
	artifactStore, artifactCreds string
	// dataStore is the bucket the data folder is a cache of.
	dataStore dataStoreFlags
}

// envWebhookSecret holds the webhook secret when no file is given.
const envWebhookSecret = "TRADAI_WEBHOOK_SECRET"

func (o *platformOpts) addFlags(cmd *cobra.Command, defaultWorkers int, workersHelp string) {
	o.dbOpts.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.datadir, "datadir", config.DefaultDatadir, datadirHelp)
	f.IntVar(&o.workers, "workers", defaultWorkers, workersHelp)
	f.BoolVar(&o.allowExternal, "allow-external-strategies", false, "let tenants run Python files and exec: programs, each in the process sandbox (docs/security.md)")
	f.StringVar(&o.sandboxMissing, "sandbox-missing", string(sandbox.Refuse), "when the kernel lacks Landlock or seccomp, or a delegated cgroup v2 cannot be set up: refuse to run tenant strategies, or warn and run them with the other layers (refuse|warn)")
	f.DurationVar(&o.orphanAfter, "orphan-after", 30*time.Second, "re-run a running backtest whose worker sent no heartbeat for this long")
	f.BoolVar(&o.download, "download", false, "let runs download missing market data from Binance's public API (off: a run whose data is missing fails, saying what to download)")
	f.StringVar(&o.exchange.spotURL, "download-base-url", download.DefaultBinanceSpotURL, "base URL of Binance's spot API for --download")
	f.StringVar(&o.exchange.futuresURL, "download-futures-base-url", download.DefaultBinanceFuturesURL, "base URL of Binance's USD-M futures API for --download")
	f.StringVar(&o.webhookURL, "webhook-url", "", "POST a signed JSON event to this URL whenever a run completes, fails, is dead-lettered or cancelled")
	f.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook signing secret (default $"+envWebhookSecret+")")
	f.StringSliceVar(&o.venueURLs, "venue-url", nil, `base URLs of Binance-compatible APIs (other simulators on this database) deployments may name as their venue besides "sim"; repeat the flag or separate with commas (none: sim only)`)
	f.StringVar(&o.hyperliquidURL, "hyperliquid-url", "", `the API the venue "hyperliquid" names (empty: mainnet, https://api.hyperliquid.xyz; its testnet: https://api.hyperliquid-testnet.xyz; actions are signed for mainnet at the mainnet URL only)`)
	f.StringVar(&o.kekFile, "kek-file", "", "file holding the key-encryption key of the tenants' venue accounts (default $"+secrets.EnvKEK+"; none: accounts cannot be added or traded with; docs/operations.md)")
	f.StringVar(&o.artifactStore, "artifact-store", "", "where runs' artifacts (result JSON, reports) go: empty for the database, or an S3-compatible bucket, s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&secure=false (every server and worker of a platform names the same; docs/operations.md, Storage)")
	f.StringVar(&o.artifactCreds, "artifact-store-credentials", "", "AWS shared credentials file holding the --artifact-store keys (profile $AWS_PROFILE, else default; none: $"+s3store.EnvAccessKey+" and $"+s3store.EnvSecretKey+")")
	o.dataStore.addFlags(f)
	f.StringVar(&o.publicURL, "public-url", "", "the API's URL as webhook receivers reach it, for absolute links in events (e.g. https://tradai.example.com)")
}

// webhook returns the webhook settings the flags name.
func (o *platformOpts) webhook() (jobs.WebhookOptions, error) {
	if o.webhookURL == "" {
		if o.webhookSecretFile != "" {
			return jobs.WebhookOptions{}, errors.New("--webhook-secret-file needs --webhook-url")
		}
		return jobs.WebhookOptions{}, nil
	}
	secret := os.Getenv(envWebhookSecret)
	if o.webhookSecretFile != "" {
		b, err := os.ReadFile(o.webhookSecretFile)
		if err != nil {
			return jobs.WebhookOptions{}, fmt.Errorf("read the webhook secret: %w", err)
		}
		secret = string(b)
	}
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return jobs.WebhookOptions{}, fmt.Errorf("--webhook-url needs a signing secret: --webhook-secret-file FILE or $%s (not empty)", envWebhookSecret)
	}
	return jobs.WebhookOptions{URL: o.webhookURL, Secret: []byte(secret), PublicURL: o.publicURL}, nil
}

// fetcher returns the downloader runs use with --download, else nil: it
// writes to the data folder data opened with mopts.
func (o *platformOpts) fetcher(data string, mopts market.Options, log *slog.Logger) (backtestjob.Fetcher, error) {
	if !o.download {
		return nil, nil
	}
	store, err := market.OpenWith(data, log, mopts)
	if err != nil {
		return nil, err
	}
	src, err := download.NewBinance(nil, clock.Real(), log, download.BinanceOptions{SpotURL: o.exchange.spotURL, FuturesURL: o.exchange.futuresURL})
	if err != nil {
		return nil, err
	}
	return download.New(store, src, download.Options{Log: log}), nil
}

// kek is the venue accounts' key-encryption key the flags name, or nil.
// Read from the environment, the variable is removed from it, so no
// process started from here inherits it.
func (o *platformOpts) kek(log *slog.Logger) (*secrets.KEK, error) {
	k, err := secrets.LoadKEK(o.kekFile, os.Getenv)
	if errors.Is(err, secrets.ErrNoKEK) {
		log.Info("no key-encryption key (--kek-file or $" + secrets.EnvKEK + "): venue accounts can be listed and removed, not added or traded with")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if o.kekFile == "" {
		_ = os.Unsetenv(secrets.EnvKEK)
	}
	log.Info("key-encryption key loaded", "kek", k.String())
	return k, nil
}

// config is the platform the flags describe (without an API address:
// serve adds it), with the home and data folders resolved.
func (o *platformOpts) config() (platform.Config, error) {
	if o.orphanAfter < time.Second {
		return platform.Config{}, fmt.Errorf("--orphan-after %s: must be at least 1s", o.orphanAfter)
	}
	wh, err := o.webhook()
	if err != nil {
		return platform.Config{}, err
	}
	home, err := homeDir(o.home)
	if err != nil {
		return platform.Config{}, err
	}
	data, err := filepath.Abs(o.datadir)
	if err != nil {
		return platform.Config{}, fmt.Errorf("--datadir %s: %w", o.datadir, err)
	}
	u, err := o.url()
	if err != nil {
		return platform.Config{}, err
	}
	log, err := o.logger()
	if err != nil {
		return platform.Config{}, err
	}
	mopts, err := o.dataStore.options(log)
	if err != nil {
		return platform.Config{}, err
	}
	fetch, err := o.fetcher(data, mopts, log)
	if err != nil {
		return platform.Config{}, err
	}
	missing, err := sandbox.ParseMissing(o.sandboxMissing)
	if err != nil {
		return platform.Config{}, fmt.Errorf("--%w", err)
	}
	if o.allowExternal {
		log.Info("tenant strategies run in the process sandbox", "layers", sandbox.Probe().String(), "sandbox-missing", missing)
	}
	kek, err := o.kek(log)
	if err != nil {
		return platform.Config{}, err
	}
	artifacts, err := o.artifacts(log)
	if err != nil {
		return platform.Config{}, err
	}
	return platform.Config{
		ArtifactStore: artifacts,
		Home:          home, DataDir: data, Database: u, Workers: o.workers, AllowExternalStrategies: o.allowExternal, KEK: kek,
		Jobs: jobs.Options{
			StaleAfter:  o.orphanAfter,
			Heartbeat:   min(5*time.Second, o.orphanAfter/4),
			RescueEvery: min(10*time.Second, o.orphanAfter/3),
			// Every tenant strategy that is a program runs sandboxed:
			// no flag turns that off.
			Strategies: strategyref.Options{External: external.Options{Log: log, Sandbox: &sandbox.Config{Missing: missing}}},
			Download:   fetch,
			Market:     mopts,
			Webhook:    wh,
		},
		VenueURLs:      o.venueURLs,
		HyperliquidURL: o.hyperliquidURL,
		Log:            log, Version: version,
	}, nil
}

// artifacts is the artifact store --artifact-store names (nil: the
// database).
func (o *platformOpts) artifacts(log *slog.Logger) (objstore.Store, error) {
	if o.artifactStore == "" {
		if o.artifactCreds != "" {
			return nil, errors.New("--artifact-store-credentials is given without --artifact-store")
		}
		return nil, nil
	}
	st, err := openBucket("artifact-store", o.artifactStore, o.artifactCreds)
	if err != nil {
		return nil, err
	}
	log.Info("run artifacts go to an object store", "store", st.Location())
	return st, nil
}

// promoteRules are the promotion minimums the flags give (0: none).
func promoteRules(age time.Duration, trades int) deploy.PromoteRules {
	r := deploy.PromoteRules{MinAge: age, MinTrades: trades}
	if age <= 0 {
		r.MinAge = -1
	}
	if trades <= 0 {
		r.MinTrades = -1
	}
	return r
}

// run starts the platform cfg describes, prints to out what it tells the
// operator, runs it until ctx ends (or the API fails) and shuts it down.
// A shutdown that did not go cleanly is logged and, with strict, the
// command's error.
func run(cmd *cobra.Command, cfg platform.Config, strict bool) error {
	ctx := cmd.Context()
	cfg.Out = cmd.OutOrStdout()
	// The root command's --otlp-endpoint.
	cfg.OTLPEndpoint, _ = cmd.Flags().GetString("otlp-endpoint")
	p, err := platform.New(cfg)
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-p.Failed():
	}
	if err := p.Shutdown(context.WithoutCancel(ctx)); err != nil && strict && runErr == nil {
		runErr = err
	}
	return runErr
}

func newServeCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &platformOpts{dbOpts: dbOpts{logger: logger}}
	var (
		addr        string
		rateLimit   float64
		maxRequests int
		trustXFF    bool
		driftTh     drift.Thresholds
		// operators see the operations view, retry any run and may use
		// the platform-wide kill switch.
		operators     []string
		simOn         bool
		simf          simFlags
		runnerMax     int
		alertHook     string
		promoteAge    time.Duration
		promoteTrades int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the platform: HTTP API, backtest workers and maintenance in one process",
		Long: `serve runs TradAI's API, job workers and maintenance in one process.

By default the state lives under one home folder (--home, $TRADAI_HOME,
else ~/.tradai): the SQLite database tradai.db, runs and their artifacts
too. Market data is read from --datadir, by the same rule as every other
command (default user_data/data; see tradai --help). With --database postgres://… the server shares its
queue with any number of "tradai worker" processes on other machines.

On first start, with no users yet, it creates the user admin (tenant
default) and writes its API token to <home>/token, which the CLI's --remote
commands read when --token and $TRADAI_TOKEN are unset.

With --data-store the data folder is a cache of a bucket: runs fetch the
series they read from it. A run whose market data is missing (from both)
fails, naming the series and the range to download; with --download the
workers fetch missing candles from Binance's public API themselves. The process is also a deployment runner
(tradai deploy; up to --runner-max deployments): with --sim the venue
"sim" is the simulator it runs. With --webhook-url every finished run is
POSTed there as a JSON event signed with HMAC-SHA256 (secret from
--webhook-secret-file or $TRADAI_WEBHOOK_SECRET); see docs/operations.md.`,
		Example: `  tradai serve --datadir examples/data
  tradai serve --addr :8080 --database postgres://tradai@db/tradai --workers 4
  TRADAI_WEBHOOK_SECRET=… tradai serve --download --webhook-url https://hooks.example.com/tradai`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			if simOn {
				sc, err := simf.serverConfig()
				if err != nil {
					return err
				}
				cfg.Sim = &sc
			}
			cfg.Addr, cfg.AlertWebhook, cfg.Drift = addr, alertHook, driftTh
			if runnerMax > 0 {
				cfg.Runner = &platform.RunnerConfig{Max: runnerMax}
			}
			cfg.API = api.Options{RateLimit: rateLimit, MaxInFlight: maxRequests, TrustForwardedFor: trustXFF,
				Promote: promoteRules(promoteAge, promoteTrades)}
			cfg.Operators = operators
			return run(cmd, cfg, false)
		},
	}
	o.addFlags(cmd, 2, "backtests this process runs at once (0: none, API only)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; :8080 for every interface)")
	cmd.Flags().DurationVar(&promoteAge, "promote-min-age", deploy.DefaultPromoteMinAge, "how long a paper deployment must have run before it is promoted to live (0: no minimum)")
	cmd.Flags().IntVar(&promoteTrades, "promote-min-trades", deploy.DefaultPromoteMinTrades, "how many trades a paper deployment must have closed before it is promoted to live (0: no minimum)")
	cmd.Flags().Float64Var(&rateLimit, "rate-limit", 50, "API requests per second per user (bursts of twice that)")
	cmd.Flags().BoolVar(&trustXFF, "trust-forwarded-for", false, "behind a reverse proxy: take the client address (for limiting failed authentication) from the last X-Forwarded-For entry, and X-Forwarded-Proto: https as HTTPS (the web app's session cookie is then Secure); never without a proxy that sets them")
	cmd.Flags().IntVar(&maxRequests, "max-requests", 64, "API requests served at once; more are answered 503 overloaded with Retry-After at once")
	cmd.Flags().StringSliceVar(&operators, "operator", nil, "users (names or ids) who are the server's operators: they see the operations page and API, may retry any tenant's run and stop every tenant's deployments at once (deploy stop --all --platform); repeat the flag or separate with commas (none: nobody)")
	cmd.Flags().IntVar(&runnerMax, "runner-max", 100, "deployments this process trades at once, as a runner (0: none, leave them to tradai runner processes)")
	cmd.Flags().BoolVar(&simOn, "sim", false, "also run the paper exchange simulator on --sim-addr, with the --sim-* flags (those of 'tradai sim')")
	simf.addFlags(cmd.Flags(), "sim-")
	cmd.Flags().StringVar(&alertHook, "alert-webhook", "", alertWebhookHelp)
	cmd.Flags().Float64Var(&driftTh.PSI, "drift-psi", drift.Defaults.PSI, "a deployment's drift alarm: the population stability index at which a feature (returns, holding time, signal frequency) drifted from its backtest")
	cmd.Flags().Float64Var(&driftTh.KSAlpha, "drift-ks-p", drift.Defaults.KSAlpha, "a deployment's drift alarm: the Kolmogorov–Smirnov p-value below which a feature drifted")
	cmd.Flags().IntVar(&driftTh.MinTrades, "drift-min-trades", drift.Defaults.MinTrades, "closed live trades a deployment needs before a drift verdict")
	return cmd
}

func newWorkerCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &platformOpts{dbOpts: dbOpts{logger: logger}}
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "worker --database postgres://…",
		Short: "Run backtest workers that take jobs from a shared PostgreSQL queue",
		Long: `worker runs backtests from the job queue of a PostgreSQL database shared with
"tradai serve" and other workers. Start as many as you like, on any machine
that sees the same market data (--datadir: a shared volume, or a copy kept
in sync); run artifacts go to the database. A worker killed mid-run is noticed by the others within a
minute and its run is re-run. SIGINT/SIGTERM stop it gracefully: running
backtests get 20 seconds to finish and are re-queued otherwise. With
--metrics-addr it serves its Prometheus metrics (queue wait, step and run
durations, trials, Go runtime, process; docs/operations.md lists them) at
/metrics there, and the probes /health (alive) and /ready (its database
answers).`,
		Example: `  tradai worker --database postgres://tradai@db/tradai --datadir /srv/tradai/data --workers 4 --metrics-addr :9464`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.needShared("worker", "the workers"); err != nil {
				return err
			}
			if o.workers < 1 {
				return errors.New("worker: --workers must be at least 1")
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			cfg.MetricsAddr = metricsAddr
			return run(cmd, cfg, true)
		},
	}
	o.addFlags(cmd, 2, "backtests this process runs at once (at least 1)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, and the probes /health and /ready (e.g. :9464; off when empty)")
	return cmd
}

func newRunnerCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &platformOpts{dbOpts: dbOpts{logger: logger}}
	var (
		rc                    platform.RunnerConfig
		simURL, simAdminToken string
		metricsAddr           string
		alertHook             string
	)
	cmd := &cobra.Command{
		Use:   "runner --database postgres://…",
		Short: "Run deployments (tradai deploy) taken from a shared PostgreSQL database",
		Long: `runner trades deployments (tradai deploy) held in a PostgreSQL database
shared with "tradai serve" and other runners. Each deployment is held by one
runner at a time through a lease renewed every 10 s; a runner that stops
renewing (killed, cut off) loses its deployments within 30 s to another
runner, which reconciles their orders with the venue and goes on.
SIGINT/SIGTERM stop it gracefully: its deployments' runners stop and their
leases are released, so other runners take them at once.

The venue "sim" is the simulator at --sim-url (a tradai serve --sim or
tradai sim on the same database). Registry versions run in the process
sandbox, as the backtest workers run them. With --metrics-addr it serves
its Prometheus metrics (ticks, tick latency, venue requests and weight,
breakers) at /metrics there, and the probes /health and /ready.`,
		Example: `  tradai runner --database postgres://tradai@db/tradai --sim-url http://sim:8090 --max 200`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.needShared("runner", "the deployments"); err != nil {
				return err
			}
			if rc.Max < 1 {
				return errors.New("runner: --max must be at least 1")
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			if rc.Heartbeat >= rc.TTL {
				return fmt.Errorf("runner: --heartbeat %v must be shorter than --lease %v", rc.Heartbeat, rc.TTL)
			}
			cfg.Runner, cfg.SimURL, cfg.SimAdminToken, cfg.MetricsAddr, cfg.AlertWebhook = &rc, simURL, simAdminToken, metricsAddr, alertHook
			return run(cmd, cfg, true)
		},
	}
	o.addFlags(cmd, 0, "backtests this process runs too (0: deployments only)")
	f := cmd.Flags()
	f.StringVar(&rc.Name, "name", "", "this runner's name in the leases (default host name and process id; unique per process)")
	f.IntVar(&rc.Max, "max", 100, "deployments this runner trades at once")
	f.StringVar(&simURL, "sim-url", "", `the simulator the venue "sim" names (tradai serve --sim's --sim-addr as http://host:port)`)
	f.StringVar(&simAdminToken, "sim-admin-token", os.Getenv("TRADAI_SIM_ADMIN_TOKEN"), "that simulator's admin token (default $TRADAI_SIM_ADMIN_TOKEN)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, and the probes /health and /ready (off when empty)")
	f.DurationVar(&rc.Heartbeat, "heartbeat", 10*time.Second, "how often the runner renews its deployments' leases and looks for new ones")
	f.DurationVar(&rc.TTL, "lease", 30*time.Second, "a lease's length: a runner that stops renewing loses its deployments to another runner this long after its last heartbeat")
	f.StringVar(&alertHook, "alert-webhook", "", alertWebhookHelp)
	return cmd
}

const alertWebhookHelp = "POST JSON alerts to this URL, with retries: a deployment's heartbeat stopped for 3 intervals (30 s), once per episode (docs/deployments.md); a risk breach of a deployment or an account, and orders refused by a limit at most hourly per limit (docs/live.md)"
