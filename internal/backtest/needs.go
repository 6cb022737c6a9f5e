package backtest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Need is one series [Run] loads and the candles of it that it uses.
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

// Needs lists the series Run loads for cfg and a strategy with spec, one per
// pair, with the ranges it uses: the series the data step of a queued
// backtest makes sure are stored. Run reads nothing else (no mark price
// or funding rate series, also in futures mode).
func Needs(cfg *config.Config, spec sdk.Spec) ([]Need, error) {
	tf := cfg.TimeframeFor(spec)
	if !tf.Valid() {
		return nil, fmt.Errorf("timeframe %q is not supported (supported: %v)", string(tf), sdk.Timeframes())
	}
	pairs := cfg.Pairs()
	if len(pairs) == 0 {
		return nil, errors.New("no pairs to backtest: set exchange.pair_whitelist in the config")
	}
	var tr market.Range
	if cfg.Timerange != "" {
		t, err := config.ParseTimerange(cfg.Timerange)
		if err != nil {
			return nil, fmt.Errorf("timerange: %w", err)
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
	out := make([]Need, len(pairs))
	for i, pair := range pairs {
		out[i] = Need{Key: seriesKey(cfg, pair, tf), Timerange: tr, Range: r, Startup: spec.StartupCandles}
	}
	return out, nil
}

// seriesKey is the series Run loads for pair: futures candles for a futures
// pair ("BTC/USDT:USDT"), spot candles otherwise.
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
