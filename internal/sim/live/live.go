// Package live feeds the simulator with current market data: the closed
// candles of each symbol, polled from an upstream Binance-compatible REST
// API (Binance itself, or another simulator) a moment after every candle
// close, with the candles missed during an outage or a restart fetched
// and played in order. One poller serves every account of a simulator:
// one series per symbol in one replay.Feed, whose clock is the wall clock.
//
// Requests go through a download.Source (internal/download's Binance
// source: the Binance client core's weight budget, Retry-After and
// retries), so the simulator asks the upstream what `tradai data download`
// would ask it.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/sdk"
)

// Source fetches candles from the upstream (download.Binance).
type Source interface {
	PageSize() int
	Fetch(ctx context.Context, k market.Key, start, end int64) (download.Page, error)
}

// Feed is where the polled candles go (*replay.Feed).
type Feed interface {
	Append(symbol string, candles []sim.Candle) (int, error)
	Last(symbol string) (int64, bool)
}

// Defaults of Config.
const (
	// DefaultDelay is how long after a candle's close it is asked for:
	// the upstream needs a moment to close it.
	DefaultDelay = 2 * time.Second
	// DefaultRetry is the wait after a poll that failed.
	DefaultRetry = 5 * time.Second
	// DefaultWarmup is how many closed candles a simulator starts with.
	DefaultWarmup = 1000
	// MaxCatchUp bounds how many candles of one symbol a start fetches to
	// play the time the simulator was stopped (at 1m, a week).
	MaxCatchUp = 10_080
)

// Config is what a Poller polls and how.
type Config struct {
	Source Source
	// Pairs (BTC/USDT …) and their Symbols in the engine (the tick size
	// rounds the upstream's prices); Timeframe of the candles.
	Pairs     []string
	Symbols   map[string]sim.Symbol // by pair
	Timeframe sdk.Timeframe
	// Clock is the wall clock (nil: the system clock).
	Clock clock.Clock
	// Delay after each close (DefaultDelay); Retry after a failure
	// (DefaultRetry).
	Delay, Retry time.Duration
	Log          *slog.Logger
}

// Poller moves a live feed along with the upstream market.
type Poller struct {
	cfg  Config
	feed Feed
}

// New returns a poller appending to feed.
func New(cfg Config, feed Feed) (*Poller, error) {
	if cfg.Source == nil || feed == nil {
		return nil, errors.New("live market data: a source and a feed are required")
	}
	if !cfg.Timeframe.Valid() || cfg.Timeframe == "1M" {
		return nil, fmt.Errorf("live market data: timeframe %q: want one of fixed length (1m … 1w)", cfg.Timeframe)
	}
	for _, p := range cfg.Pairs {
		if _, ok := cfg.Symbols[p]; !ok {
			return nil, fmt.Errorf("live market data: no symbol for %s", p)
		}
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Delay <= 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, feed: feed}, nil
}

// Fetch returns the closed candles of pair opening in [start, end) (end
// on the timeframe's grid), page by page, rounded to the symbol's tick.
func Fetch(ctx context.Context, src Source, pair string, sym sim.Symbol, tf sdk.Timeframe, start, end int64) ([]sim.Candle, error) {
	k := market.Key{Exchange: "upstream", Pair: pair, Timeframe: tf}
	var out []sim.Candle
	for start < end {
		page, err := src.Fetch(ctx, k, start, end)
		if err != nil {
			return out, fmt.Errorf("live market data of %s: %w", pair, err)
		}
		f := page.Candles
		if f.Len() > 0 {
			s, err := replay.FromFrame(sym.Name, f, sym.TickSize)
			if err != nil {
				return out, fmt.Errorf("live market data of %s: %w", pair, err)
			}
			out = append(out, s.Candles...)
			start = f.Time[f.Len()-1] + tf.Millis()
		}
		if f.Len() < src.PageSize() {
			break
		}
	}
	return out, nil
}

// Poll fetches every pair's candles closed since the feed's newest one
// (and at least Delay ago) and appends them (played at once, in order).
func (p *Poller) Poll(ctx context.Context) error {
	tf := p.cfg.Timeframe
	end := tf.Floor(p.cfg.Clock.Now().Add(-p.cfg.Delay).UnixMilli())
	var errs []error
	for _, pair := range p.cfg.Pairs {
		sym := p.cfg.Symbols[pair]
		last, ok := p.feed.Last(sym.Name)
		if !ok {
			return fmt.Errorf("live market data: the feed has no series %s", sym.Name)
		}
		start := max(last+tf.Millis(), end-MaxCatchUp*tf.Millis())
		if start >= end {
			continue
		}
		cs, err := Fetch(ctx, p.cfg.Source, pair, sym, tf, start, end)
		if n, aerr := p.feed.Append(sym.Name, cs); aerr != nil {
			err = errors.Join(err, aerr)
		} else if n > 1 {
			p.cfg.Log.Info("live market data: caught up", "symbol", sym.Name, "candles", n)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run polls a moment after every candle close until ctx ends; a failed
// poll is tried again after Retry (the next one catches up on whatever it
// missed). It returns nil when ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	clk := p.cfg.Clock
	for {
		wait := p.cfg.Retry
		if err := p.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.cfg.Log.Warn("live market data: poll failed; retrying", "err", err, "in", wait)
		} else {
			now := clk.Now()
			next := time.UnixMilli(p.cfg.Timeframe.Next(now.Add(-p.cfg.Delay).UnixMilli())).Add(p.cfg.Delay)
			wait = next.Sub(now)
		}
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil
		}
	}
}
