// Package clienttest starts a real TradAI API server in-process for tests
// of API clients: the platform server (internal/platform) on an SQLite
// database in a temporary folder (or a given database), with its workers
// over the repository's example market data, the first user's token, and
// the API on 127.0.0.1 at a free port. Nothing of the server is faked.
package clienttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

// Options shape the server; the zero value is a server like "tradai serve
// --datadir examples/data" with fast queue polling.
type Options struct {
	// RateLimit and RateBurst are the per-user rate limit (api.Options).
	RateLimit float64
	RateBurst int
	// NoWorkers leaves the job workers stopped: submitted runs stay queued.
	NoWorkers bool
	// AllowExternal lets runs use exec: programs (see SlowStrategy).
	AllowExternal bool
	// MaxBody is the API's request body limit (api.Options; 0: default).
	MaxBody int64
	// MaxInFlight is how many API requests are served at once
	// (api.Options; 0: default).
	MaxInFlight int
	// DB, when set, is the (migrated) database to serve from instead of a
	// new SQLite file; the caller closes it.
	DB *db.DB
	// Sim runs the simulator beside the API ("tradai serve --sim"): ETH/BTC
	// and LTC/BTC 5m candles of the example data, paused at the start of
	// the replay, on a free port. It is the venue "sim" of deployments.
	Sim bool
	// DataDir is the market data folder (default: ExampleData).
	DataDir string
	// KEK is the venue accounts' key-encryption key (nil: none).
	KEK *secrets.KEK
	// Operators and Promote are the API's (api.Options); Operator makes
	// the first user (Server.Token's) one of the server's operators too
	// (tradai serve --operator).
	Operators []string
	Promote   deploy.PromoteRules
	// DownloadURL, when set, is a Binance-compatible API (a test's fake)
	// the workers download missing candles and download runs from
	// ("tradai serve --download --download-base-url"); the market data
	// folder is then a new empty one unless DataDir is set.
	DownloadURL string
	// Runner runs the deployment runner tier in the server, as "tradai
	// serve" does (Name "test-runner").
	Runner bool
	// Clock is every part's clock (nil: the system clock). With Sim, the
	// simulator then replays the candles at the clock's time from its Now
	// on (speed 1), so a test moves the market, and the runners' ticks, by
	// moving its clock.
	Clock    clock.Clock
	Operator bool
}

// Server is a running API server.
type Server struct {
	// URL is the API's base URL (http://127.0.0.1:port).
	URL string
	// Token is the first user's API token, also written to Home/token as
	// "tradai serve" writes it.
	Token string
	// Home is a TradAI home folder holding that token file.
	Home string
	// DataDir is the market data the server's backtests read.
	DataDir string

	auth *tenancy.Store
}

// ExampleData is the repository's examples/data folder.
func ExampleData() string { return repoPath("examples", "data") }

// ExampleConfig is the repository's examples/backtest.json.
func ExampleConfig() string { return repoPath("examples", "backtest.json") }

// repoPath is the path of elem in the repository: below the nearest
// folder holding a go.mod, from the working directory up (a test runs in
// its package's folder). It does not ask the compiled file names, which
// a -trimpath build leaves without the checkout's folder.
func repoPath(elem ...string) string {
	dir, err := os.Getwd()
	if err != nil {
		panic(fmt.Sprintf("clienttest: the working directory: %v", err))
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir}, elem...)...)
		}
		up := filepath.Dir(dir)
		if up == dir {
			panic("clienttest: no go.mod in the working directory or above it")
		}
		dir = up
	}
}

// Config is examples/backtest.json as a submission's config (without its
// datadir, which a server ignores), changed by the change functions.
func Config(t testing.TB, change ...func(map[string]any)) map[string]any {
	t.Helper()
	b, err := os.ReadFile(ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "datadir")
	for _, c := range change {
		c(m)
	}
	return m
}

// Start starts a server that stops when the test ends: an
// internal/platform Platform, as "tradai serve" runs it.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	// The registry's version folders are read-only: let the test's
	// cleanup remove them.
	t.Cleanup(func() {
		filepath.WalkDir(filepath.Join(home, "strategies"), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	data := ExampleData()
	if o.DataDir != "" {
		data = o.DataDir
	} else if o.DownloadURL != "" {
		data = t.TempDir()
	}
	workers := 2
	if o.NoWorkers {
		workers = 0
	}
	cfg := platform.Config{
		Home: home, DataDir: data, DB: o.DB,
		Addr: "127.0.0.1:0", Workers: workers, AllowExternalStrategies: o.AllowExternal, KEK: o.KEK,
		Jobs: jobs.Options{
			FetchPoll: 10 * time.Millisecond, RetryBase: 10 * time.Millisecond, CancelPoll: 50 * time.Millisecond,
			Strategies: strategyref.Options{External: external.Options{StartTimeout: time.Minute}},
		},
		API:       api.Options{RateLimit: o.RateLimit, RateBurst: o.RateBurst, MaxBody: o.MaxBody, MaxInFlight: o.MaxInFlight, Promote: o.Promote},
		Operators: o.Operators,
		Version:   "test",
		// Requests still open when the test ends are cut off at once.
		DrainAPI: time.Millisecond,
	}
	if o.DB == nil {
		cfg.Database = filepath.Join(home, "tradai.db")
	}
	if o.Sim {
		cfg.Sim = &simserver.Config{Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframe: "5m", Addr: "127.0.0.1:0", SpeedGiven: true,
			Engine: sim.DefaultConfig(), WeightLimit: -1}
		if o.Clock != nil {
			cfg.Sim.Speed, cfg.Sim.Start = 1, o.Clock.Now()
		}
	}
	if o.Runner {
		cfg.Runner = &platform.RunnerConfig{Name: "test-runner"}
	}
	cfg.Clock = o.Clock
	if o.DownloadURL != "" {
		cfg.Jobs.Download = downloader(t, data, o.DownloadURL)
	}
	if o.Operator {
		cfg.Operators = append(cfg.Operators, firstUser(t, cfg))
	}
	p, err := platform.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stop the server: %v", err)
		}
	})
	token, err := os.ReadFile(filepath.Join(home, "token"))
	if err != nil {
		t.Fatalf("the first API token: %v", err)
	}
	return &Server{URL: p.URL(), Token: strings.TrimSpace(string(token)), Home: home, DataDir: data, auth: p.Tenancy()}
}

// downloader fetches from the Binance-compatible API at url into the
// market data folder data, trying each request once.
func downloader(t testing.TB, data, url string) *download.Downloader {
	t.Helper()
	store, err := market.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := download.NewBinance(nil, nil, nil, download.BinanceOptions{SpotURL: url, FuturesURL: url, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return download.New(store, src, download.Options{})
}

// firstUser creates the server's first user and its token file before the
// server starts, as its first start would, and returns the user's id.
func firstUser(t testing.TB, cfg platform.Config) string {
	t.Helper()
	ctx := context.Background()
	d := cfg.DB
	if d == nil {
		// A migrated database to start from (migrating takes seconds
		// under the race detector); the server's start migrates it too.
		if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o700); err != nil {
			t.Fatal(err)
		}
		dbtest.SeedSQLite(t, cfg.Database)
		var err error
		if d, err = db.Open(ctx, cfg.Database, nil); err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		t.Fatal(err)
	}
	auth := tenancy.New(d, nil, nil)
	if _, err := platform.Bootstrap(ctx, auth, cfg.Home); err != nil {
		t.Fatal(err)
	}
	u, err := auth.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// NewToken creates a user in tenant and returns an API token for it.
func (s *Server) NewToken(t testing.TB, user, tenant string) string {
	t.Helper()
	ctx := context.Background()
	u, err := s.auth.CreateUser(ctx, user, tenant)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.auth.CreateToken(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// SlowStrategy is an exec: strategy reference to a program that never
// answers the strategy protocol's handshake: a run of it stays running (in
// its validate step) until it is cancelled or the minute-long handshake
// timeout of a Start server passes. Runs need Options.AllowExternal.
func SlowStrategy(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slow.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec sleep 120\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return "exec:" + path
}
