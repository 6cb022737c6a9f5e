package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
)

func newRunsCmd() *cobra.Command {
	o := &remoteOpts{}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, inspect, follow, cancel, retry, compare and delete runs on a TradAI server",
		Long: `runs works with the backtests a TradAI server ("tradai serve") has run or is
running: submit one with "tradai backtest --remote URL --config FILE".

The server is --remote, else $TRADAI_URL, else ` + defaultRemote + `; the API token
is --token, else $TRADAI_TOKEN, else the file <home>/token that tradai serve
writes on its first start.`,
	}
	o.addFlags(cmd.PersistentFlags(), "TradAI server URL (default $TRADAI_URL, else "+defaultRemote+")")
	cmd.AddCommand(newRunsListCmd(o), newRunsShowCmd(o), newRunsCancelCmd(o), newRunsRetryCmd(o), newRunsDeleteCmd(o),
		newRunsCompareCmd(o), newRunsWaitCmd(o))
	return cmd
}

func newRunsListCmd(o *remoteOpts) *cobra.Command {
	var (
		lo     client.ListOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Example: `  tradai runs list
  tradai runs list --status failed --strategy rsi_bollinger --limit 20
  tradai runs list --strategy mysma --version 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			page, err := rc.c.List(cmd.Context(), lo)
			if err != nil {
				return rc.explain(err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), page)
			}
			w := newTable(cmd.OutOrStdout())
			fmt.Fprintln(w, "ID\tSTATUS\tSTRATEGY\tCREATED\tTOOK\tTRADES\tPROFIT\tERROR")
			for _, r := range page.Runs {
				trades, profit := "-", "-"
				if s, ok := summaryOf(r); ok {
					trades, profit = strconv.Itoa(s.TotalTrades), pctOf(s.ProfitTotal)
				}
				status := r.Status
				if r.Status == client.Running {
					status += " " + percent(r.Progress)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, status, strategyOf(r), fmtTime(r.CreatedAt),
					took(r), trades, profit, oneLine(r.Error, 60))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(page.Runs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no runs")
			}
			if page.NextCursor != "" {
				// The same server and filters, from the next position (never
				// the token).
				next := []string{"tradai runs list"}
				cmd.Flags().Visit(func(fl *pflag.Flag) {
					switch fl.Name {
					case "tag":
						for _, k := range slices.Sorted(maps.Keys(lo.Tags)) {
							next = append(next, "--tag "+shellQuote(k+"="+lo.Tags[k]))
						}
					case "home", "remote", "status", "strategy", "version", "limit":
						next = append(next, "--"+fl.Name+" "+shellQuote(fl.Value.String()))
					}
				})
				fmt.Fprintf(cmd.ErrOrStderr(), "more runs: %s --cursor %s\n", strings.Join(next, " "), page.NextCursor)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&lo.Status, "status", "", "only runs in this status: queued, running, completed, failed, cancelled, dead_letter")
	f.StringVar(&lo.Strategy, "strategy", "", "only runs of this strategy (a registry strategy by its name)")
	f.IntVar(&lo.Version, "version", 0, "only runs of this registry version of --strategy")
	f.StringToStringVar(&lo.Tags, "tag", nil, "only runs with this tag, key=value (repeat the flag: runs with all of them)")
	f.IntVar(&lo.Limit, "limit", 0, "runs per page (server default 100, at most 1000)")
	f.StringVar(&lo.Cursor, "cursor", "", "the page after the one that printed this cursor")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newRunsShowCmd(o *remoteOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: status, progress, steps with durations, error, metrics and artifacts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			r, err := rc.c.Get(cmd.Context(), args[0])
			if err != nil {
				return rc.explain(err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return writeRun(cmd.Context(), cmd.OutOrStdout(), rc, r)
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newRunsCancelCmd(o *remoteOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running run (a running one stops within a second)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			r, err := rc.c.Cancel(cmd.Context(), args[0])
			if err != nil {
				return rc.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s %s\n", r.ID, r.Status)
			return nil
		},
	}
}

func newRunsDeleteCmd(o *remoteOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete finished runs with their steps and artifacts (a queued or running run must be cancelled first)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := rc.c.Delete(cmd.Context(), id); err != nil {
					return rc.explain(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "run %s deleted\n", id)
			}
			return nil
		},
	}
}

func newRunsRetryCmd(o *remoteOpts) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "retry ID",
		Short: "Run a failed, dead-lettered or cancelled run again",
		Long: `retry queues a failed, dead-lettered or cancelled run again. With --wait it
follows the run to its end like tradai runs wait, and Ctrl-C cancels it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			r, err := rc.c.Retry(cmd.Context(), args[0])
			if err != nil {
				return rc.explain(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "run %s %s again\n", r.ID, r.Status)
			if !wait {
				return nil
			}
			return waitAndReport(cmd, rc, r.ID, true)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish, showing its progress")
	return cmd
}

func newRunsWaitCmd(o *remoteOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "wait ID",
		Short: "Follow a run until it finishes, with a progress bar; exits 1 unless it completed",
		Long: `wait shows a run's progress until it is completed, failed, cancelled or
dead-lettered, then its metrics. It exits 1 unless the run completed.
Ctrl-C stops waiting and leaves the run alone (tradai runs cancel stops it).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			return waitAndReport(cmd, rc, args[0], false)
		},
	}
}

// waitAndReport follows a run and prints its metrics when it completes.
func waitAndReport(cmd *cobra.Command, rc *remote, id string, cancelOnInterrupt bool) error {
	r, err := rc.follow(cmd.Context(), id, cmd.ErrOrStderr(), cancelOnInterrupt)
	if err != nil {
		return err
	}
	if err := outcome(r); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if err := writeResult(cmd.Context(), out, rc, r); err != nil {
		return err
	}
	writeLinks(out, rc.c, r)
	return nil
}

// writeResult prints a completed run's summary as tradai backtest prints
// it, from the run's result.json; a run without one by its metrics alone.
func writeResult(ctx context.Context, out io.Writer, rc *remote, r apitype.Run) error {
	if r.Status != client.Completed {
		return nil
	}
	if slices.ContainsFunc(r.Artifacts, func(a apitype.Artifact) bool { return a.Name == "result.json" }) {
		_, res, m, err := rc.result(ctx, r.ID)
		if err != nil {
			return err
		}
		return report.WriteSummary(out, res, m)
	}
	if s, ok := summaryOf(r); ok {
		return report.WriteMetrics(out, s, stakeCurrency(r))
	}
	return nil
}

func newRunsCompareCmd(o *remoteOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "compare ID ID...",
		Short: "Compare 2 to 20 runs side by side: metrics, parameters, and what differs",
		Args:  cobra.RangeArgs(2, 20),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := o.connect()
			if err != nil {
				return err
			}
			cmp, err := rc.c.Compare(cmd.Context(), args...)
			if err != nil {
				return rc.explain(err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), cmp)
			}
			return writeComparison(cmd.OutOrStdout(), cmp)
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// writeRun prints one run for people.
func writeRun(ctx context.Context, out io.Writer, rc *remote, r apitype.Run) error {
	c := rc.c
	w := newTable(out)
	status := r.Status
	if !client.Terminal(r.Status) {
		status += " (" + percent(r.Progress) + ")"
	}
	fmt.Fprintf(w, "Run\t%s\n", r.ID)
	fmt.Fprintf(w, "Status\t%s\n", status)
	fmt.Fprintf(w, "Strategy\t%s\n", strategyOf(r))
	if r.CodeSHA256 != "" {
		fmt.Fprintf(w, "Code\tsha256 %s\n", r.CodeSHA256)
	}
	params := compactJSON(r.Params)
	if params == "{}" || params == "null" || params == "" {
		params = "none given (the strategy's defaults)"
	}
	fmt.Fprintf(w, "Params\t%s\n", params)
	var cfg struct {
		Timerange string `json:"timerange"`
		Exchange  struct {
			Name  string   `json:"name"`
			Pairs []string `json:"pair_whitelist"`
		} `json:"exchange"`
	}
	if json.Unmarshal(r.Config, &cfg) == nil && r.Config != nil {
		fmt.Fprintf(w, "Market\t%s %s, timerange %s\n", cfg.Exchange.Name, strings.Join(cfg.Exchange.Pairs, " "), orDash(cfg.Timerange))
	}
	if len(r.Tags) > 0 {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			tags = append(tags, k+"="+r.Tags[k])
		}
		fmt.Fprintf(w, "Tags\t%s\n", strings.Join(tags, ", "))
	}
	fmt.Fprintf(w, "Fingerprint\t%s\n", r.Fingerprint)
	if r.DataFingerprint != "" {
		fmt.Fprintf(w, "Data fingerprint\t%s\n", r.DataFingerprint)
	}
	fmt.Fprintf(w, "Attempts\t%d\n", r.Attempts)
	fmt.Fprintf(w, "Created\t%s\n", fmtTime(r.CreatedAt))
	if r.StartedAt != nil {
		fmt.Fprintf(w, "Started\t%s\n", fmtTime(*r.StartedAt))
	}
	if r.FinishedAt != nil {
		fmt.Fprintf(w, "Finished\t%s (took %s)\n", fmtTime(*r.FinishedAt), took(r))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "Error\t%s\n", r.Error)
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "\nSTEP\tSTATUS\tSECONDS\tERROR")
		for _, s := range r.Steps {
			secs := "-"
			if s.FinishedAt != nil {
				secs = strconv.FormatFloat(s.Seconds, 'f', 3, 64)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Status, secs, oneLine(s.Error, 80))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if r.Status == client.Completed {
		fmt.Fprintln(out)
		if err := writeResult(ctx, out, rc, r); err != nil {
			return err
		}
	}
	w = newTable(out)
	if len(r.Artifacts) > 0 {
		fmt.Fprintln(w, "\nARTIFACT\tTYPE\tBYTES\tURL")
		for _, a := range r.Artifacts {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", a.Name, a.MediaType, a.Size, c.URL(a.URL))
		}
	}
	fmt.Fprintln(w, "\nLINK\tURL")
	for _, k := range slices.Sorted(maps.Keys(r.Links)) {
		u := r.Links[k]
		if !slices.ContainsFunc(r.Artifacts, func(a apitype.Artifact) bool { return a.URL == u }) {
			fmt.Fprintf(w, "%s\t%s\n", k, c.URL(u))
		}
	}
	return w.Flush()
}

// writeComparison prints a comparison as a table: a column per run, a row
// per metric and parameter; rows that differ between runs are marked *.
func writeComparison(out io.Writer, cmp apitype.Comparison) error {
	w := newTable(out)
	row := func(name string, cells []string) {
		fmt.Fprintf(w, "%s\t%s\n", name, strings.Join(cells, "\t"))
	}
	col := func(f func(i int, r apitype.Run) string) []string {
		cells := make([]string, len(cmp.Runs))
		for i, r := range cmp.Runs {
			cells[i] = f(i, r)
		}
		return cells
	}
	row("RUN", col(func(_ int, r apitype.Run) string { return r.ID }))
	row("status", col(func(_ int, r apitype.Run) string { return r.Status }))
	differ := map[string]bool{}
	for _, d := range cmp.Differ {
		differ[d] = true
	}
	code := "strategy"
	if differ["code"] {
		code = "* strategy"
	}
	row(code, col(func(_ int, r apitype.Run) string { return strategyOf(r) }))
	if slices.ContainsFunc(cmp.Runs, func(r apitype.Run) bool { return r.CodeSHA256 != "" }) {
		row("code sha256", col(func(_ int, r apitype.Run) string { return orDash(shortSHA(r.CodeSHA256)) }))
	}
	values := func(name string, raw []json.RawMessage) []string {
		cells := make([]string, len(raw))
		for i, v := range raw {
			cells[i] = fmtValue(name, v)
		}
		return cells
	}
	for _, m := range cmp.Metrics {
		row(m.Name, values(m.Name, m.Values))
	}
	for _, p := range cmp.Params {
		name := "params." + p.Name
		if differ[name] {
			name = "* " + name
		}
		row(name, values(p.Name, p.Values))
	}
	// The config keys that differ, with each run's value.
	configs := make([]map[string]json.RawMessage, len(cmp.Runs))
	for i, r := range cmp.Runs {
		_ = json.Unmarshal(r.Config, &configs[i])
	}
	for _, d := range cmp.Differ {
		key, ok := strings.CutPrefix(d, "config.")
		if !ok {
			continue
		}
		row("* "+d, col(func(i int, _ apitype.Run) string { return fmtValue(key, configs[i][key]) }))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(cmp.Differ) == 0 {
		_, err := fmt.Fprintln(out, "\nSame parameters and config in every run.")
		return err
	}
	_, err := fmt.Fprintf(out, "\nDiffer: %s\n", strings.Join(cmp.Differ, ", "))
	return err
}

// isRatio says whether a summary metric is a fraction (0.05 = 5%).
func isRatio(name string) bool {
	switch name {
	case "profit_mean", "profit_median", "profit_total", "market_change", "cagr", "winrate",
		"max_drawdown_account", "max_drawdown_equity", "volatility_annual", "best_trade_ratio", "worst_trade_ratio":
		return true
	}
	return false
}

// fmtValue formats one JSON value of a comparison row for a table cell.
func fmtValue(name string, raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return "-"
	}
	switch x := v.(type) {
	case string:
		return orDash(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		switch {
		case strings.HasSuffix(name, "_ts"):
			if x <= 0 {
				return "-"
			}
			return fmtMs(int64(x))
		case isRatio(name):
			return strconv.FormatFloat(x*100, 'f', 2, 64) + "%"
		case x == math.Trunc(x) && math.Abs(x) < 1e15:
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	return compactJSON(raw)
}

// strategyOf is the strategy a run ran: NAME@VERSION for a registry version.
func strategyOf(r apitype.Run) string {
	if r.StrategyVersion > 0 {
		return r.Strategy + "@" + strconv.Itoa(r.StrategyVersion)
	}
	return r.Strategy
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// summaryOf decodes a completed run's metrics summary.
func summaryOf(r apitype.Run) (metrics.Summary, bool) {
	var s metrics.Summary
	if len(r.Metrics) == 0 || string(r.Metrics) == "null" {
		return s, false
	}
	if err := json.Unmarshal(r.Metrics, &s); err != nil {
		return s, false
	}
	return s, true
}

// stakeCurrency is the stake currency of the run's config, if it says.
func stakeCurrency(r apitype.Run) string {
	var cfg struct {
		StakeCurrency string `json:"stake_currency"`
	}
	_ = json.Unmarshal(r.Config, &cfg)
	return cfg.StakeCurrency
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// addJSONFlag gives cmd --json: print the API's answer as JSON (printJSON)
// instead of text.
func addJSONFlag(cmd *cobra.Command, asJSON *bool) {
	cmd.Flags().BoolVar(asJSON, "json", false, "print the API's answer as JSON")
}

// newTable is the writer the commands align their tables' columns with
// (tab-separated cells).
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// printAnswer prints a list the API answered: with --json its answer as
// JSON; else the items as a table (writeTable) and, when there are none,
// none (if not empty) on standard error.
func printAnswer[T any](cmd *cobra.Command, asJSON bool, answer any, items []T, none, header string, row func(T) string) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), answer)
	}
	if err := writeTable(cmd.OutOrStdout(), header, items, row); err != nil {
		return err
	}
	if len(items) == 0 && none != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), none)
	}
	return nil
}

// writeTable writes a table: its header, then row's line of each item
// (tab-separated cells, no newline).
func writeTable[T any](w io.Writer, header string, items []T, row func(T) string) error {
	tw := newTable(w)
	fmt.Fprintln(tw, header)
	for _, x := range items {
		fmt.Fprintln(tw, row(x))
	}
	return tw.Flush()
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 {
		return "{}"
	}
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// took is how long a finished run ran, "-" while it runs.
func took(r apitype.Run) string {
	if r.FinishedAt == nil {
		return "-"
	}
	from := r.CreatedAt
	if r.StartedAt != nil {
		from = *r.StartedAt
	}
	d := r.FinishedAt.Sub(from)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func pctOf(x float64) string { return strconv.FormatFloat(x*100, 'f', 2, 64) + "%" }

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
