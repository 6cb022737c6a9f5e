package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFreqtradeConfig(t *testing.T) {
	t.Parallel()
	data := `{
	  "$schema": "https://schema.freqtrade.io/schema.json",
	  "bot_name": "mybot",
	  "strategy": "sma_cross",
	  "timeframe": "5m",
	  "datadir": "user_data/data",
	  "exchange": {"name": "binance", "key": "", "secret": "", "pair_whitelist": ["ETH/BTC", "LTC/BTC", "XMR/BTC"], "pair_blacklist": ["LTC/BTC"]},
	  "stake_currency": "BTC",
	  "stake_amount": 0.05,
	  "dry_run_wallet": 1,
	  "tradable_balance_ratio": 0.99,
	  "max_open_trades": 2,
	  "fee": 0.0015,
	  "minimal_roi": {"60": 0.01, "0": 0.04, "30": 0.02},
	  "stoploss": -0.1,
	  "trailing_stop": true,
	  "trailing_stop_positive": 0.01,
	  "trailing_stop_positive_offset": 0.02,
	  "trailing_only_offset_is_reached": true,
	  "use_exit_signal": false,
	  "exit_profit_only": true,
	  "ignore_roi_if_entry_signal": true,
	  "telegram": {"enabled": false}
	}`
	c, err := Parse([]byte(data), "cfg.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.StakeUnlimited || c.StakeAmount != 0.05 || c.MaxOpenTrades != 2 || c.Fee != 0.0015 {
		t.Fatalf("stake/max/fee wrong: %+v", c)
	}
	if got := c.Pairs(); len(got) != 2 || got[0] != "ETH/BTC" || got[1] != "XMR/BTC" {
		t.Fatalf("pairs %v", got)
	}
	roi := *c.MinimalROI
	if len(roi) != 3 || roi[0].Minutes != 0 || roi[1].Minutes != 30 || roi[2].Ratio != 0.01 {
		t.Fatalf("roi not sorted by age: %+v", roi)
	}
	if c.UseExitSignal || !c.ExitProfitOnly || !c.IgnoreROIIfEntrySignal || !*c.TrailingOnlyOffsetIsReached {
		t.Fatalf("booleans wrong: %+v", c)
	}
	want := "$schema bot_name exchange.key exchange.secret telegram"
	if got := strings.Join(c.Ignored, " "); got != want {
		t.Fatalf("ignored %q, want %q", got, want)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`{"strategy":"sma_cross"}`), "x.json")
	if err != nil {
		t.Fatal(err)
	}
	if !c.StakeUnlimited || c.MaxOpenTrades != 3 || c.DryRunWallet != 1000 || c.Fee != 0.001 || !c.UseExitSignal || c.TradingMode != "spot" || c.Leverage != 1 {
		t.Fatalf("defaults wrong: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, data, want string }{
		{"unknown key with suggestion", `{"stoplos": -0.1}`, `config bad.json: unknown key "stoplos" (did you mean "stoploss"?)`},
		{"unknown key", `{"foo": 1}`, `unknown key "foo"`},
		{"unknown exchange key", `{"exchange": {"name": "binance", "pairs": []}}`, `unknown key "exchange.pairs"`},
		{"wrong type", `{"fee": "0.1"}`, `key "fee": wrong type: want float64, got JSON string`},
		{"wrong stake", `{"stake_amount": "all"}`, `key "stake_amount": must be a number or "unlimited", got "all"`},
		{"null", `{"stoploss": null}`, `key "stoploss": null is not a value`},
		{"not an object", `[1,2]`, `a config is a JSON object ({"strategy": …}), not a JSON array`},
		{"truncated", `{"fee": 0.1`, `line 1, column 12 (the end of the file): invalid JSON`},
		{"trailing data", `{"fee": 0.001} {}`, `trailing data`},
		{"bad timeframe", `{"timeframe": "7m"}`, `key "timeframe": unknown timeframe "7m"`},
		{"bad roi key", `{"minimal_roi": {"ten": 0.1}}`, `minimal_roi key "ten" is not a whole number of minutes`},
		{"positive stoploss", `{"stoploss": 0.1}`, `stoploss 0.1 must be in [-1, 0)`},
		{"unlimited needs max trades", `{"max_open_trades": -1}`, `stake_amount "unlimited" needs a positive max_open_trades`},
		{"fractional max trades", `{"max_open_trades": 2.5}`, `must be a whole number`},
		{"leverage in spot", `{"leverage": 3}`, `leverage 3 needs trading_mode "futures"`},
		{"unknown fill model", `{"fill_model": "optimistic"}`, `fill_model: unknown fill model "optimistic" (known: realistic, freqtrade)`},
		{"fill model not a string", `{"fill_model": 1}`, `key "fill_model": wrong type`},
		{"liquidation buffer", `{"liquidation_buffer": 1}`, `liquidation_buffer 1 must be in [0, 1)`},
		{"bracket unknown field", `{"leverage_brackets": {"BTC/USDT": [{"floor": 0}]}}`, `key "leverage_brackets": json: unknown field "floor"`},
		{"bracket without ratio", `{"leverage_brackets": {"BTC/USDT": [{"notional_floor": 0}]}}`, `leverage_brackets: BTC/USDT: bracket 1: maintenance margin ratio 0 must be in (0, 1)`},
		{"brackets twice", `{"leverage_brackets": {"BTC/USDT": [{"maint_margin_ratio": 0.01}], "BTC/USDT:USDT": [{"maint_margin_ratio": 0.01}]}}`, `leverage_brackets: BTC/USDT and BTC/USDT:USDT name the same market`},
		{"bad mode", `{"trading_mode": "margin"}`, `trading_mode "margin" must be "spot" or "futures"`},
		{"cross margin", `{"trading_mode": "futures", "margin_mode": "cross"}`, `margin_mode "cross" is not supported`},
		{"fee range", `{"fee": 0.5}`, `fee 0.5 must be in [0, 0.1)`},
		{"bad timerange", `{"timerange": "2018-2019"}`, `timerange`},
		{"trailing comma", "{\n  \"strategy\": \"sma_cross\",\n}", `line 3, column 1: invalid JSON: invalid character '}'`},
		{"cut short", "{\"strategy\": \"x\",\n \"fee\": ", `line 2, column 9 (the end of the file): invalid JSON`},
		{"pair without slash", `{"exchange": {"pair_whitelist": ["ETHBTC"]}}`, `pair "ETHBTC" is not BASE/QUOTE: write the base and quote asset with a slash, e.g. ETH/BTC`},
		{"lower-case pair", `{"exchange": {"pair_whitelist": ["eth/btc"]}}`, `pair "eth/btc": pairs are written in upper case, ETH/BTC`},
		{"duplicate pair", `{"exchange": {"pair_whitelist": ["A/B", "A/B"]}}`, `lists "A/B" twice`},
		{"absurd wallet", `{"dry_run_wallet": 1e308}`, `dry_run_wallet 1e+308 must be positive and at most 1e+15`},
		{"absurd stake", `{"stake_amount": 1e16}`, `stake_amount 1e+16 must be positive and at most 1e+15`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.data), "bad.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
				t.Fatalf("got %v, want an error naming bad.json containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadExampleConfig(t *testing.T) {
	t.Parallel()
	c, err := Load("../../examples/backtest.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Strategy == "" || len(c.Pairs()) == 0 {
		t.Fatalf("example config lacks strategy or pairs: %+v", c)
	}
}

func TestTimerange(t *testing.T) {
	t.Parallel()
	tr, err := ParseTimerange("20180101-20180201")
	if err != nil || tr.Start != 1514764800000 || tr.End != 1517443200000 {
		t.Fatalf("got %+v %v", tr, err)
	}
	if !tr.Contains(1514764800000) || tr.Contains(1517443200000) {
		t.Fatal("start must be inclusive and end exclusive")
	}
	if tr, err := ParseTimerange("20180101-"); err != nil || tr.End != 0 || tr.Start == 0 {
		t.Fatalf("open end: %+v %v", tr, err)
	}
	if tr, err := ParseTimerange("-20180101"); err != nil || tr.Start != 0 {
		t.Fatalf("open start: %+v %v", tr, err)
	}
	for _, bad := range []string{"", "-", "2018", "20181301-", "20180201-20180101", "20180101-20180101", "2018-01-15", "+1515974400-", "151597440-"} {
		if _, err := ParseTimerange(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	// Freqtrade's Unix-time form, in seconds or milliseconds, means the same
	// as the dates.
	for _, s := range []string{"1514764800-1517443200", "1514764800000-1517443200000", "20180101-1517443200"} {
		if got, err := ParseTimerange(s); err != nil || got != tr {
			t.Errorf("%q = %+v, %v; want %+v", s, got, err, tr)
		}
	}
	// A date written another way gets the expected form with an example.
	_, err = ParseTimerange("2018-01-15")
	if err == nil || !strings.Contains(err.Error(), "e.g. 20180115-20180125") || !strings.Contains(err.Error(), "1515974400-1516406400") {
		t.Errorf("2018-01-15: %v; want the expected form with examples", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"strategy":"sma_cross","stake_amount":"unlimited","minimal_roi":{"0":0.1}}`))
	f.Add([]byte(`{"exchange":{"name":"binance","pair_whitelist":["A/B"]},"max_open_trades":-1,"stake_amount":10}`))
	f.Add([]byte(`{"strategy":"x","order_types":{"entry":"limit","stoploss":"market","stoploss_on_exchange":true,"stoploss_on_exchange_limit_ratio":0.99},"unfilledtimeout":{"entry":10,"exit":30,"unit":"seconds"}}`))
	if b, err := os.ReadFile("../../examples/backtest.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
	})
}

// order_types and unfilledtimeout are a deployment's order settings,
// with Freqtrade's keys and values; a backtest still lists them as
// ignored.
func TestOrders(t *testing.T) {
	base := `{"strategy": "sma_cross", "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT"]}%s}`
	c, err := Parse([]byte(fmt.Sprintf(base, "")), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Orders(); got != (Orders{StopOnVenue: true, StopLimitRatio: 0.99, EntryTimeout: 10 * time.Minute, ExitTimeout: 10 * time.Minute}) {
		t.Fatalf("defaults: %+v", got)
	}
	c, err = Parse([]byte(fmt.Sprintf(base, `, "order_types": {"entry": "limit", "exit": "limit", "emergency_exit": "market", "force_entry": "market",
		"force_exit": "market", "stoploss": "limit", "stoploss_on_exchange": false, "stoploss_on_exchange_interval": 60,
		"stoploss_on_exchange_limit_ratio": 0.98}, "unfilledtimeout": {"entry": 30, "exit": 45, "exit_timeout_count": 0, "unit": "seconds"}`)), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Orders{EntryLimit: true, ExitLimit: true, StopLimit: true, StopLimitRatio: 0.98, EntryTimeout: 30 * time.Second, ExitTimeout: 45 * time.Second}
	if got := c.Orders(); got != want {
		t.Fatalf("orders %+v, want %+v", got, want)
	}
	if !slices.Contains(c.Ignored, "order_types") || !slices.Contains(c.Ignored, "unfilledtimeout") {
		t.Fatalf("ignored by a backtest: %v", c.Ignored)
	}
	for _, bad := range []string{
		`, "order_types": {"entry": "limt"}`,
		`, "order_types": {"stoploss_on_exchange_limit_ratio": 1.5}`,
		`, "order_types": {"entry": "limit", "exitt": "limit"}`,
		`, "unfilledtimeout": {"entry": 10, "unit": "hours"}`,
		`, "unfilledtimeout": {"entry": -1}`,
	} {
		if _, err := Parse([]byte(fmt.Sprintf(base, bad)), "c.json"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
