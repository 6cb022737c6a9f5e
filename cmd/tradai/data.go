package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// dataOpts are the flags every data command shares.
type dataOpts struct {
	configPath string
	datadir    string
	exchange   string
	maxInflate int64 // MiB, 0 for the default
	dataStore  dataStoreFlags
	logger     func() (*slog.Logger, error)
}

// inflate is the decompression limit the flags ask for.
func (o *dataOpts) inflate() datafile.InflateLimit {
	return datafile.InflateLimit{Max: o.maxInflate << 20}
}

// store opens the market data store named by the flags (or the config's
// datadir), and returns the exchange to work on.
func (o *dataOpts) store(cmd *cobra.Command) (*market.Store, string, *config.Config, *slog.Logger, error) {
	log, err := o.logger()
	if err != nil {
		return nil, "", nil, nil, err
	}
	var cfg *config.Config
	if o.configPath != "" {
		if cfg, err = config.Load(o.configPath); err != nil {
			return nil, "", nil, nil, err
		}
	}
	dir, exchange := o.datadir, o.exchange
	if dir == "" && cfg != nil {
		dir = cfg.Datadir
	}
	if dir == "" {
		dir = config.DefaultDatadir
	}
	if exchange == "" && cfg != nil {
		exchange = cfg.Exchange.Name
	}
	if o.maxInflate < 0 || o.maxInflate > 1<<30 {
		return nil, "", nil, nil, fmt.Errorf("--max-inflate %d: want a size in MiB, 0 for the default", o.maxInflate)
	}
	if exchange != "" {
		if err := market.ValidateExchange(exchange); err != nil {
			return nil, "", nil, nil, err
		}
	}
	mopts, err := o.dataStore.options(log)
	if err != nil {
		return nil, "", nil, nil, err
	}
	mopts.Inflate = o.inflate()
	s, err := market.OpenWith(dir, log, mopts)
	if err != nil {
		return nil, "", nil, nil, err
	}
	return s, exchange, cfg, log, nil
}

func newDataCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &dataOpts{logger: logger}
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Market data: download, import, convert, list, check gaps and freshness, resample",
		Long: `Market data lives in a data folder laid out as Freqtrade's:
<datadir>/<exchange>/<PAIR>-<timeframe>.feather, futures series in
<datadir>/<exchange>/futures/<PAIR>-<timeframe>-<candle type>.feather.
Point --datadir at a Freqtrade user_data/data folder to use it as it is.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&o.configPath, "config", "c", "", "config file whose datadir, exchange and pair_whitelist to use")
	pf.StringVar(&o.datadir, "datadir", "", datadirHelp)
	pf.StringVar(&o.exchange, "exchange", "", "exchange folder (default: the config's exchange, else binance; data import: by the file's format — binance, yahoo, or the folder a Freqtrade file is in)")
	pf.Int64Var(&o.maxInflate, "max-inflate", 0, fmt.Sprintf("most MiB one compressed file may decompress to (default: 64 times its size, at least 64 MiB, at most %d MiB)", datafile.DefaultMaxInflate>>20))
	o.dataStore.addFlags(pf)
	cmd.AddCommand(newDataDownloadCmd(o), newDataImportCmd(o), newDataListCmd(o), newDataGapsCmd(o), newDataFreshnessCmd(o), newDataResampleCmd(o), newDataConvertCmd(o))
	return cmd
}

// orDefault returns exchange, or binance when it is empty.
func orDefault(exchange string) string {
	if exchange == "" {
		return "binance"
	}
	return exchange
}

// selection is the --pairs/--timeframes/--candle-type filter of a command.
type selection struct {
	pairs      []string
	timeframes []string
	candleType string
}

func (sel *selection) flags(cmd *cobra.Command, tfHelp string) {
	f := cmd.Flags()
	f.StringSliceVarP(&sel.pairs, "pairs", "p", nil, "pairs, e.g. BTC/USDT ETH/USDT (default: the config's pair_whitelist, else every stored pair)")
	f.StringSliceVarP(&sel.timeframes, "timeframes", "t", nil, tfHelp)
	f.StringVar(&sel.candleType, "candle-type", "", "spot (default), futures, mark, index, premiumIndex or funding_rate")
}

// keys returns the series the selection names. With no pairs or no
// timeframes given, they come from what is stored for exchange.
func (sel *selection) keys(ctx context.Context, s *market.Store, exchange string, cfg *config.Config) ([]market.Key, error) {
	ct, err := market.ParseCandleType(sel.candleType)
	if err != nil {
		return nil, fmt.Errorf("--candle-type: %w", err)
	}
	tfs, err := parseTimeframes(sel.timeframes)
	if err != nil {
		return nil, err
	}
	pairs := sel.pairs
	if len(pairs) == 0 && cfg != nil {
		pairs = cfg.Pairs()
	}
	if len(pairs) > 0 && len(tfs) > 0 {
		var keys []market.Key
		for _, p := range pairs {
			for _, tf := range tfs {
				k := market.Key{Exchange: exchange, Pair: p, Timeframe: tf, Type: ct}
				if sel.candleType == "" && strings.Contains(p, ":") {
					k.Type = market.Futures // BTC/USDT:USDT is a futures pair
				}
				keys = append(keys, k)
			}
		}
		return keys, nil
	}
	stored, err := s.List(ctx, exchange)
	if err != nil {
		return nil, err
	}
	// Unreadable series are selected too: the command reports them.
	all := make([]market.Key, 0, len(stored.Series)+len(stored.Unreadable))
	for _, si := range stored.Series {
		all = append(all, si.Key)
	}
	for _, u := range stored.Unreadable {
		all = append(all, u.Key)
	}
	var keys []market.Key
	for _, k := range all {
		if k.Type != ct || len(pairs) > 0 && !slices.Contains(pairs, k.Pair) || len(tfs) > 0 && !slices.Contains(tfs, k.Timeframe) {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no stored %s series of %s in %s match the selection", ct, exchange, s.Dir())
	}
	return keys, nil
}

func parseTimeframes(ss []string) ([]sdk.Timeframe, error) {
	var out []sdk.Timeframe
	for _, s := range ss {
		tf, err := sdk.ParseTimeframe(s)
		if err != nil {
			return nil, fmt.Errorf("--timeframes: %w", err)
		}
		out = append(out, tf)
	}
	return out, nil
}

// listFlags are the flags that, as in Freqtrade, take several values
// separated by spaces ("--pairs BTC/USDT ETH/USDT", "--spaces buy roi").
var listFlags = []string{"--pairs", "-p", "--timeframes", "-t", "--sim-pairs", "--spaces"}

// expandListArgs rewrites "--pairs A B --timeframes 1m 1h" into
// "--pairs A,B --timeframes 1m,1h" so the space-separated form Freqtrade
// users type works; values run until the next argument starting with "-".
func expandListArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if args[i] == "--" {
			out = append(out, args[i+1:]...)
			break
		}
		if !slices.Contains(listFlags, args[i]) {
			continue
		}
		var vals []string
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			vals = append(vals, args[i+1])
			i++
		}
		if len(vals) > 0 {
			out = append(out, strings.Join(vals, ","))
		}
	}
	return out
}

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }

// fmtAge formats an age for people: "42s", "3h5m", "12d4h".
func fmtAge(d time.Duration) string {
	if d < 0 {
		return "-" + fmtAge(-d)
	}
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
	}
	s := d.Round(time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func fmtSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newDataListCmd(o *dataOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show what is stored: coverage per exchange, pair and timeframe, with size on disk",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, exchange, _, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			l, err := s.List(cmd.Context(), exchange)
			if err != nil {
				return err
			}
			if err := printList(cmd.OutOrStdout(), cmd.ErrOrStderr(), l, s.Dir(), asJSON); err != nil {
				return err
			}
			if n := len(l.Unreadable); n > 0 {
				return fmt.Errorf("%d stored %s could not be read (see above); the others are listed", n, plural(n, "file", "files"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printList prints the series of l as a table (or JSON) to w and a line per
// unreadable file after them (to errw in JSON mode, so the JSON stays a list
// of series).
func printList(w, errw io.Writer, l market.Listing, dir string, asJSON bool) error {
	unreadable := func(w io.Writer) {
		for _, u := range l.Unreadable {
			fmt.Fprintf(w, "unreadable: %s: %s\n", u.File, u.Error)
		}
	}
	if asJSON {
		all := l.Series
		if all == nil {
			all = []market.Series{}
		}
		unreadable(errw)
		return printJSON(w, all)
	}
	if len(l.Series) == 0 && len(l.Unreadable) == 0 {
		fmt.Fprintf(w, "No market data in %s\n", dir)
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "EXCHANGE\tPAIR\tTIMEFRAME\tTYPE\tFROM\tTO\tCANDLES\tMISSING\tSIZE\tFILE")
	var total int64
	for _, si := range l.Series {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", si.Exchange, si.Pair, si.Timeframe, si.Type,
			fmtMs(si.First), fmtMs(si.Last), si.Count, si.Missing, fmtSize(si.Size), si.File)
		total += si.Size
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	unreadable(w)
	fmt.Fprintf(w, "%d series, %s in %s\n", len(l.Series), fmtSize(total), dir)
	return nil
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newDataGapsCmd(o *dataOpts) *cobra.Command {
	var sel selection
	var asJSON, fill bool
	var x exchangeFlags
	cmd := &cobra.Command{
		Use:   "gaps",
		Short: "List missing candles in stored series",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, exchange, cfg, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			keys, err := sel.keys(cmd.Context(), s, orDefault(exchange), cfg)
			if err != nil {
				return err
			}
			var all []market.Series
			for _, k := range keys {
				si, err := s.Coverage(cmd.Context(), k)
				if err != nil {
					return err
				}
				all = append(all, si)
			}
			if fill {
				d, err := x.downloader(cmd, s, orDefault(exchange), o)
				if err != nil {
					return err
				}
				var errs []error
				for i, si := range all {
					if len(si.Gaps) == 0 {
						continue
					}
					sr, err := d.Fill(cmd.Context(), si.Key, si.Gaps)
					printDownloadReport(cmd.ErrOrStderr(), []download.SeriesReport{sr})
					if err != nil {
						errs = append(errs, err)
						continue
					}
					if all[i], err = s.Coverage(cmd.Context(), si.Key); err != nil {
						return err
					}
				}
				if err := errors.Join(errs...); err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "Gaps left after filling (the exchange has no candles there):")
			}
			return printGaps(cmd.OutOrStdout(), all, asJSON)
		},
	}
	sel.flags(cmd, "timeframes, e.g. 1m 1h (default: every stored timeframe)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&fill, "fill", false, "download the missing candles from the exchange")
	x.add(cmd)
	return cmd
}

func printGaps(w io.Writer, all []market.Series, asJSON bool) error {
	if asJSON {
		type row struct {
			market.Key
			Count   int          `json:"count"`
			Missing int          `json:"missing"`
			Gaps    []market.Gap `json:"gaps"`
		}
		rows := []row{}
		for _, si := range all {
			g := si.Gaps
			if g == nil {
				g = []market.Gap{}
			}
			rows = append(rows, row{si.Key, si.Count, si.Missing, g})
		}
		return printJSON(w, rows)
	}
	for _, si := range all {
		if len(si.Gaps) == 0 {
			fmt.Fprintf(w, "%s: no gaps (%d candles, %s to %s)\n", si.Key, si.Count, fmtMs(si.First), fmtMs(si.Last))
			continue
		}
		fmt.Fprintf(w, "%s: %d gaps, %d missing candles\n", si.Key, len(si.Gaps), si.Missing)
		for _, g := range si.Gaps {
			if n := g.Candles(si.Timeframe); n == 1 {
				fmt.Fprintf(w, "  %s  (1 candle)\n", fmtMs(g.From))
			} else {
				fmt.Fprintf(w, "  %s to %s  (%d candles)\n", fmtMs(g.From), fmtMs(si.Timeframe.Floor(g.To-1)), n)
			}
		}
	}
	return nil
}

func newDataFreshnessCmd(o *dataOpts) *cobra.Command {
	var sel selection
	var maxAge time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "freshness",
		Short: "Say per pair how old the last candle is; exit status 1 when any is stale or missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, exchange, cfg, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			if len(sel.timeframes) == 0 && cfg != nil && cfg.Timeframe != "" {
				sel.timeframes = []string{string(cfg.Timeframe)}
			}
			if len(sel.timeframes) == 0 {
				return errors.New("--timeframes is required (or a config with a timeframe), e.g. --timeframes 1h")
			}
			if maxAge < 0 {
				return errors.New("--max-age must not be negative")
			}
			keys, err := sel.keys(cmd.Context(), s, orDefault(exchange), cfg)
			if err != nil {
				return err
			}
			rs, err := s.Freshness(cmd.Context(), keys, time.Now(), maxAge)
			if err != nil {
				return err
			}
			if asJSON {
				err = printJSON(cmd.OutOrStdout(), rs)
			} else {
				err = printFreshness(cmd.OutOrStdout(), rs)
			}
			if err != nil {
				return err
			}
			if !market.AllFresh(rs) {
				return errSilent
			}
			return nil
		},
	}
	sel.flags(cmd, "timeframes to check, e.g. 1h (default: the config's timeframe)")
	cmd.Flags().DurationVar(&maxAge, "max-age", 0, "age of the last closed candle beyond which a series is stale (default: two candles)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printFreshness(w io.Writer, rs []market.Freshness) error {
	return writeTable(w, "EXCHANGE\tPAIR\tTIMEFRAME\tLAST CANDLE\tAGE\tMAX AGE\tCANDLES\tSTATUS", rs, func(r market.Freshness) string {
		last, age := "-", "-"
		if r.Status != market.Missing {
			last, age = fmtMs(r.Last), fmtAge(r.Age)
		}
		status := r.Status
		if r.Error != "" {
			status += " (" + r.Error + ")"
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s", r.Exchange, r.Pair, r.Timeframe, last, age, r.MaxAge, r.Count, status)
	})
}

func newDataResampleCmd(o *dataOpts) *cobra.Command {
	var sel selection
	var from, to string
	cmd := &cobra.Command{
		Use:   "resample",
		Short: "Build a longer timeframe from stored candles (e.g. 1h from 1m)",
		Long: `Builds candles of --to from stored candles of --from (default: the longest
stored timeframe that divides it): first open, highest high, lowest low,
last close, summed volume. Weeks open on Monday 00:00 UTC, months on the 1st.
Incomplete first and last candles are left out. The result is merged into
the stored --to series.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, exchange, cfg, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			target, err := sdk.ParseTimeframe(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			ctx := cmd.Context()
			exchange = orDefault(exchange)
			sel.timeframes = nil
			if from != "" {
				if _, err := sdk.ParseTimeframe(from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				if err := market.CanResample(sdk.Timeframe(from), target); err != nil {
					return err
				}
				sel.timeframes = []string{from}
			}
			stored, err := sel.keys(ctx, s, exchange, cfg)
			if err != nil {
				return err
			}
			// Per pair, the source: --from, or the longest stored timeframe
			// that builds the target.
			sources := map[string]market.Key{}
			var order []string
			for _, k := range stored {
				if market.CanResample(k.Timeframe, target) != nil {
					continue
				}
				cur, ok := sources[k.Pair]
				if !ok {
					order = append(order, k.Pair)
				}
				if !ok || k.Timeframe.Millis() > cur.Timeframe.Millis() {
					sources[k.Pair] = k
				}
			}
			if len(sources) == 0 {
				return fmt.Errorf("no stored series of %s can be resampled to %s", exchange, target)
			}
			for _, p := range order {
				src := sources[p]
				f, err := s.Load(ctx, src, market.Range{})
				if err != nil {
					return err
				}
				out, err := market.Resample(f, target)
				if err != nil {
					return err
				}
				dst := src
				dst.Timeframe = target
				res, err := s.Append(ctx, dst, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d candles from %s %s (%d new, %d already stored)\n",
					dst, out.Len(), src.Timeframe, src.Type, res.Added, res.Duplicates)
			}
			return nil
		},
	}
	sel.flags(cmd, "")
	_ = cmd.Flags().MarkHidden("timeframes")
	cmd.Flags().StringVar(&from, "from", "", "source timeframe (default: the longest stored one that divides --to)")
	cmd.Flags().StringVar(&to, "to", "", "target timeframe, e.g. 1h (required)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func newDataConvertCmd(o *dataOpts) *cobra.Command {
	var to, outDir string
	cmd := &cobra.Command{
		Use:   "convert FILE... --to FORMAT",
		Short: "Convert candle files between feather, parquet, json, json.gz and csv",
		Long: `Writes each FILE in the --to format next to it (or into --out), named as
Freqtrade names it: BTC_USDT-5m.json becomes BTC_USDT-5m.feather. The input
is validated first; the original is kept. Feather output is uncompressed
Arrow IPC (the store's own format, which pandas and Freqtrade read).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			format, err := datafile.FormatOf("x." + to)
			if err != nil {
				return fmt.Errorf("--to %q: want feather, parquet, json, json.gz or csv", to)
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
			}
			for _, in := range files {
				from, err := datafile.FormatOf(in)
				if err != nil {
					return err
				}
				k, _ := market.KeyOfPath(in)
				f, err := datafile.LoadRange(in, datafile.Query{Pair: k.Pair, Timeframe: k.Timeframe, Kind: k.Type.Kind()})
				if err != nil {
					return err
				}
				base := filepath.Base(in)
				base = base[:len(base)-len(from)-1]
				dir := filepath.Dir(in)
				if outDir != "" {
					dir = outDir
				}
				out := filepath.Join(dir, base+"."+string(format))
				if out == in {
					return fmt.Errorf("%s is already %s", in, format)
				}
				err = atomicfile.Write(out, func(w io.Writer) error {
					switch format {
					case datafile.Feather:
						return datafile.WriteFeather(w, f, false)
					case datafile.Parquet:
						return datafile.WriteParquet(w, f)
					case datafile.JSON:
						return datafile.WriteJSON(w, f)
					case datafile.JSONGz:
						return datafile.WriteJSONGz(w, f)
					default:
						return datafile.WriteCSV(w, f)
					}
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s (%d candles)\n", in, out, f.Len())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "output format: feather, parquet, json, json.gz or csv (required)")
	cmd.Flags().StringVar(&outDir, "out", "", "folder to write into (default: next to each input)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}
