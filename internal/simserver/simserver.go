// Package simserver runs the paper exchange simulator as a service: the
// engine restored from the platform database, market data on a simulation
// clock, the journal's group commit, the Binance-compatible HTTP API and
// streams on a listener, and the saved simulation clock.
//
// Market data comes in one of three modes (Config.Mode): "replay" plays
// stored candles at their own (historical) times; "shifted" plays them
// moved onto the present — candles, orders, trades and klines queries all
// in today's time, the offset saved so a restart keeps it; "live" plays
// the current market's closed candles, polled from an upstream
// Binance-compatible API (internal/sim/live), on the wall clock.
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
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/live"
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
	// the data to replay ("binance"). Market are the folder's options
	// (with a Remote: the bucket it is a cache of, which a replay reads
	// through).
	DataDir, Exchange string
	Market            market.Options
	// Pairs to trade (BTC/USDT …) and the Timeframe of the candles replayed.
	Pairs     []string
	Timeframe sdk.Timeframe
	// Addr is the listen address (host:port; port 0 picks a free one).
	Addr string
	// Mode is where market data comes from: ModeReplay (the default),
	// ModeShifted or ModeLive. A database keeps the mode of its first run;
	// another is refused.
	Mode string
	// Upstream is the base URL of the Binance-compatible API a live
	// simulator polls (https://api.binance.com, another simulator);
	// UpstreamHTTP its HTTP client (nil: the Binance client core's).
	Upstream     string
	UpstreamHTTP *http.Client
	// Warmup is how many closed candles a live simulator starts with
	// (live.DefaultWarmup).
	Warmup int
	// Speed of the simulation clock: 1 real time, N times faster, 0 paused
	// (moved only when stepped through the admin API). It applies on the
	// first start, or when SpeedGiven; otherwise a restart keeps the speed
	// and pause the clock last had (POST /sim/v1/clock changes them while
	// running). A live clock is the wall clock.
	Speed      float64
	SpeedGiven bool
	// Start, when set, is where the replay starts instead of where it
	// stopped (or the first candle); in shifted mode, the history mapped
	// onto the present on a new database.
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

// The modes of Config.Mode.
const (
	ModeReplay  = "replay"
	ModeShifted = "shifted"
	ModeLive    = "live"
)

// Server is a simulator; its methods are safe for concurrent use.
type Server struct {
	cfg Config

	ready  chan struct{}
	failed chan error // a failure while running (buffered)

	mu        sync.Mutex
	started   bool
	addr      net.Addr
	feed      *replay.Feed
	http      *http.Server
	cancel    context.CancelFunc // the replay, the poller, the API's goroutines
	wg        sync.WaitGroup     // the goroutines cancel stops, and the HTTP server
	stopStore context.CancelFunc // the journal's saving, stopped last
	storeWG   sync.WaitGroup
	stopped   bool
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
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeReplay
	case ModeReplay, ModeShifted:
	case ModeLive:
		if cfg.Upstream == "" {
			return nil, errors.New("sim: live mode needs the upstream API's URL (--upstream https://api.binance.com, or another simulator)")
		}
		if !cfg.Start.IsZero() {
			return nil, errors.New("sim: live mode trades the present: a start date is for replay and shifted modes")
		}
	default:
		return nil, fmt.Errorf("sim: mode %q: want replay, shifted or live", cfg.Mode)
	}
	if cfg.Mode != ModeReplay && (!cfg.Timeframe.Valid() || cfg.Timeframe == "1M") {
		return nil, fmt.Errorf("sim: %s mode: timeframe %q: want one of fixed length (1m … 1w)", cfg.Mode, cfg.Timeframe)
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = live.DefaultWarmup
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
	st, err := market.OpenWith(s.cfg.DataDir, s.cfg.Log, s.cfg.Market)
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
	log, tf := s.cfg.Log, s.cfg.Timeframe
	store := simstore.New(s.cfg.DB, s.cfg.Clock, log)
	saved, err := store.Clock(ctx)
	if err != nil {
		return err
	}
	if err := s.checkMode(saved); err != nil {
		return err
	}
	wall := s.cfg.Clock.Now().UnixMilli()
	var (
		syms    []sim.Symbol
		series  []replay.Series
		pending map[string][]sim.Candle // live: candles closed while stopped, played after the start
		src     live.Source
	)
	if s.cfg.Mode == ModeLive {
		src, err = download.NewBinance(s.cfg.UpstreamHTTP, s.cfg.Clock, log, download.BinanceOptions{SpotURL: s.cfg.Upstream})
		if err != nil {
			return fmt.Errorf("sim: upstream: %w", err)
		}
		syms, series, pending, err = s.loadLive(ctx, src, saved.Time, wall)
	} else {
		syms, series, err = s.loadMarket(ctx)
	}
	if err != nil {
		return err
	}
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

	// Where the clock starts and how it runs.
	now, offset := saved.Time, saved.Offset
	switch s.cfg.Mode {
	case ModeReplay:
		if !s.cfg.Start.IsZero() {
			now = s.cfg.Start.UnixMilli()
		}
	case ModeShifted:
		if saved.Time == 0 {
			first := int64(math.MaxInt64)
			for _, sr := range series {
				first = min(first, sr.Candles[0].Time)
			}
			if !s.cfg.Start.IsZero() {
				first = tf.Floor(s.cfg.Start.UnixMilli())
			}
			offset, now = tf.Floor(wall)-first, wall
		} else if !s.cfg.Start.IsZero() {
			return errors.New("sim: this database's shifted replay already maps history onto the present: a start date applies to a new database only")
		}
		for i := range series {
			series[i] = series[i].Shift(offset)
		}
	case ModeLive:
		if now == 0 || pending == nil {
			now = wall
		}
	}
	speed, paused := s.cfg.Speed, s.cfg.Speed == 0
	if speed == 0 {
		speed = 1
	}
	if !s.cfg.SpeedGiven && saved.Speed > 0 {
		speed, paused = saved.Speed, saved.Paused
	}
	feed, err := replay.New(eng, series, replay.Options{Now: now, Clock: s.cfg.Clock, Speed: speed, Paused: paused, Live: s.cfg.Mode == ModeLive, Log: log})
	if err != nil {
		return err
	}
	// Catch up with the present: a live market plays the candles that closed
	// while it was stopped, a running shifted replay the history it maps
	// onto that time.
	for _, sym := range slices.Sorted(maps.Keys(pending)) {
		if _, err := feed.Append(sym, pending[sym]); err != nil {
			return err
		}
	}
	if s.cfg.Mode == ModeLive || s.cfg.Mode == ModeShifted && !paused && feed.Now() < wall {
		if err := feed.AdvanceTo(wall); err != nil {
			return err
		}
	}
	mode := s.cfg.Mode
	store.FollowClock(func() simstore.ClockState {
		sp, p := feed.Rate()
		return simstore.ClockState{Time: feed.Now(), Speed: sp, Paused: p, Mode: mode, Offset: offset}
	})
	if err := store.Flush(ctx); err != nil { // the mode and offset, before anything trades
		return err
	}
	var poller *live.Poller
	if s.cfg.Mode == ModeLive {
		bySym := map[string]sim.Symbol{}
		for i, pair := range s.cfg.Pairs {
			bySym[pair] = syms[i]
		}
		poller, err = live.New(live.Config{Source: src, Pairs: s.cfg.Pairs, Symbols: bySym, Timeframe: tf, Clock: s.cfg.Clock, Log: log}, feed)
		if err != nil {
			return err
		}
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
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	s.addr, s.feed, s.cancel, s.stopStore = ln.Addr(), feed, cancel, stopStore
	s.http = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	// Orders, fills and the clock are saved every 200 ms, in one
	// transaction; the last save follows the replay's end.
	s.storeWG.Go(func() { store.Run(storeCtx, 200*time.Millisecond) })
	s.wg.Go(func() { api.Run(runCtx) })
	s.wg.Go(func() {
		if err := feed.Run(runCtx, 50*time.Millisecond); err != nil {
			s.failed <- err
		}
	})
	if poller != nil {
		s.wg.Go(func() {
			if err := poller.Run(runCtx); err != nil {
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

// checkMode refuses a mode other than the one the database's simulator ran
// in: its orders and trades carry that mode's times.
func (s *Server) checkMode(saved simstore.ClockState) error {
	was := saved.Mode
	if was == "" {
		if saved.Time == 0 {
			return nil // a new database
		}
		was = ModeReplay
	}
	if was != s.cfg.Mode {
		return fmt.Errorf("sim: this database's simulator ran in %s mode, its orders and trades in that mode's time: start it with --mode %s, or use another database for %s mode", was, was, s.cfg.Mode)
	}
	return nil
}

// loadLive fetches the pairs' closed candles from the upstream: the newest
// Warmup of them, and those since the saved time (at most
// live.MaxCatchUp). Candles closed by the saved time are the series to
// start with; those after it are pending, to be played at the start (nil
// when there is no saved time, or it lies before what was fetched).
func (s *Server) loadLive(ctx context.Context, src live.Source, saved, wall int64) ([]sim.Symbol, []replay.Series, map[string][]sim.Candle, error) {
	tf := s.cfg.Timeframe
	dur := tf.Millis()
	end := tf.Floor(wall - live.DefaultDelay.Milliseconds())
	start := end - int64(s.cfg.Warmup)*dur
	if saved > 0 {
		start = max(min(start, tf.Floor(saved)-dur), end-live.MaxCatchUp*dur)
	}
	var syms []sim.Symbol
	var series []replay.Series
	pending := map[string][]sim.Candle{}
	for _, pair := range s.cfg.Pairs {
		// Filters from the candles, as for stored data; the rounding to
		// the tick comes after.
		probe := sim.Symbol{Filters: sim.Filters{TickSize: 1}}
		cs, err := live.Fetch(ctx, src, pair, probe, tf, start, end)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sim: %w", err)
		}
		if len(cs) == 0 {
			return nil, nil, nil, fmt.Errorf("sim: the upstream %s has no %s candles of %s before now", s.cfg.Upstream, tf, pair)
		}
		f := &sdk.Frame{Pair: pair, Timeframe: tf}
		for _, c := range cs {
			f.Time = append(f.Time, c.Time)
			f.Open, f.High = append(f.Open, c.Open.Float()), append(f.High, c.High.Float())
			f.Low, f.Close = append(f.Low, c.Low.Float()), append(f.Close, c.Close.Float())
			f.Volume = append(f.Volume, c.Volume.Float())
		}
		sym, err := replay.DefaultSymbol(pair, f)
		if err != nil {
			return nil, nil, nil, err
		}
		sr, err := replay.FromFrame(sym.Name, f, sym.TickSize)
		if err != nil {
			return nil, nil, nil, err
		}
		if saved > 0 {
			n := 0
			for n < len(sr.Candles) && sr.Candles[n].Time+dur-1 <= saved {
				n++
			}
			if n > 0 {
				pending[sym.Name] = sr.Candles[n:]
				sr.Candles = sr.Candles[:n]
			}
		}
		syms = append(syms, sym)
		series = append(series, sr)
	}
	if len(pending) < len(series) {
		if saved > 0 {
			s.cfg.Log.Warn("sim: stopped longer than the live catch-up reaches; open orders did not see the market in between")
		}
		for i, sr := range series { // start from the present
			series[i].Candles = append(sr.Candles, pending[sr.Symbol]...)
		}
		pending = nil
	}
	return syms, series, pending, nil
}

// Rate is how the simulation clock runs: its speed and whether it is
// paused (zero before Start).
func (s *Server) Rate() (speed float64, paused bool) {
	s.mu.Lock()
	feed := s.feed
	s.mu.Unlock()
	if feed == nil {
		return 0, false
	}
	return feed.Rate()
}

// SetRate pauses, resumes or changes the speed of the simulation clock, as
// POST /sim/v1/clock does; it is saved with the next save (within 200 ms)
// and kept across a restart.
func (s *Server) SetRate(speed float64, paused bool) error {
	s.mu.Lock()
	feed := s.feed
	s.mu.Unlock()
	if feed == nil {
		return errors.New("sim: not started")
	}
	return feed.SetRate(speed, paused)
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
	speed, paused := s.feed.Rate()
	rate := fmt.Sprintf("speed %v", speed)
	if paused {
		rate = "paused (stepped)"
	}
	return fmt.Sprintf("simulator listening on http://%s (%d symbols, %s candles, %s mode, %s, simulation time %s)",
		s.addr, len(s.cfg.Pairs), s.cfg.Timeframe, s.cfg.Mode, rate, time.UnixMilli(s.feed.Now()).UTC().Format(time.RFC3339))
}

// Shutdown stops accepting HTTP and waits for requests in flight (DrainHTTP
// or until ctx ends, whichever is first), then stops the replay, the
// poller and the streams, then the journal, saving the orders, fills and
// simulation clock a last time, and waits for every goroutine it started. It does nothing before Start or a second time.
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
	s.stopStore() // its last save follows the replay's end
	s.storeWG.Wait()
	s.cfg.Log.Info("simulator stopped", "simulation_time", time.UnixMilli(s.feed.Now()).UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("sim: stop the HTTP server: %w", err)
	}
	return nil
}
