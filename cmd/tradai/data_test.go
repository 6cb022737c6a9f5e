package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// fakeBinance serves /api/v3/klines for every symbol from listed onwards,
// with deterministic prices, up to the last closed candle at the real
// time, as Binance does. It counts requests.
func fakeBinance(t *testing.T, listed time.Time) (*httptest.Server, *atomic.Int64) {
	return fakeBinanceHook(t, listed, func() {})
}

// fakeBinanceHook is fakeBinance calling before ahead of every request.
func fakeBinanceHook(t *testing.T, listed time.Time, before func()) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before()
		requests.Add(1)
		if r.URL.Path != "/api/v3/klines" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		tf := sdk.Timeframe(q.Get("interval"))
		if !tf.Valid() || q.Get("symbol") == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":-1120,"msg":"Invalid interval."}`)
			return
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		start, _ := strconv.ParseInt(q.Get("startTime"), 10, 64)
		end := time.Now().UnixMilli()
		if e := q.Get("endTime"); e != "" {
			end, _ = strconv.ParseInt(e, 10, 64)
		}
		first := max(tf.Floor(start), listed.UnixMilli())
		if first < start {
			first = tf.Next(first)
		}
		var times []int64
		for ts := first; ts <= end; ts = tf.Next(ts) {
			times = append(times, ts)
		}
		if q.Get("startTime") == "" && len(times) > limit { // newest candles up to endTime
			times = times[len(times)-limit:]
		}
		if len(times) > limit {
			times = times[:limit]
		}
		rows := make([][]any, 0, len(times))
		for _, ts := range times {
			p := 100 + float64(ts/60_000%97)
			rows = append(rows, []any{ts, fmt.Sprint(p), fmt.Sprint(p + 2), fmt.Sprint(p - 1), fmt.Sprint(p + 1), "12.5",
				tf.Next(ts) - 1, "1250", 10, "6", "600", "0"})
		}
		w.Header().Set("X-MBX-USED-WEIGHT-1M", "2")
		json.NewEncoder(w).Encode(rows)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestDataDownloadResumeAndFreshness(t *testing.T) {
	dir := t.TempDir()
	srv, requests := fakeBinance(t, time.Now().Add(-10*24*time.Hour))
	args := []string{"data", "download", "--datadir", dir, "--base-url", srv.URL,
		"--pairs", "BTC/USDT", "ETH/USDT", "--timeframes", "1h", "4h", "--days", "3"}
	out, _, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"binance BTC/USDT 1h: 7", "binance ETH/USDT 4h: 1", ": ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("download output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "binance", "ETH_USDT-4h.feather")); err != nil {
		t.Fatal(err)
	}
	// A second run only asks for what closed since: nothing new.
	before := requests.Load()
	out, _, err = execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "binance BTC/USDT 1h: 0 new candles") {
		t.Errorf("second run added candles:\n%s", out)
	}
	if n := requests.Load() - before; n > 4 {
		t.Errorf("second run made %d requests for 4 up-to-date series", n)
	}

	// Just downloaded: fresh, exit 0.
	out, _, err = execute(t, "data", "freshness", "--datadir", dir, "--pairs", "BTC/USDT", "ETH/USDT", "--timeframes", "1h")
	if err != nil || strings.Count(out, "fresh") != 2 {
		t.Errorf("freshness: %v\n%s", err, out)
	}
	// A pair never downloaded is missing: exit status 1 (errSilent).
	out, _, err = execute(t, "data", "freshness", "--datadir", dir, "--pairs", "BTC/USDT", "XRP/USDT", "-t", "1h", "--json")
	if !errors.Is(err, errSilent) {
		t.Errorf("freshness with a missing pair: err %v, want exit status 1", err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[1]["status"] != "missing" || rows[0]["status"] != "fresh" {
		t.Errorf("freshness JSON: %v\n%s", err, out)
	}
	// A tight max age makes the series stale.
	if _, _, err := execute(t, "data", "freshness", "--datadir", dir, "--pairs", "BTC/USDT", "--timeframes", "4h", "--max-age", "1ms"); !errors.Is(err, errSilent) {
		t.Errorf("stale series: err %v, want exit status 1", err)
	}
}

func TestDataGapsFill(t *testing.T) {
	dir := t.TempDir()
	listed := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	srv, _ := fakeBinance(t, listed)
	// Download 2 days of 1h candles, then cut a hole into the stored series.
	if _, _, err := execute(t, "data", "download", "--datadir", dir, "--base-url", srv.URL,
		"--pairs", "BTC/USDT", "--timeframes", "1h", "--timerange", "20240101-20240103"); err != nil {
		t.Fatal(err)
	}
	s, err := market.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "1h"}
	full, err := s.Load(t.Context(), k, market.Range{})
	if err != nil || full.Len() != 48 {
		t.Fatalf("downloaded %v candles, err %v; want 48", full, err)
	}
	os.RemoveAll(filepath.Join(dir, "binance"))
	s, _ = market.Open(dir, nil)
	holey := full.Slice(0, 10)
	if _, err := s.Append(t.Context(), k, holey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), k, full.Slice(15, 48)); err != nil {
		t.Fatal(err)
	}

	out, _, err := execute(t, "data", "gaps", "--datadir", dir, "--pairs", "BTC/USDT", "--timeframes", "1h")
	if err != nil || !strings.Contains(out, "1 gaps, 5 missing candles") || !strings.Contains(out, "2024-01-01 10:00 to 2024-01-01 14:00  (5 candles)") {
		t.Fatalf("gaps: %v\n%s", err, out)
	}
	out, _, err = execute(t, "data", "gaps", "--datadir", dir, "--fill", "--base-url", srv.URL, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Pair    string       `json:"pair"`
		Missing int          `json:"missing"`
		Gaps    []market.Gap `json:"gaps"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Missing != 0 || len(rows[0].Gaps) != 0 {
		t.Fatalf("after --fill: %v\n%s", err, out)
	}
	filled, err := s.Load(t.Context(), k, market.Range{})
	if err != nil || filled.Len() != 48 || filled.Close[12] != full.Close[12] {
		t.Fatalf("filled series: %v candles, err %v", filled.Len(), err)
	}
}

func TestDataImportListResampleConvert(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	out, _, err := execute(t, "data", "import", "--datadir", dir, "--pair", "NVDA/USD", "testdata/import/nvda-1999-2014.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "yahoo NVDA/USD 1d") || !strings.Contains(out, "1999-01-22") {
		t.Errorf("import output:\n%s", out)
	}
	// The Yahoo file without --pair: a clear error.
	if _, _, err := execute(t, "data", "import", "--datadir", dir, "testdata/import/nvda-1999-2014.txt"); err == nil || !strings.Contains(err.Error(), "--pair") {
		t.Errorf("import without a pair: %v", err)
	}
	// Weekly candles from the daily ones; weeks open on Mondays.
	out, _, err = execute(t, "data", "resample", "--datadir", dir, "--exchange", "yahoo", "--to", "1w")
	if err != nil || !strings.Contains(out, "yahoo NVDA/USD 1w") {
		t.Fatalf("resample: %v\n%s", err, out)
	}
	out, _, err = execute(t, "data", "list", "--datadir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []market.Series
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if list[1].Timeframe != "1w" || time.UnixMilli(list[1].First).UTC().Weekday() != time.Monday {
		t.Errorf("weekly series %+v", list[1])
	}
	// Resampling to a timeframe the data cannot build.
	if _, _, err := execute(t, "data", "resample", "--datadir", dir, "--exchange", "yahoo", "--to", "1h"); err == nil {
		t.Error("resampling daily to hourly succeeded")
	}
	// Convert to JSON and back to parquet; the candles survive.
	src := filepath.Join(dir, "yahoo", "NVDA_USD-1d.feather")
	if _, _, err := execute(t, "data", "convert", src, "--to", "json", "--out", filepath.Join(dir, "conv")); err != nil {
		t.Fatal(err)
	}
	js := filepath.Join(dir, "conv", "NVDA_USD-1d.json")
	if _, _, err := execute(t, "data", "convert", js, "--to", "parquet"); err != nil {
		t.Fatal(err)
	}
	s, _ := market.Open(filepath.Join(dir, "conv"), nil)
	back, err := s.Load(t.Context(), market.Key{Pair: "NVDA/USD", Timeframe: "1d"}, market.Range{})
	if err != nil || back.Len() != list[0].Count {
		t.Errorf("converted file: %v candles, err %v; want %d", back.Len(), err, list[0].Count)
	}
	if _, _, err := execute(t, "data", "convert", js, "--to", "xlsx"); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("bad --to: %v", err)
	}
}

func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"data", "download", "--datadir", dir, "--timeframes", "1h"}, "--pairs is required"},
		{[]string{"data", "download", "--datadir", dir, "--pairs", "BTC/USDT", "--timeframes", "7m"}, `unknown timeframe "7m"`},
		{[]string{"data", "download", "--datadir", dir, "--exchange", "kraken", "--pairs", "BTC/USDT", "--timeframes", "1h"}, "only binance"},
		{[]string{"data", "download", "--datadir", dir, "--pairs", "BTC/USDT", "--timeframes", "1h", "--days", "3", "--timerange", "20240101-"}, "not both"},
		{[]string{"data", "freshness", "--datadir", dir, "--pairs", "BTC/USDT"}, "--timeframes is required"},
		{[]string{"data", "gaps", "--datadir", dir}, "no folder for exchange"},
		{[]string{"data", "import", "--datadir", dir, "--columns", "time=1", "x.csv"}, "no column for open"},
		{[]string{"data", "import", "--datadir", dir, "--no-header", "x.csv"}, "give --columns too"},
		{[]string{"data", "resample", "--datadir", dir, "--to", "1h", "--from", "1w"}, "cannot resample"},
	}
	for _, c := range cases {
		_, _, err := execute(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v; want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestExpandListArgs(t *testing.T) {
	got := expandListArgs([]string{"data", "download", "--pairs", "A/B", "C/D", "--timeframes", "1m", "1h", "--days", "3", "-p", "E/F", "--", "--pairs", "x"})
	want := "data download --pairs A/B,C/D --timeframes 1m,1h --days 3 -p E/F -- --pairs x"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// binanceZip writes a Binance public-data archive of n 1m klines from start
// (times in µs when micros) and returns its path.
func binanceZip(t *testing.T, dir, name string, start time.Time, n int, micros bool) string {
	t.Helper()
	var csv strings.Builder
	for i := range n {
		ms := start.Add(time.Duration(i) * time.Minute).UnixMilli()
		open, closeT := ms, ms+59_999
		if micros {
			open, closeT = ms*1000, ms*1000+59_999_999
		}
		p := 100 + float64(i%17)
		fmt.Fprintf(&csv, "%d,%g,%g,%g,%g,3.5,%d,350,7,1.5,150,0\n", open, p, p+1, p-1, p+0.5, closeT)
	}
	path := filepath.Join(dir, name)
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(fh)
	w, _ := zw.Create(strings.TrimSuffix(name, ".zip") + ".csv")
	io.WriteString(w, csv.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return path
}

func TestDataImportBinanceArchives(t *testing.T) {
	dir := t.TempDir()
	jan := binanceZip(t, dir, "ETHBTC-1m-2024-01.zip", time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC), 60, false)
	feb := binanceZip(t, dir, "ETHBTC-1m-2024-02.zip", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), 30, true)
	out, _, err := execute(t, "data", "import", "--datadir", filepath.Join(dir, "data"), jan, feb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "binance ETH/BTC 1m: 30 new") || !strings.Contains(out, "now 90 candles 2024-01-31 23:00 to 2024-02-01 00:29") {
		t.Errorf("import output:\n%s", out)
	}
	// A corrupt archive: an error naming it; the stored series is intact.
	bad := filepath.Join(dir, "ETHBTC-1m-2024-03.zip")
	data, _ := os.ReadFile(feb)
	os.WriteFile(bad, data[:len(data)/2], 0o644)
	if _, _, err := execute(t, "data", "import", "--datadir", filepath.Join(dir, "data"), bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt zip: %v", err)
	}
	s, _ := market.Open(filepath.Join(dir, "data"), nil)
	si, err := s.Coverage(t.Context(), market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "1m"})
	if err != nil || si.Count != 90 {
		t.Errorf("after a failed import: %+v, %v", si, err)
	}
}

// A download that fails the same way for every series quotes the error
// once, says how many failed, and counts in good English.
func TestDownloadReportQuotesASharedErrorOnce(t *testing.T) {
	down := errors.New("dial tcp: lookup api.binance.com: no such host")
	k := func(pair string) market.Key { return market.Key{Exchange: "binance", Pair: pair, Timeframe: "1h"} }
	var b strings.Builder
	printDownloadReport(&b, []download.SeriesReport{
		{Key: k("BTC/USDT"), Requests: 1, Err: down},
		{Key: k("ETH/USDT"), Requests: 3, Err: down},
		{Key: k("XRP/USDT"), Requests: 1, Added: 1, Received: 1},
	})
	out := b.String()
	if n := strings.Count(out, down.Error()); n != 1 {
		t.Errorf("the shared error is quoted %d times:\n%s", n, out)
	}
	for _, want := range []string{"in 1 request:", "in 3 requests:", "FAILED: the same error as above", "1 new candle (", "2 of 3 series failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// tradai data download --exchange alpaca stores Alpaca's bars, with the
// key from Alpaca's environment variables, and refuses to run without it.
func TestDataDownloadAlpaca(t *testing.T) {
	dir := t.TempDir()
	srv := alpacatest.New(alpacatest.Config{KeyID: "PKDATA", Secret: "data-secret",
		Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	args := []string{"data", "download", "--datadir", dir, "--exchange", "alpaca", "--base-url", hs.URL, "--pairs", "AAPL/USD", "--timeframes", "1h", "--days", "2"}
	t.Setenv("APCA_API_KEY_ID", "")
	if _, _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), "APCA_API_KEY_ID") {
		t.Fatalf("without a key: %v", err)
	}
	t.Setenv("APCA_API_KEY_ID", "PKDATA")
	t.Setenv("APCA_API_SECRET_KEY", "data-secret")
	if out, _, err := execute(t, args...); err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	s, _ := market.Open(dir, nil)
	f, err := s.Load(t.Context(), market.Key{Exchange: "alpaca", Pair: "AAPL/USD", Timeframe: "1h"}, market.Range{})
	if err != nil || f.Len() < 40 || f.Close[0] != 180.25 {
		t.Fatalf("stored %v candles, err %v", f.Len(), err)
	}
}
