package runner_test

import (
	"testing"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// realCandles are real Binance 5m candles (Freqtrade's test data, from
// 2018-01-10 04:55 to 2018-01-30 04:50 UTC, 5,760 candles each, no gap):
// the three pairs of that data without a missing candle whose candles
// the repository holds (ETH/BTC and LTC/BTC are examples/data's, XLM/BTC
// is testdata's).
var realCandles = []struct{ pair, file string }{
	{"ETH/BTC", "../../examples/data/binance/ETH_BTC-5m.feather"},
	{"LTC/BTC", "../../examples/data/binance/LTC_BTC-5m.feather"},
	{"XLM/BTC", "testdata/XLM_BTC-5m.feather"},
}

const (
	realFrom = int64(1515628800000) // 2018-01-11: after the strategy's 200 startup candles
	realDays = 19                   // to 2018-01-30, the data's last day
)

// newRealWorld is the backtest of strat on the real candles, realDays
// from realFrom, with a wallet of 100 BTC (1 staked per trade: the venue
// reports quote amounts to 8 decimals, and a trade's rate, quote over
// quantity, is within half a tick of its fill price from 2 units on).
func newRealWorld(t testing.TB, strat sdk.Strategy) *world {
	t.Helper()
	var frames []*sdk.Frame
	for _, c := range realCandles {
		f, err := datafile.Load(c.file, c.pair, tf5m)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	return newWorldFrom(t, strat, frames, realFrom, realDays, "100", "")
}

// The parity proof on real candles: a paper deployment of sma_cross (the
// built-in, the Python example in its own process, the built-in compiled
// to wasm) on the simulator replaying 19 days of three pairs' real Binance
// candles makes the backtest's trades, with the realistic fill model: the
// same pair, open candle and price to the tick, and an exit the same
// (reason, candle, price within the tick) or differing only as compare
// names it. Real candles do not open at the previous close, gap through
// stops and trade on an 8-decimal tick; the synthetic month
// (TestPaperDeploymentMakesTheBacktestsTrades) stays the month proof.
func TestRealCandlesDeploymentMakesTheBacktestsTrades(t *testing.T) {
	for _, name := range []string{"builtin", "python", "wasm"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var strat sdk.Strategy
			if name == "builtin" {
				s, err := strategy.Lookup("sma_cross")
				if err != nil {
					t.Fatal(err)
				}
				strat = s
			} else {
				strat = openRuntime(t, name, nil)
			}
			w := newRealWorld(t, strat)
			p := newPaper(t, w, nil)
			p.run(t, p.runner(t, w), w.from, w.from+realDays*86_400_000-dur)
			got := p.trades(t)
			exact, named, why := compare(t, w, got)
			reasons := map[trade.ExitReason]int{}
			for _, g := range got {
				reasons[g.Record.ExitReason]++
			}
			t.Logf("%s on %v to %v: %d trades (%v): %d the same, %d differing as named: %v", name, time.UnixMilli(w.from).UTC().Format(time.DateOnly),
				time.UnixMilli(w.from+realDays*86_400_000).UTC().Format(time.DateOnly), len(got), reasons, exact, named, why)
			if len(got) < 100 || float64(exact) < 0.95*float64(len(got)) {
				t.Fatalf("too few trades compared exactly: %d of %d", exact, len(got))
			}
		})
	}
}
