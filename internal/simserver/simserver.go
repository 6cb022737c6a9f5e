// Package simserver runs the paper exchange simulator as a service: the
// engine restored from the platform database, stored candles replayed on a
// simulation clock, the journal's group commit, the Binance-compatible
// HTTP API and streams on a listener, and the saved simulation clock.
//
// A Server goes New (validate the Config), Start (load, restore, listen,
// start its goroutines), Ready, and Shutdown (stop accepting HTTP, then
// stop the replay, the streams and the journal, saving the simulation
// clock last). `tradai sim` runs one on its own; the platform server
// (internal/platform) runs one beside the API with `tradai serve --sim`.
package simserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/sdk"
)

// Config is what a simulator serves and how.
type Config struct {
	// DB is the platform database (opened and migrated) holding the
	// simulator's accounts, orders and clock; the caller closes it after
	// Shutdown.
	DB *db.DB
	// DataDir is the market data folder; Exchange the exchange folder of
	// the data to replay ("binance").
	DataDir, Exchange string
	// Pairs to trade (BTC/USDT …) and the Timeframe of the candles replayed.
	Pairs     []string
	Timeframe sdk.Timeframe
	// Addr is the listen address (host:port; port 0 picks a free one).
	Addr string
	// Speed of the simulation clock: 1 real time, N times faster, 0 moved
	// only when stepped through the admin API.
	Speed float64
	// Start, when set, is where the replay starts instead of where it
	// stopped (or the first candle).
	Start time.Time
	// Engine holds fees, spread, slippage and volume share.
	Engine sim.Config
	// WeightLimit is the request weight per IP and minute before 429
	// (negative: no limit).
	WeightLimit int
	// AdminToken guards the /sim/v1 admin endpoints (empty: open).
	AdminToken string
	// Faults are injected failures.
	Faults binanceapi.Faults
	// Log receives the simulator's log (nil: discarded).
	Log *slog.Logger
	// Clock is the wall clock the replay follows, the API's clock and the
	// pace of saving (nil: the system clock).
	Clock clock.Clock
	// DrainHTTP bounds how long Shutdown waits for requests in flight (10 s).
	DrainHTTP time.Duration
}

// Server is a simulator; its methods are safe for concurrent use.
type Server struct {
	cfg Config

	ready  chan struct{}
	failed chan error // a failure while running (buffered)

	mu      sync.Mutex
	started bool
	addr    net.Addr
	feed    *replay.Feed
	http    *http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup // every goroutine the Server starts
	stopped bool
}

// New checks cfg and fills its defaults; Start does the work.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("sim: a database is required")
	}
	if len(cfg.Pairs) == 0 {
		return nil, errors.New("sim: at least one pair is required")
	}
	if cfg.Speed < 0 {
		return nil, fmt.Errorf("sim: speed %v: want 0 (stepped) or a positive factor", cfg.Speed)
	}
	for name, v := range map[string]float64{"429": cfg.Faults.TooManyRequests, "5xx after order": cfg.Faults.ErrorAfterOrder, "dropped streams": cfg.Faults.DropStreams} {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("sim: %s fault share %v: want a share between 0 and 1", name, v)
		}
	}
	if cfg.Exchange == "" {
		cfg.Exchange = "binance"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.DrainHTTP <= 0 {
		cfg.DrainHTTP = 10 * time.Second
	}
	return &Server{cfg: cfg, ready: make(chan struct{}), failed: make(chan error, 2)}, nil
}

// loadMarket reads the pairs' candles and defines their symbols.
func (s *Server) loadMarket(ctx context.Context) ([]sim.Symbol, []replay.Series, error) {
	st, err := market.Open(s.cfg.DataDir, s.cfg.Log)
	if err != nil {
		return nil, nil, err
	}
	tf := s.cfg.Timeframe
	var syms []sim.Symbol
	var series []replay.Series
	for _, pair := range s.cfg.Pairs {
		f, err := st.Load(ctx, market.Key{Exchange: s.cfg.Exchange, Pair: pair, Timeframe: tf}, market.Range{})
		if err != nil {
			return nil, nil, fmt.Errorf("sim: candles of %s %s: %w (download them with 'tradai data download --pairs %s --timeframes %s')", pair, tf, err, pair, tf)
		}
		sym, err := replay.DefaultSymbol(pair, f)
		if err != nil {
			return nil, nil, err
		}
		sr, err := replay.FromFrame(sym.Name, f, sym.TickSize)
		if err != nil {
			return nil, nil, err
		}
		syms = append(syms, sym)
		series = append(series, sr)
	}
	return syms, series, nil
}

// Start loads the market, restores the simulator's state from the
// database, listens on Addr and serves until Shutdown. ctx bounds the
// start only.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("sim: already started")
	}
	s.started = true
	log := s.cfg.Log
	syms, series, err := s.loadMarket(ctx)
	if err != nil {
		return err
	}
	store := simstore.New(s.cfg.DB, s.cfg.Clock, log)
	state, err := store.Load(ctx)
	if err != nil {
		return err
	}
	events := binanceapi.NewEvents()
	eng, err := sim.New(s.cfg.Engine, syms, sim.Journals{store, events})
	if err != nil {
		return err
	}
	if err := eng.Restore(state); err != nil {
		return fmt.Errorf("sim: %w (start it with the pairs those orders trade)", err)
	}
	saved, err := store.Clock(ctx)
	if err != nil {
		return err
	}
	start := int64(0) // the first candle
	if saved > 0 {
		start = saved + 1 // the feed starts just before start
	}
	if !s.cfg.Start.IsZero() {
		start = s.cfg.Start.UnixMilli()
	}
	feed, err := replay.New(eng, series, start, log)
	if err != nil {
		return err
	}
	api, err := binanceapi.New(binanceapi.Config{Clock: s.cfg.Clock, Engine: eng, Feed: feed, Keys: store, History: store, Sync: store.Sync,
		WeightLimit: s.cfg.WeightLimit, Admin: true, AdminToken: s.cfg.AdminToken, Accounts: simstore.Creator{Store: store, Engine: eng},
		Faults: s.cfg.Faults, Events: events, Log: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sim: listen on %s: %w", s.cfg.Addr, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.addr, s.feed, s.cancel = ln.Addr(), feed, cancel
	s.http = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() { store.Run(runCtx, 200*time.Millisecond) })
	s.wg.Go(func() { api.Run(runCtx) })
	s.wg.Go(func() { s.saveClock(runCtx, store) })
	if s.cfg.Speed > 0 {
		s.wg.Go(func() {
			if err := feed.Run(runCtx, s.cfg.Clock, s.cfg.Speed, 50*time.Millisecond); err != nil {
				s.failed <- err
			}
		})
	}
	s.wg.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.failed <- fmt.Errorf("sim: serve: %w", err)
		}
	})
	close(s.ready)
	return nil
}

// saveClock saves the simulation clock every second and once more when ctx
// ends.
func (s *Server) saveClock(ctx context.Context, store *simstore.Store) {
	t := s.cfg.Clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := store.SaveClock(context.WithoutCancel(ctx), s.feed.Now()); err != nil {
				s.cfg.Log.Error("sim: save the simulation clock", "err", err)
			}
			return
		case <-t.C():
			if err := store.SaveClock(ctx, s.feed.Now()); err != nil && ctx.Err() == nil {
				s.cfg.Log.Warn("sim: save the simulation clock", "err", err)
			}
		}
	}
}

// Ready is closed once the simulator serves.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Failed delivers a failure that stopped part of a running simulator (the
// listener or the replay); Shutdown is still due.
func (s *Server) Failed() <-chan error { return s.failed }

// Addr is the address the simulator listens on (nil before Start).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Describe is the one line that says where the simulator listens.
func (s *Server) Describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("simulator listening on http://%s (%d symbols, %s candles, speed %v, simulation time %s)",
		s.addr, len(s.cfg.Pairs), s.cfg.Timeframe, s.cfg.Speed, time.UnixMilli(s.feed.Now()+1).UTC().Format(time.RFC3339))
}

// Shutdown stops accepting HTTP and waits for requests in flight (DrainHTTP
// or until ctx ends, whichever is first), then stops the replay, the
// streams and the journal, saving the simulation clock, and waits for every
// goroutine it started. It does nothing before Start or a second time.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil || s.stopped {
		return nil
	}
	s.stopped = true
	shut, done := context.WithTimeout(ctx, s.cfg.DrainHTTP)
	defer done()
	err := s.http.Shutdown(shut)
	if err != nil {
		s.cfg.Log.Warn("sim: shutdown", "err", err)
		s.http.Close()
	}
	s.cancel()
	s.wg.Wait()
	s.cfg.Log.Info("simulator stopped", "simulation_time", time.UnixMilli(s.feed.Now()).UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("sim: stop the HTTP server: %w", err)
	}
	return nil
}
