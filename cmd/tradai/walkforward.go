package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/report"
)

func newWalkforwardCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		sf                                studyFlags
		train, test, step                 string
		anchored                          bool
		reportPath, exportJSON, oosReport string
		remote                            remoteOpts
	)
	cmd := &cobra.Command{
		Use:   "walkforward --config FILE --train 90d --test 30d --step 30d [--anchored]",
		Short: "Optimise on rolling or anchored windows and test each window's best parameters on the data after it",
		Long: `Walk-forward analysis (docs/optimisation.md): the time range is cut into
windows; in each, a hyperopt study (the same flags as tradai hyperopt) runs
on the training range and its best parameters are backtested on the test
range that follows. The tests, out of sample, are stitched into one result
and equity curve. The candles are loaded once for the whole range.

Rolling windows train on --train each, moving by --step; --anchored
windows all train from the start of the range, growing by --step. --step
must be at least --test. Lengths are a whole number and m, h, d or w.
Window i's sampler is seeded with --seed + i, so a seed with the same
--jobs repeats the analysis.

With --remote URL one of the server's workers runs the analysis (a run of
kind walkforward, docs/optimisation.md) on the server's market data; the
command follows it and writes --report, --export-json and --oos-report
from the server's results, the same files as a local analysis with the
same --seed and --jobs.`,
		Example: `  tradai walkforward --config examples/backtest.json --strategy sma_cross --spaces buy roi stoploss --train 8d --test 4d --step 4d --epochs 100 --report wf.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(cmd); err != nil {
				return err
			}
			if remote.url != "" {
				if sf.datadir != "" {
					return fmt.Errorf("--datadir is for a local walk-forward: with --remote the server reads its own market data")
				}
				if sf.dataStore.url != "" {
					return fmt.Errorf("--data-store is for a local walk-forward: with --remote the server reads its own market data")
				}
				jobs := 0 // the worker's CPUs
				if cmd.Flags().Changed("jobs") {
					jobs = sf.jobs
				}
				return remoteWalkForward(cmd, &sf, &remote, apitype.WalkForwardSettings{Train: train, Test: test, Step: step, Anchored: anchored,
					Spaces: sf.spaces, Epochs: sf.epochs, Loss: sf.lossName, Sampler: sf.samplerName, Seed: sf.seed, MinTrades: sf.minTrades, Jobs: jobs},
					map[string]string{client.WalkForwardReport: reportPath, client.WalkForwardResult: exportJSON, client.WalkForwardOOSReport: oosReport})
			}
			if remote.token != "" || remote.home != "" {
				return fmt.Errorf("--token and --home go with --remote URL")
			}
			var lens [3]time.Duration
			for i, f := range []struct{ name, v string }{{"train", train}, {"test", test}, {"step", step}} {
				d, err := optimize.ParseSpan(f.v)
				if err != nil {
					return fmt.Errorf("--%s: %w", f.name, err)
				}
				lens[i] = d
			}
			env, err := sf.open(cmd, logger)
			if err != nil {
				return err
			}
			defer env.close()
			windows, err := optimize.Windows(env.data.Span(), lens[0], lens[1], lens[2], anchored)
			if err != nil {
				return err
			}
			if _, err := sample.New(sf.samplerName, env.space.Dims(), sf.seed); err != nil {
				return fmt.Errorf("--sampler %s: %w", sf.samplerName, err)
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			mode := "rolling"
			if anchored {
				mode = "anchored"
			}
			fmt.Fprintf(out, "Walk-forward of %s: %d %s windows (train %s, test %s, step %s); per window %d epochs, spaces %s, loss %s, sampler %s, %d jobs, seed %d\n",
				env.spec.Name, len(windows), mode, train, test, step, sf.epochs, strings.Join(env.space.Spaces(), " "), env.loss.Name, sf.samplerName, sf.jobs, sf.seed)
			fmt.Fprintf(out, "%-6s %-23s %-23s %9s %8s %7s %9s %8s %7s %10s  %s\n", "Window", "Train", "Test", "IS profit", "IS Shrp", "IS n", "OOS prft", "OOS Shrp", "OOS n", "Efficiency", "Verdict")
			out.Flush()
			began := time.Now()
			wf, err := optimize.RunWalkForward(cmd.Context(), optimize.WalkOptions{
				Study:   env.studyOptions(cmd.Context(), &sf),
				Windows: windows,
				Sampler: optimize.WindowSamplers(sf.samplerName, env.space.Dims(), sf.seed),
				OnWindow: func(w *optimize.WindowResult) {
					is, os := w.Best.Metrics.Summary, w.OOSMetrics.Summary
					fmt.Fprintf(out, "%-6d %-23s %-23s %8.2f%% %8.2f %7d %8.2f%% %8.2f %7d %10s  %s\n", w.Index+1,
						rangeText(w.Train.Start, w.Train.End), rangeText(w.Window.Test.Start, w.Window.Test.End),
						100*is.ProfitTotal, is.SharpeDaily, is.TotalTrades, 100*os.ProfitTotal, os.SharpeDaily, os.TotalTrades,
						ratio(w.Efficiency), firstWords(w.Overfitting.Verdict))
					out.Flush()
				},
			})
			if err != nil {
				if errors.Is(err, cmd.Context().Err()) {
					return fmt.Errorf("walk-forward interrupted: %w", err)
				}
				return err
			}
			s := wf.OOSMetrics.Summary
			fmt.Fprintf(out, "\nOut of sample, stitched (%s, %d trades): profit %.2f%% (%.3f %s), daily Sharpe %.2f, max drawdown %.2f%%\n",
				rangeText(wf.OOS.Start, wf.OOS.End), s.TotalTrades, 100*s.ProfitTotal, s.ProfitTotalAbs,
				wf.OOS.StakeCurrency, s.SharpeDaily, 100*s.MaxDrawdownEquity)
			fmt.Fprintf(out, "Walk-forward efficiency (out-of-sample profit per day / in-sample): %s\n", ratio(wf.Efficiency))
			fmt.Fprintf(out, "%d windows in %s; --seed %d --jobs %d reproduces the analysis\n", len(wf.Windows), time.Since(began).Round(time.Millisecond), sf.seed, sf.jobs)
			rep := &report.WalkForwardReport{Title: env.spec.Name, Loss: env.loss.Name, Sampler: sf.samplerName, Seed: sf.seed, Epochs: sf.epochs,
				Train: train, Test: test, Step: step, Anchored: anchored}
			optimize.FillWalkForwardReport(rep, wf)
			for _, f := range []struct {
				flag, path, what string
				write            func(io.Writer) error
			}{
				{"--report", reportPath, "Walk-forward report", func(w io.Writer) error { return report.WriteWalkForwardHTML(w, rep) }},
				{"--export-json", exportJSON, "Walk-forward results", func(w io.Writer) error { return report.WriteWalkForwardJSON(w, rep) }},
				{"--oos-report", oosReport, "Out-of-sample backtest report", func(w io.Writer) error { return rep.OOSFiles().WriteHTML(w) }},
			} {
				if f.path == "" {
					continue
				}
				if err := atomicfile.Write(f.path, f.write); err != nil {
					return fmt.Errorf("writing %s: %w", f.flag, err)
				}
				fmt.Fprintf(out, "%s written to %s\n", f.what, f.path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	sf.register(f)
	f.StringVar(&train, "train", "", "length of each training range, e.g. 90d (m, h, d or w)")
	f.StringVar(&test, "test", "", "length of each test range, e.g. 30d")
	f.StringVar(&step, "step", "", "how far each window moves on (default: --test)")
	f.BoolVar(&anchored, "anchored", false, "every window trains from the start of the range (the training range grows)")
	f.StringVar(&reportPath, "report", "", "write the walk-forward HTML report (in sample beside out of sample, stitched equity) to this file")
	f.StringVar(&exportJSON, "export-json", "", "write the walk-forward results as JSON to this file")
	f.StringVar(&oosReport, "oos-report", "", "write the stitched out-of-sample result as a backtest HTML report to this file")
	remote.addFlags(f, "run the walk-forward on one of this TradAI server's workers (tradai serve, tradai worker) instead of here, e.g. http://127.0.0.1:8080")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if train == "" {
			return fmt.Errorf("--train is required (e.g. --train 90d)")
		}
		if test == "" {
			return fmt.Errorf("--test is required (e.g. --test 30d)")
		}
		if step == "" {
			step = test
		}
		return nil
	}
	return cmd
}

// remoteWalkForward submits the walk-forward to the server, follows it and
// writes its files (by client file name, to the paths given; empty: not
// written) from the server's results.
func remoteWalkForward(cmd *cobra.Command, sf *studyFlags, ro *remoteOpts, w apitype.WalkForwardSettings, files map[string]string) error {
	ctx := cmd.Context()
	cfg, strat, err := sf.remoteRequest()
	if err != nil {
		return err
	}
	rc, err := ro.connect()
	if err != nil {
		return err
	}
	stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
	tk, err := rc.c.SubmitWalkForward(ctx, apitype.WalkForwardRequest{Strategy: strat, Config: cfg, Timerange: sf.timerange, Pairs: sf.pairs, WalkForwardSettings: w})
	if err != nil {
		return rc.explain(err)
	}
	fmt.Fprintf(stderr, "submitted walk-forward %s to %s (seed %d)\n", tk.RunID, rc.c.BaseURL(), sf.seed)
	interrupted := fmt.Errorf("interrupted: stopped following; walk-forward %s goes on (tradai runs cancel %s stops it)", tk.RunID, tk.RunID)
	last := ""
	var wf apitype.WalkForward
	for {
		if wf, err = rc.c.WalkForward(ctx, tk.RunID); err != nil {
			if ctx.Err() != nil {
				return interrupted
			}
			return rc.explain(err)
		}
		line := fmt.Sprintf("%s: %.0f%%", wf.Run.Status, 100*wf.Run.Progress)
		if line != last {
			fmt.Fprintln(stderr, line)
			last = line
		}
		if client.Terminal(wf.Run.Status) {
			break
		}
		select {
		case <-ctx.Done():
			return interrupted
		case <-time.After(500 * time.Millisecond):
		}
	}
	if wf.Run.Status != client.Completed {
		return fmt.Errorf("walk-forward %s %s: %s", wf.Run.ID, wf.Run.Status, wf.Run.Error)
	}
	for _, f := range []struct{ file, flag, what string }{
		{client.WalkForwardReport, "--report", "Walk-forward report"},
		{client.WalkForwardResult, "--export-json", "Walk-forward results"},
		{client.WalkForwardOOSReport, "--oos-report", "Out-of-sample backtest report"},
	} {
		if files[f.file] == "" {
			continue
		}
		b, err := rc.c.WalkForwardFile(ctx, tk.RunID, f.file)
		if err != nil {
			return rc.explain(err)
		}
		if err := writeBytes(files[f.file], b); err != nil {
			return fmt.Errorf("writing %s: %w", f.flag, err)
		}
		fmt.Fprintf(stdout, "%s written to %s\n", f.what, files[f.file])
	}
	fmt.Fprintf(stdout, "Walk-forward %s: %s\n", wf.Run.ID, rc.c.URL(wf.Links["self"]))
	return nil
}

// rangeText writes a range of Unix-ms times as dates: "2018-01-10 → 2018-01-20".
func rangeText(from, to int64) string {
	d := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }
	if from == to {
		return d(from)
	}
	return d(from) + " → " + d(to)
}

// ratio writes a ratio, "n/a" when undefined.
func ratio(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

// firstWords is a verdict's words before its colon.
func firstWords(v string) string {
	w, _, _ := strings.Cut(v, ":")
	return w
}
