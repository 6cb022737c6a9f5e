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
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/sdk"
)

// simFlags are the simulator's settings, shared by `tradai sim` and
// `tradai serve --sim` (there with the prefix "sim-").
type simFlags struct {
	exchange    string
	pairs       []string
	timeframe   string
	addr        string
	speed       float64
	start       string
	makerFee    string
	takerFee    string
	spread      string
	slippage    string
	volumeShare string
	weightLimit int
	adminToken  string
	faults      binanceapi.Faults
	prefix      string // of the flags' names
}

// flag is a flag's name as the user typed it, e.g. "--sim-pairs".
func (o *simFlags) flag(name string) string { return "--" + o.prefix + name }

// addFlags defines the flags, each name preceded by prefix.
func (o *simFlags) addFlags(f *pflag.FlagSet, prefix string) {
	o.prefix = prefix
	f.StringVar(&o.exchange, prefix+"exchange", "binance", "exchange folder of the data to replay")
	short := func(s string) string { // -p, -t for tradai sim only
		if prefix != "" {
			return ""
		}
		return s
	}
	f.StringSliceVarP(&o.pairs, prefix+"pairs", short("p"), nil, "pairs to trade, e.g. BTC/USDT ETH/USDT (required)")
	f.StringVarP(&o.timeframe, prefix+"timeframe", short("t"), "1m", "timeframe of the candles to replay")
	f.StringVar(&o.addr, prefix+"addr", "127.0.0.1:8090", "address the simulator listens on")
	f.Float64Var(&o.speed, prefix+"speed", 1, "simulation clock speed: 1 real time, N times faster, 0 stepped only")
	f.StringVar(&o.start, prefix+"start", "", "start the replay at this date (YYYYMMDD, UTC) instead of where it stopped (or the first candle)")
	f.StringVar(&o.makerFee, prefix+"maker-fee", "0.001", "maker fee rate")
	f.StringVar(&o.takerFee, prefix+"taker-fee", "0.001", "taker fee rate")
	f.StringVar(&o.spread, prefix+"spread", "0", "bid-ask spread as a fraction of the price (0.0002 = 2 bps)")
	f.StringVar(&o.slippage, prefix+"slippage", "0", "taker slippage beyond the bid/ask, as a fraction of the price")
	f.StringVar(&o.volumeShare, prefix+"volume-share", "0", "share of a candle's volume one order may fill per candle (0: no cap)")
	f.IntVar(&o.weightLimit, prefix+"weight-limit", 6000, "request weight per IP and minute before 429 (negative: no limit)")
	f.StringVar(&o.adminToken, prefix+"admin-token", os.Getenv("TRADAI_SIM_ADMIN_TOKEN"), "bearer token for the /sim/v1 admin endpoints (default $TRADAI_SIM_ADMIN_TOKEN; empty: open)")
	f.Float64Var(&o.faults.TooManyRequests, prefix+"fault-429", 0, "share of requests answered 429 (fault injection, 0–1)")
	f.Float64Var(&o.faults.ErrorAfterOrder, prefix+"fault-5xx-after-order", 0, "share of order placements answered 503 although placed (0–1)")
	f.DurationVar(&o.faults.Latency, prefix+"fault-latency", 0, "latency added to every answer")
	f.Float64Var(&o.faults.DropStreams, prefix+"fault-drop-streams", 0, "share of websocket connections dropped each minute (0–1)")
}

// simOpts are the flags of `tradai sim`.
type simOpts struct {
	simFlags
	db      dbOpts
	datadir string
	ready   func(addr string) // tests: called with the listening address
}

func newSimCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	return newSimCmdWith(logger, nil)
}

// newSimCmdWith is newSimCmd with a hook called with the listening address.
func newSimCmdWith(logger func() (*slog.Logger, error), ready func(addr string)) *cobra.Command {
	o := &simOpts{db: dbOpts{logger: logger}, ready: ready}
	cmd := &cobra.Command{
		Use:   "sim --pairs BTC/USDT ETH/USDT [flags]",
		Short: "Run the paper exchange simulator (Binance spot REST API and streams) on stored candles",
		Long: `sim runs a paper exchange that speaks Binance's spot REST API (/api/v3) and
websocket streams (/ws, /stream) on --addr, so Binance clients (ccxt,
go-binance, …) trade against it unchanged.
Prices come from stored candles of --pairs at --timeframe in --datadir,
replayed on a simulation clock: in real time (--speed 1), N times faster
(--speed N), or only when stepped (--speed 0: POST /sim/v1/step?candles=N).
Each candle plays open, low, high, close — the low before the high, as the
backtester assumes. Accounts, orders and fills live in the platform
database (--home/--database) and survive a restart, which resumes the
replay where it stopped. Create and fund accounts with
'tradai sim accounts create|fund' (before starting, or through the admin
endpoints of a running simulator). 'tradai serve --sim' runs the same
simulator inside the platform server. See docs/simulator.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), cmd) },
	}
	f := cmd.Flags()
	o.db.addFlags(cmd)
	f.StringVar(&o.datadir, "datadir", config.DefaultDatadir, "market data folder")
	o.simFlags.addFlags(f, "")
	cmd.AddCommand(newSimAccountsCmd(logger))
	return cmd
}

func parseRate(flag, s string) (fixed.Dec, error) {
	v, err := fixed.Parse(s)
	if err != nil || v > fixed.One {
		return 0, fmt.Errorf("%s %q: want a fraction between 0 and 1", flag, s)
	}
	return v, nil
}

func (o *simFlags) engineConfig() (sim.Config, error) {
	cfg := sim.DefaultConfig()
	for _, r := range []struct {
		name, val string
		dst       *fixed.Dec
	}{{"maker-fee", o.makerFee, &cfg.MakerFee}, {"taker-fee", o.takerFee, &cfg.TakerFee}, {"spread", o.spread, &cfg.Spread},
		{"slippage", o.slippage, &cfg.Slippage}, {"volume-share", o.volumeShare, &cfg.VolumeShare}} {
		v, err := parseRate(o.flag(r.name), r.val)
		if err != nil {
			return cfg, err
		}
		*r.dst = v
	}
	return cfg, nil
}

// loadMarket reads the pairs' candles from datadir and defines their symbols.
func (o *simFlags) loadMarket(ctx context.Context, datadir string, log *slog.Logger) ([]sim.Symbol, []replay.Series, error) {
	if len(o.pairs) == 0 {
		return nil, nil, fmt.Errorf("sim: %s is required (for example %s BTC/USDT ETH/USDT)", o.flag("pairs"), o.flag("pairs"))
	}
	tf, err := sdk.ParseTimeframe(o.timeframe)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: %s: %w", o.flag("timeframe"), err)
	}
	st, err := market.Open(datadir, log)
	if err != nil {
		return nil, nil, err
	}
	var syms []sim.Symbol
	var series []replay.Series
	for _, pair := range o.pairs {
		f, err := st.Load(ctx, market.Key{Exchange: o.exchange, Pair: pair, Timeframe: tf}, market.Range{})
		if err != nil {
			return nil, nil, fmt.Errorf("sim: candles of %s %s: %w (download them with 'tradai data download --pairs %s --timeframes %s')", pair, tf, err, pair, tf)
		}
		sym, err := replay.DefaultSymbol(pair, f)
		if err != nil {
			return nil, nil, err
		}
		s, err := replay.FromFrame(sym.Name, f, sym.TickSize)
		if err != nil {
			return nil, nil, err
		}
		syms = append(syms, sym)
		series = append(series, s)
	}
	return syms, series, nil
}

// runningSim is a started simulator.
type runningSim struct {
	addr   net.Addr
	feed   *replay.Feed
	nsyms  int
	errc   chan error // a failure while running
	cancel context.CancelFunc
	wg     sync.WaitGroup
	http   *http.Server
	log    *slog.Logger
}

// launch loads the market, restores the simulator's state from d, listens
// on o.addr and serves until stop.
func (o *simFlags) launch(ctx context.Context, d *db.DB, datadir string, log *slog.Logger) (*runningSim, error) {
	if o.speed < 0 {
		return nil, fmt.Errorf("sim: %s %v: want 0 (stepped) or a positive factor", o.flag("speed"), o.speed)
	}
	for name, v := range map[string]float64{"fault-429": o.faults.TooManyRequests, "fault-5xx-after-order": o.faults.ErrorAfterOrder, "fault-drop-streams": o.faults.DropStreams} {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("sim: %s %v: want a share between 0 and 1", o.flag(name), v)
		}
	}
	cfg, err := o.engineConfig()
	if err != nil {
		return nil, err
	}
	syms, series, err := o.loadMarket(ctx, datadir, log)
	if err != nil {
		return nil, err
	}
	store := simstore.New(d, time.Now, log)
	state, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	events := binanceapi.NewEvents()
	eng, err := sim.New(cfg, syms, sim.Journals{store, events})
	if err != nil {
		return nil, err
	}
	if err := eng.Restore(state); err != nil {
		return nil, fmt.Errorf("sim: %w (start it with the pairs those orders trade)", err)
	}
	saved, err := store.Clock(ctx)
	if err != nil {
		return nil, err
	}
	start := int64(0) // the first candle
	if saved > 0 {
		start = saved + 1 // the feed starts just before start
	}
	if o.start != "" {
		tr, err := config.ParseTimerange(o.start + "-")
		if err != nil {
			return nil, fmt.Errorf("sim: %s %q: want YYYYMMDD", o.flag("start"), o.start)
		}
		start = tr.Start
	}
	feed, err := replay.New(eng, series, start, log)
	if err != nil {
		return nil, err
	}
	srv, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: store, History: store, Sync: store.Sync,
		WeightLimit: o.weightLimit, Admin: true, AdminToken: o.adminToken, Accounts: simstore.Creator{Store: store, Engine: eng},
		Faults: o.faults, Events: events, Log: log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listen on %s: %w", o.addr, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &runningSim{addr: ln.Addr(), feed: feed, nsyms: len(syms), errc: make(chan error, 2), cancel: cancel,
		http: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}, log: log}
	r.wg.Go(func() { store.Run(runCtx, 200*time.Millisecond) })
	r.wg.Go(func() { srv.Run(runCtx) })
	r.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				if err := store.SaveClock(context.WithoutCancel(runCtx), feed.Now()); err != nil {
					log.Error("sim: save the simulation clock", "err", err)
				}
				return
			case <-t.C:
				if err := store.SaveClock(runCtx, feed.Now()); err != nil && runCtx.Err() == nil {
					log.Warn("sim: save the simulation clock", "err", err)
				}
			}
		}
	})
	if o.speed > 0 {
		r.wg.Go(func() {
			if err := feed.Run(runCtx, wallClock{}, o.speed, 50*time.Millisecond); err != nil {
				r.errc <- err
			}
		})
	}
	r.wg.Go(func() {
		if err := r.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errc <- fmt.Errorf("sim: serve: %w", err)
		}
	})
	return r, nil
}

// describe is the one line that says where the simulator listens.
func (r *runningSim) describe(o *simFlags) string {
	return fmt.Sprintf("simulator listening on http://%s (%d symbols, %s candles, speed %v, simulation time %s)",
		r.addr, r.nsyms, o.timeframe, o.speed, time.UnixMilli(r.feed.Now()+1).UTC().Format(time.RFC3339))
}

// stop shuts the HTTP server down (10 s at most), then everything else,
// saving the simulation clock.
func (r *runningSim) stop(ctx context.Context) {
	shut, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	if err := r.http.Shutdown(shut); err != nil {
		r.log.Warn("sim: shutdown", "err", err)
	}
	r.cancel()
	r.wg.Wait()
	r.log.Info("simulator stopped", "simulation_time", time.UnixMilli(r.feed.Now()).UTC().Format(time.RFC3339))
}

func (o *simOpts) run(ctx context.Context, cmd *cobra.Command) error {
	if _, err := o.engineConfig(); err != nil {
		return err
	}
	d, log, err := o.db.open(ctx, true)
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := o.launch(ctx, d, o.datadir, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), r.describe(&o.simFlags))
	if o.ready != nil {
		o.ready(r.addr.String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-r.errc:
	}
	r.stop(ctx)
	return runErr
}

// serveSim starts the simulator inside `tradai serve` when --sim is set,
// on the platform's database and data folder; the returned function stops
// it. A failure while running is logged.
func (o *simFlags) serveSim(ctx context.Context, enabled bool, d *db.DB, datadir string, log *slog.Logger, out io.Writer) (func(), error) {
	if !enabled {
		return func() {}, nil
	}
	r, err := o.launch(ctx, d, datadir, log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, r.describe(o))
	go func() {
		if err, ok := <-r.errc; ok && err != nil {
			log.Error("simulator failed", "err", err)
		}
	}()
	return func() {
		r.stop(ctx)
		close(r.errc)
	}, nil
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func newSimAccountsCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create and fund simulator accounts"}
	o := &dbOpts{logger: logger}
	var tenant string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a simulator account with an API key; the secret is printed once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, log, err := o.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			k, err := simstore.New(d, time.Now, log).CreateAccount(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account:    %s\napi key:    %s\nsecret key: %s\n", k.Account, k.APIKey, k.Secret)
			return nil
		},
	}
	fund := &cobra.Command{
		Use:   "fund NAME ASSET AMOUNT",
		Short: "Add AMOUNT of ASSET to an account's free balance (while no simulator runs on this database)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			amount, err := fixed.Parse(args[2])
			if err != nil {
				return fmt.Errorf("amount %q: want a decimal number such as 1000 or 0.5", args[2])
			}
			d, log, err := o.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			s := simstore.New(d, time.Now, log)
			a, err := s.AccountByName(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			b, err := s.Fund(cmd.Context(), a.ID, args[1], amount)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: free %s, locked %s\n", a.Name, b.Asset, b.Free, b.Locked)
			return nil
		},
	}
	for _, c := range []*cobra.Command{create, fund} {
		o.addFlags(c)
		c.Flags().StringVar(&tenant, "tenant", "default", "tenant the account belongs to")
		cmd.AddCommand(c)
	}
	return cmd
}
