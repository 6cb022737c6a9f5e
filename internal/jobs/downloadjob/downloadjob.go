// Package downloadjob is the download run kind: a tenant asks the server's
// workers to fetch candles (exchange, pairs, timeframes, time range) into
// the market data store, through the same downloader the backtests'
// ensure_data step uses (backtestjob.Fetcher). Its steps are validate →
// download → record; the run's metrics say what each series got.
package downloadjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/jobs/backtestjob"
	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/sdk"
)

// The steps of a download run.
const (
	StepValidate = "validate"
	StepDownload = "download"
	StepRecord   = "record"
)

// Limits of one request.
const (
	MaxPairs      = 100
	MaxTimeframes = 20
)

// Request is what a download run fetches; it is the run's config.
type Request struct {
	Exchange   string   `json:"exchange"`
	Pairs      []string `json:"pairs"`
	Timeframes []string `json:"timeframes"`
	// Timerange is Freqtrade's YYYYMMDD-YYYYMMDD (end exclusive); empty
	// or an open start: from the pair's listing, an open end: up to now.
	Timerange string `json:"timerange,omitempty"`
}

// FieldError is what is wrong with one field of a Request.
type FieldError struct {
	Field string // exchange, pairs, pairs[2], timeframes[0], timerange
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Check validates r for a downloader of exchange and returns the series
// and range to fetch; every problem is a *FieldError.
func (r Request) Check(exchange string) ([]market.Key, market.Range, error) {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if err := market.ValidateExchange(r.Exchange); err != nil {
		bad("exchange", "%v", err)
	} else if r.Exchange != exchange {
		bad("exchange", "this server downloads from %s only", exchange)
	}
	if len(r.Pairs) == 0 {
		bad("pairs", "name at least one pair")
	} else if len(r.Pairs) > MaxPairs {
		bad("pairs", "at most %d pairs at once", MaxPairs)
	}
	for i, p := range r.Pairs {
		if err := market.ValidatePair(p); err != nil {
			bad("pairs["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	var tfs []sdk.Timeframe
	if len(r.Timeframes) == 0 {
		bad("timeframes", "name at least one timeframe")
	} else if len(r.Timeframes) > MaxTimeframes {
		bad("timeframes", "at most %d timeframes at once", MaxTimeframes)
	}
	for i, s := range r.Timeframes {
		tf, err := sdk.ParseTimeframe(s)
		if err != nil {
			bad("timeframes["+strconv.Itoa(i)+"]", "%v", err)
			continue
		}
		tfs = append(tfs, tf)
	}
	var rng market.Range
	if strings.TrimSpace(r.Timerange) != "" {
		tr, err := config.ParseTimerange(r.Timerange)
		if err != nil {
			bad("timerange", "%v", err)
		}
		rng = market.Range{Start: tr.Start, End: tr.End}
	}
	if len(errs) > 0 {
		return nil, market.Range{}, errors.Join(errs...)
	}
	var keys []market.Key
	for _, p := range r.Pairs {
		for _, tf := range tfs {
			keys = append(keys, market.Key{Exchange: r.Exchange, Pair: p, Timeframe: tf, Type: market.Spot})
		}
	}
	return keys, rng, nil
}

// Kind is the download run kind.
type Kind struct {
	fetch backtestjob.Fetcher
}

var _ runkind.Kind = (*Kind)(nil)

// New returns the download kind fetching through f.
func New(f backtestjob.Fetcher) (*Kind, error) {
	if f == nil {
		return nil, errors.New("download runs: a downloader is required")
	}
	return &Kind{fetch: f}, nil
}

// Name is runs.KindDownload.
func (k *Kind) Name() string { return runs.KindDownload }

// Exchange is the exchange the kind downloads from.
func (k *Kind) Exchange() string { return k.fetch.Exchange() }

// Steps are validate, download and record.
func (k *Kind) Steps() []runkind.Step {
	return []runkind.Step{{Name: StepValidate, Progress: 0.05}, {Name: StepDownload, Progress: 0.95}, {Name: StepRecord, Progress: 1}}
}

// Begin starts an attempt at download run r.
func (k *Kind) Begin(r runs.Run, log *slog.Logger) runkind.Attempt {
	return &attempt{k: k, r: r, log: log}
}

type attempt struct {
	k   *Kind
	r   runs.Run
	log *slog.Logger

	keys []market.Key
	rng  market.Range
	rep  download.Report
}

// Series is what a download run got of one series, in its metrics.
type Series struct {
	Series   string `json:"series"`
	Added    int    `json:"added"`
	Received int    `json:"received"`
	Requests int    `json:"requests"`
	Error    string `json:"error,omitempty"`
}

func (a *attempt) Do(ctx context.Context, step string) (runkind.Result, error) {
	switch step {
	case StepValidate:
		var req Request
		if err := json.Unmarshal(a.r.Spec.Config, &req); err != nil {
			return runkind.Result{}, runkind.Permanent(fmt.Errorf("the download request: %w", err))
		}
		keys, rng, err := req.Check(a.k.Exchange())
		if err != nil {
			return runkind.Result{}, runkind.Permanent(err)
		}
		a.keys, a.rng = keys, rng
		return runkind.Result{Detail: fmt.Sprintf("%d series", len(keys))}, nil
	case StepDownload:
		rep, err := a.k.fetch.Download(ctx, a.keys, a.rng)
		a.rep = rep
		if err != nil {
			return runkind.Result{Detail: summary(rep)}, fmt.Errorf("download: %w", err)
		}
		return runkind.Result{Detail: summary(rep)}, nil
	case StepRecord:
		out := struct {
			Added  int      `json:"added"`
			Series []Series `json:"series"`
		}{Added: a.rep.Added(), Series: []Series{}}
		for _, s := range a.rep.Series {
			v := Series{Series: s.Key.String(), Added: s.Added, Received: s.Received, Requests: s.Requests}
			if s.Err != nil {
				v.Error = s.Err.Error()
			}
			out.Series = append(out.Series, v)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return runkind.Result{}, runkind.Permanent(err)
		}
		return runkind.Result{Outcome: runs.Outcome{Metrics: b}}, nil
	}
	return runkind.Result{}, runkind.Permanent(fmt.Errorf("download runs have no step %q", step))
}

func (a *attempt) Close() error { return nil }

// summary is a download's report for people: one line per series.
func summary(rep download.Report) string {
	var lines []string
	for _, s := range rep.Series {
		line := fmt.Sprintf("%s: %d new candles in %d requests", s.Key, s.Added, s.Requests)
		if s.Err != nil {
			line += " (failed: " + s.Err.Error() + ")"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
