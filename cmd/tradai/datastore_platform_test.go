package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/objstore/s3store/s3storetest"
)

// A platform whose data folder is a cache of a bucket (serve
// --data-store, no --download) runs backtests, walk-forwards and studies
// of series that are only in the bucket: its empty data folder is filled
// from it, and the backtest's summary is the one of a backtest on the
// files.
func TestDataStorePlatformRuns(t *testing.T) {
	remoteEnv(t)
	t.Setenv("TRADAI_DATABASE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "test-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
	t.Chdir("../..")
	srv := s3storetest.Start(t, "team")
	files, err := filepath.Glob("examples/data/binance/*.feather")
	if err != nil || len(files) == 0 {
		t.Fatalf("example data: %v %v", files, err)
	}
	if _, _, err := execute(t, append([]string{"data", "import", "--datadir", t.TempDir(), "--data-store", srv.URL}, files...)...); err != nil {
		t.Fatalf("import into the bucket: %v", err)
	}

	home, data := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- executeCtx(ctx, out, io.Discard, "serve", "--home", home, "--datadir", data, "--data-store", srv.URL,
			"--addr", "127.0.0.1:0", "--workers", "1", "--log-level", "warn")
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	urlRe := regexp.MustCompile(`serving on (http://\S+)`)
	var url string
	waitFor(t, "the server", func() bool {
		m := urlRe.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})

	// Every run kind reads through the bucket: a walk-forward of
	// XMR/BTC and a study of ZEC/BTC on the empty folder, then a backtest.
	wf := []string{"walkforward", "-c", "examples/backtest.json", "-s", "sma_cross", "--pairs", "XMR/BTC", "--spaces", "buy",
		"--train", "8d", "--test", "4d", "--epochs", "2", "--seed", "3", "--remote", url, "--home", home}
	if _, errOut, err := execute(t, wf...); err != nil {
		t.Errorf("remote walk-forward through the bucket: %v\n%s", err, errOut)
	}
	ho := []string{"hyperopt", "--remote", url, "--home", home, "-c", "examples/backtest.json", "--strategy", "sma_cross",
		"--timerange", "20180110-20180112", "--pairs", "ZEC/BTC", "--spaces", "buy", "--epochs", "2", "--seed", "5", "--batch", "2",
		"--export-params", filepath.Join(t.TempDir(), "best.json")}
	if _, errOut, err := execute(t, ho...); err != nil {
		t.Errorf("remote study through the bucket: %v\n%s", err, errOut)
	}

	bt := []string{"backtest", "-c", "examples/backtest.json", "--timerange", "20180115-20180117"}
	want, _, err := execute(t, append(bt, "--datadir", "examples/data")...)
	if err != nil {
		t.Fatal(err)
	}
	got, errOut, err := execute(t, append(bt, "--remote", url, "--home", home)...)
	if err != nil {
		t.Fatalf("remote backtest: %v\n%s", err, errOut)
	}
	if !strings.HasPrefix(got, want) {
		t.Errorf("remote backtest through the bucket:\n%s\nwant (on the files):\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(data, "binance", "ETH_BTC-5m.feather")); err != nil {
		t.Errorf("the platform's cache: %v", err)
	}
}
