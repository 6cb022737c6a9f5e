package download

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Store is what the downloader needs of the market data store
// (*market.Store implements it).
type Store interface {
	// Coverage describes the stored series; its error wraps
	// market.ErrNotFound when nothing is stored.
	Coverage(ctx context.Context, k market.Key) (market.Series, error)
	// Append merges candles into the series atomically.
	Append(ctx context.Context, k market.Key, f *sdk.Frame) (market.AppendResult, error)
}

// DefaultFlushEvery is the default number of downloaded candles buffered
// before they are appended to the store.
const DefaultFlushEvery = 50_000

// Options configures a [Downloader]. Zero fields take the defaults in
// parentheses.
type Options struct {
	// Clock decides which candles are closed (nil: [clock.Real]). It
	// should be the clock the source waits with.
	Clock clock.Clock
	// Log receives progress and warnings (discarded).
	Log *slog.Logger
	// Progress, when not nil, receives a progress bar per series (the CLI
	// passes stderr when it is a terminal).
	Progress io.Writer
	// FlushEvery is the number of candles buffered before they are appended
	// to the store (DefaultFlushEvery).
	FlushEvery int
}

// Downloader downloads candles from a [Source] into a [Store]. Series are
// downloaded one after the other; a Downloader is not meant for concurrent
// use.
type Downloader struct {
	store Store
	src   Source
	clock clock.Clock
	log   *slog.Logger
	opts  Options
}

// New returns a Downloader that fetches from src into store.
func New(store Store, src Source, opts Options) *Downloader {
	opts.Clock = clock.Or(opts.Clock)
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	return &Downloader{store: store, src: src, clock: opts.Clock, log: opts.Log, opts: opts}
}

// Exchange is the name of the exchange the downloader fetches from, as in
// [market.Key.Exchange].
func (d *Downloader) Exchange() string { return d.src.Exchange() }

// SeriesReport says what a download did for one series.
type SeriesReport struct {
	Key market.Key
	// Requested lists the ranges of open times asked of the exchange (after
	// subtracting what was already stored and the still-open candle).
	Requested []market.Range
	// First and Last are the open times of the first and last candle
	// received (0 when none was).
	First, Last int64
	// Received is the number of closed candles received; Added the number
	// of them that were new to the store (the others were duplicates).
	Received int
	Added    int
	// Requests is the number of HTTP requests made, retries included.
	Requests int
	// RateWait is the time waited for rate limits, RetryWait the time
	// spent backing off before retries.
	RateWait  time.Duration
	RetryWait time.Duration
	// Err is why this series failed, or nil.
	Err error
}

// Report says what a [Downloader.Download] did, one entry per series.
type Report struct {
	Series []SeriesReport
}

// Added returns the total number of candles added to the store.
func (r Report) Added() int {
	n := 0
	for _, s := range r.Series {
		n += s.Added
	}
	return n
}

// Download downloads the candles of each series opening in r (Start 0: from
// the pair's listing; End 0: up to now) and appends them to the store. Only
// closed candles are stored. What the store already has is not fetched
// again: only [r.Start, First) and [Last+tf, r.End) are downloaded, the
// former going backwards from First so that an interrupted run leaves no
// hole; gaps between First and Last are left for [Downloader.Fill].
//
// Series are downloaded one after the other. A failing series is recorded
// in its report and the others continue; the error returned joins the
// failures. Series not started because ctx was cancelled have no report. When ctx is cancelled the download stops, and what was received
// so far is still appended to the store, so the next run continues from
// there.
func (d *Downloader) Download(ctx context.Context, keys []market.Key, r market.Range) (Report, error) {
	var rep Report
	var errs []error
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			if !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, err) }) {
				errs = append(errs, fmt.Errorf("download stopped before %s: %w", k, err))
			}
			break
		}
		sr := SeriesReport{Key: k}
		err := d.download(ctx, k, r, &sr)
		if err != nil {
			sr.Err = err
			errs = append(errs, err)
		}
		rep.Series = append(rep.Series, sr)
		// A series the exchange refused does not stop the others, but an
		// exchange that cannot be reached at all (every retry failed below
		// HTTP) would fail each remaining series the same slow way.
		// Nor does an exchange that has banned this IP (HTTP 418) answer
		// anything else until the ban ends.
		var ue *url.Error
		var apiErr *binance.APIError
		stop := ""
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &ue):
			stop = "cannot be reached"
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTeapot:
			stop = "has banned this IP"
		}
		if stop != "" {
			if i+1 < len(keys) {
				errs = append(errs, fmt.Errorf("stopped before the %d other series: %s %s", len(keys)-i-1, d.src.Exchange(), stop))
			}
			break
		}
	}
	return rep, errors.Join(errs...)
}

// Fill downloads the candles of k opening in the given ranges (typically
// the gaps of a stored series, [market.Series.Gaps]) and appends them to the
// store. Ranges are cut to closed candles; candles already stored are
// counted as duplicates, not stored twice.
func (d *Downloader) Fill(ctx context.Context, k market.Key, gaps []market.Gap) (SeriesReport, error) {
	sr := SeriesReport{Key: k}
	if err := d.check(k); err != nil {
		sr.Err = err
		return sr, err
	}
	closedEnd := k.Timeframe.Floor(d.clock.Now().UnixMilli())
	var fwd []market.Range
	for _, g := range gaps {
		s, e := ceilGrid(k.Timeframe, g.From), min(g.To, closedEnd)
		if s < e {
			fwd = append(fwd, market.Range{Start: s, End: e})
		}
	}
	slices.SortFunc(fwd, func(a, b market.Range) int { return cmp.Compare(a.Start, b.Start) })
	err := d.run(ctx, k, market.Range{}, fwd, &sr)
	if err != nil {
		sr.Err = err
	}
	return sr, err
}

// check validates k for this downloader.
func (d *Downloader) check(k market.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if !strings.EqualFold(k.Exchange, d.src.Exchange()) {
		return fmt.Errorf("series %s: cannot be downloaded from %s", k, d.src.Exchange())
	}
	return nil
}

// download works out what k is missing in r and fetches it.
func (d *Downloader) download(ctx context.Context, k market.Key, r market.Range, sr *SeriesReport) error {
	if err := d.check(k); err != nil {
		return err
	}
	tf := k.Timeframe
	start := ceilGrid(tf, max(r.Start, 0))
	end := tf.Floor(d.clock.Now().UnixMilli()) // candles opening before this are closed
	if r.End != 0 {
		end = min(end, r.End)
	}
	if start >= end {
		d.log.Debug("nothing to download: the range holds no closed candle", "series", k.String())
		return nil
	}
	var back market.Range // fetched backwards from its End
	fwd := []market.Range{{Start: start, End: end}}
	cov, err := d.store.Coverage(ctx, k)
	switch {
	case errors.Is(err, market.ErrNotFound):
	case err != nil:
		return fmt.Errorf("%s: reading what is stored: %w", k, err)
	default:
		fwd = nil
		if e := min(cov.First, end); start < e {
			back = market.Range{Start: start, End: e}
		}
		if s := max(start, tf.Next(cov.Last)); s < end {
			fwd = append(fwd, market.Range{Start: s, End: end})
		}
	}
	return d.run(ctx, k, back, fwd, sr)
}

// run fetches back (backwards, page by page, from back.End) and then each
// of fwd (forwards), buffering the candles and appending them to the store.
// Whatever was received is appended also when it fails.
func (d *Downloader) run(ctx context.Context, k market.Key, back market.Range, fwd []market.Range, sr *SeriesReport) error {
	if back.Start < back.End {
		sr.Requested = append(sr.Requested, back)
	}
	sr.Requested = append(sr.Requested, fwd...)
	if len(sr.Requested) == 0 {
		d.log.Debug("series is up to date", "series", k.String())
		return nil
	}
	j := &job{d: d, k: k, sr: sr}
	for _, r := range sr.Requested {
		j.expected += countCandles(k.Timeframe, r.Start, r.End)
	}
	d.log.Debug("downloading", "series", k.String(), "ranges", fmtRanges(sr.Requested), "candles", j.expected)
	if d.opts.Progress != nil {
		j.bar = progressbar.NewOptions64(max(j.expected, 1),
			progressbar.OptionSetWriter(d.opts.Progress),
			progressbar.OptionSetDescription(k.String()),
			progressbar.OptionSetItsString("candles"),
			progressbar.OptionShowCount(), // no rate: its first pages would show millions of candles a second
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(d.opts.Progress) }),
		)
	}

	var err error
	if back.Start < back.End {
		err = j.backward(ctx, back)
	}
	for _, r := range fwd {
		if err != nil {
			break
		}
		_, err = j.forward(ctx, r)
	}
	// Keep what was received, also when interrupted.
	ferr := j.flush(context.WithoutCancel(ctx))
	if j.bar != nil {
		if err == nil && ferr == nil {
			j.bar.ChangeMax64(max(j.bar.State().CurrentNum, 1))
			_ = j.bar.Finish()
		} else {
			_ = j.bar.Exit()
		}
	}
	err = errors.Join(err, ferr)
	attrs := []any{"series", k.String(), "received", sr.Received, "added", sr.Added,
		"requests", sr.Requests, "rate_wait", sr.RateWait, "retry_wait", sr.RetryWait}
	if err != nil {
		d.log.Warn("download stopped", append(attrs, "err", err)...)
	} else {
		d.log.Debug("download finished", attrs...)
	}
	return err
}

// job is the state of downloading one series.
type job struct {
	d        *Downloader
	k        market.Key
	sr       *SeriesReport
	buf      []*sdk.Frame // received, not yet stored, non-overlapping
	buffered int
	expected int64 // candle open times in the requested ranges
	bar      *progressbar.ProgressBar
}

// fetch gets one page and accounts for it.
func (j *job) fetch(ctx context.Context, start, end int64) (*sdk.Frame, error) {
	p, err := j.d.src.Fetch(ctx, j.k, start, end)
	j.sr.Requests += p.Requests
	j.sr.RateWait += p.RateWait
	j.sr.RetryWait += p.RetryWait
	if err != nil {
		return nil, err
	}
	f := p.Candles
	if f == nil {
		f = &sdk.Frame{Pair: j.k.Pair, Timeframe: j.k.Timeframe}
	}
	if n := f.Len(); n > 0 && (f.Time[0] < start || f.Time[n-1] >= end || n > j.d.src.PageSize()) {
		return nil, fmt.Errorf("%s: %s returned %d candles from %s to %s for the range %s .. %s (page size %d)",
			j.k, j.d.src.Exchange(), n, fmtTime(f.Time[0]), fmtTime(f.Time[n-1]), fmtTime(start), fmtTime(end), j.d.src.PageSize())
	}
	return f, nil
}

// forward fetches the candles opening in r page by page, oldest first, and
// returns how many closed candles it received. When the range starts before
// the pair was listed, the exchange answers with the first candles after
// the start, so pages simply begin later.
func (j *job) forward(ctx context.Context, r market.Range) (int, error) {
	tf := j.k.Timeframe
	got := 0
	for cur := r.Start; cur < r.End; {
		f, err := j.fetch(ctx, cur, r.End)
		if err != nil {
			return got, err
		}
		n := f.Len()
		// Only closed candles: the exchange also serves the current one.
		now := j.d.clock.Now().UnixMilli()
		keep := n
		for keep > 0 && tf.Next(f.Time[keep-1]) > now {
			keep--
		}
		if err := j.add(ctx, f.Slice(0, keep)); err != nil {
			return got, err
		}
		got += keep
		next := r.End
		if keep == n && n >= j.d.src.PageSize() {
			next = tf.Next(f.Time[n-1])
		}
		j.progress(countCandles(tf, cur, next))
		cur = next
	}
	return got, nil
}

// backward fetches the candles opening in r a page at a time from r.End
// towards r.Start, so that the candles received always join up with the
// series stored from r.End on, even if the download is interrupted. It stops
// at r.Start or at the pair's listing: an empty page followed by an empty
// answer for everything between r.Start and that page.
func (j *job) backward(ctx context.Context, r market.Range) error {
	tf := j.k.Timeframe
	b := r.End
	for b > r.Start {
		a := max(r.Start, stepBack(tf, b, j.d.src.PageSize()))
		got, err := j.forward(ctx, market.Range{Start: a, End: b})
		if err != nil {
			return err
		}
		if got == 0 && a > r.Start {
			// Nothing in [a, b): the listing, or a long stretch without
			// trading. Ask whether anything is older.
			f, err := j.fetch(ctx, r.Start, a)
			if err != nil {
				return err
			}
			if f.Len() == 0 {
				j.progress(countCandles(tf, r.Start, a))
				break
			}
		}
		b = a
	}
	return nil
}

// add buffers received candles, appending to the store when the buffer is
// full.
func (j *job) add(ctx context.Context, f *sdk.Frame) error {
	n := f.Len()
	if n == 0 {
		return nil
	}
	if j.sr.Received == 0 || f.Time[0] < j.sr.First {
		j.sr.First = f.Time[0]
	}
	if j.sr.Received == 0 || f.Time[n-1] > j.sr.Last {
		j.sr.Last = f.Time[n-1]
	}
	j.sr.Received += n
	j.buf = append(j.buf, f)
	j.buffered += n
	if j.buffered >= j.d.opts.FlushEvery {
		return j.flush(context.WithoutCancel(ctx))
	}
	return nil
}

// flush appends the buffered candles to the store in one atomic append.
// Callers pass a context that is not cancelled with the download's, so that
// what was received is kept when the download is interrupted. The buffer is emptied also when the append fails (the store refused the
// candles; trying again would not help).
func (j *job) flush(ctx context.Context) error {
	if j.buffered == 0 {
		return nil
	}
	bufs, n := j.buf, j.buffered
	j.buf, j.buffered = nil, 0
	slices.SortFunc(bufs, func(a, b *sdk.Frame) int { return cmp.Compare(a.Time[0], b.Time[0]) })
	f := &sdk.Frame{
		Pair: j.k.Pair, Timeframe: j.k.Timeframe,
		Time: make([]int64, 0, n), Open: make([]float64, 0, n), High: make([]float64, 0, n),
		Low: make([]float64, 0, n), Close: make([]float64, 0, n), Volume: make([]float64, 0, n),
	}
	for _, b := range bufs {
		f.Time = append(f.Time, b.Time...)
		f.Open = append(f.Open, b.Open...)
		f.High = append(f.High, b.High...)
		f.Low = append(f.Low, b.Low...)
		f.Close = append(f.Close, b.Close...)
		f.Volume = append(f.Volume, b.Volume...)
	}
	for i := 1; i < n; i++ {
		if f.Time[i] <= f.Time[i-1] {
			return fmt.Errorf("%s: downloaded candles overlap at %s", j.k, fmtTime(f.Time[i]))
		}
	}
	res, err := j.d.store.Append(ctx, j.k, f)
	if err != nil {
		return fmt.Errorf("%s: storing %d downloaded candles (%s .. %s): %w", j.k, n, fmtTime(f.Time[0]), fmtTime(f.Time[n-1]), err)
	}
	j.sr.Added += res.Added
	j.d.log.Debug("stored candles", "series", j.k.String(), "candles", n, "added", res.Added, "duplicates", res.Duplicates)
	return nil
}

func (j *job) progress(n int64) {
	if j.bar != nil && n > 0 {
		_ = j.bar.Add64(n)
	}
}

// ceilGrid returns the first open time of tf at or after t.
func ceilGrid(tf sdk.Timeframe, t int64) int64 {
	if tf.OnGrid(t) {
		return t
	}
	return tf.Next(t)
}

// stepBack returns the open time n candles of tf before the open time t.
func stepBack(tf sdk.Timeframe, t int64, n int) int64 {
	if tf == "1M" {
		return time.UnixMilli(t).UTC().AddDate(0, -n, 0).UnixMilli()
	}
	return t - int64(n)*tf.Millis()
}

// countCandles returns the number of open times of tf in [a, b), a on the
// grid.
func countCandles(tf sdk.Timeframe, a, b int64) int64 {
	if b <= a {
		return 0
	}
	if tf != "1M" {
		ms := tf.Millis()
		return (b - a + ms - 1) / ms
	}
	n := int64(0)
	for t := a; t < b; t = tf.Next(t) {
		n++
	}
	return n
}

func fmtRanges(rs []market.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = time.UnixMilli(r.Start).UTC().Format(time.RFC3339) + " .. " + time.UnixMilli(r.End).UTC().Format(time.RFC3339)
	}
	return strings.Join(parts, ", ")
}
