package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/sdk"
)

func newHyperoptCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		configPath, strat, timerange, datadir, lossName, samplerName, exportPath string
		pairs, spaces                                                            []string
		epochs, jobs, minTrades                                                  int
		seed                                                                     uint64
		printAll                                                                 bool
	)
	cmd := &cobra.Command{
		Use:   "hyperopt --config FILE --spaces SPACE… --epochs N --loss NAME",
		Short: "Search a strategy's parameters, roi, stoploss and trailing settings for the best backtest",
		Long: `Search the parameters of a strategy for the set whose backtest minimises a
loss function, as Freqtrade's hyperopt does (see docs/optimisation.md).

The candles are loaded once; each trial (epoch) backtests one point of the
spaces: buy and sell (the strategy's declared parameters: sell are those
named sell_* or exit_*, buy all others), roi, stoploss and trailing with
Freqtrade's ranges, "default" (buy sell roi stoploss) or "all". The spaces
may follow --spaces separated by spaces, as in Freqtrade.

A line is printed for each new best trial (--print-all: every trial); at the
end the best parameters are printed and written as Freqtrade's strategy
parameter file, which tradai backtest --params reads back. A seed with the
same --jobs reproduces a study.`,
		Example: `  tradai hyperopt --config examples/backtest.json --strategy sma_cross --spaces buy roi stoploss --epochs 500 --loss sharpe
  tradai backtest --config examples/backtest.json --strategy sma_cross --params sma_cross.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if !cmd.Flags().Changed("spaces") {
					return fmt.Errorf("unexpected arguments %v: only space names may follow --spaces", args)
				}
				spaces = append(spaces, args...)
			}
			spaces = splitSpaces(spaces)
			if epochs <= 0 {
				return fmt.Errorf("--epochs: %d is not a positive number of trials", epochs)
			}
			if jobs < 0 {
				return fmt.Errorf("--jobs: %d is negative", jobs)
			}
			if jobs == 0 {
				jobs = runtime.GOMAXPROCS(0)
			}
			if minTrades < 0 {
				return fmt.Errorf("--min-trades: %d is negative", minTrades)
			}
			loss, err := optimize.LossNamed(lossName)
			if err != nil {
				return err
			}
			if !slices.Contains(sample.Names(), samplerName) {
				return fmt.Errorf("--sampler: unknown sampler %q (known: %s)", samplerName, strings.Join(sample.Names(), ", "))
			}
			if !cmd.Flags().Changed("seed") {
				seed = rand.Uint64() % 1_000_000_000
			}
			log, err := logger()
			if err != nil {
				return err
			}
			cfg, err := localConfig(configPath, strat, timerange, datadir, pairs, log)
			if err != nil {
				return err
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
			if err := spec.Validate(); err != nil {
				return err
			}
			if _, err := spec.Resolve(cfg.StrategyParams); err != nil {
				return fmt.Errorf("strategy_params: %w", err)
			}
			settings, err := backtest.ConfigSettings(cfg, spec)
			if err != nil {
				return err
			}
			plan, err := backtest.NewPlan(cfg, spec)
			if err != nil {
				return err
			}
			space, err := optimize.NewSpace(spec, plan.Timeframe, spaces)
			if err != nil {
				return err
			}
			sampler, err := sample.New(samplerName, space.Dims(), seed)
			if err != nil {
				return fmt.Errorf("--sampler %s: %w", samplerName, err)
			}
			store, err := market.Open(cfg.Datadir, log)
			if err != nil {
				return err
			}
			began := time.Now()
			data, err := backtest.Load(cmd.Context(), store, plan, log)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			fmt.Fprintf(out, "Hyperopt of %s: spaces %s, %d epochs, loss %s, sampler %s, %d jobs, seed %d (loaded in %s)\n",
				spec.Name, strings.Join(space.Spaces(), " "), epochs, loss.Name, samplerName, jobs, seed, time.Since(began).Round(time.Millisecond))
			fmt.Fprintf(out, "%-6s %11s %7s %14s %10s %28s %13s %8s %13s\n", "", "Epoch", "Trades", "Win/Draw/Loss", "Avg profit", "Profit", "Avg duration", "Max DD", "Objective")
			out.Flush()
			began = time.Now()
			study, runErr := optimize.Run(cmd.Context(), optimize.Options{
				Strategy: st, Data: data, Settings: settings, Params: cfg.StrategyParams, Space: space,
				Sampler: sampler, Loss: loss, Epochs: epochs, Jobs: jobs, MinTrades: minTrades,
				OnTrial: func(t *optimize.Trial, best bool) {
					if best || printAll {
						trialLine(out, t, best, epochs, plan.StakeCurrency)
						out.Flush()
					}
				},
			})
			elapsed := time.Since(began)
			if study == nil {
				return runErr
			}
			n := len(study.Trials)
			fmt.Fprintf(out, "\n%d trials in %s (%.0f trials/s), %d failed; --seed %d --jobs %d reproduces the study\n",
				n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), study.Failed, seed, jobs)
			if runErr != nil && !errors.Is(runErr, cmd.Context().Err()) {
				return runErr
			}
			if runErr != nil {
				fmt.Fprintf(out, "Interrupted after %d of %d epochs: the best so far follows.\n", n, epochs)
			}
			if len(study.Best) == 0 {
				return fmt.Errorf("hyperopt: no trial succeeded")
			}
			best := study.Best[0]
			fmt.Fprintf(out, "\nBest result:\n")
			trialLine(out, best.Trial, true, epochs, plan.StakeCurrency)
			writeBestParams(out, space, best.Result.Params, best.Point)
			writeOverfitting(out, study.Overfitting())
			if exportPath == "" {
				exportPath = spec.Name + ".json"
			}
			if err := optimize.NewParamsFile(spec, best.Result.Params, best.Point.Risk, time.Now()).Write(exportPath); err != nil {
				return fmt.Errorf("writing the strategy parameter file: %w", err)
			}
			fmt.Fprintf(out, "\nParameters written to %s; backtest them with: tradai backtest --config %s --strategy %s --params %s\n",
				exportPath, configPath, cfg.Strategy, exportPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "Freqtrade-style JSON config file")
	f.StringVarP(&strat, "strategy", "s", "", "strategy: a built-in name, a Python file (./my.py), a wasm module (./my.wasm), exec:./program, or a registry version (NAME@3, NAME@production) (overrides the config)")
	f.StringVar(&timerange, "timerange", "", "time range YYYYMMDD-YYYYMMDD, end exclusive; either side may be empty")
	f.StringSliceVarP(&pairs, "pairs", "p", nil, "pairs to test, e.g. ETH/BTC (overrides the whitelist)")
	f.StringVar(&datadir, "datadir", "", datadirHelp)
	f.StringSliceVar(&spaces, "spaces", []string{"default"}, "spaces to search: buy sell roi stoploss trailing, default (buy sell roi stoploss) or all")
	f.IntVarP(&epochs, "epochs", "e", 100, "number of trials")
	f.StringVar(&lossName, "loss", "SharpeHyperOptLoss", "loss function: a Freqtrade name or its short form ("+strings.Join(optimize.LossNames(), ", ")+"), or weights:METRIC=W,… (docs/optimisation.md)")
	f.StringVar(&samplerName, "sampler", "random", "search strategy: "+strings.Join(sample.Names(), ", "))
	f.IntVarP(&jobs, "jobs", "j", 0, "trials run at once (default: the number of CPUs)")
	f.Uint64Var(&seed, "seed", 0, "seed of the sampler (default: a random one, printed)")
	f.IntVar(&minTrades, "min-trades", 1, "a trial with fewer trades gets the loss 100000")
	f.BoolVar(&printAll, "print-all", false, "print every trial, not only each new best")
	f.StringVar(&exportPath, "export-params", "", "where to write the best parameters (default: <strategy>.json in the current folder)")
	return cmd
}

// splitSpaces accepts "buy sell" and "buy,sell" as well as repeated flags.
func splitSpaces(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })...)
	}
	return out
}

// trialLine prints one trial as Freqtrade's hyperopt table does.
func trialLine(w io.Writer, t *optimize.Trial, best bool, epochs int, stake string) {
	mark := ""
	if best {
		mark = "* Best"
	}
	epoch := fmt.Sprintf("%d/%d", t.Number, epochs)
	if t.Failed() {
		fmt.Fprintf(w, "%-6s %11s failed: %s\n", mark, epoch, t.Err)
		return
	}
	fg := t.Figures
	fmt.Fprintf(w, "%-6s %11s %7d %14s %9.2f%% %28s %13s %7.2f%% %13.5f\n", mark, epoch, fg.Trades,
		fmt.Sprintf("%d %d %d", fg.Wins, fg.Draws, fg.Losses), fg.ProfitMean*100,
		fmt.Sprintf("%.3f %s (%.2f%%)", fg.ProfitTotalAbs, stake, fg.ProfitTotal*100),
		minutesText(fg.HoldingAvg), fg.MaxDrawdownAccount*100, t.Loss)
}

// minutesText writes a duration in minutes as Freqtrade does, "0 days
// 03:20:00".
func minutesText(m float64) string {
	d := time.Duration(m * float64(time.Minute)).Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	return fmt.Sprintf("%d days %02d:%02d:%02d", days, d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
}

// writeBestParams prints the searched spaces' best values as Freqtrade
// prints them.
func writeBestParams(w io.Writer, space *optimize.Space, values sdk.Values, p optimize.Point) {
	for _, sp := range []string{optimize.SpaceBuy, optimize.SpaceSell} {
		if !space.Has(sp) {
			continue
		}
		fmt.Fprintf(w, "\n    # %s hyperspace params:\n    %s_params = {\n", strings.ToUpper(sp[:1])+sp[1:], sp)
		var names []string
		for name := range p.Params {
			if optimize.ParamSpace(name) == sp {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(w, "        %q: %s,\n", name, pyValue(values[name]))
		}
		fmt.Fprintf(w, "    }\n")
	}
	if space.Has(optimize.SpaceROI) {
		fmt.Fprintf(w, "\n    # ROI table:\n    minimal_roi = {\n")
		for _, s := range p.Risk.MinimalROI {
			fmt.Fprintf(w, "        \"%d\": %s,\n", s.Minutes, pyValue(s.Ratio))
		}
		fmt.Fprintf(w, "    }\n")
	}
	if space.Has(optimize.SpaceStoploss) {
		fmt.Fprintf(w, "\n    # Stoploss:\n    stoploss = %s\n", pyValue(p.Risk.Stoploss))
	}
	if space.Has(optimize.SpaceTrailing) {
		r := p.Risk
		fmt.Fprintf(w, "\n    # Trailing stop:\n    trailing_stop = %s\n    trailing_stop_positive = %s\n    trailing_stop_positive_offset = %s\n    trailing_only_offset_is_reached = %s\n",
			pyValue(r.TrailingStop), pyValue(r.TrailingStopPositive), pyValue(r.TrailingStopPositiveOffset), pyValue(r.TrailingOnlyOffsetIsReached))
	}
}

// writeOverfitting prints the study's overfitting figures and verdict.
func writeOverfitting(w io.Writer, o optimize.Overfitting) {
	fmt.Fprintf(w, "\nOverfitting (%d trials, %d days of daily returns; docs/optimisation.md):\n", o.Trials, o.Periods)
	if !math.IsNaN(o.DSR) {
		fmt.Fprintf(w, "    Deflated Sharpe ratio: %.2f (trial %d's daily Sharpe %.3f against %.3f, what the best of %d worthless trials reaches by luck)\n",
			o.DSR, o.Best, o.Deflated.Sharpe, o.Deflated.Benchmark, o.Trials)
	}
	if !math.IsNaN(o.PBO) {
		fmt.Fprintf(w, "    Probability of backtest overfitting: %.0f%% (CSCV over %d trials, %d blocks, %d splits; the pick loses money out of sample in %.0f%%)\n",
			100*o.PBO, len(o.Kept), o.CSCV.Splits, o.CSCV.Combinations, 100*o.CSCV.ProbLoss)
	}
	for _, n := range o.Notes {
		fmt.Fprintf(w, "    Not measured: %s\n", n)
	}
	fmt.Fprintf(w, "    %s\n", o.Verdict)
}

// pyValue writes a value as Python source.
func pyValue(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		return fmt.Sprintf("%g", x)
	}
	return fmt.Sprint(v)
}
