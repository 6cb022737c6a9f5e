package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
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

// walkforward --remote runs the analysis on the server's worker and
// writes the same files as a local run with the same seed and jobs.
func TestRemoteWalkforward(t *testing.T) {
	remoteEnv(t)
	t.Setenv("TRADAI_DATABASE", "")
	t.Chdir("../..")
	s := clienttest.Start(t, clienttest.Options{})
	dir := t.TempDir()
	args := []string{"walkforward", "-c", "examples/backtest.json", "-s", "sma_cross", "--pairs", "ETH/BTC", "--spaces", "buy", "roi", "stoploss",
		"--train", "8d", "--test", "4d", "--epochs", "12", "--seed", "3", "--jobs", "2"}
	files := func(prefix string) []string {
		return []string{"--export-json", filepath.Join(dir, prefix+".json"), "--report", filepath.Join(dir, prefix+".html"), "--oos-report", filepath.Join(dir, prefix+"-oos.html")}
	}
	if _, errOut, err := execute(t, append(args, files("local")...)...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	out, errOut, err := execute(t, append(append(args, files("remote")...), "--remote", s.URL, "--home", s.Home)...)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "submitted walk-forward run_") || !strings.Contains(errOut, "completed: 100%") {
		t.Errorf("progress lines: %q", errOut)
	}
	for _, ext := range []string{".json", ".html", "-oos.html"} {
		local, err1 := os.ReadFile(filepath.Join(dir, "local"+ext))
		remote, err2 := os.ReadFile(filepath.Join(dir, "remote"+ext))
		if err1 != nil || err2 != nil || len(local) == 0 || string(local) != string(remote) {
			t.Errorf("%s: the remote file differs from the local one (%v %v, %d and %d bytes)", ext, err1, err2, len(local), len(remote))
		}
	}
	if _, _, err := execute(t, append(args, "--remote", s.URL, "--home", s.Home, "--datadir", "x")...); err == nil || !strings.Contains(err.Error(), "--datadir is for a local") {
		t.Errorf("--datadir with --remote: %v", err)
	}
	if _, _, err := execute(t, "walkforward", "-c", "examples/backtest.json", "-s", "sma_cross", "--train", "8d", "--test", "4d", "--step", "2d", "--remote", s.URL, "--home", s.Home); err == nil || !strings.Contains(err.Error(), "step") {
		t.Errorf("a bad --step on the server: %v", err)
	}
}
