package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/config"
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

// The binary's own backtest process (one-shot: its heap readied for the
// files, which are written uncollected) writes the files the command
// writes in a process that does other work: byte for byte.
func TestBacktestOneShotWritesTheSameFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI in a child process")
	}
	t.Chdir("../..")
	dir := t.TempDir()
	args := func(name string) []string {
		return []string{"backtest", "--config", "examples/backtest.json",
			"--export-json", filepath.Join(dir, name+".json"), "--report", filepath.Join(dir, name+".html")}
	}
	if _, _, err := execute(t, args("in")...); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRADAI_MAIN=1", "TRADAI_ARGS="+strings.Join(args("own"), "\x1f"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, ext := range []string{".json", ".html"} {
		in, err := os.ReadFile(filepath.Join(dir, "in"+ext))
		if err != nil {
			t.Fatal(err)
		}
		own, err := os.ReadFile(filepath.Join(dir, "own"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, own) {
			t.Errorf("the %s file of the binary's own process differs", ext)
		}
	}
}

// A backtest that fails (on a pair without data, or cancelled) leaves
// nothing in the folder of its --export-json and --report.
func TestBacktestFailedLeavesNoFiles(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	files := []string{"--export-json", filepath.Join(dir, "r.json"), "--report", filepath.Join(dir, "r.html")}
	if _, _, err := execute(t, append([]string{"backtest", "-c", "examples/backtest.json", "--pairs", "FOO/BTC"}, files...)...); err == nil {
		t.Fatal("a backtest of a pair without data succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := executeCtx(ctx, io.Discard, io.Discard, append([]string{"backtest", "-c", "examples/backtest.json"}, files...)...); err == nil {
		t.Fatal("a cancelled backtest succeeded")
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("%s left in the files' folder", left[0].Name())
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
		{[]string{"backtest", "-c", "examples/backtest.json", "--timerange", "20200101-"}, "the stored candles run from 2018-01-10 04:55 UTC to 2018-01-30 04:50 UTC"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--timerange", "2018-01-15"}, "e.g. 20180115-20180125"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--pairs", "ETHBTC"}, "e.g. ETH/BTC"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--pairs", "eth/btc"}, "upper case, ETH/BTC"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--datadir", "no/such/folder"}, "the market data folder no/such/folder does not exist"},
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

// backtest --datadir overrides the config's datadir, as it does for every
// other command that reads candles.
func TestBacktestDatadirFlag(t *testing.T) {
	t.Chdir("../..")
	empty := t.TempDir()
	_, _, err := execute(t, "backtest", "-c", "examples/backtest.json", "--datadir", empty)
	if err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("backtest on an empty --datadir: %v; want an error naming %s", err, empty)
	}
	if _, _, err := execute(t, "backtest", "-c", "examples/backtest.json", "--datadir", "examples/data", "--timerange", "20180115-20180116"); err != nil {
		t.Fatalf("backtest --datadir examples/data: %v", err)
	}
	_, _, err = execute(t, "backtest", "-c", "examples/backtest.json", "--datadir", empty, "--remote", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "--datadir is for a local backtest") {
		t.Fatalf("--datadir with --remote: %v", err)
	}
}

// Every command with a --datadir flag follows the one rule the root help
// states: the same help text and the same default.
func TestEveryDatadirFlagFollowsOneRule(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	var with []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		f := c.Flags().Lookup("datadir")
		if f == nil {
			f = c.PersistentFlags().Lookup("datadir")
		}
		if f != nil {
			with = append(with, c.CommandPath())
			if f.Usage != datadirHelp {
				t.Errorf("%s --datadir: help %q, want %q", c.CommandPath(), f.Usage, datadirHelp)
			}
			if f.DefValue != "" && f.DefValue != config.DefaultDatadir {
				t.Errorf("%s --datadir: default %q, want the config's or %s", c.CommandPath(), f.DefValue, config.DefaultDatadir)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{"tradai backtest", "tradai strategy check", "tradai serve", "tradai worker", "tradai sim", "tradai data"} {
		if !slices.Contains(with, want) {
			t.Errorf("%s has no --datadir (commands with one: %v)", want, with)
		}
	}
	if !strings.Contains(root.Long, config.DefaultDatadir) {
		t.Error("the root help does not state the data folder rule")
	}
}
