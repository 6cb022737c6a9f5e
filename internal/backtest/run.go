package backtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// Run backtests strat with cfg: it loads each pair's candles from the data
// directory, computes the strategy's signals (with its startup candles
// before the time range), and simulates the portfolio.
func Run(ctx context.Context, cfg *config.Config, strat sdk.Strategy, log *slog.Logger) (*result.Result, error) {
	spec := strat.Spec()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	tf := cfg.TimeframeFor(spec)
	params, err := spec.Resolve(cfg.StrategyParams)
	if err != nil {
		return nil, fmt.Errorf("strategy_params: %w", err)
	}
	rules, acct, err := cfg.Trading(spec)
	if err != nil {
		return nil, err
	}
	pairs := cfg.Pairs()
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no pairs to backtest: set exchange.pair_whitelist in the config or pass --pairs")
	}
	var tr config.Timerange
	if cfg.Timerange != "" {
		if tr, err = config.ParseTimerange(cfg.Timerange); err != nil {
			return nil, fmt.Errorf("timerange: %w", err)
		}
	}
	if spec.CanShort && !rules.Futures {
		log.Info("short signals are ignored in spot mode; set trading_mode to futures to trade them", "strategy", spec.Name)
	}

	store, err := market.Open(cfg.Datadir, log)
	if err != nil {
		return nil, err
	}
	series := make([]Series, len(pairs))
	errs := make([]error, len(pairs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k, pair := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			series[k], errs[k] = prepare(ctx, store, cfg, strat, spec, params, tf, tr, pair, log)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	s := NewSettings(rules, acct, rules.Futures && spec.CanShort)
	if s.Fill, err = cfg.Fill(); err != nil {
		return nil, err
	}
	res, err := Simulate(ctx, s, series)
	if err != nil {
		return nil, err
	}
	res.Strategy, res.Timeframe, res.Params, res.Pairs = spec.Name, tf, params, pairs
	res.Exchange, res.TradingMode = cfg.Exchange.Name, cfg.TradingMode
	res.DataFingerprint = dataFingerprint(series)
	res.StakeCurrency = cfg.StakeCurrency
	if res.StakeCurrency == "" {
		res.StakeCurrency = quoteOf(pairs[0])
	}
	return res, nil
}

// prepare loads one pair, cuts it to the time range plus startup candles
// and populates its signals.
func prepare(ctx context.Context, store *market.Store, cfg *config.Config, strat sdk.Strategy, spec sdk.Spec, params sdk.Values, tf sdk.Timeframe, tr config.Timerange, pair string, log *slog.Logger) (Series, error) {
	if err := ctx.Err(); err != nil {
		return Series{}, err
	}
	k := seriesKey(cfg, pair, tf)
	f, err := store.Load(ctx, k, market.Range{End: tr.End})
	if errors.Is(err, market.ErrNotFound) && k.Exchange != "" {
		return Series{}, fmt.Errorf("%w; download it with: tradai data download --datadir %s --exchange %s --pairs %s --timeframes %s",
			err, store.Dir(), k.Exchange, pair, tf)
	}
	if err != nil {
		return Series{}, err
	}
	from, to := 0, f.Len()
	if tr.Start != 0 {
		from = f.Search(tr.Start)
	}
	if tr.End != 0 {
		to = f.Search(tr.End)
	}
	if from < spec.StartupCandles {
		if tr.Start != 0 {
			log.Warn("not enough candles before the time range for the strategy's startup; moving the start forward",
				"pair", pair, "startup_candles", spec.StartupCandles, "available", from)
		}
		from = spec.StartupCandles
	}
	if to-from < 2 {
		return Series{}, fmt.Errorf("%s: %d candles in the selected time range after %d startup candles; need at least 2",
			k, max(0, to-from), spec.StartupCandles)
	}
	lo := from - spec.StartupCandles
	view := f.Slice(lo, to)
	digest := candleDigest(view)
	if fs, ok := strat.(strategy.FileSignals); !ok || !fs.UsesFileSignals() {
		view.EnterLong, view.ExitLong, view.EnterShort, view.ExitShort, view.EnterTag = nil, nil, nil, nil, nil
	}
	if err := strat.Populate(view, params); err != nil {
		return Series{}, fmt.Errorf("strategy %s on %s: %w", spec.Name, pair, err)
	}
	n := view.Len()
	if !view.HasSignals() {
		return Series{}, fmt.Errorf("strategy %s on %s: signal columns missing or not %d long", spec.Name, pair, n)
	}
	if view.EnterTag != nil && len(view.EnterTag) != n {
		return Series{}, fmt.Errorf("strategy %s on %s: enter_tag has %d values for %d candles", spec.Name, pair, len(view.EnterTag), n)
	}
	return Series{Frame: view, From: from - lo, To: to - lo, digest: digest}, nil
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
