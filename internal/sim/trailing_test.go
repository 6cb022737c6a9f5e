package sim

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/fixed"
)

// trailing is setup with BTCUSDT taking trailing stops of 10 to 2000 BIPS.
func trailing(t *testing.T) bundle {
	t.Helper()
	s := btcusdt()
	s.TrailingDelta = TrailingDeltaFilter{MinAbove: 10, MaxAbove: 2000, MinBelow: 10, MaxBelow: 2000}
	rec := &recorder{}
	e, err := New(DefaultConfig(), []Symbol{s}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateAccount("a"); err != nil {
		t.Fatal(err)
	}
	for asset, amt := range map[string]string{"USDT": "100000", "BTC": "10"} {
		if _, err := e.Fund(1, "a", asset, d(amt)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.JumpTo("BTCUSDT", 1, d("100")); err != nil {
		t.Fatal(err)
	}
	return bundle{e: e, log: rec}
}

func TestTrailingRejections(t *testing.T) {
	sell := func(typ OrderType, stop string, delta int64) OrderRequest {
		r := OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: typ, Quantity: d("1"), TrailingDelta: delta}
		if stop != "" {
			r.StopPrice = d(stop)
		}
		if typ.hasPrice() {
			r.Price, r.TimeInForce = d("90"), GTC
		}
		return r
	}
	for _, tc := range []struct {
		name string
		req  OrderRequest
		code int
		msg  string
	}{
		{"a limit order takes no delta", sell(Limit, "", 100), CodeParamNotRequired, "Parameter 'trailingDelta' sent when not required."},
		{"a market order takes no delta", OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: Market, Quantity: d("1"), TrailingDelta: 100},
			CodeParamNotRequired, "Parameter 'trailingDelta' sent when not required."},
		{"below the filter's minimum", sell(StopLoss, "", 9), CodeInvalidMessage, "Filter failure: TRAILING_DELTA"},
		{"above its maximum", sell(TakeProfit, "", 2001), CodeInvalidMessage, "Filter failure: TRAILING_DELTA"},
		{"a stop without a stop price or a delta", sell(StopLoss, "", 0), CodeMandatoryParam,
			"Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."},
		// Met at once, it tracks from 120: its stop 118.8 is above the price.
		{"tracking from the stop price would trigger at once", sell(StopLoss, "120", 100), CodeNewOrderRejected, MsgWouldTrigger},
		{"a stop price off the tick", sell(StopLoss, "99.001", 100), CodeInvalidMessage, "Filter failure: PRICE_FILTER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := trailing(t)
			if _, _, err := b.e.Place(2, tc.req); !isError(err, tc.code, tc.msg) {
				t.Fatalf("err = %v, want %d %q", err, tc.code, tc.msg)
			}
		})
	}
	t.Run("a symbol without the filter", func(t *testing.T) {
		b := setup(t, DefaultConfig())
		_, _, err := b.e.Place(2, sell(StopLoss, "", 100))
		if !isError(err, CodeNewOrderRejected, MsgNoTrailingStops) {
			t.Fatal(err)
		}
	})
}

// TestTrailingTracking follows Binance's trailing stop FAQ: tracking from
// the last price without a stop price, from the stop price once the price
// meets it (scenario B, in hundreds), and the trigger a fall of the delta
// from the highest price.
func TestTrailingTracking(t *testing.T) {
	t.Run("no stop price: from the last price", func(t *testing.T) {
		b := trailing(t)
		o, _ := b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLoss, Quantity: d("1"), TrailingDelta: 100})
		if o.TrailingTime != o.Time || o.Working() {
			t.Fatalf("tracking from %d, working %v; want %d, false", o.TrailingTime, o.Working(), o.Time)
		}
		for _, p := range []string{"105", "104", "104.5"} { // the stop follows 105 to 103.95
			if fs, _ := b.e.MoveTo("BTCUSDT", 3, d(p)); len(fs) != 0 {
				t.Fatalf("filled at %s: %+v", p, fs)
			}
		}
		fs, _ := b.e.MoveTo("BTCUSDT", 4, d("103"))
		if len(fs) != 1 || fs[0].Price != d("103.95") {
			t.Fatalf("fills %+v, want one at 103.95 (105 less 1%%)", fs)
		}
	})
	t.Run("scenario B: a stop-loss-limit sell activated by its stop price", func(t *testing.T) {
		b := trailing(t)
		b.e.JumpTo("BTCUSDT", 2, d("400"))
		o, _ := b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLossLimit, TimeInForce: GTC, Quantity: d("1"),
			Price: d("380"), StopPrice: d("390"), TrailingDelta: 1000})
		steps := []struct {
			to       string
			tracking bool
		}{{"415", false}, {"370", true}, {"410", true}}
		for _, s := range steps {
			if fs, _ := b.e.MoveTo("BTCUSDT", 4, d(s.to)); len(fs) != 0 {
				t.Fatalf("filled at %s", s.to)
			}
			got, _ := b.e.Order("a", "BTCUSDT", o.ID, "")
			if (got.TrailingTime != 0) != s.tracking || got.Working() {
				t.Fatalf("at %s: tracking since %d, working %v", s.to, got.TrailingTime, got.Working())
			}
		}
		// 410 less 10% is 369: it triggers there and works as a limit
		// sell at 380, above the price.
		b.e.MoveTo("BTCUSDT", 5, d("368"))
		got, _ := b.e.Order("a", "BTCUSDT", o.ID, "")
		if !got.Working() || got.Status != StatusNew {
			t.Fatalf("after the fall: %+v, want a working limit sell", got)
		}
		if fs, _ := b.e.MoveTo("BTCUSDT", 6, d("381")); len(fs) != 1 || fs[0].Price != d("380") {
			t.Fatalf("fills %+v, want the limit's at 380", fs)
		}
	})
	t.Run("a buy trails the lowest price", func(t *testing.T) {
		b := trailing(t)
		b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Buy, Type: StopLoss, Quantity: d("1"), TrailingDelta: 200})
		b.e.MoveTo("BTCUSDT", 3, d("90"))
		fs, _ := b.e.MoveTo("BTCUSDT", 4, d("95"))
		if len(fs) != 1 || fs[0].Price != d("91.8") {
			t.Fatalf("fills %+v, want one at 91.80 (90 plus 2%%)", fs)
		}
	})
}

// TestTrailingInsideACandle: a trailing sell meets a candle's prices as
// the backtest's trailing stop does: the low against the stop in force at
// the open, then the high moves the stop and the low meets the moved stop;
// a gap at the open fills at the open.
func TestTrailingInsideACandle(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		open, low, high, cls  string
		fill                  string // "" none
		stopAfter, peakAfter  string
		candleWithoutHighMove bool
	}{
		{name: "the low reaches the stop in force", open: "100", low: "99.2", high: "101", cls: "100.5", fill: "99.5"},
		{name: "the high moves it, the low meets the moved stop", open: "100", low: "99.6", high: "101", cls: "100.5", fill: "100.49"},
		{name: "a gap down fills at the open", open: "99", low: "98", high: "99.5", cls: "99", fill: "99"},
		{name: "the low stays above the moved stop", open: "100.7", low: "100.6", high: "101", cls: "100.8", peakAfter: "101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := trailing(t)
			o, _ := b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLoss, Quantity: d("1"), TrailingDelta: 50})
			fs, err := b.e.ReplayCandle("BTCUSDT", Candle{Time: 60_000, Open: d(tc.open), High: d(tc.high), Low: d(tc.low), Close: d(tc.cls), Volume: d("1000")}, 60_000)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fill == "" {
				if len(fs) != 0 {
					t.Fatalf("fills %+v, want none", fs)
				}
				if got := b.e.open[o.ID].peak(); got != d(tc.peakAfter) {
					t.Fatalf("highest %s, want %s", got, tc.peakAfter)
				}
				return
			}
			if len(fs) != 1 || fs[0].Price != d(tc.fill) {
				t.Fatalf("fills %+v, want one at %s", fs, tc.fill)
			}
		})
	}
}

func TestTrailingJournalAndRestore(t *testing.T) {
	b := trailing(t)
	o, _ := b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("101"), TrailingDelta: 200})
	if o.TrailingTime != o.Time || o.TrailingDelta != 200 {
		t.Fatalf("placed %+v: want tracking from its stop price at once", o)
	}
	last := b.log.events[len(b.log.events)-1]
	for _, ev := range b.log.events {
		if ev.Kind == EventOrder {
			last = ev
		}
	}
	if last.Order.TrailPeak != d("101") || last.Order.Order.TrailingDelta != 200 {
		t.Fatalf("journalled %+v, want the highest 101 and the delta", last.Order)
	}
	// Resumed from the journal, it still triggers at 101 less 2%.
	e, err := New(DefaultConfig(), b.e.Symbols(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Restore(State{Accounts: []string{"a"}, Balances: []BalanceEvent{{Account: "a", Balance: Balance{Asset: "BTC", Free: d("9"), Locked: d("1")}}},
		Orders: []OrderState{{Order: last.Order.Order, Locked: last.Order.Locked, TrailPeak: last.Order.TrailPeak}}}); err != nil {
		t.Fatal(err)
	}
	e.JumpTo("BTCUSDT", 3, d("100"))
	if fs, _ := e.MoveTo("BTCUSDT", 4, d("98.5")); len(fs) != 1 || fs[0].Price != d("98.98") {
		t.Fatalf("fills %+v, want one at 98.98", fs)
	}
}

// TestTrailingProperty replays random candles through a trailing
// STOP_LOSS sell (tracking from the last price, or from a stop price
// above it) and checks it against the backtest's rule, candle by candle:
// the highest price it tracks never falls; it fills at most once, in the
// first candle whose low reaches the stop in force at the open (at the
// open when the candle opens below it, else at that stop) or the stop
// moved by the candle's high (at the moved stop), never elsewhere.
func TestTrailingProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := btcusdt()
		s.TrailingDelta = TrailingDeltaFilter{MinAbove: 10, MaxAbove: 2000, MinBelow: 10, MaxBelow: 2000}
		e, err := New(DefaultConfig(), []Symbol{s}, nil)
		if err != nil {
			rt.Fatal(err)
		}
		e.CreateAccount("a")
		e.Fund(1, "a", "BTC", d("1"))
		e.JumpTo("BTCUSDT", 1, d("100"))
		delta := rapid.Int64Range(10, 2000).Draw(rt, "delta")
		req := OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLoss, Quantity: d("1"), TrailingDelta: delta}
		peak := d("100")
		if rapid.Bool().Draw(rt, "activation") {
			// A stop price above the price: tracking from it at once (as
			// long as its stop stays above the price).
			req.StopPrice = fixed.Dec(rapid.Int64Range(int64(d("100")), int64(d("100"))*10_000/(10_000-delta)-1).Draw(rt, "stop")).FloorTo(s.TickSize)
			peak = req.StopPrice
		}
		o, _, err := e.Place(2, req)
		if err != nil {
			rt.Fatalf("place %+v: %v", req, err)
		}
		stopOf := func(p fixed.Dec) fixed.Dec {
			return fixed.MulFloor(p, fixed.Dec((10_000-delta)*10_000)).FloorTo(s.TickSize)
		}
		last := d("100")
		for i := range rapid.IntRange(1, 40).Draw(rt, "candles") {
			step := func(label string, p fixed.Dec) fixed.Dec {
				move := rapid.Int64Range(-3_000_000, 3_000_000).Draw(rt, label) // ±3%
				return max(d("1"), fixed.MulFloor(p, fixed.One+fixed.Dec(move)).FloorTo(s.TickSize))
			}
			open := last
			if rapid.IntRange(0, 9).Draw(rt, "gap") == 0 {
				open = step("open", last)
			}
			cls := step("close", open)
			hi := max(open, cls, step("high", max(open, cls)))
			lo := min(open, cls, step("low", min(open, cls)))
			c := Candle{Time: int64(i+1) * 60_000, Open: open, High: hi, Low: lo, Close: cls, Volume: d("1000")}
			// The backtest's rule.
			var want fixed.Dec
			atOpen := stopOf(peak)
			switch moved := stopOf(max(peak, hi)); {
			case open <= atOpen:
				want = open
			case lo <= atOpen:
				want = atOpen
			case lo <= moved:
				want = moved
			}
			peak = max(peak, hi)
			fs, err := e.ReplayCandle("BTCUSDT", c, 60_000)
			if err != nil {
				rt.Fatal(err)
			}
			if want == 0 {
				if len(fs) != 0 {
					rt.Fatalf("candle %+v: filled %+v, the backtest's stop did not", c, fs)
				}
				if got := e.open[o.ID].peak(); got != peak {
					rt.Fatalf("candle %+v: tracks %s as the highest, want %s", c, got, peak)
				}
				last = cls
				continue
			}
			if len(fs) != 1 || fs[0].Price != want || fs[0].Qty != d("1") {
				rt.Fatalf("candle %+v: fills %+v, want all at %s", c, fs, want)
			}
			if want != open && (want > hi || want < lo) {
				rt.Fatalf("filled at %s outside the candle %+v", want, c)
			}
			return
		}
	})
}

// TestTrailingTakeProfitInsideACandle: a TAKE_PROFIT sell that a candle's
// high activates (from its stop price) trails the high, and the candle's
// low — met before the high on the path, after it in the backtest's order
// — reaches the moved stop.
func TestTrailingTakeProfitInsideACandle(t *testing.T) {
	for _, tc := range []struct {
		open, low, high string
		fill            string
	}{
		{open: "100", low: "99.5", high: "102", fill: "101.49"}, // activated at 101, the high 102 less 0.5%
		{open: "101.7", low: "101.6", high: "102", fill: ""},    // the low above the moved stop
		{open: "100", low: "99.5", high: "100.9", fill: ""},     // not activated
		{open: "100", low: "99.5", high: "101", fill: "100.49"}, // activated at its high
	} {
		b := trailing(t)
		o, _ := b.place(t, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: TakeProfit, Quantity: d("1"), StopPrice: d("101"), TrailingDelta: 50})
		if o.TrailingTime != 0 {
			t.Fatalf("tracking before the price met its stop price: %+v", o)
		}
		fs, err := b.e.ReplayCandle("BTCUSDT", Candle{Time: 60_000, Open: d(tc.open), High: d(tc.high), Low: d(tc.low), Close: d(tc.low), Volume: d("1000")}, 60_000)
		if err != nil {
			t.Fatal(err)
		}
		if tc.fill == "" && len(fs) != 0 || tc.fill != "" && (len(fs) != 1 || fs[0].Price != d(tc.fill)) {
			t.Fatalf("low %s high %s: fills %+v, want %q", tc.low, tc.high, fs, tc.fill)
		}
	}
}
