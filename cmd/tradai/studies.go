package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// studies is what the studies commands call: a server's (*client.Client)
// or the local database's (localStudies).
type studies interface {
	Studies(ctx context.Context, status, cursor string) (apitype.StudyPage, error)
	Study(ctx context.Context, id string, top int) (apitype.Study, error)
	StudyTrials(ctx context.Context, id, order string, offset, limit int) (apitype.TrialPage, error)
	CancelStudy(ctx context.Context, id string) (apitype.Study, error)
	ResumeStudy(ctx context.Context, id string) (apitype.Study, error)
	ExportStudy(ctx context.Context, id string) ([]byte, error)
	StudyReport(ctx context.Context, id string) ([]byte, error)
	ExportStudyVersion(ctx context.Context, id string) (apitype.StrategyVersion, error)
}

// localStudies are the studies of the local database, as one user: the
// API's operations without HTTP. A resumed study's batch jobs are queued
// there for the workers of that database (tradai serve or tradai worker).
type localStudies struct {
	ops *api.Studies
	reg *registry.Registry
	p   tenancy.Principal
}

func (l localStudies) Studies(ctx context.Context, status, cursor string) (apitype.StudyPage, error) {
	return l.ops.List(ctx, l.p, status, cursor, 100)
}

func (l localStudies) Study(ctx context.Context, id string, top int) (apitype.Study, error) {
	return l.ops.Get(ctx, l.p, id, top)
}

func (l localStudies) StudyTrials(ctx context.Context, id, order string, offset, limit int) (apitype.TrialPage, error) {
	return l.ops.Trials(ctx, l.p, id, order, offset, limit)
}

func (l localStudies) CancelStudy(ctx context.Context, id string) (apitype.Study, error) {
	return l.ops.Cancel(ctx, l.p, id)
}

func (l localStudies) ResumeStudy(ctx context.Context, id string) (apitype.Study, error) {
	return l.ops.Resume(ctx, l.p, id)
}

func (l localStudies) ExportStudy(ctx context.Context, id string) ([]byte, error) {
	return l.ops.Export(ctx, l.p, id)
}

func (l localStudies) StudyReport(ctx context.Context, id string) ([]byte, error) {
	return l.ops.Report(ctx, l.p, id)
}

func (l localStudies) ExportStudyVersion(ctx context.Context, id string) (apitype.StrategyVersion, error) {
	v, _, err := l.ops.ExportVersion(ctx, l.p, id, l.reg)
	return v, err
}

// withStudies runs do with the studies the flags name (--remote or
// $TRADAI_URL: a server's, else the local database's).
func (o *registryOpts) withStudies(cmd *cobra.Command, do func(ctx context.Context, s studies) error) error {
	return withEither(cmd, o, func(rc *remote) studies { return rc.c },
		func(_ context.Context, d *db.DB, log *slog.Logger, l *localRegistry) (studies, error) {
			home, err := homeDir(o.local.home)
			if err != nil {
				return nil, err
			}
			// Only to queue a resumed study's jobs: this process works none.
			svc, err := jobs.New(d, runs.New(d, nil, 3, log), filepath.Join(home, "data"), log, jobs.Options{})
			if err != nil {
				return nil, err
			}
			return localStudies{ops: api.NewStudies(svc, log), reg: l.reg, p: l.p}, nil
		}, do)
}

func newStudiesCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "studies",
		Short: "List, inspect, cancel, resume and export the studies a server's workers run",
		Long: `studies works with the optimisations that run on a TradAI deployment's
workers (submit one with tradai hyperopt --remote URL …; docs/optimisation.md,
"How to run a study on many workers").

With --remote (or $TRADAI_URL) the commands ask that server; without, they
work on the local database (<home>/tradai.db, or --database) as --user.`,
	}
	sub := func(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, s studies, args []string) error, extra func(*cobra.Command)) *cobra.Command {
		o := &registryOpts{local: dbOpts{logger: logger}}
		c := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			return o.withStudies(cmd, func(_ context.Context, s studies) error { return run(cmd, s, args) })
		}}
		o.addFlags(c)
		if extra != nil {
			extra(c)
		}
		return c
	}
	var (
		status, exportPath, reportPath string
		top                            int
		asJSON, asVersion              bool
	)
	cmd.AddCommand(
		sub("list", "List studies, newest first", cobra.NoArgs, func(cmd *cobra.Command, s studies, _ []string) error {
			page, err := s.Studies(cmd.Context(), status, "")
			if err != nil {
				return err
			}
			return printAnswer(cmd, asJSON, page, page.Studies, "", "ID\tSTATUS\tSTRATEGY\tSAMPLER\tTRIALS\tFAILED\tCREATED\tERROR", func(st apitype.Study) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s", st.ID, st.Status, st.Strategy, st.Sampler,
					st.Trials.Completed+st.Trials.Failed, st.Epochs, st.Trials.Failed, fmtTime(st.CreatedAt), oneLine(st.Error, 60))
			})
		}, func(c *cobra.Command) {
			c.Flags().StringVar(&status, "status", "", "only studies in this status (queued, running, completed, failed, cancelled)")
			c.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
		}),
		sub("show ID", "A study: its settings, progress, top trials and parameter importance (--report: its HTML report)", cobra.ExactArgs(1), func(cmd *cobra.Command, s studies, args []string) error {
			st, err := s.Study(cmd.Context(), args[0], top)
			if err != nil {
				return err
			}
			if reportPath != "" {
				raw, err := s.StudyReport(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if err := writeBytes(reportPath, raw); err != nil {
					return fmt.Errorf("--report: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Study report written to %s\n", reportPath)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return writeStudy(cmd.OutOrStdout(), st)
		}, func(c *cobra.Command) {
			c.Flags().IntVar(&top, "top", 10, "how many of the best trials to show")
			c.Flags().StringVar(&reportPath, "report", "", "also write the study's HTML report (convergence, top trials, parameter importance, overfitting) to this file")
			c.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
		}),
		sub("best ID", "The best trial of a study", cobra.ExactArgs(1), func(cmd *cobra.Command, s studies, args []string) error {
			st, err := s.Study(cmd.Context(), args[0], 1)
			if err != nil {
				return err
			}
			if len(st.Best) == 0 {
				return fmt.Errorf("study %s has no completed trial yet", st.ID)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st.Best[0])
			}
			writeTrials(cmd.OutOrStdout(), st.Best[:1])
			return nil
		}, func(c *cobra.Command) {
			c.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
		}),
		sub("cancel ID", "Cancel a queued or running study", cobra.ExactArgs(1), func(cmd *cobra.Command, s studies, args []string) error {
			st, err := s.CancelStudy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "study %s %s after %d trials (tradai studies resume %s goes on)\n", st.ID, st.Status, st.Trials.Completed+st.Trials.Failed, st.ID)
			return nil
		}, nil),
		sub("resume ID", "Resume a cancelled or failed study", cobra.ExactArgs(1), func(cmd *cobra.Command, s studies, args []string) error {
			st, err := s.ResumeStudy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "study %s %s: %d of %d trials done\n", st.ID, st.Status, st.Trials.Completed+st.Trials.Failed, st.Epochs)
			return nil
		}, nil),
		sub("export ID", "Write the best trial as Freqtrade's strategy parameter file, or push it as a new registry version (--as-version)", cobra.ExactArgs(1), func(cmd *cobra.Command, s studies, args []string) error {
			if asVersion {
				if cmd.Flags().Changed("output") {
					return errors.New("--output and --as-version: the version holds the file")
				}
				return exportVersion(cmd.Context(), cmd.OutOrStdout(), s, args[0])
			}
			raw, err := s.ExportStudy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if exportPath == "-" {
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			path := exportPath
			if path == "" {
				st, err := s.Study(cmd.Context(), args[0], 0)
				if err != nil {
					return err
				}
				path = strategyFileName(st.Strategy) + ".json"
			}
			if err := writeBytes(path, raw); err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Parameters written to %s; backtest them with: tradai backtest --config CONFIG --strategy STRATEGY --params %s\n", path, path)
			return nil
		}, func(c *cobra.Command) {
			c.Flags().StringVarP(&exportPath, "output", "o", "", "where to write the file (default <strategy>.json in the current folder; - for standard output)")
			c.Flags().BoolVar(&asVersion, "as-version", false, "push the best parameters as a new version of the study's strategy (its code with the parameter file beside it) instead of writing the file")
		}),
	)
	return cmd
}

// exportVersion pushes study id's best trial as a new registry version and
// says which.
func exportVersion(ctx context.Context, w io.Writer, s studies, id string) error {
	v, err := s.ExportStudyVersion(ctx, id)
	if err != nil {
		return err
	}
	if v.Created {
		fmt.Fprintf(w, "pushed %s: %s\n", v.Ref, v.Message)
	} else {
		fmt.Fprintf(w, "%s already holds these parameters: %s\n", v.Ref, v.Message)
	}
	return nil
}

// strategyFileName is a strategy reference as a file name: its name
// without a registry version.
func strategyFileName(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	return filepath.Base(name)
}

// writeStudy prints a study as studies show does.
func writeStudy(w io.Writer, st apitype.Study) error {
	fmt.Fprintf(w, "Study %s: %s\n", st.ID, st.Status)
	if st.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", st.Error)
	}
	strat := st.Strategy
	if st.StrategyVersion > 0 {
		strat += "@" + strconv.Itoa(st.StrategyVersion)
	}
	fmt.Fprintf(w, "  strategy %s, spaces %s, loss %s, sampler %s, seed %d, batch %d, parallel %d\n",
		strat, strings.Join(st.Spaces, " "), st.Loss, st.Sampler, st.Seed, st.Batch, st.Parallel)
	fmt.Fprintf(w, "  trials: %d of %d done (%d failed), %d running, %d pending\n",
		st.Trials.Completed+st.Trials.Failed, st.Epochs, st.Trials.Failed, st.Trials.Running, st.Trials.Pending)
	fmt.Fprintf(w, "  created %s", fmtTime(st.CreatedAt))
	if st.StartedAt != nil && st.FinishedAt != nil {
		fmt.Fprintf(w, ", took %s", st.FinishedAt.Sub(*st.StartedAt).Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	if len(st.Best) > 0 {
		fmt.Fprintf(w, "\nBest %d trials:\n", len(st.Best))
		writeTrials(w, st.Best)
	}
	if len(st.Importance) > 0 {
		fmt.Fprintf(w, "\nParameter importance (share of the loss ranks' variance; noise alone gives about the second figure):\n")
		tw := newTable(w)
		for _, pi := range st.Importance {
			fmt.Fprintf(tw, "  %s\t%.1f%%\t(by chance %.1f%%)\n", pi.Name, 100*pi.Share, 100*pi.Chance)
		}
		return tw.Flush()
	}
	return nil
}

// writeTrials prints trials as a table with their searched values.
func writeTrials(w io.Writer, trials []apitype.Trial) {
	tw := newTable(w)
	fmt.Fprintln(tw, "TRIAL\tLOSS\tTRADES\tPROFIT\tMAX DD\tSHARPE\tPARAMETERS")
	for _, t := range trials {
		loss := "-"
		if t.Loss != nil && !math.IsNaN(*t.Loss) {
			loss = strconv.FormatFloat(*t.Loss, 'f', 5, 64)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%.3f\t%s\n", t.Number, loss, t.Trades, pctOf(t.Profit), pctOf(t.Drawdown), t.Sharpe, trialParams(t))
	}
	tw.Flush()
}

// trialParams is a trial's searched parameters and risk settings on one
// line.
func trialParams(t apitype.Trial) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(t.Params)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, t.Params[k]))
	}
	if t.Risk != nil {
		parts = append(parts, fmt.Sprintf("stoploss=%g", t.Risk.Stoploss))
		var roi []string
		for _, s := range t.Risk.MinimalROI {
			roi = append(roi, fmt.Sprintf("%d:%g", s.Minutes, s.Ratio))
		}
		parts = append(parts, "roi={"+strings.Join(roi, " ")+"}")
		if t.Risk.TrailingStop {
			parts = append(parts, fmt.Sprintf("trailing=%g/%g", t.Risk.TrailingStopPositive, t.Risk.TrailingStopPositiveOffset))
		}
	}
	if t.Error != "" {
		parts = append(parts, "error: "+oneLine(t.Error, 60))
	}
	return strings.Join(parts, " ")
}

// remoteRequest is the config and strategy a study or walk-forward sends
// to a server: --config's object without its datadir (the server reads its
// own data store), and --strategy, else the config's strategy.
func (sf *studyFlags) remoteRequest() (map[string]any, string, error) {
	if sf.configPath == "" {
		return nil, "", errors.New("--config is required")
	}
	cfg, err := readConfigObject(sf.configPath)
	if err != nil {
		return nil, "", err
	}
	delete(cfg, "datadir")
	strat := sf.strat
	if strat == "" {
		strat, _ = cfg["strategy"].(string)
	}
	if strat == "" {
		return nil, "", fmt.Errorf("no strategy: set \"strategy\" in %s or pass --strategy", sf.configPath)
	}
	return cfg, strat, nil
}

// remoteStudy runs hyperopt --remote: the study is submitted to the
// server, followed until it ends, and its best trial printed and exported.
func remoteStudy(cmd *cobra.Command, sf *studyFlags, ro *remoteOpts, exportPath string, parallel, batch int, noWait, push bool) error {
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
	tk, err := rc.c.SubmitStudy(ctx, apitype.StudyRequest{Strategy: strat, Config: cfg, Timerange: sf.timerange, Pairs: sf.pairs,
		Spaces: sf.spaces, Epochs: sf.epochs, Loss: sf.lossName, Sampler: sf.samplerName, Seed: sf.seed, MinTrades: sf.minTrades,
		Batch: batch, Parallel: parallel})
	if err != nil {
		return rc.explain(err)
	}
	if noWait {
		fmt.Fprintf(stderr, "submitted study %s: follow it with tradai studies show %s --remote %s\n", tk.StudyID, tk.StudyID, rc.c.BaseURL())
		fmt.Fprintln(stdout, tk.StudyID)
		return nil
	}
	fmt.Fprintf(stderr, "submitted study %s to %s (seed %d)\n", tk.StudyID, rc.c.BaseURL(), sf.seed)
	began := time.Now()
	last := ""
	var st apitype.Study
	for {
		st, err = rc.c.Study(ctx, tk.StudyID, 0)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: stopped following; study %s goes on (tradai studies cancel %s stops it)", tk.StudyID, tk.StudyID)
			}
			return rc.explain(err)
		}
		line := fmt.Sprintf("%s: %d/%d trials done, %d failed", st.Status, st.Trials.Completed+st.Trials.Failed, st.Epochs, st.Trials.Failed)
		if line != last {
			fmt.Fprintln(stderr, line)
			last = line
		}
		if client.Terminal(st.Status) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: stopped following; study %s goes on (tradai studies cancel %s stops it)", tk.StudyID, tk.StudyID)
		case <-time.After(500 * time.Millisecond):
		}
	}
	n := st.Trials.Completed + st.Trials.Failed
	fmt.Fprintf(stdout, "\n%d trials in %s (%.0f trials/s), %d failed\n", n, time.Since(began).Round(time.Millisecond), float64(n)/time.Since(began).Seconds(), st.Trials.Failed)
	if st.Status != client.Completed {
		return fmt.Errorf("study %s %s: %s", st.ID, st.Status, st.Error)
	}
	if st, err = rc.c.Study(ctx, tk.StudyID, 10); err != nil {
		return rc.explain(err)
	}
	if err := writeStudy(stdout, st); err != nil {
		return err
	}
	raw, err := rc.c.ExportStudy(ctx, tk.StudyID)
	if err != nil {
		return rc.explain(err)
	}
	if exportPath == "" {
		exportPath = strategyFileName(strat) + ".json"
	}
	if err := writeBytes(exportPath, raw); err != nil {
		return fmt.Errorf("writing the strategy parameter file: %w", err)
	}
	fmt.Fprintf(stdout, "\nParameters written to %s; backtest them with: tradai backtest --config %s --strategy %s --params %s\n", exportPath, sf.configPath, strat, exportPath)
	if push {
		return rc.explain(exportVersion(ctx, stdout, rc.c, tk.StudyID))
	}
	return nil
}
