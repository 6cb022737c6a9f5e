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
