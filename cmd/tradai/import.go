package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/importer"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

func newDataImportCmd(o *dataOpts) *cobra.Command {
	var (
		format, pair, timeframe, candleType string
		columns, timeFormat, delimiter      string
		noHeader, adjusted                  bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import candle files: Binance kline archives, Yahoo CSV, any CSV, Freqtrade files",
		Long: `Imports each FILE into the store, merging with what is stored (identical
candles are skipped; a candle stored with other values is refused). Each
file is checked whole first: a bad row is an error naming the file and row,
and nothing of that file is stored.

Formats (--format, detected when omitted):
  binance    Binance public-data klines (.zip or .csv, 12 columns, open times
             in ms or µs); pair and timeframe come from the file name
             (BTCUSDT-1m-2024-01.zip) unless given
  yahoo      Yahoo Finance CSV (Date,Open,High,Low,Close,Adj Close,Volume);
             null rows are skipped and counted; timeframe 1d unless given
  csv        any delimited file, with --columns naming the columns
  freqtrade  Freqtrade .json, .json.gz, .feather, .parquet or .csv files`,
		Example: `  tradai data import BTCUSDT-1m-2024-01.zip BTCUSDT-1m-2024-02.zip
  tradai data import --pair ORCL/USD orcl.csv --exchange yahoo
  tradai data import --format csv --columns time=Timestamp,open=O,high=H,low=L,close=C,volume=V \
      --time-format ms --pair BTC/EUR --timeframe 1h --exchange kraken candles.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			s, exchange, _, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			f, err := importer.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			ct, err := market.ParseCandleType(candleType)
			if err != nil {
				return fmt.Errorf("--candle-type: %w", err)
			}
			opt := importer.Options{Pair: pair, Adjusted: adjusted, Inflate: o.inflate(), Kind: ct.Kind()}
			if timeframe != "" {
				if opt.Timeframe, err = sdk.ParseTimeframe(timeframe); err != nil {
					return fmt.Errorf("--timeframe: %w", err)
				}
			}
			var m importer.Mapping
			if columns != "" {
				if m, err = importer.ParseMapping(columns); err != nil {
					return fmt.Errorf("--columns: %w", err)
				}
				m.TimeFormat, m.NoHeader = timeFormat, noHeader
				if m.Delimiter, err = importer.ParseDelimiter(delimiter); err != nil {
					return fmt.Errorf("--delimiter: %w", err)
				}
			} else if timeFormat != "" || noHeader || delimiter != "" {
				return errors.New("--time-format, --delimiter and --no-header describe a --columns mapping; give --columns too")
			}
			// Files are read and checked in parallel (unzipping is one core's
			// work per file) and stored one after the other, in order.
			type parsed struct {
				res  *importer.Result
				err  error
				done chan struct{}
			}
			jobs := make([]parsed, len(files))
			sem := make(chan struct{}, runtime.GOMAXPROCS(0))
			for i, path := range files {
				jobs[i].done = make(chan struct{})
				go func() {
					sem <- struct{}{}
					defer func() { <-sem; close(jobs[i].done) }()
					if cmd.Context().Err() == nil {
						jobs[i].res, jobs[i].err = importer.File(path, f, m, opt)
					}
				}()
			}
			for i, path := range files {
				<-jobs[i].done
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				res, err := jobs[i].res, jobs[i].err
				jobs[i].res = nil // let the frame go once stored
				if err != nil {
					return err
				}
				k := market.Key{Exchange: exchange, Pair: res.Frame.Pair, Timeframe: res.Frame.Timeframe, Type: ct}
				if k.Exchange == "" {
					k.Exchange = defaultImportExchange(path, res.Format)
				}
				switch {
				case k.Exchange == "":
					return fmt.Errorf("%s: give --exchange: the folder to store these candles in", path)
				case k.Pair == "":
					return fmt.Errorf("%s: give --pair: the file does not say which pair it holds", path)
				}
				if ct == market.Spot && res.Format == importer.FormatFreqtrade {
					if fk, ok := market.KeyOfPath(path); ok {
						k.Type = fk.Type
					}
				}
				ar, err := s.Append(cmd.Context(), k, res.Frame)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): %s\n  -> %s: %d new, %d already stored; now %d candles %s to %s\n",
					path, res.Format, res.Summary(), k, ar.Added, ar.Duplicates, ar.Series.Count, fmtMs(ar.Series.First), fmtMs(ar.Series.Last))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "", "binance, yahoo, csv or freqtrade (default: detected)")
	fl.StringVar(&pair, "pair", "", "pair the file holds, e.g. BTC/USDT (default: from the file name where it says)")
	fl.StringVar(&timeframe, "timeframe", "", "timeframe of the candles (default: from the file name; 1d for Yahoo)")
	fl.StringVar(&candleType, "candle-type", "", "spot (default), futures, mark, index, premiumIndex or funding_rate")
	fl.StringVar(&columns, "columns", "", "csv format: time=COL,open=COL,high=COL,low=COL,close=COL[,volume=COL] by header name or 1-based number")
	fl.StringVar(&timeFormat, "time-format", "", "csv format: auto (default), s, ms, us, ns, iso, or a Go layout like 2006-01-02 15:04")
	fl.StringVar(&delimiter, "delimiter", "", "csv format: field delimiter: one character, tab or space (default ,)")
	fl.BoolVar(&noHeader, "no-header", false, "csv format: the first line is data")
	fl.BoolVar(&adjusted, "adjusted", false, "yahoo format: scale prices by Adj Close / Close")
	return cmd
}

// defaultImportExchange is the exchange folder for a file when --exchange
// is not given: binance and yahoo for their formats, and for Freqtrade
// files the exchange folder they sit in.
func defaultImportExchange(path string, f importer.Format) string {
	switch f {
	case importer.FormatBinance:
		return "binance"
	case importer.FormatYahoo:
		return "yahoo"
	case importer.FormatFreqtrade:
		if k, ok := market.KeyOfPath(path); ok && k.Exchange != "." && k.Exchange != string(filepath.Separator) {
			return k.Exchange
		}
	}
	return ""
}
