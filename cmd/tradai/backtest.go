package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

func newBacktestCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		configPath, strat, timerange, datadir, exportJSON, reportPath string
		paramsPath                                                    string
		pairs                                                         []string
		remote                                                        remoteBacktest
		dataStore                                                     dataStoreFlags
	)
	cmd := &cobra.Command{
		Use:   "backtest --config FILE",
		Short: "Backtest a strategy on candle files and report the results",
		Long: `Backtest a strategy on the candle files in the config's data directory.

The config is a Freqtrade-style JSON file (see docs/backtesting.md). Flags
override the config. The summary goes to standard output; --export-json and
--report write the full results and a self-contained HTML report. Each file
is replaced whole (a reader never sees half of one) but not synced to disk:
after a power cut it may be missing or empty; run the backtest again.

With --remote URL the backtest runs on a TradAI server instead: the same
config is submitted (its datadir is ignored: the server uses its own data),
progress is shown while it runs, Ctrl-C cancels it, and the same summary and
files follow. See docs/remote.md.`,
		Example: `  tradai backtest --config examples/backtest.json --report report.html
  tradai backtest --config examples/backtest.json --strategy rsi_bollinger --timerange 20180115-20180125 --pairs ETH/BTC
  tradai backtest --remote http://127.0.0.1:8080 --config examples/backtest.json --report report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if paramsPath != "" && remote.url != "" {
				return fmt.Errorf("--params goes with a local backtest (not with --remote)")
			}
			if remote.url != "" && datadir != "" {
				return fmt.Errorf("--datadir is for a local backtest: with --remote the server reads its own data folder")
			}
			if remote.url != "" && dataStore.url != "" {
				return fmt.Errorf("--data-store is for a local backtest: with --remote the server reads its own data")
			}
			if remote.url != "" {
				remote.configPath, remote.strategy, remote.timerange, remote.pairs = configPath, strat, timerange, pairs
				remote.exportJSON, remote.reportPath = exportJSON, reportPath
				return remote.run(cmd)
			}
			if remote.noWait || remote.token != "" || remote.home != "" || len(remote.tags) > 0 {
				return fmt.Errorf("--no-wait, --tag, --token and --home go with --remote URL")
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
			if paramsPath != "" {
				if err := applyParamsFile(cfg, paramsPath, st.Spec()); err != nil {
					return err
				}
			}
			if note := cfg.TimeframeNote(st.Spec()); note != "" {
				log.Info(note)
			}
			writesFiles := exportJSON != "" || reportPath != ""
			if writesFiles {
				readyFilesHeap(cmd.Context())
			}
			if err := pullData(cmd.Context(), &dataStore, cfg, st.Spec(), log); err != nil {
				return err
			}
			// The text of the export's trade list is made as the trades
			// close, on a core the simulation leaves idle.
			var early *report.EarlyTrades
			var closed func(*trade.Trade)
			if exportJSON != "" {
				early = report.NewEarlyTrades()
				defer early.Close()
				closed = early.Closed
			}
			began := time.Now()
			res, err := backtest.RunClosing(cmd.Context(), cfg, st, log, closed)
			if err != nil {
				return err
			}
			// The files are written beside the metrics and the summary,
			// each on its own goroutine: on a large backtest writing them
			// costs about as much as the run. Their trades, most of their
			// work, need no metrics: they begin at once and wait for the
			// metrics where they need them. They are not synced: the run
			// can be repeated, and syncing 20 MB costs more than the run.
			if writesFiles {
				keepFilesUncollected(cmd.Context())
			}
			metricsOf := sync.OnceValue(func() metrics.Report { return metrics.Compute(res) })
			out := report.NewFiles(res, metricsOf, early)
			var files sync.WaitGroup
			var jsonErr, reportErr error
			if exportJSON != "" {
				files.Go(func() { jsonErr = atomicfile.WriteUnsynced(exportJSON, out.WriteJSON) })
			}
			if reportPath != "" {
				files.Go(func() { reportErr = atomicfile.WriteUnsynced(reportPath, out.WriteHTML) })
			}
			m := metricsOf()
			log.Debug("backtest finished", "candles", res.Candles, "trades", len(res.Trades), "elapsed", time.Since(began))
			stdout := bufio.NewWriter(cmd.OutOrStdout())
			err = report.WriteSummary(stdout, res, m)
			if err == nil {
				err = stdout.Flush()
			}
			files.Wait()
			if err != nil {
				return err
			}
			if exportJSON != "" {
				if jsonErr != nil {
					return fmt.Errorf("writing --export-json: %w", jsonErr)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Results written to %s\n", exportJSON)
			}
			if reportPath != "" {
				if reportErr != nil {
					return fmt.Errorf("writing --report: %w", reportErr)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "HTML report written to %s\n", reportPath)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "Freqtrade-style JSON config file")
	f.StringVarP(&strat, "strategy", "s", "", "strategy: a built-in name, a Python file (./my.py), a wasm module (./my.wasm), exec:./program, or a registry version (NAME@3, NAME@production) (overrides the config)")
	f.StringVar(&timerange, "timerange", "", "time range YYYYMMDD-YYYYMMDD, end exclusive; either side may be empty")
	f.StringSliceVarP(&pairs, "pairs", "p", nil, "pairs to test, e.g. ETH/BTC (overrides the whitelist)")
	f.StringVar(&datadir, "datadir", "", datadirHelp)
	dataStore.addFlags(f)
	f.StringVar(&exportJSON, "export-json", "", "write trades, metrics and equity curve as JSON to this file")
	f.StringVar(&reportPath, "report", "", "write a self-contained HTML report to this file")
	f.StringVar(&paramsPath, "params", "", "a strategy parameter file (Freqtrade's <strategy>.json, as tradai hyperopt writes it): its parameters, roi, stoploss and trailing settings override the config's")
	remote.addFlags(f, "run the backtest on this TradAI server (tradai serve) instead of here, e.g. http://127.0.0.1:8080")
	f.BoolVar(&remote.noWait, "no-wait", false, "with --remote: print the run id and return without waiting")
	f.StringToStringVar(&remote.tags, "tag", nil, "with --remote: label the run, key=value (repeat the flag for more)")
	return cmd
}

// localConfig loads the config of a local run at configPath with the
// command line's overrides and validates it; the config or --strategy
// must name a strategy.
func localConfig(configPath, strat, timerange, datadir string, pairs []string, log *slog.Logger) (*config.Config, error) {
	if configPath == "" {
		return nil, fmt.Errorf("--config is required")
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	if len(cfg.Ignored) > 0 {
		log.Info("config keys without effect on a backtest were ignored", "keys", cfg.Ignored)
	}
	if strat != "" {
		cfg.Strategy = strat
	}
	if timerange != "" {
		cfg.Timerange = timerange
	}
	if datadir != "" {
		cfg.Datadir = datadir
	}
	if len(pairs) > 0 {
		cfg.Exchange.PairWhitelist, cfg.Exchange.PairBlacklist = pairs, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Strategy == "" {
		return nil, fmt.Errorf("no strategy: set \"strategy\" in %s or pass --strategy (built-in: %v)", configPath, strategy.Names())
	}
	return cfg, nil
}

// applyParamsFile puts the strategy parameter file at path into cfg for
// the strategy declaring spec and validates the result.
func applyParamsFile(cfg *config.Config, path string, spec sdk.Spec) error {
	f, err := optimize.ReadParams(path)
	if err != nil {
		return fmt.Errorf("--params: %w", err)
	}
	if err := f.Apply(cfg, spec); err != nil {
		return fmt.Errorf("--params %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--params %s: %w", path, err)
	}
	return nil
}
