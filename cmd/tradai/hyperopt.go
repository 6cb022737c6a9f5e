package main

import (
	"bufio"
	"context"
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
	"github.com/spf13/pflag"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/sdk"
)

func newHyperoptCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		sf                     studyFlags
		exportPath, reportPath string
		printAll               bool
		remote                 remoteOpts
		parallel, batch        int
		noWait, push           bool
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
end the best parameters are printed with the overfitting figures (deflated
Sharpe ratio, probability of backtest overfitting, verdict) and written as
Freqtrade's strategy parameter file, which tradai backtest --params reads
back. --report writes the study's HTML report. A seed with the same --jobs
reproduces a study.

With --remote URL the study runs on the server's workers, which share its
trials (tradai studies shows, cancels, resumes and exports it); the best
parameters are written here as above, and with --push also pushed as a
new registry version of the strategy.`,
		Example: `  tradai hyperopt --config examples/backtest.json --strategy sma_cross --spaces buy roi stoploss --epochs 500 --loss sharpe --report study.html
  tradai backtest --config examples/backtest.json --strategy sma_cross --params sma_cross.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(cmd); err != nil {
				return err
			}
			if remote.url != "" {
				if sf.datadir != "" || sf.dataStore.url != "" || reportPath != "" || printAll || cmd.Flags().Changed("jobs") {
					return fmt.Errorf("--datadir, --data-store, --report, --print-all and --jobs are for a local hyperopt: with --remote the server's workers run the trials (--parallel, --batch)")
				}
				if push && noWait {
					return fmt.Errorf("--push waits for the study: without --no-wait, or later with tradai studies export ID --as-version")
				}
				return remoteStudy(cmd, &sf, &remote, exportPath, parallel, batch, noWait, push)
			}
			if parallel != 0 || batch != 0 || noWait || push || remote.token != "" || remote.home != "" {
				return fmt.Errorf("--parallel, --batch, --no-wait, --push, --token and --home go with --remote URL")
			}
			env, err := sf.open(cmd, logger)
			if err != nil {
				return err
			}
			defer env.close()
			sampler, err := sample.New(sf.samplerName, env.space.Dims(), sf.seed)
			if err != nil {
				return fmt.Errorf("--sampler %s: %w", sf.samplerName, err)
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			fmt.Fprintf(out, "Hyperopt of %s: spaces %s, %d epochs, loss %s, sampler %s, %d jobs, seed %d (loaded in %s)\n",
				env.spec.Name, strings.Join(env.space.Spaces(), " "), sf.epochs, env.loss.Name, sf.samplerName, sf.jobs, sf.seed, env.loaded.Round(time.Millisecond))
			trialHeader(out)
			out.Flush()
			began := time.Now()
			opts := env.studyOptions(cmd.Context(), &sf)
			opts.Sampler = sampler
			opts.OnTrial = func(t *optimize.Trial, best bool) {
				if best || printAll {
					trialLine(out, t, best, sf.epochs, env.plan.StakeCurrency)
					out.Flush()
				}
			}
			study, runErr := optimize.Run(cmd.Context(), opts)
			elapsed := time.Since(began)
			if study == nil {
				return runErr
			}
			n := len(study.Trials)
			fmt.Fprintf(out, "\n%d trials in %s (%.0f trials/s), %d failed; --seed %d --jobs %d reproduces the study\n",
				n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), study.Failed, sf.seed, sf.jobs)
			if runErr != nil && !errors.Is(runErr, cmd.Context().Err()) {
				return runErr
			}
			if runErr != nil {
				fmt.Fprintf(out, "Interrupted after %d of %d epochs: the best so far follows.\n", n, sf.epochs)
			}
			if len(study.Best) == 0 {
				return fmt.Errorf("hyperopt: no trial succeeded")
			}
			best := study.Best[0]
			fmt.Fprintf(out, "\nBest result:\n")
			trialLine(out, best.Trial, true, sf.epochs, env.plan.StakeCurrency)
			writeBestParams(out, env.space, best.Result.Params, best.Point)
			of := study.Overfitting()
			writeOverfitting(out, of)
			if exportPath == "" {
				exportPath = env.spec.Name + ".json"
			}
			if err := optimize.NewParamsFile(env.spec, best.Result.Params, best.Point.Risk, time.Now()).Write(exportPath); err != nil {
				return fmt.Errorf("writing the strategy parameter file: %w", err)
			}
			fmt.Fprintf(out, "\nParameters written to %s; backtest them with: tradai backtest --config %s --strategy %s --params %s\n",
				exportPath, sf.configPath, env.cfg.Strategy, exportPath)
			if reportPath != "" {
				rep := &report.StudyReport{Title: env.spec.Name, Loss: env.loss.Name, Sampler: sf.samplerName, Seed: sf.seed, Jobs: sf.jobs,
					Epochs: sf.epochs, Spaces: env.space.Spaces()}
				optimize.FillStudyReport(rep, study, env.space.Dims(), of)
				if err := atomicfile.Write(reportPath, func(w io.Writer) error { return report.WriteStudyHTML(w, rep) }); err != nil {
					return fmt.Errorf("--report: %w", err)
				}
				fmt.Fprintf(out, "Study report written to %s\n", reportPath)
			}
			return nil
		},
	}
	f := cmd.Flags()
	sf.register(f)
	f.BoolVar(&printAll, "print-all", false, "print every trial, not only each new best")
	f.StringVar(&exportPath, "export-params", "", "where to write the best parameters (default: <strategy>.json in the current folder)")
	f.StringVar(&reportPath, "report", "", "write the study's HTML report (top trials, convergence, parameter importance, overfitting) to this file")
	remote.addFlags(f, "run the study on this TradAI server's workers (tradai serve, tradai worker) instead of here, e.g. http://127.0.0.1:8080")
	f.IntVar(&parallel, "parallel", 0, "with --remote: batch jobs queued at once, the most workers helping at a time (default 2)")
	f.IntVar(&batch, "batch", 0, "with --remote: trials a worker asks for and runs per job (default 16)")
	f.BoolVar(&noWait, "no-wait", false, "with --remote: print the study id and return without waiting")
	f.BoolVar(&push, "push", false, "with --remote and a registry version (--strategy NAME@V): also push the best parameters as a new version of it (as tradai studies export ID --as-version)")
	return cmd
}

// studyFlags are the flags of a study, shared by hyperopt and walkforward.
type studyFlags struct {
	configPath, strat, timerange, datadir, lossName, samplerName string
	pairs, spaces                                                []string
	epochs, jobs, minTrades                                      int
	seed                                                         uint64
	dataStore                                                    dataStoreFlags
}

func (sf *studyFlags) register(f *pflag.FlagSet) {
	f.StringVarP(&sf.configPath, "config", "c", "", "Freqtrade-style JSON config file")
	f.StringVarP(&sf.strat, "strategy", "s", "", "strategy: a built-in name, a Python file (./my.py), a wasm module (./my.wasm), exec:./program, or a registry version (NAME@3, NAME@production) (overrides the config)")
	f.StringVar(&sf.timerange, "timerange", "", "time range YYYYMMDD-YYYYMMDD, end exclusive; either side may be empty")
	f.StringSliceVarP(&sf.pairs, "pairs", "p", nil, "pairs to test, e.g. ETH/BTC (overrides the whitelist)")
	f.StringVar(&sf.datadir, "datadir", "", datadirHelp)
	sf.dataStore.addFlags(f)
	f.StringSliceVar(&sf.spaces, "spaces", []string{"default"}, "spaces to search: buy sell roi stoploss trailing, default (buy sell roi stoploss) or all")
	f.IntVarP(&sf.epochs, "epochs", "e", 100, "number of trials")
	f.StringVar(&sf.lossName, "loss", "SharpeHyperOptLoss", "loss function: a Freqtrade name or its short form ("+strings.Join(optimize.LossNames(), ", ")+"), or weights:METRIC=W,… (docs/optimisation.md)")
	f.StringVar(&sf.samplerName, "sampler", "random", "search strategy: "+strings.Join(sample.Names(), ", "))
	f.IntVarP(&sf.jobs, "jobs", "j", 0, "trials run at once (default: the number of CPUs)")
	f.Uint64Var(&sf.seed, "seed", 0, "seed of the sampler (default: a random one, printed)")
	f.IntVar(&sf.minTrades, "min-trades", 1, "a trial with fewer trades gets the loss 100000")
}

// check validates the flags and fills the defaults (jobs, seed).
func (sf *studyFlags) check(cmd *cobra.Command) error {
	sf.spaces = splitSpaces(sf.spaces)
	if sf.epochs <= 0 {
		return fmt.Errorf("--epochs: %d is not a positive number of trials", sf.epochs)
	}
	if sf.jobs < 0 {
		return fmt.Errorf("--jobs: %d is negative", sf.jobs)
	}
	if sf.jobs == 0 {
		sf.jobs = runtime.GOMAXPROCS(0)
	}
	if sf.minTrades < 0 {
		return fmt.Errorf("--min-trades: %d is negative", sf.minTrades)
	}
	if _, err := optimize.LossNamed(sf.lossName); err != nil {
		return err
	}
	if !slices.Contains(sample.Names(), sf.samplerName) {
		return fmt.Errorf("--sampler: unknown sampler %q (known: %s)", sf.samplerName, strings.Join(sample.Names(), ", "))
	}
	if !cmd.Flags().Changed("seed") {
		sf.seed = rand.Uint64() % 1_000_000_000
	}
	return nil
}

// studyEnv is what a study runs on: the config, the strategy, its space,
// and the candles, loaded once; close releases them all.
type studyEnv struct {
	cfg      *config.Config
	strategy sdk.Strategy
	spec     sdk.Spec
	settings backtest.Settings
	plan     backtest.Plan
	space    *optimize.Space
	loss     optimize.Loss
	data     *backtest.Data
	loaded   time.Duration
	close    func()
}

// open reads the config, opens the strategy and loads the candles.
func (sf *studyFlags) open(cmd *cobra.Command, logger func() (*slog.Logger, error)) (_ *studyEnv, err error) {
	log, err := logger()
	if err != nil {
		return nil, err
	}
	env := &studyEnv{close: func() {}}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	if env.loss, err = optimize.LossNamed(sf.lossName); err != nil {
		return nil, err
	}
	if env.cfg, err = localConfig(sf.configPath, sf.strat, sf.timerange, sf.datadir, sf.pairs, log); err != nil {
		return nil, err
	}
	sopts, closeRegistry, err := localStrategies(cmd.Context(), env.cfg.Strategy, cmd.ErrOrStderr(), logger, log)
	if err != nil {
		return nil, err
	}
	env.close = closeRegistry
	st, closeStrategy, err := strategyref.Open(cmd.Context(), env.cfg.Strategy, sopts)
	if err != nil {
		return nil, err
	}
	env.close = func() { closeStrategy(); closeRegistry() }
	env.strategy, env.spec = st, st.Spec()
	if err := env.spec.Validate(); err != nil {
		return nil, err
	}
	if _, err := env.spec.Resolve(env.cfg.StrategyParams); err != nil {
		return nil, fmt.Errorf("strategy_params: %w", err)
	}
	if env.settings, err = backtest.ConfigSettings(env.cfg, env.spec); err != nil {
		return nil, err
	}
	if env.plan, err = backtest.NewPlan(env.cfg, env.spec); err != nil {
		return nil, err
	}
	if env.space, err = optimize.NewSpace(env.spec, env.plan.Timeframe, sf.spaces); err != nil {
		return nil, err
	}
	mopts, err := sf.dataStore.options(log)
	if err != nil {
		return nil, err
	}
	store, err := market.OpenWith(env.cfg.Datadir, log, mopts)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if env.data, err = backtest.Load(cmd.Context(), store, env.plan, log); err != nil {
		return nil, err
	}
	closeRest := env.close
	env.close = func() {
		if err := env.data.Close(); err != nil {
			log.Warn("releasing the candles", "err", err)
		}
		closeRest()
	}
	env.loaded = time.Since(began)
	return env, nil
}

// studyOptions are the options of a study of env with sf (no sampler),
// bounding the process's memory as ctx says (studyMemory).
func (env *studyEnv) studyOptions(ctx context.Context, sf *studyFlags) optimize.Options {
	return optimize.Options{
		Strategy: env.strategy, Data: env.data, Settings: env.settings, Params: env.cfg.StrategyParams, Space: env.space,
		Loss: env.loss, Epochs: sf.epochs, Jobs: sf.jobs, MinTrades: sf.minTrades, Memory: studyMemory(ctx),
	}
}

// trialHeader prints the head of the trial table.
func trialHeader(w io.Writer) {
	fmt.Fprintf(w, "%-6s %11s %7s %14s %10s %28s %13s %8s %13s\n", "", "Epoch", "Trades", "Win/Draw/Loss", "Avg profit", "Profit", "Avg duration", "Max DD", "Objective")
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
