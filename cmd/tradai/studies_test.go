package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// hyperopt --remote runs a study on the server's workers and writes the
// best parameters; tradai studies lists, shows and exports it, over the
// API and on the local database alike.
func TestRemoteHyperoptAndStudies(t *testing.T) {
	remoteEnv(t)
	t.Setenv("TRADAI_DATABASE", "")
	t.Chdir("../..")
	s := clienttest.Start(t, clienttest.Options{})
	dir := t.TempDir()
	params := filepath.Join(dir, "best.json")
	out, errOut, err := execute(t, "hyperopt", "--remote", s.URL, "--home", s.Home, "--config", "examples/backtest.json", "--strategy", "sma_cross",
		"--timerange", "20180110-20180112", "--pairs", "ETH/BTC", "--spaces", "buy", "stoploss", "--epochs", "12", "--seed", "5", "--batch", "4",
		"--export-params", params)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "submitted study run_") || !strings.Contains(errOut, "completed: 12/12 trials done") {
		t.Errorf("progress lines: %q", errOut)
	}
	for _, want := range []string{"Best 10 trials:", "Parameter importance", "Parameters written to " + params} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var pf struct {
		StrategyName string `json:"strategy_name"`
	}
	if b, err := os.ReadFile(params); err != nil || json.Unmarshal(b, &pf) != nil || pf.StrategyName != "sma_cross" {
		t.Fatalf("parameter file: %v %+v", err, pf)
	}
	// The file is what backtest --params reads.
	if _, errOut, err := execute(t, "backtest", "--config", "examples/backtest.json", "--strategy", "sma_cross", "--timerange", "20180110-20180112", "--params", params); err != nil {
		t.Fatalf("backtest --params: %v\n%s", err, errOut)
	}
	for _, mode := range [][]string{{"--remote", s.URL, "--home", s.Home}, {"--home", s.Home}} {
		list, _, err := execute(t, append([]string{"studies", "list"}, mode...)...)
		if err != nil || !strings.Contains(list, "completed") || !strings.Contains(list, "12/12") {
			t.Fatalf("studies list %v: %v\n%s", mode, err, list)
		}
		id := strings.Fields(strings.Split(list, "\n")[1])[0]
		reportPath := filepath.Join(t.TempDir(), "r.html")
		show, _, err := execute(t, append([]string{"studies", "show", id, "--top", "3", "--report", reportPath}, mode...)...)
		if err != nil || !strings.Contains(show, "Best 3 trials:") || !strings.Contains(show, "fast=") {
			t.Fatalf("studies show %v: %v\n%s", mode, err, show)
		}
		if html, err := os.ReadFile(reportPath); err != nil || !strings.Contains(string(html), "Convergence") || !strings.Contains(string(html), "Overfitting") {
			t.Fatalf("studies show --report %v: %v", mode, err)
		}
		best, _, err := execute(t, append([]string{"studies", "best", id}, mode...)...)
		if err != nil || !strings.Contains(best, "stoploss=") {
			t.Fatalf("studies best %v: %v\n%s", mode, err, best)
		}
		exported, _, err := execute(t, append([]string{"studies", "export", id, "-o", "-"}, mode...)...)
		if err != nil || !strings.Contains(exported, `"strategy_name": "sma_cross"`) {
			t.Fatalf("studies export %v: %v\n%s", mode, err, exported)
		}
		if _, _, err := execute(t, append([]string{"studies", "export", id, "--as-version"}, mode...)...); err == nil || !strings.Contains(err.Error(), "built-in") {
			t.Fatalf("studies export --as-version of a built-in's study %v: %v", mode, err)
		}
		if _, _, err := execute(t, append([]string{"studies", "cancel", id}, mode...)...); err == nil || !strings.Contains(err.Error(), "completed") {
			t.Fatalf("cancel a completed study %v: %v", mode, err)
		}
	}
	if _, _, err := execute(t, "studies", "show", "run_nope", "--remote", s.URL, "--home", s.Home); err == nil || !strings.Contains(err.Error(), "no study") {
		t.Fatalf("unknown study: %v", err)
	}
}
