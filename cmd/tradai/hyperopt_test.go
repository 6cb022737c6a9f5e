package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/optimize"
)

// A hyperopt of the bundled example writes the best parameters, and a
// backtest of them repeats the best trial; the same seed and jobs repeat
// the study.
func TestHyperoptThenBacktest(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	file := filepath.Join(dir, "best.json")
	args := []string{"hyperopt", "-c", "examples/backtest.json", "-s", "sma_cross", "--spaces", "buy", "roi", "stoploss", "trailing",
		"--epochs", "40", "--loss", "sharpe", "--seed", "5", "--jobs", "2", "--pairs", "ETH/BTC", "--export-params", file, "--report", filepath.Join(dir, "study.html")}
	out, _, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"spaces buy roi stoploss trailing", "40 trials in", "Best result:", "Deflated Sharpe ratio: ", "Probability of backtest overfitting: ", "Overfitting (", "Likely overfit: ", "buy_params = {", "minimal_roi = {", "stoploss = -0.", "trailing_stop = True", "Parameters written to " + file} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "study.html"))
	if err != nil || !strings.Contains(string(page), `id="overfitting"`) || !strings.Contains(out, "Study report written to") {
		t.Errorf("study report: %v", err)
	}
	again, _, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	bestLines := func(s string) string {
		return strings.Join(regexp.MustCompile(`(?m)^\* Best.*$`).FindAllString(s, -1), "\n")
	}
	if bestLines(out) != bestLines(again) || bestLines(out) == "" {
		t.Errorf("same seed, different studies:\n%s\n---\n%s", bestLines(out), bestLines(again))
	}
	f, err := optimize.ReadParams(file)
	if err != nil {
		t.Fatal(err)
	}
	if f.StrategyName != "sma_cross" || f.Params.Buy["fast"] == nil || f.Params.ROI == nil || !f.Params.Trailing.TrailingStop {
		t.Errorf("parameter file %+v", f.Params)
	}
	// The best line's profit, e.g. "-0.016 BTC (-1.65%)", is the backtest's.
	best := regexp.MustCompile(`Best result:\n.*?(-?\d+\.\d{3}) BTC \((-?\d+\.\d{2})%\)`).FindStringSubmatch(out)
	if best == nil {
		t.Fatalf("no best line in:\n%s", out)
	}
	bt, _, err := execute(t, "backtest", "-c", "examples/backtest.json", "-s", "sma_cross", "--pairs", "ETH/BTC", "--params", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bt, best[1]+" BTC") || !strings.Contains(bt, best[2]+"%") {
		t.Errorf("backtest of the best parameters does not show %s BTC (%s%%):\n%s", best[1], best[2], bt)
	}
}

func TestHyperoptErrors(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"strategy_name": "rsi_bollinger", "params": {}, "ft_stratparam_v": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"hyperopt", "-c", "examples/backtest.json", "-s", "sma_cross", "--export-params", filepath.Join(dir, "x.json")}
	cases := []struct {
		args []string
		want string
	}{
		{append(base, "--loss", "SharpeLoss"), `--loss: unknown loss function "SharpeLoss" (known: ShortTradeDurHyperOptLoss (short_trade_dur)`},
		{append(base, "--sampler", "annealing"), `--sampler: unknown sampler "annealing" (known: cmaes, grid, random, tpe)`},
		{append(base, "--spaces", "sell"), "--spaces sell: strategy sma_cross declares no sell parameter"},
		{append(base, "--spaces", "buy,protection"), `--spaces: unknown space "protection"`},
		{append(base, "--epochs", "0"), "--epochs: 0 is not a positive number"},
		{append(base, "--jobs", "-1"), "--jobs: -1 is negative"},
		{append(base, "stray"), `unknown command "stray"`},
		{[]string{"backtest", "-c", "examples/backtest.json", "-s", "sma_cross", "--params", other}, "the parameter file is for strategy rsi_bollinger, not sma_cross"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--params", filepath.Join(dir, "none.json")}, "--params: strategy parameter file"},
		{[]string{"backtest", "-c", "examples/backtest.json", "--params", other, "--remote", "http://127.0.0.1:1"}, "--params goes with a local backtest"},
	}
	for _, tc := range cases {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
