package backtest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Plan is what a backtest of one config and strategy reads: one series per
// pair and the candles of each. It is the single answer to "which candles
// are needed": [Load] reads them, the data step of a queued backtest makes
// sure they are stored, and `tradai strategy check` checks the strategy on
// them.
type Plan struct {
	Spec      sdk.Spec
	Timeframe sdk.Timeframe
	Pairs     []string
	// Needs has one entry per pair, in the order of Pairs. A backtest reads
	// nothing else (no mark price or funding rate series, also in futures
	// mode).
	Needs []Need
	// Datadir is the config's data directory, named in the hint for a
	// missing series.
	Datadir string
	// Exchange, TradingMode and StakeCurrency (the config's, else the first
	// pair's quote currency) describe the results.
	Exchange, TradingMode, StakeCurrency string
}

// Need is one series a backtest loads and the candles of it that it uses.
type Need struct {
	Key market.Key
	// Timerange is the config's time range of candle open times (a zero
	// side is open: from the first stored candle, up to the last).
	Timerange market.Range
	// Range is Timerange with the strategy's Startup candles before its
	// start: the open times of every candle the backtest reads. Range.End
	// is Timerange.End.
	Range   market.Range
	Startup int
}

// NewPlan returns the plan of a backtest of cfg with a strategy declaring
// spec: the config's pairs, time range and timeframe (else the strategy's),
// with the strategy's startup candles before the time range.
func NewPlan(cfg *config.Config, spec sdk.Spec) (Plan, error) {
	tf := cfg.TimeframeFor(spec)
	if !tf.Valid() {
		return Plan{}, fmt.Errorf("timeframe %q is not supported (supported: %v)", string(tf), sdk.Timeframes())
	}
	pairs := cfg.Pairs()
	if len(pairs) == 0 {
		return Plan{}, fmt.Errorf("no pairs to backtest: set exchange.pair_whitelist in the config or pass --pairs")
	}
	var tr market.Range
	if cfg.Timerange != "" {
		t, err := config.ParseTimerange(cfg.Timerange)
		if err != nil {
			return Plan{}, fmt.Errorf("timerange: %w", err)
		}
		tr = market.Range{Start: t.Start, End: t.End}
	}
	r := tr
	if tr.Start != 0 {
		first := tr.Start
		if !tf.OnGrid(first) {
			first = tf.Next(first)
		}
		r.Start = candlesBefore(tf, first, spec.StartupCandles)
	}
	p := Plan{
		Spec: spec, Timeframe: tf, Pairs: pairs, Needs: make([]Need, len(pairs)),
		Datadir: cfg.Datadir, Exchange: cfg.Exchange.Name, TradingMode: cfg.TradingMode, StakeCurrency: cfg.StakeCurrency,
	}
	for i, pair := range pairs {
		p.Needs[i] = Need{Key: seriesKey(cfg, pair, tf), Timerange: tr, Range: r, Startup: spec.StartupCandles}
	}
	if p.StakeCurrency == "" {
		p.StakeCurrency = quoteOf(pairs[0])
	}
	return p, nil
}

// seriesKey is the series a backtest loads for pair: futures candles for a
// futures pair ("BTC/USDT:USDT"), spot candles otherwise.
func seriesKey(cfg *config.Config, pair string, tf sdk.Timeframe) market.Key {
	k := market.Key{Exchange: cfg.Exchange.Name, Pair: pair, Timeframe: tf, Type: market.Spot}
	if strings.Contains(pair, ":") {
		k.Type = market.Futures
	}
	return k
}

// candlesBefore returns the open time n candles of tf before the open time
// t.
func candlesBefore(tf sdk.Timeframe, t int64, n int) int64 {
	if ms := tf.Millis(); tf != "1M" && ms > 0 {
		return t - int64(n)*ms
	}
	for range n {
		t = tf.Floor(t - 1)
	}
	return t
}

// quoteOf returns the quote currency of a pair like "ETH/BTC" or
// "BTC/USDT:USDT".
func quoteOf(pair string) string {
	_, q, ok := strings.Cut(pair, "/")
	if !ok {
		return ""
	}
	q, _, _ = strings.Cut(q, ":")
	return q
}

// Pull brings every series the plan reads from the bucket its data
// directory is a cache of (opts.Remote; none: nothing to do) into the
// directory ([market.Store.Pull]), for a backtest that opens the
// directory itself ([Run]).
func (p Plan) Pull(ctx context.Context, opts market.Options, log *slog.Logger) error {
	if opts.Remote == nil {
		return nil
	}
	store, err := market.OpenWith(p.Datadir, log, opts)
	if err != nil {
		return err
	}
	for _, n := range p.Needs {
		if err := store.Pull(ctx, n.Key); err != nil {
			return err
		}
	}
	return nil
}
