package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/market"
)

// exchangeFlags are the download source's settings.
type exchangeFlags struct {
	spotURL, futuresURL string
}

func (x *exchangeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&x.spotURL, "base-url", download.DefaultBinanceSpotURL, "base URL of the exchange's spot API")
	cmd.Flags().StringVar(&x.futuresURL, "futures-base-url", download.DefaultBinanceFuturesURL, "base URL of the exchange's USD-M futures API")
}

// downloader returns a downloader from the exchange into s, with a progress
// bar on stderr when it is a terminal.
func (x *exchangeFlags) downloader(cmd *cobra.Command, s *market.Store, exchange string, o *dataOpts) (*download.Downloader, error) {
	if exchange != "binance" && exchange != "alpaca" {
		return nil, fmt.Errorf("downloading from %q is not supported (only binance and alpaca); bring other data in with `tradai data import`", exchange)
	}
	log, err := o.logger()
	if err != nil {
		return nil, err
	}
	if exchange == "alpaca" {
		return x.alpaca(cmd, s, log)
	}
	src, err := download.NewBinance(nil, clock.Real(), log, download.BinanceOptions{SpotURL: x.spotURL, FuturesURL: x.futuresURL})
	if err != nil {
		return nil, err
	}
	return download.New(s, src, download.Options{Log: log, Progress: terminal(cmd.ErrOrStderr())}), nil
}

// alpaca is the downloader of Alpaca's stock bars: its data API needs a
// key, read from Alpaca's own environment variables APCA_API_KEY_ID and
// APCA_API_SECRET_KEY (never flags); --base-url, when given, replaces the
// data API's address.
func (x *exchangeFlags) alpaca(cmd *cobra.Command, s *market.Store, log *slog.Logger) (*download.Downloader, error) {
	key, secret := os.Getenv("APCA_API_KEY_ID"), os.Getenv("APCA_API_SECRET_KEY")
	if key == "" || secret == "" {
		return nil, errors.New("downloading from alpaca needs an Alpaca API key: set APCA_API_KEY_ID and APCA_API_SECRET_KEY (a paper key will do)")
	}
	cfg := alpaca.Config{KeyID: key, Secret: secret, Clock: clock.Real(), Log: log}
	if cmd.Flags().Changed("base-url") {
		cfg.DataURL = x.spotURL
	}
	c, err := alpaca.New(cfg)
	if err != nil {
		return nil, err
	}
	return download.New(s, download.NewAlpaca(c), download.Options{Log: log, Progress: terminal(cmd.ErrOrStderr())}), nil
}

// terminal returns w when it is a terminal, else nil.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return w
		}
	}
	return nil
}

func newDataDownloadCmd(o *dataOpts) *cobra.Command {
	var sel selection
	var days int
	var timerange string
	var x exchangeFlags
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download candles from the exchange, resuming from what is stored",
		Long: `Downloads closed candles from Binance's public klines endpoints into the
store, or with --exchange alpaca US stock bars (pairs SYMBOL/USD) from Alpaca's
market data API, with the key in APCA_API_KEY_ID and APCA_API_SECRET_KEY. What is already stored is not fetched again: a second run only adds
the candles that closed since. Request weights are respected, and HTTP 429
and 418 answers are waited out as their Retry-After says. An interrupted
download keeps what it got and the next run resumes from there.`,
		Example: `  tradai data download --pairs BTC/USDT ETH/USDT --timeframes 1m 1h --days 30
  tradai data download --pairs BTC/USDT:USDT --candle-type mark --timeframes 1h --timerange 20240101-`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, exchange, cfg, _, err := o.store(cmd)
			if err != nil {
				return err
			}
			exchange = orDefault(exchange)
			if len(sel.pairs) == 0 && (cfg == nil || len(cfg.Pairs()) == 0) {
				return errors.New("--pairs is required (or a config with exchange.pair_whitelist)")
			}
			if len(sel.timeframes) == 0 {
				if cfg == nil || cfg.Timeframe == "" {
					return errors.New("--timeframes is required (or a config with a timeframe)")
				}
				sel.timeframes = []string{string(cfg.Timeframe)}
			}
			var r market.Range
			switch {
			case days > 0 && timerange != "":
				return errors.New("give --days or --timerange, not both")
			case days > 0:
				r.Start = time.Now().Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
			case days < 0:
				return errors.New("--days must be positive")
			case timerange != "":
				tr, err := config.ParseTimerange(timerange)
				if err != nil {
					return fmt.Errorf("--timerange: %w", err)
				}
				r = market.Range{Start: tr.Start, End: tr.End}
			default:
				r.Start = time.Now().Add(-30 * 24 * time.Hour).UnixMilli()
			}
			keys, err := sel.keys(cmd.Context(), s, exchange, cfg)
			if err != nil {
				return err
			}
			d, err := x.downloader(cmd, s, exchange, o)
			if err != nil {
				return err
			}
			rep, err := d.Download(cmd.Context(), keys, r)
			printDownloadReport(cmd.OutOrStdout(), rep.Series)
			return err
		},
	}
	sel.flags(cmd, "timeframes, e.g. 1m 1h (default: the config's timeframe)")
	cmd.Flags().IntVar(&days, "days", 0, "download the last N days (default 30 when no --timerange)")
	cmd.Flags().StringVar(&timerange, "timerange", "", "download YYYYMMDD-YYYYMMDD (end exclusive; either side may be empty)")
	x.add(cmd)
	return cmd
}

// printDownloadReport prints a line per series and, when series failed, a
// summary; an error several series share is quoted once.
func printDownloadReport(w io.Writer, series []download.SeriesReport) {
	failed, said := 0, map[string]bool{}
	for _, sr := range series {
		status := "ok"
		if sr.Err != nil {
			failed++
			msg := sr.Err.Error()
			if said[msg] {
				status = "FAILED: the same error as above"
			} else {
				status, said[msg] = "FAILED: "+msg, true
			}
		}
		span := ""
		if sr.Received > 0 {
			span = fmt.Sprintf(", %s to %s", fmtMs(sr.First), fmtMs(sr.Last))
		}
		waited := ""
		if wait := sr.RateWait + sr.RetryWait; wait > 0 {
			waited = fmt.Sprintf(", waited %s for limits and retries", wait.Round(time.Second))
		}
		fmt.Fprintf(w, "%s: %s (%d received%s) in %s%s: %s\n",
			sr.Key, count(sr.Added, "new candle"), sr.Received, span, count(sr.Requests, "request"), waited, status)
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d of %s failed; run the command again to resume (what was received is kept)\n", failed, count(len(series), "series"))
	}
}

// count is n with noun, plural unless n is 1: "1 request", "3 requests".
func count(n int, noun string) string {
	if n == 1 || strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
