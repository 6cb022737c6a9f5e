package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/simserver"
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
	mode        string
	upstream    string
	warmup      int
	makerFee    string
	takerFee    string
	spread      string
	slippage    string
	volumeShare string
	weightLimit int
	adminToken  string
	faults      binanceapi.Faults
	prefix      string // of the flags' names
	fs          *pflag.FlagSet
}

// flag is a flag's name as the user typed it, e.g. "--sim-pairs".
func (o *simFlags) flag(name string) string { return "--" + o.prefix + name }

// addFlags defines the flags, each name preceded by prefix.
func (o *simFlags) addFlags(f *pflag.FlagSet, prefix string) {
	o.prefix, o.fs = prefix, f
	f.StringVar(&o.mode, prefix+"mode", simserver.ModeReplay, "market data: replay (stored candles at their own times), shifted (stored candles moved onto the present), live (the current market from --"+prefix+"upstream)")
	f.StringVar(&o.upstream, prefix+"upstream", "", "live mode: base URL of the Binance-compatible API to poll candles from (https://api.binance.com, another simulator)")
	f.IntVar(&o.warmup, prefix+"warmup", 1000, "live mode: closed candles fetched at the start")
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
	f.Float64Var(&o.speed, prefix+"speed", 1, "simulation clock speed: 1 real time, N times faster, 0 paused (stepped only); default: what the clock last had, else 1")
	f.StringVar(&o.start, prefix+"start", "", "start the replay at this date (YYYYMMDD, UTC) instead of where it stopped (or the first candle); shifted mode: the date mapped onto the present, on a new database")
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
	db        dbOpts
	datadir   string
	dataStore dataStoreFlags
	ready     func(addr string) // tests: called with the listening address
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
Prices come from stored candles of --pairs at --timeframe in --datadir
(with --data-store, a cache of that bucket, fetched from it at start),
replayed on a simulation clock: in real time (--speed 1), N times faster
(--speed N), or only when stepped (--speed 0: POST /sim/v1/step?candles=N);
POST /sim/v1/clock?speed=N&paused=true|false changes that while it runs.
--mode shifted moves the stored history onto the present (candles, orders
and trades in today's time, as a bot expects); --mode live trades the
current market, polled from --upstream after every candle close.
Each candle plays open, low, high, close — the low before the high, as the
backtester assumes. Accounts, orders and fills live in the platform
database (--home/--database) and survive a restart, which resumes the
replay where it stopped, inside the candle, at the speed it had. Create and fund accounts with
'tradai sim accounts create|fund' (before starting, or through the admin
endpoints of a running simulator). 'tradai serve --sim' runs the same
simulator inside the platform server. See docs/simulator.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), cmd) },
	}
	f := cmd.Flags()
	o.db.addFlags(cmd)
	f.StringVar(&o.datadir, "datadir", config.DefaultDatadir, datadirHelp)
	o.dataStore.addFlags(f)
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

// serverConfig is the simulator the flags describe (without its database,
// data folder and log).
func (o *simFlags) serverConfig() (simserver.Config, error) {
	eng, err := o.engineConfig()
	if err != nil {
		return simserver.Config{}, err
	}
	if len(o.pairs) == 0 {
		return simserver.Config{}, fmt.Errorf("sim: %s is required (for example %s BTC/USDT ETH/USDT)", o.flag("pairs"), o.flag("pairs"))
	}
	tf, err := sdk.ParseTimeframe(o.timeframe)
	if err != nil {
		return simserver.Config{}, fmt.Errorf("sim: %s: %w", o.flag("timeframe"), err)
	}
	if o.warmup < 1 {
		return simserver.Config{}, fmt.Errorf("sim: %s %d: want at least 1 candle", o.flag("warmup"), o.warmup)
	}
	switch o.mode {
	case simserver.ModeReplay, simserver.ModeShifted:
		if o.upstream != "" {
			return simserver.Config{}, fmt.Errorf("sim: %s is for %s live", o.flag("upstream"), o.flag("mode"))
		}
	case simserver.ModeLive:
		if o.upstream == "" {
			return simserver.Config{}, fmt.Errorf("sim: %s live needs %s (https://api.binance.com, or another simulator's URL)", o.flag("mode"), o.flag("upstream"))
		}
		if o.start != "" {
			return simserver.Config{}, fmt.Errorf("sim: %s is for the replay and shifted modes; live mode trades the present", o.flag("start"))
		}
	default:
		return simserver.Config{}, fmt.Errorf("sim: %s %q: want replay, shifted or live", o.flag("mode"), o.mode)
	}
	if o.speed < 0 {
		return simserver.Config{}, fmt.Errorf("sim: %s %v: want 0 (stepped) or a positive factor", o.flag("speed"), o.speed)
	}
	for name, v := range map[string]float64{"fault-429": o.faults.TooManyRequests, "fault-5xx-after-order": o.faults.ErrorAfterOrder, "fault-drop-streams": o.faults.DropStreams} {
		if v < 0 || v > 1 {
			return simserver.Config{}, fmt.Errorf("sim: %s %v: want a share between 0 and 1", o.flag(name), v)
		}
	}
	var start time.Time
	if o.start != "" {
		tr, err := config.ParseTimerange(o.start + "-")
		if err != nil {
			return simserver.Config{}, fmt.Errorf("sim: %s %q: want YYYYMMDD", o.flag("start"), o.start)
		}
		start = time.UnixMilli(tr.Start)
	}
	speedGiven := o.fs != nil && o.fs.Changed(o.prefix+"speed")
	if o.mode == simserver.ModeLive && speedGiven && o.speed != 1 {
		return simserver.Config{}, fmt.Errorf("sim: %s %v: a live market runs on the wall clock (speed 1)", o.flag("speed"), o.speed)
	}
	return simserver.Config{Exchange: o.exchange, Pairs: o.pairs, Timeframe: tf, Addr: o.addr, Mode: o.mode, Upstream: o.upstream, Warmup: o.warmup,
		Speed: o.speed, SpeedGiven: speedGiven, Start: start, Engine: eng, WeightLimit: o.weightLimit, AdminToken: o.adminToken, Faults: o.faults}, nil
}

func (o *simOpts) run(ctx context.Context, cmd *cobra.Command) error {
	cfg, err := o.serverConfig()
	if err != nil {
		return err
	}
	d, log, err := o.db.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if cfg.Market, err = o.dataStore.options(log); err != nil {
		return err
	}
	cfg.DB, cfg.DataDir, cfg.Log = d, o.datadir, log
	srv, err := simserver.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), srv.Describe())
	if o.ready != nil {
		o.ready(srv.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-srv.Failed():
	}
	// A slow drain is logged by the simulator; it does not fail the command.
	_ = srv.Shutdown(context.WithoutCancel(ctx))
	return runErr
}

func newSimAccountsCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create and fund simulator accounts"}
	o := &dbOpts{logger: logger}
	var tenant string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a simulator account with an API key; the secret is printed once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd.Context(), func(d *db.DB, log *slog.Logger) error {
				k, err := simstore.New(d, clock.Real(), log).CreateAccount(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account:    %s\napi key:    %s\nsecret key: %s\n", k.Account, k.APIKey, k.Secret)
				return nil
			})
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
			return o.with(cmd.Context(), func(d *db.DB, log *slog.Logger) error {
				s := simstore.New(d, clock.Real(), log)
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
			})
		},
	}
	for _, c := range []*cobra.Command{create, fund} {
		o.addFlags(c)
		c.Flags().StringVar(&tenant, "tenant", "default", "tenant the account belongs to")
		cmd.AddCommand(c)
	}
	return cmd
}
