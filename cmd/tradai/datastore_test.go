package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/objstore/s3store/s3storetest"
	"github.com/tradai/tradai/internal/platform"
)

// Market data downloaded on machine A reaches machine B through the
// bucket: B's download finds it there and asks the exchange only for
// what is new; a backtest on B, whose data folder is empty, reads the
// series A imported and reports what a backtest on A's files reports.
func TestDataStoreAcrossMachines(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
	srv := s3storetest.Start(t, "team")
	ex, requests := fakeBinance(t, time.Now().Add(-10*24*time.Hour))
	download := func(dir string) string {
		t.Helper()
		out, _, err := execute(t, "data", "download", "--datadir", dir, "--data-store", srv.URL, "--base-url", ex.URL,
			"--pairs", "BTC/USDT", "--timeframes", "1h", "--days", "3")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := download(t.TempDir()); !strings.Contains(out, "binance BTC/USDT 1h: 7") {
		t.Fatalf("download on A:\n%s", out)
	}
	objs := srv.Objects(t)
	for _, want := range []string{"team/data/binance/BTC_USDT-1h.feather", "team/data/binance/.tradai-index.json"} {
		if !slices.Contains(objs, want) {
			t.Errorf("the bucket lacks %s: %v", want, objs)
		}
	}
	before := requests.Load()
	dirB := t.TempDir()
	if out := download(dirB); !strings.Contains(out, "binance BTC/USDT 1h: 0 new candles") {
		t.Errorf("download on B fetched again what the bucket holds:\n%s", out)
	}
	if n := requests.Load() - before; n > 1 {
		t.Errorf("B made %d requests for a series the bucket holds", n)
	}
	if _, err := os.Stat(filepath.Join(dirB, "binance", "BTC_USDT-1h.feather")); err != nil {
		t.Errorf("B's cache: %v", err)
	}

	t.Chdir("../..")
	files, err := filepath.Glob("examples/data/binance/*.feather")
	if err != nil || len(files) == 0 {
		t.Fatalf("example data: %v %v", files, err)
	}
	imp := append([]string{"data", "import", "--datadir", t.TempDir(), "--data-store", srv.URL}, files...)
	if _, _, err := execute(t, imp...); err != nil {
		t.Fatalf("import on A: %v", err)
	}
	bt := []string{"backtest", "-c", "examples/backtest.json", "--timerange", "20180115-20180117"}
	want, _, err := execute(t, append(bt, "--datadir", "examples/data")...)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := execute(t, append(bt, "--datadir", dirB, "--data-store", srv.URL)...)
	if err != nil {
		t.Fatalf("backtest on B: %v", err)
	}
	if got != want {
		t.Errorf("backtest on B through the bucket:\n%s\nwant (on the files):\n%s", got, want)
	}
	// A study and a check on another empty folder read through the
	// bucket too.
	if _, _, err := execute(t, "strategy", "check", "-c", "examples/backtest.json", "--timerange", "20180115-20180117", "--datadir", t.TempDir(), "--data-store", srv.URL); err != nil {
		t.Errorf("strategy check through the bucket: %v", err)
	}
	if _, _, err := execute(t, "hyperopt", "-c", "examples/backtest.json", "--timerange", "20180115-20180117", "--epochs", "2", "--seed", "1", "--datadir", t.TempDir(), "--data-store", srv.URL,
		"--export-params", filepath.Join(t.TempDir(), "best.json")); err != nil {
		t.Errorf("hyperopt through the bucket: %v", err)
	}

	// A corrupt object is an error naming the pair and the bucket, and
	// leaves nothing in the cache.
	srv.Tamper(t, "team/data/binance/ETH_BTC-5m.feather", []byte("not the candles"))
	dirC := t.TempDir()
	_, _, err = execute(t, append(bt, "--datadir", dirC, "--data-store", srv.URL)...)
	if err == nil || !strings.Contains(err.Error(), "ETH/BTC") || !strings.Contains(err.Error(), "s3://tradai-test/team/") {
		t.Fatalf("backtest on a corrupt object: %v, want an error naming ETH/BTC and the bucket", err)
	}
	if _, err := os.Stat(filepath.Join(dirC, "binance", "ETH_BTC-5m.feather")); !os.IsNotExist(err) {
		t.Errorf("the corrupt object reached the cache: %v", err)
	}
}

// A bucket that cannot be reached: a backtest runs on the local copy
// with a warning; without one it fails naming the bucket.
func TestDataStoreUnreachable(t *testing.T) {
	srv := s3storetest.Start(t, "")
	remote := market.Options{Remote: platform.DataBucket(srv.Store(t))}
	k := market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "5m", Type: market.Spot}
	plain, err := market.Open("../../examples/data", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := plain.Load(t.Context(), k, market.Range{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := market.OpenWith(t.TempDir(), nil, remote)
	if _, err := a.Append(t.Context(), k, f); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	b, _ := market.OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(&logs, nil)), remote)
	if _, err := b.Load(t.Context(), k, market.Range{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	remote.IndexTTL = time.Nanosecond // ask the bucket again
	b, _ = market.OpenWith(b.Dir(), slog.New(slog.NewTextHandler(&logs, nil)), remote)
	got, err := b.Load(t.Context(), k, market.Range{})
	if err != nil || got.Len() != f.Len() {
		t.Fatalf("load with the bucket down and a local copy: %v", err)
	}
	if !strings.Contains(logs.String(), "bucket unreachable; using the local copy") || !strings.Contains(logs.String(), "s3://tradai-test/") {
		t.Errorf("no warning naming the bucket:\n%s", logs.String())
	}
	c, _ := market.OpenWith(t.TempDir(), nil, remote)
	if _, err := c.Load(t.Context(), k, market.Range{}); err == nil || errors.Is(err, market.ErrNotFound) || !strings.Contains(err.Error(), "s3://tradai-test/") {
		t.Fatalf("load with the bucket down and no local copy: %v, want an error naming the bucket", err)
	}
}

// A bad --data-store stops every command that takes it before anything
// runs, with an error naming the flag and never repeating a secret.
func TestDataStoreFlag(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-store", "ftp://bucket/x"}, `--data-store: scheme "ftp"`},
		{[]string{"--data-store", "s3://AKIAXX:very-secret@bucket/x"}, "--data-store: the URL holds credentials"},
		{[]string{"--data-store", "s3://bucket/x?endpoint=h:1&secure=nope"}, "--data-store: secure"},
		{[]string{"--data-store", "s3://bucket/x?endpoint=h:1"}, "--data-store: no object store credentials: $AWS_ACCESS_KEY_ID"},
		{[]string{"--data-store-credentials", "creds"}, "--data-store-credentials is given without --data-store"},
	} {
		home := t.TempDir()
		data := filepath.Join(home, "data")
		for _, args := range [][]string{
			{"data", "list", "--datadir", data},
			{"serve", "--home", home, "--datadir", data, "--addr", "127.0.0.1:0"},
			{"worker", "--home", home, "--datadir", data, "--database", "postgres://tradai@127.0.0.1:1/none"},
			{"runner", "--home", home, "--datadir", data, "--database", "postgres://tradai@127.0.0.1:1/none"},
			{"backtest", "-c", "../../examples/backtest.json", "--datadir", data},
			{"hyperopt", "-c", "../../examples/backtest.json", "--datadir", data, "--epochs", "1"},
			{"walkforward", "-c", "../../examples/backtest.json", "--datadir", data, "--epochs", "1", "--train", "2d", "--test", "1d"},
			{"strategy", "check", "-c", "../../examples/backtest.json", "--datadir", data},
		} {
			_, _, err := execute(t, append(args, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v %v: %v, want an error saying %q", args, tc.args, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "very-secret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		}
	}
}
