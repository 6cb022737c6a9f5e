package trade

import (
	"strings"
	"testing"
)

func TestLiquidationPrice(t *testing.T) {
	t.Parallel()
	l := Liquidation{Brackets: BinanceBrackets()}
	cases := []struct {
		name                 string
		pair                 string
		short                bool
		rate, amount, margin float64
		ratio, maintAmount   float64 // the bracket expected
	}{
		{"first bracket", "BTC/USDT:USDT", false, 50_000, 0.2, 1_000, 0.004, 0},
		{"first bracket, pair without settle currency", "BTC/USDT", false, 50_000, 0.2, 1_000, 0.004, 0},
		{"second bracket", "BTC/USDT:USDT", false, 50_000, 2, 10_000, 0.005, 50},
		{"short, third bracket", "ETH/USDT:USDT", true, 2_000, 500, 50_000, 0.0065, 950},
		{"unknown pair", "ETH/BTC", true, 0.05, 100, 0.5, FallbackMaintMarginRatio, 0},
	}
	for _, tc := range cases {
		liq := l.Price(tc.pair, tc.short, tc.rate, tc.amount, tc.margin)
		// At the liquidation price the position's equity is its
		// maintenance margin.
		side := 1.0
		if tc.short {
			side = -1
		}
		equity := tc.margin + side*tc.amount*(liq-tc.rate)
		maint := tc.amount*liq*tc.ratio - tc.maintAmount
		if !near(equity, maint) {
			t.Errorf("%s: liquidation at %v leaves equity %v, maintenance margin %v", tc.name, liq, equity, maint)
		}
	}
	// Binance's own numbers: 10x long on 0.2 BTC at 50,000.
	if got := l.Price("BTC/USDT:USDT", false, 50_000, 0.2, 1_000); !near(got, 9_000/(0.2*0.996)) {
		t.Errorf("BTC long: %v, want %v", got, 9_000/(0.2*0.996))
	}
	// The buffer moves the price towards the entry by its share of the
	// distance.
	l.Buffer = 0.05
	plain := Liquidation{Brackets: l.Brackets}
	for _, short := range []bool{false, true} {
		p := plain.Price("BTC/USDT", short, 50_000, 0.2, 1_000)
		want := p + 0.05*(50_000-p)
		if got := l.Price("BTC/USDT", short, 50_000, 0.2, 1_000); !near(got, want) {
			t.Errorf("short %v: buffered %v, want %v", short, got, want)
		}
	}
	// At 1x a long cannot be liquidated by the exchange, but the buffer
	// still places a price, as in Freqtrade.
	if got := l.Price("ETH/BTC", false, 100, 1, 100); !near(got, 5) {
		t.Errorf("1x long: %v, want 5", got)
	}
}

func TestLiquidationValidate(t *testing.T) {
	t.Parallel()
	if err := (Liquidation{Brackets: BinanceBrackets(), Buffer: 0.05}).Validate(); err != nil {
		t.Fatalf("bundled brackets: %v", err)
	}
	for _, tc := range []struct {
		l    Liquidation
		want string
	}{
		{Liquidation{Buffer: 1}, "liquidation buffer 1 must be in [0, 1)"},
		{Liquidation{Brackets: map[string][]Bracket{"A/B": {}}}, "A/B: no brackets"},
		{Liquidation{Brackets: map[string][]Bracket{"A/B": {{NotionalFloor: 5, MaintMarginRatio: 0.01}}}}, "first bracket's notional floor is 5"},
		{Liquidation{Brackets: map[string][]Bracket{"A/B": {{MaintMarginRatio: 0.01}, {MaintMarginRatio: 0.02}}}}, "bracket 2: notional floor 0 must be above"},
		{Liquidation{Brackets: map[string][]Bracket{"A/B": {{MaintMarginRatio: 0}}}}, "maintenance margin ratio 0 must be in (0, 1)"},
		{Liquidation{Brackets: map[string][]Bracket{"A/B": {{MaintMarginRatio: 0.01, MaintAmount: -1}}}}, "maintenance amount -1 must be 0 or more"},
	} {
		if err := tc.l.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.l, err, tc.want)
		}
	}
}
