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

	"github.com/tradai/tradai/internal/atomicfile"
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
--jobs repeats the analysis.`,
		Example: `  tradai walkforward --config examples/backtest.json --strategy sma_cross --spaces buy roi stoploss --train 8d --test 4d --step 4d --epochs 100 --report wf.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(cmd); err != nil {
				return err
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
				Study:   env.studyOptions(&sf),
				Windows: windows,
				Sampler: func(i int) (sample.Sampler, error) {
					return sample.New(sf.samplerName, env.space.Dims(), sf.seed+uint64(i))
				},
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
				{"--oos-report", oosReport, "Out-of-sample backtest report", func(w io.Writer) error { return report.WriteHTML(w, wf.OOS, wf.OOSMetrics) }},
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
