package risk_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/risk"
)

var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

func genLimits(t *rapid.T) risk.Limits {
	amt := func(name string) float64 {
		return rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(1, 1e6)).Draw(t, name)
	}
	ratio := func(name string) float64 {
		return rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(0.001, 0.99)).Draw(t, name)
	}
	l := risk.Limits{MaxPositionPerPair: amt("per_pair"), MaxPositionTotal: amt("total"), MaxOrderNotional: amt("order"),
		MaxOpenOrders: rapid.IntRange(0, 50).Draw(t, "open"), MaxOrdersPerMinute: rapid.IntRange(0, 100).Draw(t, "rate"),
		MaxOrdersPerDay: rapid.IntRange(0, 200).Draw(t, "per_day"),
		MaxDailyLoss:    ratio("loss"), MaxDrawdown: ratio("dd"), PriceCollar: ratio("collar"),
		DrawdownFrom: rapid.SampledFrom([]string{risk.HighDay, risk.HighDeployment}).Draw(t, "from")}
	if rapid.Bool().Draw(t, "restrict") {
		l.AllowedPairs = rapid.SliceOfDistinct(rapid.SampledFrom([]string{"A/Q", "B/Q", "C/Q"}), rapid.ID[string]).Draw(t, "pairs")
	}
	return l
}

func genState(t *rapid.T) risk.State {
	s := risk.State{LastPrice: rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(0.01, 1000)).Draw(t, "last"),
		Positions: map[string]float64{}, OpenOrders: rapid.IntRange(0, 60).Draw(t, "open_orders"),
		OrdersToday: rapid.IntRange(0, 250).Draw(t, "orders_today"), OrdersLastMinute: rapid.IntRange(0, 120).Draw(t, "last_minute")}
	for _, p := range []string{"A/Q", "B/Q", "C/Q"} {
		s.Positions[p] = rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(0, 1e6)).Draw(t, "pos "+p)
	}
	s.DayStart = rapid.Float64Range(1, 1e6).Draw(t, "day_start")
	s.DayHigh = s.DayStart * rapid.Float64Range(1, 2).Draw(t, "day_high")
	s.High = s.DayHigh * rapid.Float64Range(1, 2).Draw(t, "high") // the day is part of the deployment's life
	s.Equity = s.DayStart * rapid.Float64Range(0.5, 2).Draw(t, "equity")
	return s
}

func genOrder(t *rapid.T) risk.Order {
	return risk.Order{Pair: rapid.SampledFrom([]string{"A/Q", "B/Q", "C/Q", "X/Q"}).Draw(t, "pair"),
		Price: rapid.Float64Range(0.01, 1000).Draw(t, "price"), Notional: rapid.Float64Range(0, 1e6).Draw(t, "notional")}
}

// An allowed order keeps every limit; a refused one names a limit it
// breaks; an exit is never refused.
func TestCheckHoldsEveryLimit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l, s, o := genLimits(t), genState(t), genOrder(t)
		v := l.Check(s, o)
		if x := o; true {
			x.Reduces = true
			if !l.Check(s, x).OK() {
				t.Fatalf("an exit was refused: %v", l.Check(s, x))
			}
		}
		total := o.Notional
		for _, n := range s.Positions {
			total += n
		}
		high := s.High
		if l.DrawdownFrom == risk.HighDay {
			high = s.DayHigh
		}
		broken := map[string]bool{
			"allowed_pairs":                  l.AllowedPairs != nil && !contains(l.AllowedPairs, o.Pair),
			"max_order_notional":             l.MaxOrderNotional > 0 && o.Notional > l.MaxOrderNotional,
			"price_collar":                   l.PriceCollar > 0 && s.LastPrice > 0 && math.Abs(o.Price-s.LastPrice) > l.PriceCollar*s.LastPrice,
			"max_position_notional_per_pair": l.MaxPositionPerPair > 0 && s.Positions[o.Pair]+o.Notional > l.MaxPositionPerPair,
			"max_position_notional_total":    l.MaxPositionTotal > 0 && total > l.MaxPositionTotal,
			"max_open_orders":                l.MaxOpenOrders > 0 && s.OpenOrders >= l.MaxOpenOrders,
			"max_orders_per_minute":          l.MaxOrdersPerMinute > 0 && s.OrdersLastMinute >= l.MaxOrdersPerMinute,
			"max_orders_per_day":             l.MaxOrdersPerDay > 0 && s.OrdersToday >= l.MaxOrdersPerDay,
			"max_daily_loss":                 l.MaxDailyLoss > 0 && s.Equity <= s.DayStart*(1-l.MaxDailyLoss),
			"max_drawdown":                   l.MaxDrawdown > 0 && s.Equity <= high*(1-l.MaxDrawdown),
		}
		any := false
		for _, b := range broken {
			any = any || b
		}
		switch {
		case v.OK() && any:
			t.Fatalf("allowed an order that breaks %v", broken)
		case !v.OK() && !broken[v.Limit]:
			t.Fatalf("refused for %s (%s), which it keeps", v.Limit, v.Why)
		}
	})
}

// Tighter limits refuse every order either refuses.
func TestTighterRefusesWhatEitherRefuses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, s, o := genLimits(t), genLimits(t), genState(t), genOrder(t)
		c := a.Tighter(b)
		if (!a.Check(s, o).OK() || !b.Check(s, o).OK()) && c.Check(s, o).OK() {
			t.Fatalf("the tighter limits %+v allowed what %+v or %+v refuses", c, a, b)
		}
	})
}

// A drawdown measured from the deployment's high is never smaller than one
// from the day's high, so the tighter of a deployment-high limit and a
// limit that sets no drawdown must keep measuring from the deployment's
// high (rapid found the case: the combination measured from the day's
// high and let a 50 % drawdown through a 25 % limit).
func TestTighterKeepsTheDeploymentHigh(t *testing.T) {
	a := risk.Limits{MaxDrawdown: 0.25, DrawdownFrom: risk.HighDeployment}
	b := risk.Limits{DrawdownFrom: risk.HighDay}
	s := risk.State{DayStart: 1, DayHigh: 1, High: 2, Equity: 1}
	o := risk.Order{Pair: "A/Q", Price: 1, Notional: 1}
	for _, c := range []risk.Limits{a.Tighter(b), b.Tighter(a)} {
		if c.Check(s, o).OK() {
			t.Errorf("%+v allows a 50 %% drawdown from the deployment's high", c)
		}
	}
	day := risk.Limits{MaxDrawdown: 0.1, DrawdownFrom: risk.HighDay}
	if c := a.Tighter(day); c.DrawdownFrom != risk.HighDeployment || c.MaxDrawdown != 0.1 {
		t.Errorf("tighter of %+v and %+v = %+v, want 10 %% from the deployment's high", a, day, c)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestParse(t *testing.T) {
	l, err := risk.Parse([]byte(`{"stake_amount": 1}`))
	if err != nil || l.MaxOpenOrders != risk.DefaultMaxOpenOrders || l.AllowedPairs != nil {
		t.Fatalf("no risk_limits: %+v %v, want the defaults", l, err)
	}
	l, err = risk.Parse([]byte(`{"risk_limits": {"max_order_notional": 0.5, "allowed_pairs": ["ETH/BTC"], "drawdown_from": "day"}}`))
	if err != nil || l.MaxOrderNotional != 0.5 || l.MaxOrdersPerMinute != risk.DefaultMaxOrdersPerMinute || l.DrawdownFrom != risk.HighDay {
		t.Fatalf("got %+v %v", l, err)
	}
	for in, field := range map[string]string{
		`{"risk_limits": {"max_daily_loss": 1.5}}`:       "risk_limits.max_daily_loss",
		`{"risk_limits": {"max_order_notional": -1}}`:    "risk_limits.max_order_notional",
		`{"risk_limits": {"max_open_order": 3}}`:         "risk_limits.max_open_order",
		`{"risk_limits": {"max_open_orders": "3"}}`:      "risk_limits.max_open_orders",
		`{"risk_limits": {"drawdown_from": "week"}}`:     "risk_limits.drawdown_from",
		`{"risk_limits": {"allowed_pairs": ["A", "A"]}}`: "risk_limits.allowed_pairs",
		`{"risk_limits": 3}`:                             "risk_limits",
	} {
		_, err := risk.Parse([]byte(in))
		var fe *risk.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want an error naming %s", in, err, field)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"risk_limits": {"max_order_notional": 0.5, "allowed_pairs": ["ETH/BTC"]}}`))
	f.Add([]byte(`{"risk_limits": {"price_collar": 0.99, "max_drawdown": 1e-300}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := risk.Parse(data)
		if err != nil {
			var fe *risk.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "risk_limits") && fe.Field != "config" {
				t.Fatalf("%q: %v does not name a field", data, err)
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("%q parsed to limits that do not validate: %v", data, err)
		}
	})
}

func TestBreaker(t *testing.T) {
	clk := clock.NewFake(t0)
	b := risk.NewBreaker(3, time.Minute, clk)
	for range 2 {
		b.Failure()
	}
	if !b.Allow() {
		t.Fatal("open after 2 failures of 3")
	}
	b.Success()
	for range 2 {
		b.Failure()
	}
	if !b.Allow() {
		t.Fatal("a success did not reset the count")
	}
	b.Failure()
	if st, _ := b.State(); b.Allow() || st != risk.Open {
		t.Fatalf("3 failures in a row: %s, want open", st)
	}
	clk.Advance(time.Minute)
	if st, _ := b.State(); !b.Allow() || st != risk.HalfOpen {
		t.Fatalf("after the cool-down: %s, want half-open", st)
	}
	b.Failure() // the probe failed
	if st, _ := b.State(); b.Allow() || st != risk.Open {
		t.Fatalf("a failed probe: %s, want open", st)
	}
	clk.Advance(time.Minute)
	b.Success()
	if st, _ := b.State(); st != risk.Closed {
		t.Fatalf("a probe that worked: %s, want closed", st)
	}
}

// An account's summed state holds what its deployments hold: an order
// that one deployment's figures alone would push past an account's
// exposure or order-count limit is refused on the sum, and the sum's
// figures are the parts' added.
func TestSumCountsEveryDeployment(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := genLimits(t)
		l.AllowedPairs, l.MaxDailyLoss, l.MaxDrawdown = nil, 0, 0 // the summed limits alone
		parts := rapid.SliceOfN(rapid.Custom(genState), 1, 5).Draw(t, "deployments")
		o := genOrder(t)
		sum := risk.Sum(parts...)
		var open, minute, today int
		var total, eq, start float64
		for _, p := range parts {
			open, minute, today, eq, start = open+p.OpenOrders, minute+p.OrdersLastMinute, today+p.OrdersToday, eq+p.Equity, start+p.DayStart
			for _, n := range p.Positions {
				total += n
			}
		}
		var sumTotal float64
		for _, n := range sum.Positions {
			sumTotal += n
		}
		if sum.OpenOrders != open || sum.OrdersLastMinute != minute || sum.OrdersToday != today || !near(sumTotal, total) || !near(sum.Equity, eq) || !near(sum.DayStart, start) {
			t.Fatalf("sum %+v of %+v", sum, parts)
		}
		sum.LastPrice = 0 // the collar is the deployment's
		for _, p := range parts {
			p.LastPrice, p.DayStart, p.High, p.DayHigh = 0, 0, 0, 0
			if v := l.Check(p, o); !v.OK() && l.Check(sum, o).OK() {
				t.Fatalf("one deployment alone is refused (%v) but the account's sum allowed the order", v)
			}
		}
	})
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b)) }
