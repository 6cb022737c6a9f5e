// Package config reads a backtest configuration: a Freqtrade-style JSON file
// using Freqtrade's key names, so Freqtrade users can bring their settings.
//
// Decoding is strict. A key TradAI does not know is an error naming the key
// and the file (a misspelled risk limit must never be silently ignored). Keys
// that Freqtrade uses only for live bots and that cannot change a backtest
// (telegram, api_server, pricing, ...) are accepted and reported as ignored.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Config is a parsed backtest configuration. Pointer fields are unset when
// the file does not name them, so the strategy's defaults apply.
type Config struct {
	// File is the path the config was read from ("" when built in code).
	File string `json:"-"`

	Strategy       string         `json:"strategy"`
	StrategyParams map[string]any `json:"strategy_params,omitempty"`
	Timeframe      sdk.Timeframe  `json:"timeframe,omitempty"`
	Timerange      string         `json:"timerange,omitempty"`
	Datadir        string         `json:"datadir"`
	Exchange       Exchange       `json:"exchange"`

	StakeCurrency        string  `json:"stake_currency,omitempty"`
	StakeAmount          float64 `json:"-"` // fixed stake; 0 when StakeUnlimited
	StakeUnlimited       bool    `json:"-"`
	DryRunWallet         float64 `json:"dry_run_wallet"`
	TradableBalanceRatio float64 `json:"tradable_balance_ratio"`
	MaxOpenTrades        int     `json:"max_open_trades"`
	Fee                  float64 `json:"fee"`
	Slippage             float64 `json:"slippage"`

	MinimalROI                  *sdk.ROITable `json:"minimal_roi,omitempty"`
	Stoploss                    *float64      `json:"stoploss,omitempty"`
	TrailingStop                *bool         `json:"trailing_stop,omitempty"`
	TrailingStopPositive        *float64      `json:"trailing_stop_positive,omitempty"`
	TrailingStopPositiveOffset  *float64      `json:"trailing_stop_positive_offset,omitempty"`
	TrailingOnlyOffsetIsReached *bool         `json:"trailing_only_offset_is_reached,omitempty"`

	UseExitSignal          bool    `json:"use_exit_signal"`
	ExitProfitOnly         bool    `json:"exit_profit_only"`
	ExitProfitOffset       float64 `json:"exit_profit_offset"`
	IgnoreROIIfEntrySignal bool    `json:"ignore_roi_if_entry_signal"`

	TradingMode string  `json:"trading_mode"` // spot | futures
	MarginMode  string  `json:"margin_mode,omitempty"`
	Leverage    float64 `json:"leverage"`

	// FillModel names the backtest fill model (trade.FillModelNamed).
	FillModel string `json:"fill_model,omitempty"`
	// LiquidationBuffer is Freqtrade's liquidation_buffer.
	LiquidationBuffer float64 `json:"liquidation_buffer"`
	// LeverageBrackets override the bundled brackets (trade.BinanceBrackets)
	// of the pairs they name.
	LeverageBrackets map[string][]trade.Bracket `json:"leverage_brackets,omitempty"`

	// Ignored lists Freqtrade keys present in the file that have no effect
	// on a backtest.
	Ignored []string `json:"-"`

	// orders are the order settings of order_types and unfilledtimeout
	// (Orders); nil: the defaults.
	orders *Orders
}

// Exchange is the config's "exchange" object.
type Exchange struct {
	Name          string   `json:"name"`
	PairWhitelist []string `json:"pair_whitelist"`
	PairBlacklist []string `json:"pair_blacklist,omitempty"`
}

// Default returns a config holding TradAI's defaults: stake "unlimited",
// 3 open trades, a 1000 wallet, 0.1% fee, exit signals on, spot.
func Default() *Config {
	return &Config{
		Datadir:              DefaultDatadir,
		StakeUnlimited:       true,
		DryRunWallet:         1000,
		TradableBalanceRatio: 0.99,
		MaxOpenTrades:        3,
		Fee:                  0.001,
		UseExitSignal:        true,
		TradingMode:          "spot",
		Leverage:             1,
		FillModel:            "realistic",
		LiquidationBuffer:    0.05,
	}
}

// DefaultDatadir is the data folder when a config names none: Freqtrade's
// user_data/data, relative to the working directory.
const DefaultDatadir = "user_data/data"

// ignoredKeys are Freqtrade keys that only matter to a live bot.
var ignoredKeys = map[string]bool{
	"$schema": true, "bot_name": true, "dry_run": true, "initial_state": true,
	"cancel_open_orders_on_exit": true, "unfilledtimeout": true, "entry_pricing": true,
	"exit_pricing": true, "order_types": true, "order_time_in_force": true,
	"pairlists": true, "telegram": true, "api_server": true, "force_entry_enable": true,
	"internals": true, "db_url": true, "user_data_dir": true, "logfile": true,
	"fiat_display_currency": true, "process_only_new_candles": true,
	"dataformat_ohlcv": true, "dataformat_trades": true, "strategy_path": true,
	"recursive_strategy_search": true, "webhook": true, "discord": true,
	"export": true, "exportfilename": true,
	// A deployment's risk limits (internal/risk reads and checks them).
	"risk_limits": true,
}

var ignoredExchangeKeys = map[string]bool{
	"key": true, "secret": true, "password": true, "uid": true, "ccxt_config": true,
	"ccxt_async_config": true, "markets_refresh_interval": true,
	"skip_pair_validation": true, "enable_ws": true, "log_responses": true,
	"unknown_fee_rate": true, "sandbox": true,
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a config; name is used in error messages.
func Parse(data []byte, name string) (*Config, error) {
	c := Default()
	c.File = name
	if err := c.decode(data); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

func (c *Config) decode(data []byte) error {
	var top map[string]json.RawMessage
	if err := strictUnmarshal(data, &top); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("a config is a JSON object ({\"strategy\": …}), not a JSON %s: %w", te.Value, err)
		}
		return fmt.Errorf("%sinvalid JSON: %w", jsonPosition(data, err), err)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := top[k]
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) && !ignoredKeys[k] {
			return fmt.Errorf("key %q: null is not a value; leave the key out to use the default", k)
		}
		var err error
		switch k {
		case "strategy":
			err = into(raw, &c.Strategy)
		case "strategy_params":
			err = into(raw, &c.StrategyParams)
		case "timeframe":
			var s string
			if err = into(raw, &s); err == nil {
				c.Timeframe, err = sdk.ParseTimeframe(s)
			}
		case "timerange":
			err = into(raw, &c.Timerange)
		case "datadir":
			err = into(raw, &c.Datadir)
		case "exchange":
			err = c.decodeExchange(raw)
		case "stake_currency":
			err = into(raw, &c.StakeCurrency)
		case "stake_amount":
			err = c.decodeStake(raw)
		case "dry_run_wallet":
			err = into(raw, &c.DryRunWallet)
		case "tradable_balance_ratio":
			err = into(raw, &c.TradableBalanceRatio)
		case "max_open_trades":
			err = c.decodeMaxOpenTrades(raw)
		case "fee":
			err = into(raw, &c.Fee)
		case "slippage":
			err = into(raw, &c.Slippage)
		case "minimal_roi":
			c.MinimalROI = new(sdk.ROITable)
			err = into(raw, c.MinimalROI)
		case "stoploss":
			c.Stoploss = new(float64)
			err = into(raw, c.Stoploss)
		case "trailing_stop":
			c.TrailingStop = new(bool)
			err = into(raw, c.TrailingStop)
		case "trailing_stop_positive":
			c.TrailingStopPositive = new(float64)
			err = into(raw, c.TrailingStopPositive)
		case "trailing_stop_positive_offset":
			c.TrailingStopPositiveOffset = new(float64)
			err = into(raw, c.TrailingStopPositiveOffset)
		case "trailing_only_offset_is_reached":
			c.TrailingOnlyOffsetIsReached = new(bool)
			err = into(raw, c.TrailingOnlyOffsetIsReached)
		case "use_exit_signal":
			err = into(raw, &c.UseExitSignal)
		case "exit_profit_only":
			err = into(raw, &c.ExitProfitOnly)
		case "exit_profit_offset":
			err = into(raw, &c.ExitProfitOffset)
		case "ignore_roi_if_entry_signal":
			err = into(raw, &c.IgnoreROIIfEntrySignal)
		case "trading_mode":
			err = into(raw, &c.TradingMode)
		case "margin_mode":
			err = into(raw, &c.MarginMode)
		case "leverage":
			err = into(raw, &c.Leverage)
		case "fill_model":
			err = into(raw, &c.FillModel)
		case "liquidation_buffer":
			err = into(raw, &c.LiquidationBuffer)
		case "leverage_brackets":
			err = into(raw, &c.LeverageBrackets)
		default:
			if ignoredKeys[k] {
				c.Ignored = append(c.Ignored, k)
				// A deployment's order settings (Orders): no effect on a
				// backtest, checked all the same.
				switch k {
				case "order_types":
					err = c.decodeOrderTypes(raw)
				case "unfilledtimeout":
					err = c.decodeUnfilledTimeout(raw)
				}
				break
			}
			return fmt.Errorf("unknown key %q%s", k, suggest(k))
		}
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	return nil
}

func (c *Config) decodeExchange(raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil {
		return fmt.Errorf("must be an object: %w", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		switch k {
		case "name":
			err = into(m[k], &c.Exchange.Name)
		case "pair_whitelist":
			err = into(m[k], &c.Exchange.PairWhitelist)
		case "pair_blacklist":
			err = into(m[k], &c.Exchange.PairBlacklist)
		default:
			if ignoredExchangeKeys[k] {
				c.Ignored = append(c.Ignored, "exchange."+k)
				continue
			}
			return fmt.Errorf("unknown key %q", "exchange."+k)
		}
		if err != nil {
			return fmt.Errorf("key %q: %w", "exchange."+k, err)
		}
	}
	return nil
}

func (c *Config) decodeStake(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s != "unlimited" {
			return fmt.Errorf("must be a number or \"unlimited\", got %q", s)
		}
		c.StakeUnlimited, c.StakeAmount = true, 0
		return nil
	}
	if err := into(raw, &c.StakeAmount); err != nil {
		return fmt.Errorf("must be a number or \"unlimited\": %w", err)
	}
	c.StakeUnlimited = false
	return nil
}

func (c *Config) decodeMaxOpenTrades(raw json.RawMessage) error {
	var f float64
	if err := into(raw, &f); err != nil {
		return err
	}
	if f != math.Trunc(f) || f < -1 || f > 1e6 {
		return fmt.Errorf("must be a whole number >= -1 (-1 = unlimited), got %v", f)
	}
	c.MaxOpenTrades = int(f)
	return nil
}

// MaxAmount bounds dry_run_wallet and stake_amount: far above any real
// account, and far enough below float64's range that wallet arithmetic
// (stakes × leverage, profits compounded over thousands of trades) stays
// finite; a wallet of 1e308 made a backtest fail with NaN.
const MaxAmount = 1e15

// Validate checks ranges and combinations of settings.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.StakeUnlimited && c.MaxOpenTrades == -1 {
		bad("stake_amount \"unlimited\" needs a positive max_open_trades")
	}
	if c.MaxOpenTrades == 0 {
		bad("max_open_trades is 0: no trade could ever open")
	}
	if !c.StakeUnlimited && !(c.StakeAmount > 0 && c.StakeAmount <= MaxAmount) {
		bad("stake_amount %v must be positive and at most %g", c.StakeAmount, MaxAmount)
	}
	if !(c.DryRunWallet > 0 && c.DryRunWallet <= MaxAmount) {
		bad("dry_run_wallet %v must be positive and at most %g", c.DryRunWallet, MaxAmount)
	}
	if !(c.TradableBalanceRatio > 0 && c.TradableBalanceRatio <= 1) {
		bad("tradable_balance_ratio %v must be in (0, 1]", c.TradableBalanceRatio)
	}
	if !(c.Fee >= 0 && c.Fee < 0.1) {
		bad("fee %v must be in [0, 0.1)", c.Fee)
	}
	if !(c.Slippage >= 0 && c.Slippage < 0.1) {
		bad("slippage %v must be in [0, 0.1)", c.Slippage)
	}
	switch c.TradingMode {
	case "spot":
		if c.Leverage != 1 {
			bad("leverage %v needs trading_mode \"futures\"", c.Leverage)
		}
	case "futures":
		if c.MarginMode != "" && c.MarginMode != "isolated" {
			bad("margin_mode %q is not supported (only \"isolated\")", c.MarginMode)
		}
	default:
		bad("trading_mode %q must be \"spot\" or \"futures\"", c.TradingMode)
	}
	if !(c.Leverage >= 1 && c.Leverage <= 125) {
		bad("leverage %v must be in [1, 125]", c.Leverage)
	}
	if _, err := trade.FillModelNamed(c.FillModel); err != nil {
		bad("fill_model: %w", err)
	}
	if !(c.LiquidationBuffer >= 0 && c.LiquidationBuffer < 1) {
		bad("liquidation_buffer %v must be in [0, 1)", c.LiquidationBuffer)
	}
	bracketPairs := map[string]string{}
	for _, pair := range sortedKeys(c.LeverageBrackets) {
		if err := (trade.Liquidation{Brackets: map[string][]trade.Bracket{pair: c.LeverageBrackets[pair]}}).Validate(); err != nil {
			bad("leverage_brackets: %w", err)
		}
		key := trade.BracketKey(pair)
		if other, ok := bracketPairs[key]; ok {
			bad("leverage_brackets: %s and %s name the same market", other, pair)
		}
		bracketPairs[key] = pair
	}
	if c.Timerange != "" {
		if _, err := ParseTimerange(c.Timerange); err != nil {
			bad("timerange: %w", err)
		}
	}
	if c.Stoploss != nil && !(*c.Stoploss < 0 && *c.Stoploss >= -1) {
		bad("stoploss %v must be in [-1, 0)", *c.Stoploss)
	}
	seen := map[string]bool{}
	for _, p := range c.Exchange.PairWhitelist {
		if strings.TrimSpace(p) == "" {
			bad("exchange.pair_whitelist has an empty pair")
		}
		if seen[p] {
			bad("exchange.pair_whitelist lists %q twice", p)
		}
		seen[p] = true
		if why := pairForm(p); why != "" {
			bad("exchange.pair_whitelist: %s", why)
		}
	}
	return errors.Join(errs...)
}

// pairForm says how a pair is written when p is not written so: BASE/QUOTE
// in upper case (BTC/USDT), futures with their settle asset
// (BTC/USDT:USDT), as Freqtrade writes them; "" when p is.
func pairForm(p string) string {
	base, quote, ok := strings.Cut(p, "/")
	switch {
	case strings.TrimSpace(p) == "":
		return ""
	case !ok || base == "" || quote == "" || strings.Contains(quote, "/"):
		return fmt.Sprintf("pair %q is not BASE/QUOTE: write the base and quote asset with a slash, e.g. ETH/BTC or BTC/USDT (futures: BTC/USDT:USDT)", p)
	case strings.ToUpper(p) != p:
		return fmt.Sprintf("pair %q: pairs are written in upper case, %s", p, strings.ToUpper(p))
	}
	return ""
}

// Pairs returns the whitelist minus the blacklist, in whitelist order.
func (c *Config) Pairs() []string {
	black := map[string]bool{}
	for _, p := range c.Exchange.PairBlacklist {
		black[p] = true
	}
	var out []string
	for _, p := range c.Exchange.PairWhitelist {
		if !black[p] {
			out = append(out, p)
		}
	}
	return out
}

// Risk returns the strategy's default risk settings overridden by those the
// config names.
func (c *Config) Risk(def sdk.Risk) sdk.Risk {
	r := def
	if c.MinimalROI != nil {
		r.MinimalROI = *c.MinimalROI
	}
	if c.Stoploss != nil {
		r.Stoploss = *c.Stoploss
	}
	if c.TrailingStop != nil {
		r.TrailingStop = *c.TrailingStop
	}
	if c.TrailingStopPositive != nil {
		r.TrailingStopPositive = *c.TrailingStopPositive
	}
	if c.TrailingStopPositiveOffset != nil {
		r.TrailingStopPositiveOffset = *c.TrailingStopPositiveOffset
	}
	if c.TrailingOnlyOffsetIsReached != nil {
		r.TrailingOnlyOffsetIsReached = *c.TrailingOnlyOffsetIsReached
	}
	return r
}

// into decodes one value, turning type errors into "want X, got Y".
func into(raw json.RawMessage, v any) error {
	if err := strictUnmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("wrong type: want %s, got JSON %s", te.Type, te.Value)
		}
		return err
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// jsonPosition is where in data a JSON decoding error happened, "line L,
// column C: " (1-based, columns in bytes), or "" when err does not say.
func jsonPosition(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // the offending byte is the last one read
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(data))
	}
	if off < 0 || off > int64(len(data)) {
		return ""
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("line %d, column %d (the end of the file): ", line, col)
	}
	return fmt.Sprintf("line %d, column %d: ", line, col)
}

// known lists every key decode accepts, for suggestions.
var known = []string{
	"strategy", "strategy_params", "timeframe", "timerange", "datadir", "exchange",
	"stake_currency", "stake_amount", "dry_run_wallet", "tradable_balance_ratio",
	"max_open_trades", "fee", "slippage", "minimal_roi", "stoploss", "trailing_stop",
	"trailing_stop_positive", "trailing_stop_positive_offset",
	"trailing_only_offset_is_reached", "use_exit_signal", "exit_profit_only",
	"exit_profit_offset", "ignore_roi_if_entry_signal", "trading_mode", "margin_mode",
	"leverage", "fill_model", "liquidation_buffer", "leverage_brackets",
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest names the closest known key when k looks like a typo of it.
func suggest(k string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := distance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
