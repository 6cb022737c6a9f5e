// Package risk holds a deployment's hard limits and checks each order
// against them on the host side, whatever the strategy asks: Limits (the
// config's "risk_limits" object, with defaults), the pure checker
// (Limits.Check: the deployment's state and an order in, a verdict out;
// Limits.Breach: the daily loss and drawdown; Sum: an account's state, its
// deployments' added), and Breaker, the circuit
// breaker of one venue. Exits that reduce risk are never refused.
package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Key is the config key holding the limits.
const Key = "risk_limits"

// The defaults of a config without risk_limits (or without a key in it).
const (
	DefaultMaxOpenOrders      = 20
	DefaultMaxOrdersPerMinute = 60
	DefaultPriceCollar        = 0.10
)

// Drawdown highs: the day's (UTC) or the deployment's.
const (
	HighDay        = "day"
	HighDeployment = "deployment"
)

// Limits are one deployment's (or one account's) risk limits. Notional
// amounts are in the stake (quote) currency; ratios are fractions (0.05
// is 5 %). A zero amount or ratio is no limit.
type Limits struct {
	// MaxPositionPerPair bounds one pair's open position (its notional at
	// the last price) after an entry; MaxPositionTotal all pairs' sum.
	MaxPositionPerPair float64 `json:"max_position_notional_per_pair"`
	MaxPositionTotal   float64 `json:"max_position_notional_total"`
	// MaxOrderNotional bounds one order.
	MaxOrderNotional float64 `json:"max_order_notional"`
	// MaxOpenOrders bounds the orders open at the venue (resting exits
	// included) when a new entry is sent (default 20).
	MaxOpenOrders int `json:"max_open_orders"`
	// MaxOrdersPerMinute bounds the orders sent in any 60 s (default 60):
	// an entry is refused once that many orders (exits included) were
	// sent; an account's counts every deployment trading on it.
	MaxOrdersPerMinute int `json:"max_orders_per_minute"`
	// MaxOrdersPerDay bounds the entries sent in a UTC day (0: no limit);
	// an account's counts every deployment trading on it.
	MaxOrdersPerDay int `json:"max_orders_per_day"`
	// MaxDailyLoss is the loss, as a ratio of the equity at the day's
	// start (UTC), that pauses the deployment.
	MaxDailyLoss float64 `json:"max_daily_loss"`
	// MaxDrawdown is the fall from the equity's high (DrawdownFrom: the
	// day's or the deployment's, default the deployment's) that pauses it.
	MaxDrawdown  float64 `json:"max_drawdown"`
	DrawdownFrom string  `json:"drawdown_from"`
	// PriceCollar refuses an order whose price is more than this ratio
	// away from the last price (default 0.10).
	PriceCollar float64 `json:"price_collar"`
	// AllowedPairs, when listed, are the only pairs an entry may trade
	// (an empty list allows none); left out, the deployment's pairs.
	AllowedPairs []string `json:"allowed_pairs"`
	// FlattenOnBreach closes the open trades at the market when a loss or
	// drawdown limit pauses the deployment (default false: they stay,
	// their stops and exits still managed).
	FlattenOnBreach bool `json:"flatten_on_breach"`
}

// Default is the limits of a config without risk_limits.
func Default() Limits {
	return Limits{MaxOpenOrders: DefaultMaxOpenOrders, MaxOrdersPerMinute: DefaultMaxOrdersPerMinute, PriceCollar: DefaultPriceCollar,
		DrawdownFrom: HighDeployment}
}

// FieldError names the risk_limits key that is out of range.
type FieldError struct {
	Field string // risk_limits.KEY
	Why   string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Why }

// Parse reads the limits from a deployment's config (a JSON object; its
// risk_limits key, the defaults for what it leaves out) and validates
// them. An error is a *FieldError naming the key.
func Parse(config []byte) (Limits, error) {
	l := Default()
	if len(bytes.TrimSpace(config)) == 0 {
		return l, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(config, &top); err != nil {
		return Limits{}, &FieldError{Field: "config", Why: "is not a JSON object: " + err.Error()}
	}
	raw, ok := top[Key]
	if !ok {
		return l, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		field := Key
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field += "." + te.Field
		} else if _, k, ok := strings.Cut(err.Error(), "unknown field "); ok {
			field += "." + strings.Trim(k, `"`)
			return Limits{}, &FieldError{Field: field, Why: "is not a risk limit"}
		}
		return Limits{}, &FieldError{Field: field, Why: "must be an object of limits: " + err.Error()}
	}
	if err := l.Validate(); err != nil {
		return Limits{}, err
	}
	return l, nil
}

// Validate names the first limit out of range.
func (l Limits) Validate() error {
	bad := func(k, why string) error { return &FieldError{Field: Key + "." + k, Why: why} }
	amounts := []struct {
		k string
		v float64
	}{{"max_position_notional_per_pair", l.MaxPositionPerPair}, {"max_position_notional_total", l.MaxPositionTotal}, {"max_order_notional", l.MaxOrderNotional}}
	for _, a := range amounts {
		if math.IsNaN(a.v) || math.IsInf(a.v, 0) || a.v < 0 {
			return bad(a.k, "must be a positive amount of the stake currency (0: no limit)")
		}
	}
	ratios := []struct {
		k string
		v float64
	}{{"max_daily_loss", l.MaxDailyLoss}, {"max_drawdown", l.MaxDrawdown}, {"price_collar", l.PriceCollar}}
	for _, r := range ratios {
		if math.IsNaN(r.v) || r.v < 0 || r.v >= 1 {
			return bad(r.k, "must be a ratio from 0 (no limit) to below 1 (0.05 is 5 %)")
		}
	}
	switch {
	case l.MaxOpenOrders < 0 || l.MaxOpenOrders > 10_000:
		return bad("max_open_orders", "must be 0 (no limit) to 10000")
	case l.MaxOrdersPerMinute < 0 || l.MaxOrdersPerMinute > 100_000:
		return bad("max_orders_per_minute", "must be 0 (no limit) to 100000")
	case l.MaxOrdersPerDay < 0 || l.MaxOrdersPerDay > 10_000_000:
		return bad("max_orders_per_day", "must be 0 (no limit) to 10000000")
	case l.DrawdownFrom != HighDay && l.DrawdownFrom != HighDeployment:
		return bad("drawdown_from", `must be "day" or "deployment"`)
	case len(l.AllowedPairs) > 1000:
		return bad("allowed_pairs", "lists more than 1000 pairs")
	}
	for i, p := range l.AllowedPairs {
		if p == "" || len(p) > 50 || slices.Contains(l.AllowedPairs[:i], p) {
			return bad("allowed_pairs", fmt.Sprintf("%q is empty, too long or listed twice", p))
		}
	}
	return nil
}

// Tighter is the limits that bind under both l and o (an account's limits
// over a deployment's): the smaller of each limit set, the pairs both
// allow, a flatten either asks, a drawdown from the higher of the highs
// they measure from.
func (l Limits) Tighter(o Limits) Limits {
	minPos := func(a, b float64) float64 {
		switch {
		case a == 0:
			return b
		case b == 0:
			return a
		}
		return min(a, b)
	}
	minInt := func(a, b int) int { return int(minPos(float64(a), float64(b))) }
	out := Limits{MaxPositionPerPair: minPos(l.MaxPositionPerPair, o.MaxPositionPerPair), MaxPositionTotal: minPos(l.MaxPositionTotal, o.MaxPositionTotal),
		MaxOrderNotional: minPos(l.MaxOrderNotional, o.MaxOrderNotional), MaxOpenOrders: minInt(l.MaxOpenOrders, o.MaxOpenOrders),
		MaxOrdersPerMinute: minInt(l.MaxOrdersPerMinute, o.MaxOrdersPerMinute),
		MaxOrdersPerDay:    minInt(l.MaxOrdersPerDay, o.MaxOrdersPerDay), MaxDailyLoss: minPos(l.MaxDailyLoss, o.MaxDailyLoss),
		MaxDrawdown: minPos(l.MaxDrawdown, o.MaxDrawdown), PriceCollar: minPos(l.PriceCollar, o.PriceCollar), DrawdownFrom: l.DrawdownFrom,
		FlattenOnBreach: l.FlattenOnBreach || o.FlattenOnBreach}
	// A drawdown from the deployment's high is never smaller than one from
	// the day's high (the day is part of the deployment's life): the
	// deployment's high is the tighter base, unless only day-high limits
	// set a drawdown.
	switch {
	case l.MaxDrawdown == 0 && o.MaxDrawdown != 0:
		out.DrawdownFrom = o.DrawdownFrom
	case l.MaxDrawdown != 0 && o.MaxDrawdown != 0 && o.DrawdownFrom == HighDeployment:
		out.DrawdownFrom = HighDeployment
	}
	switch {
	case l.AllowedPairs == nil:
		out.AllowedPairs = o.AllowedPairs
	case o.AllowedPairs == nil:
		out.AllowedPairs = l.AllowedPairs
	default:
		out.AllowedPairs = []string{}
		for _, p := range l.AllowedPairs {
			if slices.Contains(o.AllowedPairs, p) {
				out.AllowedPairs = append(out.AllowedPairs, p)
			}
		}
	}
	return out
}
