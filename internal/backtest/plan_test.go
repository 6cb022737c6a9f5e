package backtest

import (
	"testing"
	"time"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

func TestPlanNeeds(t *testing.T) {
	day := func(s string) int64 {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	spec := sdk.Spec{Timeframe: "1h", StartupCandles: 24}
	for _, tc := range []struct {
		name      string
		cfg       config.Config
		wantKey   market.Key
		wantRange market.Range
	}{
		{"timerange plus startup", config.Config{Timeframe: "5m", Timerange: "20240110-20240112"},
			market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "5m", Type: market.Spot},
			market.Range{Start: day("2024-01-10") - 24*5*60_000, End: day("2024-01-12")}},
		{"strategy timeframe, open end", config.Config{Timerange: "20240110-"},
			market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "1h", Type: market.Spot},
			market.Range{Start: day("2024-01-09")}},
		{"no timerange", config.Config{},
			market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "1h", Type: market.Spot}, market.Range{}},
		{"open start", config.Config{Timerange: "-20240112"},
			market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "1h", Type: market.Spot}, market.Range{End: day("2024-01-12")}},
		{"months", config.Config{Timeframe: "1M", Timerange: "20240315-"},
			market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "1M", Type: market.Spot},
			market.Range{Start: day("2022-04-01")}},
		{"futures pair", config.Config{Timerange: "20240110-20240111", TradingMode: "futures", Exchange: config.Exchange{PairWhitelist: []string{"ETH/USDT:USDT"}}},
			market.Key{Exchange: "binance", Pair: "ETH/USDT:USDT", Timeframe: "1h", Type: market.Futures},
			market.Range{Start: day("2024-01-09"), End: day("2024-01-11")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Exchange.Name = "binance"
			if len(cfg.Exchange.PairWhitelist) == 0 {
				cfg.Exchange.PairWhitelist = []string{"ETH/BTC"}
			}
			plan, err := NewPlan(&cfg, spec)
			if err != nil || len(plan.Needs) != 1 {
				t.Fatalf("NewPlan = %+v, %v", plan, err)
			}
			n := plan.Needs[0]
			if n.Key != tc.wantKey || n.Range != tc.wantRange || n.Startup != 24 || n.Timerange.End != n.Range.End {
				t.Fatalf("need %+v, want key %+v range %+v", n, tc.wantKey, tc.wantRange)
			}
		})
	}
	if _, err := NewPlan(&config.Config{Exchange: config.Exchange{Name: "binance"}}, spec); err == nil {
		t.Fatal("NewPlan without pairs: no error")
	}
}
