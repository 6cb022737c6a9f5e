package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// TestTrading: the trade core's settings say what the config's keys say,
// with the strategy's risk and timeframe where the config names none.
func TestTrading(t *testing.T) {
	t.Parallel()
	spec := sdk.Spec{Timeframe: "1h", Risk: sdk.Risk{Stoploss: -0.2, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.1}}}}
	cases := []struct {
		name      string
		js        string
		wantRules trade.Rules
		wantAcct  trade.Account
	}{
		{
			name: "defaults and the strategy's risk",
			js:   `{"strategy":"x"}`,
			wantRules: trade.Rules{Risk: spec.Risk, UseExitSignal: true, Fee: 0.001, Leverage: 1, TimeframeMinutes: 60,
				Liquidation: trade.Liquidation{Brackets: trade.BinanceBrackets(), Buffer: 0.05}},
			wantAcct: trade.Account{StartingBalance: 1000, TradableBalanceRatio: 0.99, MaxOpenTrades: 3},
		},
		{
			name: "every key",
			js: `{"strategy":"x","timeframe":"5m","stake_amount":50,"dry_run_wallet":500,"tradable_balance_ratio":0.5,
				"max_open_trades":-1,"fee":0.002,"slippage":0.001,"stoploss":-0.05,"use_exit_signal":false,
				"exit_profit_only":true,"exit_profit_offset":0.01,"ignore_roi_if_entry_signal":true,
				"trading_mode":"futures","margin_mode":"isolated","leverage":3,"liquidation_buffer":0.1,
				"leverage_brackets":{"BTC/USDT:USDT":[{"notional_floor":0,"maint_margin_ratio":0.01,"maint_amount":0}],
				"ETH/BTC":[{"notional_floor":0,"maint_margin_ratio":0.02},{"notional_floor":10,"maint_margin_ratio":0.03,"maint_amount":0.1}]}}`,
			wantRules: trade.Rules{Risk: sdk.Risk{Stoploss: -0.05, MinimalROI: spec.Risk.MinimalROI},
				ExitProfitOnly: true, ExitProfitOffset: 0.01, IgnoreROIIfEntrySignal: true,
				Fee: 0.002, Slippage: 0.001, Leverage: 3, Futures: true, TimeframeMinutes: 5,
				Liquidation: trade.Liquidation{Buffer: 0.1, Brackets: func() map[string][]trade.Bracket {
					b := trade.BinanceBrackets()
					b["BTC/USDT"] = []trade.Bracket{{MaintMarginRatio: 0.01}}
					b["ETH/BTC"] = []trade.Bracket{{MaintMarginRatio: 0.02}, {NotionalFloor: 10, MaintMarginRatio: 0.03, MaintAmount: 0.1}}
					return b
				}()}},
			wantAcct: trade.Account{StartingBalance: 500, StakeAmount: 50, TradableBalanceRatio: 0.5, MaxOpenTrades: -1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tc.js), "x.json")
			if err != nil {
				t.Fatal(err)
			}
			rules, acct, err := c.Trading(spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rules, tc.wantRules) {
				t.Errorf("rules\n got %+v\nwant %+v", rules, tc.wantRules)
			}
			if acct != tc.wantAcct {
				t.Errorf("account %+v, want %+v", acct, tc.wantAcct)
			}
			if err := acct.Validate(); err != nil {
				t.Errorf("a valid config gives an account the portfolio refuses: %v", err)
			}
		})
	}
	c, err := Parse([]byte(`{"strategy":"x","trailing_stop":true,"trailing_stop_positive":0.05,"trailing_stop_positive_offset":0.01}`), "x.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Trading(spec); err == nil || !strings.HasPrefix(err.Error(), "risk settings: ") {
		t.Fatalf("invalid risk: %v", err)
	}
}

func TestFill(t *testing.T) {
	t.Parallel()
	for data, want := range map[string]string{
		`{}`:                          "realistic",
		`{"fill_model": "realistic"}`: "realistic",
		`{"fill_model": "freqtrade"}`: "freqtrade",
	} {
		c, err := Parse([]byte(data), "x.json")
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Fill()
		if err != nil || m.Name() != want {
			t.Fatalf("%s: fill model %v (%v), want %s", data, m, err, want)
		}
	}
}

// When the config and the strategy name different timeframes, the note
// says the config's wins and how to get the strategy's; otherwise nothing.
func TestTimeframeNote(t *testing.T) {
	c := Default()
	c.Timeframe = "5m"
	if got := c.TimeframeNote(sdk.Spec{Timeframe: "1h"}); !strings.Contains(got, "config's timeframe 5m overrides the strategy's 1h") || !strings.Contains(got, "drop \"timeframe\"") {
		t.Errorf("note = %q", got)
	}
	for _, tc := range []struct{ cfg, strat sdk.Timeframe }{{"5m", "5m"}, {"", "1h"}, {"5m", ""}} {
		c.Timeframe = tc.cfg
		if got := c.TimeframeNote(sdk.Spec{Timeframe: tc.strat}); got != "" {
			t.Errorf("config %q, strategy %q: note %q, want none", tc.cfg, tc.strat, got)
		}
	}
}
