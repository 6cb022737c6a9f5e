// Package clienttest starts a real TradAI API server in-process for tests
// of API clients: an SQLite database in a temporary folder, the run store,
// the job service with its workers over the repository's example market
// data, the first user's token, and the API on an httptest server. Nothing
// of the server is faked.
package clienttest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
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
func ExampleData() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "data")
}

// ExampleConfig is the repository's examples/backtest.json.
func ExampleConfig() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "backtest.json")
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

// Start starts a server that stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	d := o.DB
	if d == nil {
		var err error
		if d, err = db.Open(ctx, filepath.Join(home, "tradai.db"), log); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	store := runs.New(d, time.Now, 3, log)
	data := ExampleData()
	svc, err := jobs.New(d, store, data, log, jobs.Options{
		Workers: 2, MaxAttempts: 3, FetchPoll: 10 * time.Millisecond, RetryBase: 10 * time.Millisecond,
		CancelPoll:              50 * time.Millisecond,
		AllowExternalStrategies: o.AllowExternal,
		Strategies:              strategyref.Options{External: external.Options{Log: log, StartTimeout: time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := tenancy.New(d, time.Now, log)
	token, _, err := auth.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Deps{DB: d, Runs: store, Jobs: svc, Tenancy: auth, DataDir: data, Log: log, Version: "test"},
		api.Options{RateLimit: o.RateLimit, RateBurst: o.RateBurst, MaxBody: o.MaxBody, MaxInFlight: o.MaxInFlight, AllowExternalStrategies: o.AllowExternal})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	if !o.NoWorkers {
		if err := svc.Start(ctx); err != nil {
			hs.Close()
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		if o.NoWorkers {
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Stop(sctx); err != nil {
			t.Errorf("stop the job workers: %v", err)
		}
	})
	return &Server{URL: hs.URL, Token: token, Home: home, DataDir: data, auth: auth}
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
