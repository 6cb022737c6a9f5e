package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A walk-forward of the bundled example prints a line per window and the
// stitched result, writes its reports, and repeats with the same seed.
func TestWalkforward(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	args := []string{"walkforward", "-c", "examples/backtest.json", "-s", "sma_cross", "--pairs", "ETH/BTC", "--spaces", "buy", "roi", "stoploss",
		"--train", "8d", "--test", "4d", "--epochs", "20", "--seed", "3", "--jobs", "2",
		"--report", filepath.Join(dir, "wf.html"), "--export-json", filepath.Join(dir, "wf.json"), "--oos-report", filepath.Join(dir, "oos.html")}
	out, _, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 rolling windows (train 8d, test 4d, step 4d)", "Out of sample, stitched", "Walk-forward efficiency", "Walk-forward report written to"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"wf.html", "wf.json", "oos.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	again, _, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\d+ +\d{4}-.*$`)
	if a, b := rows.FindAllString(out, -1), rows.FindAllString(again, -1); strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) != 2 {
		t.Errorf("same seed, different windows:\n%v\n%v", a, b)
	}
}

func TestWalkforwardErrors(t *testing.T) {
	t.Chdir("../..")
	base := []string{"walkforward", "-c", "examples/backtest.json", "-s", "sma_cross", "--epochs", "5"}
	cases := []struct {
		args []string
		want string
	}{
		{append(base, "--test", "4d"), "--train is required"},
		{append(base, "--train", "8d"), "--test is required"},
		{append(base, "--train", "8 days", "--test", "4d"), `--train: "8 days" is not a length such as 90d`},
		{append(base, "--train", "8d", "--test", "0d"), `--test: "0d" is empty`},
		{append(base, "--train", "8d", "--test", "4d", "--step", "2d"), "--step: 2d is shorter than --test 4d"},
		{append(base, "--train", "30d", "--test", "10d"), "--train 30d and --test 10d need 40d of candles, the data has"},
		{append(base, "--train", "8d", "--test", "4d", "--loss", "nope"), `--loss: unknown loss function "nope"`},
	}
	for _, tc := range cases {
		_, _, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args[5:], err, tc.want)
		}
	}
}
