package trade

import (
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/sdk"
)

func TestPolicyEnter(t *testing.T) {
	t.Parallel()
	acct := Account{StartingBalance: 1000, StakeAmount: 100, TradableBalanceRatio: 1, MaxOpenTrades: 1}
	cases := []struct {
		name       string
		allowShort bool
		sig        Signals
		want       bool
		short      bool
	}{
		{"long", false, Signals{EnterLong: true, Tag: "x"}, true, false},
		{"long and its exit signal", false, Signals{EnterLong: true, ExitLong: true}, false, false},
		{"short not allowed", false, Signals{EnterShort: true}, false, false},
		{"short", true, Signals{EnterShort: true}, true, true},
		{"both sides", true, Signals{EnterLong: true, EnterShort: true}, false, false},
		{"no signal", true, Signals{ExitLong: true, ExitShort: true}, false, false},
	}
	for _, tc := range cases {
		pf, ids := newPortfolio(t, acct, "A/X")
		p := Policy{Rules: rules(sdk.Risk{}), AllowShort: tc.allowShort}
		x, ok := p.Enter(pf, ids[0], tc.sig, 42)
		if ok != tc.want {
			t.Errorf("%s: enter %v, want %v", tc.name, ok, tc.want)
			continue
		}
		if ok && (x != Enter{Pair: "A/X", ID: ids[0], Short: tc.short, Stake: 100, Tag: tc.sig.Tag, Order: MarketOrder, Price: 42}) {
			t.Errorf("%s: intent %+v", tc.name, x)
		}
	}
}

// TestPolicyEnterProperties drives a policy and a portfolio through random
// signals on four pairs: an entry intent never stakes more than the
// portfolio has available, never comes for a pair holding an open trade
// or without a free slot, and comes exactly when the signals say one side
// and the portfolio gives a stake.
func TestPolicyEnterProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a := Account{
			StartingBalance:      rapid.Float64Range(1, 1e6).Draw(t, "wallet"),
			MaxOpenTrades:        rapid.IntRange(1, 5).Draw(t, "max_open_trades"),
			TradableBalanceRatio: rapid.Float64Range(0.01, 1).Draw(t, "tradable_balance_ratio"),
		}
		if rapid.Bool().Draw(t, "fixed stake") {
			a.StakeAmount = rapid.Float64Range(0.01, 0.6).Draw(t, "stake share") * a.StartingBalance
		}
		pol := Policy{Rules: Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 1}, AllowShort: rapid.Bool().Draw(t, "allow short")}
		pairs := []string{"A/X", "B/X", "C/X", "D/X"}
		pf, err := NewPortfolio(a)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]PairID, len(pairs))
		for k, pair := range pairs {
			if ids[k], err = pf.Add(pair); err != nil {
				t.Fatal(err)
			}
		}
		for at := range int64(rapid.IntRange(1, 60).Draw(t, "steps")) {
			k := rapid.IntRange(0, len(pairs)-1).Draw(t, "pair")
			id := ids[k]
			if tr := pf.Trade(id); tr != nil && rapid.Bool().Draw(t, "exit") {
				pol.Rules.Close(tr, at, tr.OpenRate*rapid.Float64Range(0.5, 1.5).Draw(t, "move"), ExitSignal)
				if _, err := pf.Close(id); err != nil {
					t.Fatal(err)
				}
				continue
			}
			sig := Signals{
				EnterLong: rapid.Bool().Draw(t, "enter long"), ExitLong: rapid.Bool().Draw(t, "exit long"),
				EnterShort: rapid.Bool().Draw(t, "enter short"), ExitShort: rapid.Bool().Draw(t, "exit short"),
			}
			held, free, avail := pf.Trade(id) != nil, a.MaxOpenTrades > pf.OpenTrades(), pf.Available()
			stake, stakeOK := pf.Stake(id)
			x, ok := pol.Enter(pf, id, sig, 100)
			long := sig.EnterLong && !sig.ExitLong
			short := pol.AllowShort && sig.EnterShort && !sig.ExitShort
			switch {
			case ok && held:
				t.Fatalf("entry intent on %s, which holds an open trade", pairs[k])
			case ok && !free:
				t.Fatalf("entry intent on %s with all %d slots taken", pairs[k], a.MaxOpenTrades)
			case ok && !(x.Stake > 0 && x.Stake <= avail):
				t.Fatalf("entry intent stakes %v with %v available", x.Stake, avail)
			case ok != (long != short && stakeOK):
				t.Fatalf("signals %+v, stake %v %v: intent %v", sig, stake, stakeOK, ok)
			case ok && (x.Short != short || x.Stake != stake || x.Pair != pairs[k] || x.ID != id):
				t.Fatalf("intent %+v for %s, short %v, stake %v", x, pairs[k], short, stake)
			}
			if ok {
				if _, err := pf.Open(id, pol.Rules.Open(x.Pair, x.Short, at, x.Price, x.Stake, x.Tag)); err != nil {
					t.Fatalf("the portfolio refused the policy's entry %+v: %v", x, err)
				}
			}
		}
	})
}

// TestExitIntentsMirror: the exit intents of a short on candles mirrored
// around the entry price are the long's, mirrored: same reasons and
// orders in the same order, prices mirrored.
func TestExitIntentsMirror(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := drawRules(t, true)
		p := Policy{Rules: r}
		cs := drawCandles(t, 8)
		const entry = 1024.0
		long := p.Rules.Open("A/B", false, 0, entry, 1024, "")
		short := p.Rules.Open("A/B", true, 0, entry, 1024, "")
		for i, c := range cs {
			m := c
			m.Open, m.High, m.Low, m.Close = 2*entry-c.Open, 2*entry-c.Low, 2*entry-c.High, 2*entry-c.Close
			var lx, sx Exits
			p.Exit(&long, c, &lx)
			p.Exit(&short, m, &sx)
			if lx.Len() != sx.Len() {
				t.Fatalf("candle %d: long intents %+v, short %+v", i, lx, sx)
			}
			for k := range lx.Len() {
				l, s := lx.At(k), sx.At(k)
				if l.Reason != s.Reason || l.Order != s.Order || math.Abs(l.Price-(2*entry-s.Price)) > 1e-9 {
					t.Fatalf("candle %d intent %d: long %+v, mirrored short %+v", i, k, l, s)
				}
			}
			if lx.Len() > 0 {
				return
			}
		}
	})
}

// TestExitIntentsOnAPrice: a runner that asks with one price gets the
// stop as a stop order once the price reaches it, the ROI as a limit order
// and the exit signal as a market order, first.
func TestExitIntentsOnAPrice(t *testing.T) {
	t.Parallel()
	p := Policy{Rules: rules(sdk.Risk{Stoploss: -0.10, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}}})}
	price := func(at int64, v float64) Candle { return Candle{Time: at, Open: v, High: v, Low: v, Close: v} }
	tr := p.Rules.Open("A/B", false, 0, 100, 10, "")
	var xs Exits
	if p.Exit(&tr, price(min5, 95), &xs); xs.Len() != 0 {
		t.Fatalf("exit intents at 95: %+v", xs)
	}
	p.Exit(&tr, price(min5, 89), &xs)
	if x, _ := xs.First(); x != (Exit{Reason: ExitStopLoss, Order: StopOrder, Price: 90}) {
		t.Fatalf("at 89: %+v", x)
	}
	p.Exit(&tr, price(min5, 106), &xs)
	if x, _ := xs.First(); x.Reason != ExitROI || x.Order != LimitOrder || !near(x.Price, 105) {
		t.Fatalf("at 106: %+v", x)
	}
	c := price(min5, 89)
	c.Exit = true
	if p.Exit(&tr, c, &xs); xs.Len() != 1 || xs.At(0) != (Exit{Reason: ExitSignal, Order: MarketOrder, Price: 89}) {
		t.Fatalf("exit signal at 89: %+v", xs)
	}
}

// TestExitWatchQuietMeansNoIntent: whenever ExitWatch.Quiet says a candle
// triggers nothing, Policy.Exit makes no intent on it and leaves the trade
// as Quiet left it; whenever Quiet leaves the answer to Exit, it changed
// nothing. Candles are drawn around the ROI price to the ulp.
func TestExitWatchQuietMeansNoIntent(t *testing.T) {
	t.Parallel()
	var quiet, near int
	rapid.Check(t, func(t *rapid.T) {
		r := drawRules(t, false)
		p := Policy{Rules: r}
		short := rapid.Bool().Draw(t, "short")
		cs := drawCandles(t, 12)
		tr := r.Open("A/B", short, 0, cs[0].Open, 1024, "")
		var w ExitWatch
		for i, c := range cs {
			if step, ok := r.Risk.MinimalROI.At((c.Time - tr.OpenTime) / 60_000); ok && rapid.Bool().Draw(t, "at the roi price") {
				price := roiPrice(&tr, step.Ratio)
				for range rapid.IntRange(0, 3).Draw(t, "ulps up") {
					price = math.Nextafter(price, math.Inf(1))
				}
				for range rapid.IntRange(0, 3).Draw(t, "ulps down") {
					price = math.Nextafter(price, math.Inf(-1))
				}
				if short {
					c.Low = price
				} else {
					c.High = price
				}
				near++
			}
			before := tr
			watched := tr
			q := w.Quiet(&p, &watched, c)
			var xs Exits
			p.Exit(&tr, c, &xs)
			switch {
			case q && xs.Len() > 0:
				t.Fatalf("candle %d %+v: quiet, but Exit made %d intents, first %+v", i, c, xs.Len(), xs.At(0))
			case q && watched != tr:
				t.Fatalf("candle %d: quiet left the trade %+v, Exit %+v", i, watched, tr)
			case !q && watched != before:
				t.Fatalf("candle %d: Quiet changed the trade it left to Exit", i)
			}
			if q {
				quiet++
			}
			if xs.Len() > 0 {
				return
			}
		}
	})
	if quiet == 0 || near == 0 {
		t.Fatalf("%d quiet candles, %d at the ROI price: the test checks nothing", quiet, near)
	}
}

// TestExitWatchQuietRunIsQuiet: QuietRun over columns answers as Quiet
// asked candle by candle: as many leading quiet candles, the trade and the
// watch left the same.
func TestExitWatchQuietRunIsQuiet(t *testing.T) {
	t.Parallel()
	var runs int
	rapid.Check(t, func(t *rapid.T) {
		// Many trades a case: the bugs it looks for need a quiet candle
		// that a step change at its exact age makes trigger.
		for range 30 {
			r := drawRules(t, false)
			p := Policy{Rules: r}
			short := rapid.Bool().Draw(t, "short")
			cs := drawCandles(t, rapid.IntRange(1, 40).Draw(t, "candles"))
			tr := r.Open("A/B", short, 0, cs[0].Open, 1024, "")
			n := len(cs)
			times, highs, lows := make([]int64, n), make([]float64, n), make([]float64, n)
			enter, exit := make([]bool, n), make([]bool, n)
			for i, c := range cs {
				// Small moves, so that runs of quiet candles are common.
				if rapid.IntRange(0, 3).Draw(t, "small") > 0 {
					c.High = tr.OpenRate * (1 + float64(rapid.IntRange(0, 8).Draw(t, "up/256"))/256)
					c.Low = tr.OpenRate * (1 - float64(rapid.IntRange(0, 8).Draw(t, "down/256"))/256)
				}
				c.Time = int64(i) * 60_000 * int64(rapid.IntRange(1, 8).Draw(t, "spread"))
				if i > 0 {
					c.Time = max(c.Time, times[i-1])
				}
				// At the price of the ROI step in force to the ulp, or of the
				// one before: the steps change on the way.
				if rapid.Bool().Draw(t, "at a roi price") {
					age := (c.Time - tr.OpenTime) / 60_000
					if rapid.Bool().Draw(t, "the step before") {
						age = max(0, age-int64(rapid.IntRange(1, 10).Draw(t, "minutes before")))
					}
					if step, ok := r.Risk.MinimalROI.At(age); ok {
						price := roiPrice(&tr, step.Ratio)
						for range rapid.IntRange(0, 2).Draw(t, "ulps up") {
							price = math.Nextafter(price, math.Inf(1))
						}
						for range rapid.IntRange(0, 2).Draw(t, "ulps down") {
							price = math.Nextafter(price, math.Inf(-1))
						}
						if short {
							c.Low = price
						} else {
							c.High = price
						}
					}
				}
				cs[i] = c
				times[i], highs[i], lows[i], enter[i], exit[i] = c.Time, c.High, c.Low, c.Enter, c.Exit
			}
			// A first look at the trade, as a run does before riding it.
			var w ExitWatch
			w.Quiet(&p, &tr, cs[0])
			one, run := tr, tr
			wOne, wRun := w, w
			want := 0
			for _, c := range cs {
				if !wOne.Quiet(&p, &one, c) {
					break
				}
				want++
			}
			got := wRun.QuietRun(&p, &run, times, highs, lows, enter, exit)
			if got != want || one != run || wOne != wRun {
				t.Fatalf("QuietRun: %d quiet, trade %+v, watch %+v; Quiet: %d, %+v, %+v", got, run, wRun, want, one, wOne)
			}
			if got > 1 {
				runs++
			}
		}
	})
	if runs == 0 {
		t.Fatal("no run of quiet candles: the test checks nothing")
	}
}

// TestSameQuietMeansSameAnswers: two trades opened on the same candle with
// different stakes, which SameQuiet finds alike, are quiet on the same
// candles (drawn at their ROI prices to the ulp) and are left the same
// extreme prices.
func TestSameQuietMeansSameAnswers(t *testing.T) {
	t.Parallel()
	var same, differ int
	rapid.Check(t, func(t *rapid.T) {
		r := drawRules(t, false)
		r.Risk.TrailingStop = false
		p := Policy{Rules: r}
		short := rapid.Bool().Draw(t, "short")
		cs := drawCandles(t, 12)
		a := r.Open("A/B", short, 0, cs[0].Open, rapid.Float64Range(1, 1e6).Draw(t, "stake a"), "")
		b := r.Open("A/B", short, 0, cs[0].Open, rapid.Float64Range(1, 1e6).Draw(t, "stake b"), "")
		if !p.SameQuiet(&a, &b) {
			differ++
			return
		}
		same++
		var wa, wb ExitWatch
		for i, c := range cs {
			if step, ok := r.Risk.MinimalROI.At((c.Time - a.OpenTime) / 60_000); ok && rapid.Bool().Draw(t, "at the roi price") {
				// At either trade's bound, where their answers would part.
				price := roiBound(&a, step.Ratio)
				if rapid.Bool().Draw(t, "b's bound") {
					price = roiBound(&b, step.Ratio)
				}
				for range rapid.IntRange(0, 2).Draw(t, "ulps up") {
					price = math.Nextafter(price, math.Inf(1))
				}
				for range rapid.IntRange(0, 2).Draw(t, "ulps down") {
					price = math.Nextafter(price, math.Inf(-1))
				}
				// The stop not reached, no exit signal: only the ROI decides.
				if !math.IsNaN(price) && short {
					c.Low, c.High = price, max(price, a.OpenRate)
				} else if !math.IsNaN(price) {
					c.High, c.Low = price, min(price, a.OpenRate)
				}
				c.Exit = false
			}
			qa, qb := wa.Quiet(&p, &a, c), wb.Quiet(&p, &b, c)
			if qa != qb || a.MaxRate != b.MaxRate || a.MinRate != b.MinRate {
				t.Fatalf("candle %d %+v: quiet %v for stake %v, %v for stake %v", i, c, qa, a.Stake, qb, b.Stake)
			}
			if !qa {
				return
			}
		}
	})
	if same == 0 {
		t.Fatal("no two trades alike: the test checks nothing")
	}
	t.Logf("%d alike, %d not", same, differ)
}

// TestSameQuietTellsStakesApart: the liquidation price of a futures trade
// depends on its size (the maintenance bracket): a candle reaching one
// trade's and not the other's is quiet for one only, and SameQuiet says
// they differ; a trade is alike itself.
func TestSameQuietTellsStakesApart(t *testing.T) {
	t.Parallel()
	r := Rules{Risk: sdk.Risk{Stoploss: -0.99}, Leverage: 10, Futures: true, Fee: 0.001,
		Liquidation: Liquidation{Brackets: map[string][]Bracket{"A/B": {{0, 0.004, 0}, {50_000, 0.05, 2_000}}}}}
	p := Policy{Rules: r}
	a := r.Open("A/B", false, 0, 100, 100, "")
	b := r.Open("A/B", false, 0, 100, 100_000, "")
	if !(a.StopLoss < a.LiquidationPrice && a.LiquidationPrice < b.LiquidationPrice) {
		t.Fatalf("stop %v, liquidation %v and %v: want the stop below both", a.StopLoss, a.LiquidationPrice, b.LiquidationPrice)
	}
	c := Candle{Time: 60_000, Open: 100, High: 100, Low: b.LiquidationPrice, Close: 100}
	var wa, wb ExitWatch
	if qa, qb := wa.Quiet(&p, &a, c), wb.Quiet(&p, &b, c); qa == qb {
		t.Fatalf("quiet %v and %v at %v: want the trades to differ", qa, qb, c.Low)
	}
	if p.SameQuiet(&a, &b) {
		t.Error("SameQuiet: alike, want not")
	}
	if same := a; !p.SameQuiet(&a, &same) {
		t.Error("SameQuiet: a trade not alike itself")
	}
}
