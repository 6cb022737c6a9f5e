package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs(expandListArgs(args))
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// The README's main job: a backtest of the bundled example, with exports.
func TestBacktestExample(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	js, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	out, _, err := execute(t, "backtest", "--config", "examples/backtest.json", "--export-json", js, "--report", html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ETH/BTC", "TOTAL", "Max drawdown", "HTML report written"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	var doc struct {
		Trades []map[string]any `json:"trades"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Trades) == 0 {
		t.Fatalf("export: %v, %d trades", err, len(doc.Trades))
	}
	// Deterministic: a second run writes the same bytes.
	js2 := filepath.Join(dir, "r2.json")
	if _, _, err := execute(t, "backtest", "--config", "examples/backtest.json", "--export-json", js2); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(js2)
	if !bytes.Equal(b, b2) {
		t.Fatal("two runs wrote different exports")
	}
	if h, err := os.ReadFile(html); err != nil || !bytes.Contains(h, []byte("<svg")) {
		t.Fatalf("report: %v", err)
	}
}

func TestBacktestErrors(t *testing.T) {
	t.Chdir("../..")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"backtest"}, "--config is required"},
		{[]string{"backtest", "-c", "examples/backtest.json", "-s", "nope"}, `unknown strategy "nope"`},
		{[]string{"backtest", "-c", "examples/backtest.json", "--pairs", "FOO/BTC"}, "FOO_BTC-5m"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--timerange", "2018"}, "timerange"},
		{[]string{"backtest", "-c", "missing.json"}, "missing.json"},
	}
	for _, tc := range cases {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestStrategiesList(t *testing.T) {
	out, _, err := execute(t, "strategies")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sma_cross", "rsi_bollinger", "macd_trend", "signals"} {
		if !strings.Contains(out, n) {
			t.Errorf("list lacks %s", n)
		}
	}
}

// A Python strategy backtests exactly like the built-in it ports.
func TestBacktestPythonStrategy(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	trades := func(strat, name string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, _, err := execute(t, "backtest", "--config", "examples/backtest.json", "--strategy", strat, "--export-json", path); err != nil {
			t.Fatalf("%s: %v", strat, err)
		}
		var doc struct {
			Trades json.RawMessage `json:"trades"`
		}
		b, _ := os.ReadFile(path)
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		return string(doc.Trades)
	}
	want := trades("sma_cross", "builtin.json")
	got := trades("examples/strategies/python/sma_cross.py", "python.json")
	if got != want || len(want) < 100 {
		t.Errorf("the Python port traded differently from the built-in (%d vs %d bytes of trades)", len(got), len(want))
	}
}
