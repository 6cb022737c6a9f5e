package backtestjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Fetcher downloads candles the market data store lacks into it.
// *download.Downloader implements it.
type Fetcher interface {
	// Exchange is the exchange it downloads from, as configs name it
	// ("binance").
	Exchange() string
	// Download fetches the closed candles of each series opening in r that
	// the store does not hold yet (r.Start 0: from the pair's listing;
	// r.End 0: up to now), and appends them to the store.
	Download(ctx context.Context, keys []market.Key, r market.Range) (download.Report, error)
}

// ensureData makes sure the market data store holds every series the
// backtest of cfg reads over the range it reads (see backtest.Plan),
// downloading what is missing when a Fetcher is configured. It returns what
// it did or noticed, for the step's detail.
func (b *Kind) ensureData(ctx context.Context, cfg *config.Config, spec sdk.Spec, log *slog.Logger) (string, error) {
	plan, err := backtest.NewPlan(cfg, spec)
	if err != nil {
		return "", runkind.Permanent(err)
	}
	store, err := market.OpenWith(cfg.Datadir, b.log, b.opts.Market)
	if err != nil {
		return "", runkind.Permanent(fmt.Errorf("market data: %w", err))
	}
	var notes []string
	for _, n := range plan.Needs {
		note, err := b.ensureSeries(ctx, store, n, log)
		if note != "" {
			notes = append(notes, note)
		}
		if err != nil {
			return strings.Join(notes, "\n"), err
		}
	}
	return strings.Join(notes, "\n"), nil
}

// ensureSeries is ensureData for one series.
func (b *Kind) ensureSeries(ctx context.Context, store *market.Store, n backtest.Need, log *slog.Logger) (string, error) {
	k := n.Key
	cov, stored, err := coverage(ctx, store, k)
	if err != nil {
		return "", err
	}
	missing := b.missing(n, cov, stored)
	if len(missing) == 0 {
		return "", nil
	}
	if why := b.cannotFetch(n, stored); why != "" {
		return b.useStored(n, cov, stored, missing, why, store.Dir(), log)
	}

	// Download what is missing. Of concurrent runs wanting the same
	// series, one downloads and the others wait for it, then look again.
	var sr download.SeriesReport
	for round := 0; ; round++ {
		r := n.Range
		if r.Start == 0 {
			r.Start = cov.First // never the whole history before what is stored
		}
		var shared bool
		sr, shared, err = b.fetch(ctx, k, r)
		if !shared || round == 2 || ctx.Err() != nil {
			break
		}
		// Another run's download: it may have wanted less than this run.
		if cov, stored, err = coverage(ctx, store, k); err != nil {
			return "", err
		}
		if len(b.missing(n, cov, stored)) == 0 {
			return k.String() + ": downloaded by a concurrent run", nil
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", ctxErr
	}
	if err != nil {
		return "", downloadFailure(k, err)
	}
	cov, stored, err = coverage(ctx, store, k)
	if err != nil {
		return "", err
	}
	note := fmt.Sprintf("%s: downloaded %s: %d new candles in %d requests", k, fmtRanges(sr.Requested), sr.Added, sr.Requests)
	log.Info("downloaded missing candles", "series", k.String(), "ranges", fmtRanges(sr.Requested), "added", sr.Added, "requests", sr.Requests)
	if !stored {
		return note, runkind.Permanent(fmt.Errorf("market data: %s has no candles for %s in %s", k.Exchange, k, fmtRange(n.Range)))
	}
	if left := b.missing(n, cov, stored); len(left) > 0 {
		note += fmt.Sprintf("; %s has none in %s (stored: %s)", k.Exchange, fmtRanges(left), fmtRange(market.Range{Start: cov.First, End: n.Key.Timeframe.Next(cov.Last)}))
	}
	return note, nil
}

// coverage reads what the store holds of k; stored is false when nothing.
func coverage(ctx context.Context, store *market.Store, k market.Key) (market.Series, bool, error) {
	cov, err := store.Coverage(ctx, k)
	switch {
	case errors.Is(err, market.ErrNotFound):
		return cov, false, nil
	case err != nil:
		if ctx.Err() != nil {
			return cov, false, ctx.Err()
		}
		return cov, false, runkind.Permanent(fmt.Errorf("market data for %s: %w", k, err))
	}
	return cov, true, nil
}

// missing returns the parts of n.Range that the stored series (cov, when
// stored) lacks at its ends, up to the last closed candle; gaps inside the
// stored range (exchange outages) are not counted. Without a timerange
// the backtest uses whatever is stored: only an absent series is missing.
func (b *Kind) missing(n backtest.Need, cov market.Series, stored bool) []market.Range {
	tf := n.Key.Timeframe
	if n.Timerange == (market.Range{}) {
		if stored {
			return nil
		}
		return []market.Range{{}}
	}
	end := tf.Floor(b.opts.Clock.Now().UnixMilli()) // candles opening before end are closed
	if n.Range.End != 0 {
		end = min(end, n.Range.End)
	}
	if !stored {
		return []market.Range{n.Range}
	}
	var out []market.Range
	if n.Range.Start != 0 && n.Range.Start < min(cov.First, end) {
		out = append(out, market.Range{Start: n.Range.Start, End: min(cov.First, end)})
	}
	if from := max(tf.Next(cov.Last), n.Range.Start); from < end {
		out = append(out, market.Range{Start: from, End: end})
	}
	return out
}

// cannotFetch says why missing candles of n are not downloaded, or "".
func (b *Kind) cannotFetch(n backtest.Need, stored bool) string {
	switch {
	case b.opts.Download == nil:
		return "this server does not download market data"
	case !strings.EqualFold(n.Key.Exchange, b.opts.Download.Exchange()):
		return fmt.Sprintf("this server downloads from %s only, not %s", b.opts.Download.Exchange(), n.Key.Exchange)
	case !stored && n.Range.Start == 0:
		return "the config's timerange has no start, so there is no range to download"
	}
	return ""
}

// useStored decides, when missing candles are not downloaded, whether the
// backtest can run on what is stored: it fails when the series is absent or
// holds no candle in the timerange, and otherwise runs on the stored part
// (as the CLI does), saying what it lacks.
func (b *Kind) useStored(n backtest.Need, cov market.Series, stored bool, missing []market.Range, why, datadir string, log *slog.Logger) (string, error) {
	k := n.Key
	tr := n.Timerange
	if stored && (tr.End == 0 || cov.First < tr.End) && (tr.Start == 0 || k.Timeframe.Next(cov.Last) > tr.Start) {
		note := fmt.Sprintf("%s: not stored: %s (%s); the backtest uses the stored %s", k, fmtRanges(missing), why,
			fmtRange(market.Range{Start: cov.First, End: k.Timeframe.Next(cov.Last)}))
		log.Warn("market data incomplete; running on what is stored", "series", k.String(), "missing", fmtRanges(missing), "why", why)
		return note, nil
	}
	what := fmt.Sprintf("no candles in %s", fmtRanges(missing))
	switch {
	case !stored && n.Timerange == (market.Range{}):
		what = "no candles stored (and the config has no timerange)"
	case stored:
		what = fmt.Sprintf("no candles in %s (stored: %s)", fmtRange(n.Range), fmtRange(market.Range{Start: cov.First, End: k.Timeframe.Next(cov.Last)}))
	}
	if n.Startup > 0 && n.Timerange.Start != 0 {
		what += fmt.Sprintf(" (the timerange and the strategy's %d startup candles before it)", n.Startup)
	}
	fix := fmt.Sprintf("tradai data download --datadir %s --exchange %s --pairs %s --timeframes %s", datadir, k.Exchange, k.Pair, k.Timeframe)
	if k.Type != market.Spot {
		fix += " --candle-type " + string(k.Type)
	}
	if n.Range.Start != 0 {
		fix += " --timerange " + dayRange(n.Range)
	}
	if b.opts.Download == nil {
		fix += ", or start the server and workers with --download to fetch missing data for runs"
	}
	if strings.EqualFold(k.Exchange, "binance") {
		fix = "Download it with: " + fix
	} else {
		fix = "Bring it into the data folder with tradai data import (only binance can be downloaded)"
	}
	return "", runkind.Permanent(fmt.Errorf("market data missing: %s has %s, and %s. %s", k, what, why, fix))
}

// fetch downloads the candles of k in r that the store lacks. One download
// per series runs at a time in this process: a call while another is
// downloading k waits for that one and reports shared (its report and
// error are the other call's, which may have wanted another range).
func (b *Kind) fetch(ctx context.Context, k market.Key, r market.Range) (download.SeriesReport, bool, error) {
	var led atomic.Bool
	ch := b.flights.DoChan(k.String(), func() (any, error) {
		led.Store(true)
		rep, err := b.opts.Download.Download(ctx, []market.Key{k}, r)
		var sr download.SeriesReport
		if len(rep.Series) > 0 {
			sr = rep.Series[0]
		}
		return sr, err
	})
	select {
	case res := <-ch:
		sr, _ := res.Val.(download.SeriesReport)
		return sr, res.Shared, res.Err
	case <-ctx.Done():
		if led.Load() {
			<-ch // the download stops with ctx; let it store what it got
		}
		return download.SeriesReport{}, false, ctx.Err()
	}
}

// downloadFailure classifies a download error: what the exchange refused
// (an unknown symbol, a bad request) or sent malformed fails the run; the
// rest (network, server errors, rate limits) is retried with the job.
func downloadFailure(k market.Key, err error) error {
	var apiErr *binance.APIError
	var rowErr *download.RowError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 &&
		apiErr.Status != http.StatusTooManyRequests && apiErr.Status != http.StatusTeapot:
		return runkind.Permanent(fmt.Errorf("download %s: the exchange refused the request (unknown pair?): %w", k, err))
	case errors.As(err, &rowErr):
		return runkind.Permanent(fmt.Errorf("download %s: %w", k, err))
	}
	return fmt.Errorf("download %s (will retry): %w", k, err)
}

// fmtRange formats r as "2024-01-02 03:04 .. 2024-01-03 00:00 UTC" (open
// sides as "listing" and "now").
func fmtRange(r market.Range) string {
	from, to := "listing", "now"
	if r.Start != 0 {
		from = time.UnixMilli(r.Start).UTC().Format("2006-01-02 15:04")
	}
	if r.End != 0 {
		to = time.UnixMilli(r.End).UTC().Format("2006-01-02 15:04")
	}
	return from + " .. " + to + " UTC"
}

func fmtRanges(rs []market.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmtRange(r)
	}
	return strings.Join(parts, ", ")
}

// dayRange is r as a --timerange covering it: whole days, end exclusive.
func dayRange(r market.Range) string {
	const day = 24 * time.Hour
	out := time.UnixMilli(r.Start).UTC().Truncate(day).Format("20060102") + "-"
	if r.End != 0 {
		end := time.UnixMilli(r.End).UTC()
		if t := end.Truncate(day); !t.Equal(end) {
			end = t.Add(day)
		}
		out += end.Format("20060102")
	}
	return out
}
