package risk

import (
	"fmt"
	"math"
	"slices"
)

// Order is an order the runner is about to send.
type Order struct {
	Pair string
	// Reduces says the order only reduces a position (an exit: stop-loss,
	// take-profit, exit signal, flatten). Such an order is never refused.
	Reduces bool
	// Price is the order's price (a market order's: the price the runner
	// decided at); Notional its value in the stake currency.
	Price    float64
	Notional float64
}

// State is what the checker needs of a deployment at an order.
type State struct {
	// LastPrice is the order's pair's last known price (0: none yet).
	LastPrice float64
	// Positions are the open positions' notional at the last price, by
	// pair.
	Positions map[string]float64
	// OpenOrders is how many orders are open at the venue.
	OpenOrders int
	// OrdersLastMinute is how many orders (exits included) were sent in
	// the last 60 s.
	OrdersLastMinute int
	// OrdersToday is how many entries were sent since the day's start
	// (UTC).
	OrdersToday int
	// Equity is the deployment's equity now; DayStart the equity at the
	// day's start (UTC); DayHigh and High its highs of the day and since
	// the deployment started (so High >= DayHigh). Zero: not known yet.
	Equity, DayStart, DayHigh, High float64
}

// Verdict is the checker's answer: Limit names the key of the limit that
// refuses the order ("" allows it), Why says by how much.
type Verdict struct {
	Limit string
	Why   string
}

// OK reports whether the order may be sent.
func (v Verdict) OK() bool { return v.Limit == "" }

func (v Verdict) String() string {
	if v.OK() {
		return "allowed"
	}
	return Key + "." + v.Limit + ": " + v.Why
}

func refuse(limit, format string, args ...any) Verdict {
	return Verdict{Limit: limit, Why: fmt.Sprintf(format, args...)}
}

// Check decides whether o may be sent in state s. An order that reduces a
// position is always allowed; any other must pass every limit, the loss
// and drawdown limits included (a breached deployment opens nothing).
func (l Limits) Check(s State, o Order) Verdict {
	if o.Reduces {
		return Verdict{}
	}
	if l.AllowedPairs != nil && !slices.Contains(l.AllowedPairs, o.Pair) {
		return refuse("allowed_pairs", "%s is not an allowed pair", o.Pair)
	}
	if math.IsNaN(o.Notional) || math.IsNaN(o.Price) || o.Notional < 0 || o.Price <= 0 {
		return refuse("max_order_notional", "the order's price %v or value %v is not a number the checker can bound", o.Price, o.Notional)
	}
	if v := l.Breach(s); !v.OK() {
		return v
	}
	if l.MaxOrderNotional > 0 && o.Notional > l.MaxOrderNotional {
		return refuse("max_order_notional", "the order's %.8g exceeds %.8g", o.Notional, l.MaxOrderNotional)
	}
	if l.PriceCollar > 0 && s.LastPrice > 0 && math.Abs(o.Price-s.LastPrice) > l.PriceCollar*s.LastPrice {
		return refuse("price_collar", "price %.8g is more than %.4g%% from the last price %.8g", o.Price, 100*l.PriceCollar, s.LastPrice)
	}
	if l.MaxPositionPerPair > 0 && s.Positions[o.Pair]+o.Notional > l.MaxPositionPerPair {
		return refuse("max_position_notional_per_pair", "%s would hold %.8g, above %.8g", o.Pair, s.Positions[o.Pair]+o.Notional, l.MaxPositionPerPair)
	}
	if l.MaxPositionTotal > 0 {
		total := o.Notional
		for _, n := range s.Positions {
			total += n
		}
		if total > l.MaxPositionTotal {
			return refuse("max_position_notional_total", "the positions would total %.8g, above %.8g", total, l.MaxPositionTotal)
		}
	}
	if l.MaxOpenOrders > 0 && s.OpenOrders >= l.MaxOpenOrders {
		return refuse("max_open_orders", "%d orders are open (at most %d)", s.OpenOrders, l.MaxOpenOrders)
	}
	if l.MaxOrdersPerMinute > 0 && s.OrdersLastMinute >= l.MaxOrdersPerMinute {
		return refuse("max_orders_per_minute", "%d orders were sent in the last minute (at most %d)", s.OrdersLastMinute, l.MaxOrdersPerMinute)
	}
	if l.MaxOrdersPerDay > 0 && s.OrdersToday >= l.MaxOrdersPerDay {
		return refuse("max_orders_per_day", "%d entries were sent today (at most %d)", s.OrdersToday, l.MaxOrdersPerDay)
	}
	return Verdict{}
}

// Breach reports a loss or drawdown limit that s has reached: the
// deployment must pause (and flatten, with FlattenOnBreach).
func (l Limits) Breach(s State) Verdict {
	if l.MaxDailyLoss > 0 && s.DayStart > 0 && s.Equity <= s.DayStart*(1-l.MaxDailyLoss) {
		return refuse("max_daily_loss", "equity %.8g is %.4g%% below the day's start %.8g (at most %.4g%%)",
			s.Equity, 100*(1-s.Equity/s.DayStart), s.DayStart, 100*l.MaxDailyLoss)
	}
	high := s.High
	if l.DrawdownFrom == HighDay {
		high = s.DayHigh
	}
	if l.MaxDrawdown > 0 && high > 0 && s.Equity <= high*(1-l.MaxDrawdown) {
		return refuse("max_drawdown", "equity %.8g is %.4g%% below the %s's high %.8g (at most %.4g%%)",
			s.Equity, 100*(1-s.Equity/high), l.DrawdownFrom, high, 100*l.MaxDrawdown)
	}
	return Verdict{}
}

// Sum is an account's state made of its deployments' states: their
// positions added by pair, their open orders, orders of the last minute,
// entries of the day, equity and equity at the day's start added.
// LastPrice is the first part's; the highs are left out (an account's
// highs are those of its summed equity, kept by whoever keeps the
// account's figures).
func Sum(parts ...State) State {
	var s State
	s.Positions = map[string]float64{}
	for i, p := range parts {
		if i == 0 {
			s.LastPrice = p.LastPrice
		}
		for pair, n := range p.Positions {
			s.Positions[pair] += n
		}
		s.OpenOrders += p.OpenOrders
		s.OrdersLastMinute += p.OrdersLastMinute
		s.OrdersToday += p.OrdersToday
		s.Equity += p.Equity
		s.DayStart += p.DayStart
	}
	return s
}
