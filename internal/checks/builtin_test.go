package checks

import (
	"context"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// exampleFrames loads the bundled example candles (5m, 5,760 per pair).
func exampleFrames(t testing.TB) []*sdk.Frame {
	t.Helper()
	store, err := market.Open("../../examples/data", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*sdk.Frame
	for _, pair := range []string{"ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC"} {
		f, err := store.Load(context.Background(), market.Key{Exchange: "binance", Pair: pair, Timeframe: "5m", Type: market.Spot}, market.Range{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// The built-in strategies pass every check on the bundled data (macd_trend
// is a 1h strategy; its logic does not depend on the timeframe, so the 5m
// candles serve). The startup check once found rsi_bollinger (startup 100)
// and macd_trend (startup 400, EMA(200) trend filter) too short; their
// declared counts were raised to 150 and 800 and must stay sufficient.
func TestBuiltinsPass(t *testing.T) {
	frames := exampleFrames(t)
	for _, name := range []string{"sma_cross", "rsi_bollinger", "macd_trend"} {
		s, err := strategy.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		rep, err := Run(context.Background(), s, frames, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d pairs in %v", name, len(frames), time.Since(began))
		for _, r := range rep.Checks {
			if r.Status != Pass {
				t.Errorf("%s %s %s: %s: %s %v", name, r.Name, r.Pair, r.Status, r.Summary, r.Examples)
			}
		}
	}
}
