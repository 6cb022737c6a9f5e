package config

import (
	"fmt"
	"time"
)

// Orders are how a deployment's runner sends its orders, from Freqtrade's
// order_types and unfilledtimeout keys. A backtest ignores them (it fills
// at the open and inside the candle); Config.Ignored lists them for it.
type Orders struct {
	// EntryLimit and ExitLimit: entries and exits (signals, the exit the
	// runner manages, ROI at the open) go as limit orders at the price
	// now (order_types "entry"/"exit": "limit") instead of at the market
	// (the default when the config has no order_types).
	EntryLimit, ExitLimit bool
	// StopOnVenue rests the stop-loss on the venue where it takes stop
	// orders (order_types "stoploss_on_exchange"; default true, unlike
	// Freqtrade: the runner manages the stop only when told so or when
	// the venue has no stop orders).
	StopOnVenue bool
	// StopLimit makes the venue's stop a stop-limit order (order_types
	// "stoploss": "limit") whose limit is the stop × StopLimitRatio
	// (stoploss_on_exchange_limit_ratio, default 0.99); default a stop
	// that sells at the market once triggered.
	StopLimit      bool
	StopLimitRatio float64
	// EntryTimeout and ExitTimeout are unfilledtimeout's "entry" and
	// "exit" in its "unit" (minutes or seconds; default 10 minutes each):
	// a limit entry still unfilled after it is cancelled, a limit exit is
	// cancelled and placed again at the price then.
	EntryTimeout, ExitTimeout time.Duration
}

// orderTypes is Freqtrade's order_types object.
type orderTypes struct {
	Entry                        string   `json:"entry"`
	Exit                         string   `json:"exit"`
	EmergencyExit                string   `json:"emergency_exit"`
	ForceEntry                   string   `json:"force_entry"`
	ForceExit                    string   `json:"force_exit"`
	Stoploss                     string   `json:"stoploss"`
	StoplossOnExchange           *bool    `json:"stoploss_on_exchange"`
	StoplossOnExchangeInterval   float64  `json:"stoploss_on_exchange_interval"`
	StoplossOnExchangeLimitRatio *float64 `json:"stoploss_on_exchange_limit_ratio"`
	StoplossPriceType            string   `json:"stoploss_price_type"`
}

// unfilledTimeout is Freqtrade's unfilledtimeout object.
type unfilledTimeout struct {
	Entry            *float64 `json:"entry"`
	Exit             *float64 `json:"exit"`
	ExitTimeoutCount int      `json:"exit_timeout_count"`
	Unit             string   `json:"unit"`
}

// Orders returns the config's order settings (defaults where it names
// none).
func (c *Config) Orders() Orders {
	if c.orders == nil {
		return defaultOrders()
	}
	return *c.orders
}

func defaultOrders() Orders {
	return Orders{StopOnVenue: true, StopLimitRatio: 0.99, EntryTimeout: 10 * time.Minute, ExitTimeout: 10 * time.Minute}
}

// limitOrMarket reads an order type value: "limit" (true) or "market"
// (false; also when empty).
func limitOrMarket(key, v string) (bool, error) {
	switch v {
	case "", "market":
		return false, nil
	case "limit":
		return true, nil
	}
	return false, fmt.Errorf("%s %q: want \"limit\" or \"market\"", key, v)
}

func (c *Config) decodeOrderTypes(raw []byte) error {
	var ot orderTypes
	if err := into(raw, &ot); err != nil {
		return err
	}
	o := c.Orders()
	var err error
	for _, f := range []struct {
		key string
		v   string
		dst *bool
	}{{"entry", ot.Entry, &o.EntryLimit}, {"exit", ot.Exit, &o.ExitLimit}, {"stoploss", ot.Stoploss, &o.StopLimit},
		{"emergency_exit", ot.EmergencyExit, nil}, {"force_entry", ot.ForceEntry, nil}, {"force_exit", ot.ForceExit, nil}} {
		var limit bool
		if limit, err = limitOrMarket(f.key, f.v); err != nil {
			return err
		}
		if f.dst != nil {
			*f.dst = limit
		}
	}
	if ot.StoplossOnExchange != nil {
		o.StopOnVenue = *ot.StoplossOnExchange
	}
	if r := ot.StoplossOnExchangeLimitRatio; r != nil {
		if !(*r > 0 && *r <= 1) {
			return fmt.Errorf("stoploss_on_exchange_limit_ratio %v: want a ratio in (0, 1]", *r)
		}
		o.StopLimitRatio = *r
	}
	if ot.StoplossOnExchangeInterval < 0 {
		return fmt.Errorf("stoploss_on_exchange_interval %v: want 0 or more seconds", ot.StoplossOnExchangeInterval)
	}
	c.orders = &o
	return nil
}

func (c *Config) decodeUnfilledTimeout(raw []byte) error {
	var ut unfilledTimeout
	if err := into(raw, &ut); err != nil {
		return err
	}
	unit := time.Minute
	switch ut.Unit {
	case "", "minutes":
	case "seconds":
		unit = time.Second
	default:
		return fmt.Errorf("unit %q: want \"minutes\" or \"seconds\"", ut.Unit)
	}
	if ut.ExitTimeoutCount < 0 {
		return fmt.Errorf("exit_timeout_count %d: want 0 or more", ut.ExitTimeoutCount)
	}
	o := c.Orders()
	for _, f := range []struct {
		key string
		v   *float64
		dst *time.Duration
	}{{"entry", ut.Entry, &o.EntryTimeout}, {"exit", ut.Exit, &o.ExitTimeout}} {
		if f.v == nil {
			continue
		}
		if !(*f.v > 0 && *f.v <= 1e6) {
			return fmt.Errorf("%s %v: want a positive timeout", f.key, *f.v)
		}
		*f.dst = time.Duration(*f.v * float64(unit))
	}
	c.orders = &o
	return nil
}
