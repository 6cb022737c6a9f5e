package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	neturl "net/url"
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
	srv, _ := bucketWithExamples(t)

	home, data := t.TempDir(), t.TempDir()
	url := serveDataStore(t, home, data, srv.URL)

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

// serveDataStore runs `tradai serve` on home and the data folder data, a
// cache of the bucket at bucketURL, until the test ends, and returns its
// URL.
func serveDataStore(t *testing.T, home, data, bucketURL string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- executeCtx(ctx, out, io.Discard, "serve", "--home", home, "--datadir", data, "--data-store", bucketURL,
			"--addr", "127.0.0.1:0", "--workers", "1", "--log-level", "warn")
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	urlRe := regexp.MustCompile(`serving on (http://\S+)`)
	var url string
	waitFor(t, "the server", func() bool {
		m := urlRe.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	return url
}

// Market data imported on machine A, into its folder and the bucket, is
// what the other readers of machine B and C see, their folders empty: the
// API's and the web app's data listings (without fetching anything), a
// run's candle chart (from the bucket again once B's copy is gone) and
// the simulator's replay.
func TestDataStoreListingsChartsAndReplay(t *testing.T) {
	srv, files := bucketWithExamples(t)

	home, data := t.TempDir(), t.TempDir()
	base := serveDataStore(t, home, data, srv.URL)
	token := homeToken(t, home)
	get := func(path string, cookie bool) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie {
			req.AddCookie(&http.Cookie{Name: "tradai_session", Value: token})
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s %v", path, res.StatusCode, b, err)
		}
		return b
	}

	var list struct {
		Series []struct{ Pair, Timeframe string }
	}
	if err := json.Unmarshal(get("/api/v1/data", false), &list); err != nil || len(list.Series) != len(files) {
		t.Fatalf("the API's data listing on B: %d series, want the bucket's %d (%v)", len(list.Series), len(files), err)
	}
	if page := string(get("/data", true)); !strings.Contains(page, "XMR/BTC") {
		t.Errorf("the web app's data page on B does not list the bucket's XMR/BTC")
	}
	if _, err := os.Stat(filepath.Join(data, "binance")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the listings fetched into B's folder: %v", err)
	}

	// A backtest on B fetches ETH/BTC into B's folder; with that copy gone,
	// the run's chart reads the bucket's.
	if _, errOut, err := execute(t, "backtest", "-c", "examples/backtest.json", "--timerange", "20180115-20180117", "--pairs", "ETH/BTC",
		"--remote", base, "--home", home); err != nil {
		t.Fatalf("remote backtest: %v\n%s", err, errOut)
	}
	var runs struct {
		Runs []struct{ ID string }
	}
	if err := json.Unmarshal(get("/api/v1/backtests", false), &runs); err != nil || len(runs.Runs) != 1 {
		t.Fatalf("runs: %+v, %v", runs, err)
	}
	if err := os.RemoveAll(filepath.Join(data, "binance")); err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Candles struct {
			Time []int64 `json:"t"`
		}
		Note string
	}
	if err := json.Unmarshal(get("/runs/"+runs.Runs[0].ID+"/candles?pair=ETH/BTC", true), &chart); err != nil || len(chart.Candles.Time) < 500 || chart.Note != "" {
		t.Fatalf("the run's chart on B without its copy: %d candles, note %q, %v", len(chart.Candles.Time), chart.Note, err)
	}

	// Machine C: the simulator replays the bucket's candles.
	simBase, stop := runSim(t, "--home", t.TempDir(), "--datadir", t.TempDir(), "--data-store", srv.URL,
		"--pairs", "ETH/BTC", "--timeframe", "5m", "--speed", "0", "--start", "20180120", "--addr", "127.0.0.1:0")
	defer stop()
	admin := simClient{t: t, base: simBase}
	var clock struct{ SimTime int64 }
	if st := admin.call("POST", "/sim/v1/step", neturl.Values{"candles": {"3"}}, &clock); st != 200 || clock.SimTime == 0 {
		t.Fatalf("the simulator on C: step %d %+v", st, clock)
	}
	var ks [][]any
	if st := admin.call("GET", "/api/v3/klines", neturl.Values{"symbol": {"ETHBTC"}, "interval": {"5m"}, "limit": {"3"}}, &ks); st != 200 || len(ks) != 3 {
		t.Fatalf("the simulator on C: klines %d %v", st, ks)
	}
}

// bucketWithExamples starts a bucket holding the example data files it
// returns, imported by another machine (its own folder), in a test run
// from the repository's root with no database named and the bucket's
// credentials set.
func bucketWithExamples(t *testing.T) (*s3storetest.Server, []string) {
	t.Helper()
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
	return srv, files
}
