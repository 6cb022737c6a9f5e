package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

// platformOpts are the flags the server and the workers share.
type platformOpts struct {
	dbOpts
	datadir       string
	workers       int
	allowExternal bool
	orphanAfter   time.Duration
	// download lets runs fetch missing candles from the exchange.
	download bool
	exchange exchangeFlags
	// webhookURL receives run events signed with the secret read from
	// webhookSecretFile or $TRADAI_WEBHOOK_SECRET.
	webhookURL, webhookSecretFile, publicURL string
}

// envWebhookSecret holds the webhook secret when no file is given.
const envWebhookSecret = "TRADAI_WEBHOOK_SECRET"

func (o *platformOpts) addFlags(cmd *cobra.Command, defaultWorkers int) {
	o.dbOpts.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.datadir, "datadir", "", "market data folder backtests read (default <home>/data)")
	f.IntVar(&o.workers, "workers", defaultWorkers, "backtests this process runs at once (0: none, API only)")
	f.BoolVar(&o.allowExternal, "allow-external-strategies", false, "let tenants run Python files and exec: programs (unsandboxed: trusted teams only)")
	f.DurationVar(&o.orphanAfter, "orphan-after", 30*time.Second, "re-run a running backtest whose worker sent no heartbeat for this long")
	f.BoolVar(&o.download, "download", false, "let runs download missing market data from Binance's public API (off: a run whose data is missing fails, saying what to download)")
	f.StringVar(&o.exchange.spotURL, "download-base-url", download.DefaultBinanceSpotURL, "base URL of Binance's spot API for --download")
	f.StringVar(&o.exchange.futuresURL, "download-futures-base-url", download.DefaultBinanceFuturesURL, "base URL of Binance's USD-M futures API for --download")
	f.StringVar(&o.webhookURL, "webhook-url", "", "POST a signed JSON event to this URL whenever a run completes, fails, is dead-lettered or cancelled")
	f.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook signing secret (default $"+envWebhookSecret+")")
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

// fetcher returns the downloader runs use with --download, else nil.
func (o *platformOpts) fetcher(data string, log *slog.Logger) (jobs.Fetcher, error) {
	if !o.download {
		return nil, nil
	}
	store, err := market.Open(data, log)
	if err != nil {
		return nil, err
	}
	src := download.NewBinance(nil, download.SystemClock{}, log, download.BinanceOptions{SpotURL: o.exchange.spotURL, FuturesURL: o.exchange.futuresURL})
	return download.New(store, src, download.Options{Log: log}), nil
}

// folders resolves and creates the home and market data folders.
func (o *platformOpts) folders() (home, data string, err error) {
	if home, err = homeDir(o.home); err != nil {
		return "", "", err
	}
	data = o.datadir
	if data == "" {
		data = filepath.Join(home, "data")
	}
	// The home folder holds the database and the first API token: this
	// user's alone. Market data is not secret.
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", fmt.Errorf("create %s: %w", home, err)
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", "", fmt.Errorf("create %s: %w", data, err)
	}
	return home, data, nil
}

// jobService opens the database (migrating it) and builds the job service.
func (o *platformOpts) jobService(ctx context.Context, data string) (*db.DB, *runs.Store, *jobs.Service, *slog.Logger, error) {
	if o.orphanAfter < time.Second {
		return nil, nil, nil, nil, fmt.Errorf("--orphan-after %s: must be at least 1s", o.orphanAfter)
	}
	wh, err := o.webhook()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	d, log, err := o.open(ctx, true)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fetch, err := o.fetcher(data, log)
	if err != nil {
		d.Close()
		return nil, nil, nil, nil, err
	}
	store := runs.New(d, time.Now, 3, log)
	svc, err := jobs.New(d, store, data, log, jobs.Options{
		Workers:                 max(o.workers, 1),
		MaxAttempts:             3,
		AllowExternalStrategies: o.allowExternal,
		StaleAfter:              o.orphanAfter,
		Heartbeat:               min(5*time.Second, o.orphanAfter/4),
		RescueEvery:             min(10*time.Second, o.orphanAfter/3),
		Strategies:              strategyref.Options{External: external.Options{Log: log}},
		Download:                fetch,
		Webhook:                 wh,
	})
	if err != nil {
		d.Close()
		return nil, nil, nil, nil, err
	}
	return d, store, svc, log, nil
}

func newServeCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &platformOpts{dbOpts: dbOpts{logger: logger}}
	var (
		addr        string
		rateLimit   float64
		maxRequests int
		trustXFF    bool
		simOn       bool
		simf        simFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the platform: HTTP API, backtest workers and maintenance in one process",
		Long: `serve runs TradAI's API, job workers and maintenance in one process.

By default everything lives under one home folder (--home, $TRADAI_HOME,
else ~/.tradai): the SQLite database tradai.db (runs and their artifacts
too) and market data in data/. With --database postgres://… the server shares its
queue with any number of "tradai worker" processes on other machines.

On first start, with no users yet, it creates the user admin (tenant
default) and writes its API token to <home>/token, which the CLI's --remote
commands read when --token and $TRADAI_TOKEN are unset.

A run whose market data is missing fails, naming the series and the range
to download; with --download the workers fetch missing candles from
Binance's public API themselves. With --webhook-url every finished run is
POSTed there as a JSON event signed with HMAC-SHA256 (secret from
--webhook-secret-file or $TRADAI_WEBHOOK_SECRET); see docs/operations.md.`,
		Example: `  tradai serve --datadir examples/data
  tradai serve --addr :8080 --database postgres://tradai@db/tradai --workers 4
  TRADAI_WEBHOOK_SECRET=… tradai serve --download --webhook-url https://hooks.example.com/tradai`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			home, data, err := o.folders()
			if err != nil {
				return err
			}
			d, store, svc, log, err := o.jobService(ctx, data)
			if err != nil {
				return err
			}
			defer d.Close()
			auth := tenancy.New(d, time.Now, log)
			if err := bootstrap(ctx, auth, home, cmd.OutOrStdout()); err != nil {
				return err
			}
			stopSim, err := simf.serveSim(ctx, simOn, d, data, log, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer stopSim()
			srv, err := api.New(api.Deps{DB: d, Runs: store, Jobs: svc, Tenancy: auth, DataDir: data, Log: log, Version: version},
				api.Options{RateLimit: rateLimit, MaxInFlight: maxRequests, TrustForwardedFor: trustXFF, AllowExternalStrategies: o.allowExternal})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			if o.workers > 0 {
				if err := svc.Start(ctx); err != nil {
					ln.Close()
					return err
				}
			}
			hs := apiServer(srv.Handler(), log)
			url := "http://" + ln.Addr().String()
			log.Info("serving", "url", url, "database", d.Dialect().String(), "data", data, "workers", o.workers,
				"download", o.download, "webhook", o.webhookURL != "")
			fmt.Fprintf(cmd.OutOrStdout(), "TradAI %s serving on %s (API docs: %s/docs)\n", version, url, url)
			return serveUntilDone(ctx, hs, idleFirstListener{Listener: ln, idle: hs.IdleTimeout}, svc, log)
		},
	}
	o.addFlags(cmd, 2)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; :8080 for every interface)")
	cmd.Flags().Float64Var(&rateLimit, "rate-limit", 50, "API requests per second per user (bursts of twice that)")
	cmd.Flags().BoolVar(&trustXFF, "trust-forwarded-for", false, "behind a reverse proxy: take the client address (for limiting failed authentication) from the last X-Forwarded-For entry; never without a proxy that sets it")
	cmd.Flags().IntVar(&maxRequests, "max-requests", 64, "API requests served at once; more are answered 503 overloaded with Retry-After at once")
	cmd.Flags().BoolVar(&simOn, "sim", false, "also run the paper exchange simulator on --sim-addr, with the --sim-* flags (those of 'tradai sim')")
	simf.addFlags(cmd.Flags(), "sim-")
	return cmd
}

// apiServer is the HTTP server of the API. A request's header must arrive
// within 10 s of its first byte and the whole request within a minute; a
// kept-alive connection may idle 2 minutes between requests, longer than
// clients keep idle connections (Go's 90 s), so clients close them first
// (serve it on an idleFirstListener for the same wait before the first
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

// bootstrap creates the first user and writes its token under home.
func bootstrap(ctx context.Context, auth *tenancy.Store, home string, out io.Writer) error {
	token, created, err := auth.Bootstrap(ctx)
	if err != nil || !created {
		return err
	}
	path := filepath.Join(home, "token")
	if err := atomicfile.WriteMode(path, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, token+"\n")
		return err
	}); err != nil {
		return fmt.Errorf("write the first API token: %w", err)
	}
	fmt.Fprintf(out, "first start: created user admin (tenant default); its API token is in %s\n", path)
	return nil
}

// serveUntilDone serves until ctx ends, then shuts the API down, lets
// running backtests finish for a while and re-queues the rest.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener, svc *jobs.Service, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("API shutdown", "err", err)
	}
	wctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel2()
	if err := svc.Stop(wctx); err != nil {
		log.Warn("workers shutdown", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
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
--metrics-addr it serves its Prometheus metrics (step and run durations,
Go runtime, process) at /metrics there.`,
		Example: `  tradai worker --database postgres://tradai@db/tradai --datadir /srv/tradai/data --workers 4 --metrics-addr :9464`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			u, err := o.url()
			if err != nil {
				return err
			}
			if !db.IsPostgres(u) {
				return errors.New("worker: needs a shared PostgreSQL database (--database postgres://… or $TRADAI_DATABASE); with SQLite, tradai serve runs the workers itself")
			}
			if o.workers < 1 {
				return errors.New("worker: --workers must be at least 1")
			}
			_, data, err := o.folders()
			if err != nil {
				return err
			}
			d, _, svc, log, err := o.jobService(ctx, data)
			if err != nil {
				return err
			}
			defer d.Close()
			if metricsAddr != "" {
				ln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					return fmt.Errorf("worker: metrics listener on %s: %w", metricsAddr, err)
				}
				reg := prometheus.NewRegistry()
				reg.MustRegister(append(svc.Collectors(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))...)
				mux := http.NewServeMux()
				mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
				metrics := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go func() {
					if err := metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						log.Error("worker: metrics listener", "err", err)
					}
				}()
				defer func() {
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					defer cancel()
					metrics.Shutdown(sctx)
				}()
				log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
			}
			if err := svc.Start(ctx); err != nil {
				return err
			}
			log.Info("worker started", "workers", o.workers, "data", data, "download", o.download, "webhook", o.webhookURL != "")
			<-ctx.Done()
			log.Info("worker stopping")
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
			defer cancel()
			return svc.Stop(wctx)
		},
	}
	o.addFlags(cmd, 2)
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. :9464; off when empty)")
	return cmd
}
