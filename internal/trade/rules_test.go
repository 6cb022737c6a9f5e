package trade

import (
	"math"
	"testing"

	"github.com/tradai/tradai/sdk"
)

const min5 = 5 * 60_000

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func rules(risk sdk.Risk) Rules {
	if risk.Stoploss == 0 {
		risk.Stoploss = -0.10
	}
	return Rules{Risk: risk, UseExitSignal: true, Leverage: 1, TimeframeMinutes: 5}
}

// check asks the policy of r about trade tr on candle c and fills the
// intents with fill, as the backtest engine does.
func check(r *Rules, tr *Trade, c Candle, fill FillModel) (ExitReason, float64, bool) {
	p := Policy{Rules: *r}
	var xs Exits
	p.Exit(tr, c, &xs)
	x, rate, ok := FillExit(fill, r, tr, c, &xs)
	return x.Reason, rate, ok
}

func bar(n int, o, h, l, c float64) Candle {
	return Candle{Time: int64(n) * min5, Open: o, High: h, Low: l, Close: c}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	type step struct {
		c          Candle
		wantReason ExitReason // "" = stays open
		wantRate   float64
	}
	roi := func(steps ...float64) sdk.ROITable {
		var out sdk.ROITable
		for i := 0; i < len(steps); i += 2 {
			out = append(out, sdk.ROIStep{Minutes: int64(steps[i]), Ratio: steps[i+1]})
		}
		return out
	}
	cases := []struct {
		name  string
		r     Rules
		fill  FillModel // nil: Realistic
		short bool
		steps []step
	}{
		{
			name: "stoploss fills at the stop price",
			r:    rules(sdk.Risk{Stoploss: -0.10}),
			steps: []step{
				{c: bar(0, 100, 101, 95, 96)},
				{c: bar(1, 96, 97, 89, 92), wantReason: ExitStopLoss, wantRate: 90},
			},
		},
		{
			name: "stoploss fills at the open when the candle gaps through it",
			r:    rules(sdk.Risk{Stoploss: -0.10}),
			steps: []step{
				{c: bar(0, 100, 101, 95, 96)},
				{c: bar(1, 85, 93, 84, 92), wantReason: ExitStopLoss, wantRate: 85},
			},
		},
		{
			name: "roi fills at the exact roi price",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.05)}),
			steps: []step{
				{c: bar(0, 100, 104, 99, 103)},
				{c: bar(1, 103, 106, 102, 104), wantReason: ExitROI, wantRate: 105},
			},
		},
		{
			name: "roi needs the profit strictly above the ratio",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.25)}),
			steps: []step{
				{c: bar(0, 100, 125, 99, 103)}, // 125/100 - 1 is exactly 0.25
			},
		},
		{
			name: "roi step by trade age; new step in force at the open exits at the open",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.10, 30, 0.02)}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(5, 103, 104, 102, 103)}, // age 25: needs 10%
				{c: bar(6, 103, 104, 102, 103), wantReason: ExitROI, wantRate: 103},
			},
		},
		{
			name: "roi step reached within the candle after its boundary fills at the roi price",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.10, 30, 0.02)}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(7, 101, 103, 100, 101), wantReason: ExitROI, wantRate: 102},
			},
		},
		{
			name: "roi -1 forces an exit at the open once the age is reached",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.5, 60, -1)}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(11, 92, 93, 91, 92)},
				{c: bar(12, 93, 94, 92, 93), wantReason: ExitROI, wantRate: 93},
			},
		},
		{
			name: "exit signal at the open",
			r:    rules(sdk.Risk{}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: Candle{Time: min5, Open: 99, High: 100, Low: 98, Close: 99, Exit: true}, wantReason: ExitSignal, wantRate: 99},
			},
		},
		{
			name: "exit signal ignored while the entry signal is also set",
			r:    rules(sdk.Risk{}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: Candle{Time: min5, Open: 99, High: 100, Low: 98, Close: 99, Exit: true, Enter: true}},
			},
		},
		{
			name: "exit signal comes before stoploss in the same candle",
			r:    rules(sdk.Risk{Stoploss: -0.05}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: Candle{Time: min5, Open: 98, High: 99, Low: 90, Close: 91, Exit: true}, wantReason: ExitSignal, wantRate: 98},
			},
		},
		{
			name: "stoploss comes before roi in the same candle",
			r:    rules(sdk.Risk{Stoploss: -0.05, MinimalROI: roi(0, 0.05)}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 100, 110, 90, 100), wantReason: ExitStopLoss, wantRate: 95},
			},
		},
		{
			name: "exit_profit_only ignores a losing exit signal",
			r:    func() Rules { r := rules(sdk.Risk{}); r.ExitProfitOnly = true; return r }(),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: Candle{Time: min5, Open: 99, High: 100, Low: 98, Close: 99, Exit: true}},
				{c: Candle{Time: 2 * min5, Open: 101, High: 102, Low: 100, Close: 101, Exit: true}, wantReason: ExitSignal, wantRate: 101},
			},
		},
		{
			name: "ignore_roi_if_entry_signal",
			r: func() Rules {
				r := rules(sdk.Risk{MinimalROI: roi(0, 0.01)})
				r.IgnoreROIIfEntrySignal = true
				return r
			}(),
			steps: []step{
				{c: bar(0, 100, 100.5, 99, 100)},
				{c: Candle{Time: min5, Open: 100, High: 105, Low: 99, Close: 104, Enter: true}},
				// roi price 101 lies below the candle: the fill is its low
				{c: bar(2, 104, 105, 103, 104), wantReason: ExitROI, wantRate: 103},
			},
		},
		{
			name: "trailing stop moves up with the high, then fires",
			r:    rules(sdk.Risk{Stoploss: -0.10, TrailingStop: true}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 110, 120, 110, 118)}, // stop -> 108
				{c: bar(2, 112, 113, 105, 106), wantReason: ExitTrailingStop, wantRate: 108},
			},
		},
		{
			name: "trailing positive only once the offset is reached",
			r: rules(sdk.Risk{Stoploss: -0.10, TrailingStop: true, TrailingStopPositive: 0.02,
				TrailingStopPositiveOffset: 0.05, TrailingOnlyOffsetIsReached: true}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 101, 104, 100, 103)}, // 4% < offset: stop stays at 90
				{c: bar(2, 103, 104, 91, 95)},   // not hit
				{c: bar(3, 104, 110, 108, 109)}, // 10% > offset: stop -> 107.8
				{c: bar(4, 109, 109, 107, 107.5), wantReason: ExitTrailingStop, wantRate: 107.8},
			},
		},
		{
			name: "trailing stop fired in the entry candle assumes the worst path",
			r: rules(sdk.Risk{Stoploss: -0.10, TrailingStop: true, TrailingStopPositive: 0.01,
				TrailingStopPositiveOffset: 0.03, TrailingOnlyOffsetIsReached: true}),
			steps: []step{
				// high 110 arms the stop at 108.9; low 100 hits it. Worst case:
				// open * (1 + 0.03 - 0.01) = 102.
				{c: bar(0, 100, 110, 100, 101), wantReason: ExitTrailingStop, wantRate: 102},
			},
		},
		{
			name:  "short stoploss above the entry",
			r:     rules(sdk.Risk{Stoploss: -0.10}),
			short: true,
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 105, 111, 104, 110), wantReason: ExitStopLoss, wantRate: 110},
			},
		},
		{
			name:  "short roi below the entry",
			r:     rules(sdk.Risk{MinimalROI: roi(0, 0.05)}),
			short: true,
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 97, 98, 94, 95), wantReason: ExitROI, wantRate: 95},
			},
		},
		{
			name: "leveraged stop is a stake ratio",
			r:    func() Rules { r := rules(sdk.Risk{Stoploss: -0.10}); r.Leverage, r.Futures = 5, true; return r }(),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 99, 99, 97, 98), wantReason: ExitStopLoss, wantRate: 98},
			},
		},
		{
			name: "liquidation comes before a stop beyond it",
			r:    func() Rules { r := rules(sdk.Risk{Stoploss: -0.99}); r.Leverage, r.Futures = 10, true; return r }(),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 99, 99, 90, 91), wantReason: ExitLiquidation, wantRate: 100 * 0.9 / 0.995},
			},
		},
		{
			name: "trailing stop fired in the entry candle at leverage: the offset is a profit ratio",
			r: func() Rules {
				r := rules(sdk.Risk{Stoploss: -0.10, TrailingStop: true, TrailingStopPositive: 0.02,
					TrailingStopPositiveOffset: 0.06, TrailingOnlyOffsetIsReached: true})
				r.Leverage, r.Futures = 2, true
				return r
			}(),
			short: true,
			steps: []step{
				// low 96.5 arms the stop at 97.465 (7% profit at 2x); high
				// 100.5 hits it. Worst case: the price falls 3% (6% profit),
				// then rises 1%: 100 * (1 - 0.03 + 0.01) = 98.
				{c: bar(0, 100, 100.5, 96.5, 97), wantReason: ExitTrailingStop, wantRate: 98},
			},
		},
		{
			name: "freqtrade: trailing stop fired in the entry candle at leverage moves by the whole offset",
			r: func() Rules {
				r := rules(sdk.Risk{Stoploss: -0.10, TrailingStop: true, TrailingStopPositive: 0.02,
					TrailingStopPositiveOffset: 0.06, TrailingOnlyOffsetIsReached: true})
				r.Leverage, r.Futures = 2, true
				return r
			}(),
			fill:  Freqtrade{},
			short: true,
			steps: []step{
				// Freqtrade's 100 * (1 - 0.06 + 0.01) = 95, below the low.
				{c: bar(0, 100, 100.5, 96.5, 97), wantReason: ExitTrailingStop, wantRate: 95},
			},
		},
		{
			name: "freqtrade: the stop price is kept when the candle opens below it and its high is above",
			r:    rules(sdk.Risk{Stoploss: -0.10}),
			fill: Freqtrade{},
			steps: []step{
				{c: bar(0, 100, 101, 95, 96)},
				{c: bar(1, 85, 93, 84, 92), wantReason: ExitStopLoss, wantRate: 90},
			},
		},
		{
			name: "freqtrade: the open when the whole candle is below the stop",
			r:    rules(sdk.Risk{Stoploss: -0.10}),
			fill: Freqtrade{},
			steps: []step{
				{c: bar(0, 100, 101, 95, 96)},
				{c: bar(1, 85, 88, 84, 86), wantReason: ExitStopLoss, wantRate: 85},
			},
		},
		{
			name: "roi -1 at an age that is not a whole number of candles exits at the open",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.5, 7, -1)}),
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 92, 93, 91, 92)},
				{c: bar(2, 93, 94, 92, 93), wantReason: ExitROI, wantRate: 93},
			},
		},
		{
			name: "freqtrade: roi -1 at an age that is not a whole number of candles exits at the low",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.5, 7, -1)}),
			fill: Freqtrade{},
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 92, 93, 91, 92)},
				{c: bar(2, 93, 94, 92, 93), wantReason: ExitROI, wantRate: 92},
			},
		},
		{
			name:  "freqtrade: short roi -1 at an age that is not a whole number of candles exits at the high",
			r:     rules(sdk.Risk{MinimalROI: roi(0, 0.5, 7, -1)}),
			fill:  Freqtrade{},
			short: true,
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 102, 103, 101, 102)},
				{c: bar(2, 103, 104, 102, 103), wantReason: ExitROI, wantRate: 104},
			},
		},
		{
			name: "freqtrade: roi -1 at a whole number of candles exits at the open",
			r:    rules(sdk.Risk{MinimalROI: roi(0, 0.5, 60, -1)}),
			fill: Freqtrade{},
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(11, 92, 93, 91, 92)},
				{c: bar(12, 93, 94, 92, 93), wantReason: ExitROI, wantRate: 93},
			},
		},
		{
			name: "freqtrade: a stop beyond the liquidation price wins when the candle reaches both",
			r:    func() Rules { r := rules(sdk.Risk{Stoploss: -0.99}); r.Leverage, r.Futures = 10, true; return r }(),
			fill: Freqtrade{},
			steps: []step{
				{c: bar(0, 100, 101, 99, 100)},
				{c: bar(1, 99, 99, 90, 91), wantReason: ExitStopLoss, wantRate: 90.1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.r
			var fill FillModel = Realistic{}
			if tc.fill != nil {
				fill = tc.fill
			}
			tr := r.Open("ETH/BTC", tc.short, 0, 100, 10, "")
			for i, s := range tc.steps {
				reason, rate, ok := check(&r, &tr, s.c, fill)
				if s.wantReason == "" {
					if ok {
						t.Fatalf("step %d: exit %s at %v, want none", i, reason, rate)
					}
					continue
				}
				if !ok || reason != s.wantReason || !near(rate, s.wantRate) {
					t.Fatalf("step %d: got (%q, %v, %v), want (%q, %v)", i, reason, rate, ok, s.wantReason, s.wantRate)
				}
				if i != len(tc.steps)-1 {
					t.Fatalf("step %d exits but more steps follow", i)
				}
			}
		})
	}
}

func TestProfitFormulas(t *testing.T) {
	t.Parallel()
	r := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Fee: 0.001, Leverage: 1}
	tr := r.Open("A/B", false, 0, 100, 100, "")
	// amount 1; open value 100.1; close value 110*0.999 = 109.89
	r.Close(&tr, 60_000, 110, ExitSignal)
	if !near(tr.ProfitAbs, 109.89-100.1) || !near(tr.ProfitRatio, 109.89/100.1-1) {
		t.Fatalf("long: abs %v ratio %v", tr.ProfitAbs, tr.ProfitRatio)
	}
	s := r.Open("A/B", true, 0, 100, 100, "")
	// open value 100*0.999 = 99.9; close value 90*1.001 = 90.09
	r.Close(&s, 60_000, 90, ExitSignal)
	if !near(s.ProfitAbs, 99.9-90.09) || !near(s.ProfitRatio, 1-90.09/99.9) {
		t.Fatalf("short: abs %v ratio %v", s.ProfitAbs, s.ProfitRatio)
	}
	lr := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 3, Futures: true}
	l := lr.Open("A/B", false, 0, 100, 100, "")
	lr.Close(&l, 60_000, 110, ExitSignal)
	if !near(l.Amount, 3) || !near(l.ProfitAbs, 30) || !near(l.ProfitRatio, 0.3) {
		t.Fatalf("leveraged: amount %v abs %v ratio %v", l.Amount, l.ProfitAbs, l.ProfitRatio)
	}
}

func TestROIPriceIncludesFees(t *testing.T) {
	t.Parallel()
	r := rules(sdk.Risk{MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}}})
	r.Fee = 0.001
	tr := r.Open("A/B", false, 0, 100, 10, "")
	reason, rate, ok := check(&r, &tr, bar(1, 101, 110, 100, 105), Realistic{})
	want := (100*0.05 + 100*1.001) / 0.999
	if !ok || reason != ExitROI || !near(rate, want) {
		t.Fatalf("got %v %v %v, want roi at %v", reason, rate, ok, want)
	}
}

func TestSlippage(t *testing.T) {
	t.Parallel()
	r := rules(sdk.Risk{MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}}})
	r.Slippage = 0.01
	tr := r.Open("A/B", false, 0, 100, 10, "")
	if !near(tr.OpenRate, 101) {
		t.Fatalf("entry with slippage at %v, want 101", tr.OpenRate)
	}
	sig := tr
	r.Close(&sig, min5, 110, ExitSignal)
	if !near(sig.CloseRate, 108.9) {
		t.Fatalf("signal exit with slippage at %v, want 108.9", sig.CloseRate)
	}
	roi := tr
	r.Close(&roi, min5, 110, ExitROI)
	if roi.CloseRate != 110 {
		t.Fatalf("roi exit got slippage: %v", roi.CloseRate)
	}
}
