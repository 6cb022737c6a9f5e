package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/checks"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/sdk"
)

func newStrategyCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "strategy",
		Short: "Work with strategies",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newStrategyCheckCmd(logger))
	addRegistryCmds(cmd, logger)
	return cmd
}

func newStrategyCheckCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		configPath, strat, datadir, exchange, timeframe, timerange string
		dataStore                                                  dataStoreFlags
		pairs                                                      []string
		samples                                                    int
		seed                                                       uint64
		asJSON                                                     bool
	)
	cmd := &cobra.Command{
		Use:   "check [STRATEGY | --strategy STRATEGY] [--config FILE | --pairs PAIRS]",
		Short: "Check a strategy for look-ahead bias, too few startup candles and other classic bugs",
		Long: `Check a strategy on stored candles, loaded as a backtest would load them.

Checks, per pair:
  populate     Populate succeeds and fills the four signal columns
  mutation     Populate leaves time/open/high/low/close/volume untouched
  determinism  three more runs (two of them concurrent) give identical signals
  lookahead    the signals at sampled candles are the same when every later
               candle is removed (otherwise the strategy sees the future)
  startup      with only startup_candle_count candles of history, the signals
               at sampled candles are those computed with all history; if not,
               the smallest sufficient count is reported
and once: schema (spec and parameter declarations).

Sampled candles: up to --samples per signal column where it fires, plus
--samples others (seeded, reproducible). The look-ahead check costs about
5 x --samples populates of the frame per pair. Exit status 1 when a check
fails.`,
		Example: `  tradai strategy check --config examples/backtest.json --strategy sma_cross
  tradai strategy check rsi_bollinger --config examples/backtest.json --pairs ETH/BTC
  tradai strategy check -s rsi_bollinger --datadir examples/data --exchange binance --pairs ETH/BTC --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			log, err := logger()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if strat != "" && strat != args[0] {
					return fmt.Errorf("strategy given twice: %q and --strategy %q", args[0], strat)
				}
				strat = args[0]
			}
			if samples < 1 {
				return fmt.Errorf("--samples %d: want at least 1", samples)
			}
			cfg := config.Default()
			if configPath != "" {
				if cfg, err = config.Load(configPath); err != nil {
					return err
				}
			}
			if strat != "" {
				cfg.Strategy = strat
			}
			if datadir != "" {
				cfg.Datadir = datadir
			}
			if exchange != "" {
				cfg.Exchange.Name = exchange
			}
			if len(pairs) > 0 {
				cfg.Exchange.PairWhitelist, cfg.Exchange.PairBlacklist = pairs, nil
			}
			if timeframe != "" {
				if cfg.Timeframe, err = sdk.ParseTimeframe(timeframe); err != nil {
					return fmt.Errorf("--timeframe: %w", err)
				}
			}
			if timerange != "" {
				cfg.Timerange = timerange
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cfg.Strategy == "" {
				return fmt.Errorf("no strategy: pass --strategy (built-in: %s)", strings.Join(strategy.Names(), ", "))
			}
			if len(cfg.Pairs()) == 0 {
				if configPath == "" {
					return fmt.Errorf("no pairs to check: pass --pairs (or --config with exchange.pair_whitelist)")
				}
				return fmt.Errorf("no pairs to check: set exchange.pair_whitelist in %s or pass --pairs", configPath)
			}
			sopts, closeRegistry, err := localStrategies(cmd.Context(), cfg.Strategy, cmd.ErrOrStderr(), logger, log)
			if err != nil {
				return err
			}
			defer closeRegistry()
			st, closeStrategy, err := strategyref.Open(cmd.Context(), cfg.Strategy, sopts)
			if err != nil {
				return err
			}
			defer closeStrategy()
			spec := st.Spec()
			if note := cfg.TimeframeNote(spec); note != "" {
				log.Info(note)
			}
			if spec.FileSignals {
				return fmt.Errorf("strategy %s takes its signals from the data file; there is nothing to check", cfg.Strategy)
			}
			params, err := spec.Resolve(cfg.StrategyParams)
			if err != nil {
				return fmt.Errorf("strategy_params: %w", err)
			}
			data, err := loadCheckData(cmd.Context(), cfg, spec, &dataStore, log)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := data.Close(); cerr != nil && err == nil {
					err = cerr
				}
			}()
			frames := data.Frames()
			rep, err := checks.Run(cmd.Context(), st, frames, params, checks.Options{Samples: samples, Seed: seed})
			if err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = writeCheckReport(out, rep, cfg, frames)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return err
			}
			if !rep.Passed() {
				return errSilent
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&strat, "strategy", "s", "", "strategy to check (overrides the config)")
	f.StringVarP(&configPath, "config", "c", "", "Freqtrade-style JSON config for the data directory, exchange, pairs, timeframe, timerange and strategy_params")
	f.StringVar(&datadir, "datadir", "", datadirHelp)
	dataStore.addFlags(f)
	f.StringVar(&exchange, "exchange", "", "exchange folder in the data directory (overrides the config)")
	f.StringSliceVarP(&pairs, "pairs", "p", nil, "pairs to check, e.g. ETH/BTC (required without a config)")
	f.StringVar(&timeframe, "timeframe", "", "candle timeframe (default: the config's, else the strategy's)")
	f.StringVar(&timerange, "timerange", "", "time range YYYYMMDD-YYYYMMDD, end exclusive; startup candles before it are included")
	f.IntVar(&samples, "samples", 100, "candles sampled per signal column, and other candles, per pair")
	f.Uint64Var(&seed, "seed", 0, "seed for sampling the other candles")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// loadCheckData loads each pair's candles as a backtest loads them: the
// time range plus the strategy's startup candles before it, from the
// --data-store bucket when there is one. The caller closes the data.
func loadCheckData(ctx context.Context, cfg *config.Config, spec sdk.Spec, d *dataStoreFlags, log *slog.Logger) (*backtest.Data, error) {
	plan, err := backtest.NewPlan(cfg, spec)
	if err != nil {
		return nil, err
	}
	mopts, err := d.options(log)
	if err != nil {
		return nil, err
	}
	store, err := market.OpenWith(cfg.Datadir, log, mopts)
	if err != nil {
		return nil, err
	}
	return backtest.Load(ctx, store, plan, log)
}

// writeCheckReport prints the report as a table, then the failures with
// their details and examples.
func writeCheckReport(out *bufio.Writer, rep checks.Report, cfg *config.Config, frames []*sdk.Frame) error {
	names := make([]string, 0, len(rep.Params))
	for k := range rep.Params {
		names = append(names, k)
	}
	slices.Sort(names)
	var ps []string
	for _, k := range names {
		ps = append(ps, fmt.Sprintf("%s=%v", k, rep.Params[k]))
	}
	params := strings.Join(ps, " ")
	if params == "" {
		params = "none"
	}
	tf := rep.Timeframe
	if len(frames) > 0 && frames[0].Timeframe != "" {
		tf = frames[0].Timeframe
	}
	fmt.Fprintf(out, "Strategy %s on %s, %s candles from %s; startup %d candles; parameters: %s\n\n",
		rep.Strategy, checksPlural(len(frames), "pair", "pairs"), tf, cfg.Datadir, rep.StartupCandles, params)
	w := newTable(out)
	fmt.Fprintln(w, "CHECK\tPAIR\tRESULT\tDETAILS")
	for _, r := range rep.Checks {
		pair := r.Pair
		if pair == "" {
			pair = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Name, pair, strings.ToUpper(string(r.Status)), r.Summary)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	failed := rep.Failed()
	if len(failed) == 0 {
		fmt.Fprintf(out, "\nAll checks passed (%d results).\n", len(rep.Checks))
		return nil
	}
	fmt.Fprintln(out, "\nFailures:")
	for _, r := range failed {
		head := r.Name
		if r.Pair != "" {
			head += " " + r.Pair
		}
		fmt.Fprintf(out, "  %s:\n", head)
		for _, d := range r.Details {
			fmt.Fprintf(out, "    %s\n", d)
		}
		for _, e := range r.Examples {
			note := ""
			if e.Note != "" {
				note = " (" + e.Note + ")"
			}
			fmt.Fprintf(out, "    %s candle %d, %s: expected %s, got %s%s\n", e.Time, e.Candle, e.Column, e.Expected, e.Actual, note)
		}
	}
	fmt.Fprintf(out, "\n%d of %d checks failed.\n", len(failed), len(rep.Checks))
	return nil
}

func checksPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
