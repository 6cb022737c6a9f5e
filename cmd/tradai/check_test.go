package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStrategyCheckPasses(t *testing.T) {
	t.Chdir("../..")
	out, _, err := execute(t, "strategy", "check", "sma_cross", "--config", "examples/backtest.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"CHECK", "RESULT", "DETAILS", "lookahead", "startup", "determinism", "mutation", "schema", "DASH/BTC", "PASS", "All checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a check failed:\n%s", out)
	}
}

func TestStrategyCheckJSON(t *testing.T) {
	t.Chdir("../..")
	out, _, err := execute(t, "strategy", "check", "-s", "sma_cross", "--datadir", "examples/data", "--exchange", "binance",
		"--pairs", "ETH/BTC,LTC/BTC", "--timerange", "20180115-20180125", "--samples", "20", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Strategy string `json:"strategy"`
		Passed   bool   `json:"passed"`
		Samples  int    `json:"samples"`
		Checks   []struct {
			Name, Pair, Status string
			Sampled            int
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Strategy != "sma_cross" || !rep.Passed || rep.Samples != 20 || len(rep.Checks) != 1+2*5 {
		t.Fatalf("%+v", rep)
	}
	for _, c := range rep.Checks {
		if c.Status != "pass" {
			t.Errorf("%+v", c)
		}
		if c.Name == "lookahead" && (c.Sampled == 0 || c.Sampled > 60) {
			t.Errorf("lookahead sampled %d with --samples 20", c.Sampled)
		}
	}
}

// The example Python strategy that peeks at the next candle fails the
// look-ahead check: the command reports it and exits 1 without a second
// error message.
func TestStrategyCheckFails(t *testing.T) {
	t.Chdir("../..")
	const bad = "examples/strategies/python/lookahead_bad.py"
	out, _, err := execute(t, "strategy", "check", "-c", "examples/backtest.json", "-s", bad, "--pairs", "ETH/BTC")
	if !errors.Is(err, errSilent) {
		t.Fatalf("got %v, want errSilent", err)
	}
	for _, want := range []string{"FAIL", "Failures:", "lookahead ETH/BTC:", "checks failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = execute(t, "strategy", "check", "-c", "examples/backtest.json", "-s", bad, "--pairs", "ETH/BTC", "--json")
	var rep struct {
		Passed bool `json:"passed"`
	}
	if !errors.Is(err, errSilent) || json.Unmarshal([]byte(out), &rep) != nil || rep.Passed {
		t.Fatalf("--json on a failing strategy: %v, %s", err, out)
	}
}

func TestStrategyCheckErrors(t *testing.T) {
	t.Chdir("../..")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "nope"}, `unknown strategy "nope"`},
		{[]string{"strategy", "check", "-s", "sma_cross"}, "--pairs"},
		{[]string{"strategy", "check", "-p", "ETH/BTC"}, "no strategy"},
		{[]string{"strategy", "check", "sma_cross", "-s", "macd_trend", "-p", "ETH/BTC"}, "given twice"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "signals"}, "nothing to check"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "sma_cross", "--pairs", "FOO/BTC"}, "FOO_BTC-5m"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "sma_cross", "--timeframe", "7m"}, "--timeframe"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "sma_cross", "--timerange", "2018"}, "timerange"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "sma_cross", "--samples", "0"}, "--samples"},
		{[]string{"strategy", "check", "-c", "examples/backtest.json", "-s", "sma_cross", "--timerange", "20190101-20190102"}, "no candles"},
	}
	for _, tc := range cases {
		_, _, err := execute(t, tc.args...)
		if err == nil || errors.Is(err, errSilent) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
