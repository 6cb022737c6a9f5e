package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/jobs/backtestjob"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/sdk"
)

// The series the download tests use: ETH/BTC 5m on binance, listed long
// before the backtests' timerange 20240110-20240112. rsi_bollinger reads
// 150 startup candles before it, so a backtest needs candles from
// 2024-01-09 11:30 on.
var (
	ethKey    = market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "5m", Type: market.Spot}
	listed    = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	needFrom  = time.Date(2024, 1, 9, 11, 30, 0, 0, time.UTC).UnixMilli()
	storedAt  = time.Date(2024, 1, 10, 6, 0, 0, 0, time.UTC).UnixMilli() // what the store holds starts here
	rangeEnd  = time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC).UnixMilli()
	candleMs  = int64(5 * 60_000)
	timerange = "20240110-20240112"
)

// candles returns the 5m candles of ETH/BTC opening in [from, to): a
// deterministic wave, valid for the store.
func candles(from, to int64) *sdk.Frame {
	f := &sdk.Frame{Pair: ethKey.Pair, Timeframe: ethKey.Timeframe}
	for t := from; t < to; t += candleMs {
		i := float64((t - listed) / candleMs)
		o := 0.05 + 0.002*math.Sin(i/40)
		c := 0.05 + 0.002*math.Sin((i+1)/40)
		o, c = math.Round(o*1e6)/1e6, math.Round(c*1e6)/1e6
		f.Time = append(f.Time, t)
		f.Open = append(f.Open, o)
		f.Close = append(f.Close, c)
		f.High = append(f.High, max(o, c)+0.0001)
		f.Low = append(f.Low, min(o, c)-0.0001)
		f.Volume = append(f.Volume, 10+float64(int(i)%7))
	}
	return f
}

// klineRequest is one request the fake exchange answered.
type klineRequest struct {
	Symbol     string
	Start, End int64 // startTime, endTime (inclusive, as Binance takes it)
}

// fakeExchange serves Binance's spot klines endpoint for ETHBTC 5m.
type fakeExchange struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []klineRequest
	// fail, when set, may answer request n (1-based) with an HTTP status
	// and body instead of the candles.
	fail func(n int) (int, string)
	// gate, when set, holds every request until it is closed.
	gate chan struct{}
}

func newFakeExchange(t *testing.T) *fakeExchange {
	fx := &fakeExchange{}
	fx.srv = httptest.NewServer(http.HandlerFunc(fx.serve))
	t.Cleanup(fx.srv.Close)
	return fx
}

func (fx *fakeExchange) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, _ := strconv.ParseInt(q.Get("startTime"), 10, 64)
	end, _ := strconv.ParseInt(q.Get("endTime"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	fx.mu.Lock()
	fx.reqs = append(fx.reqs, klineRequest{Symbol: q.Get("symbol"), Start: start, End: end})
	n, fail, gate := len(fx.reqs), fx.fail, fx.gate
	fx.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		if status, body := fail(n); status != 0 {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	if r.URL.Path != "/api/v3/klines" || q.Get("symbol") != "ETHBTC" || q.Get("interval") != "5m" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":-1121,"msg":"Invalid symbol."}`)
		return
	}
	f := candles(max(start, listed), end+1)
	rows := [][]any{}
	for i := 0; i < f.Len() && i < limit; i++ {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		rows = append(rows, []any{f.Time[i], num(f.Open[i]), num(f.High[i]), num(f.Low[i]), num(f.Close[i]), num(f.Volume[i]),
			f.Time[i] + candleMs - 1, "0", 1, "0", "0", "0"})
	}
	json.NewEncoder(w).Encode(rows)
}

func (fx *fakeExchange) requests() []klineRequest {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return append([]klineRequest(nil), fx.reqs...)
}

// storeWith returns a market data folder holding ETH/BTC 5m from storedAt
// to the end of the timerange.
func storeWith(t testing.TB) (string, *market.Store) {
	t.Helper()
	dir := t.TempDir()
	store, err := market.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), ethKey, candles(storedAt, rangeEnd)); err != nil {
		t.Fatal(err)
	}
	return dir, store
}

// downloader fetches from fx into store, trying each request once (the
// job's retries are what the tests look at).
func downloader(t *testing.T, fx *fakeExchange, store *market.Store) *download.Downloader {
	t.Helper()
	src, err := download.NewBinance(fx.srv.Client(), nil, nil, download.BinanceOptions{SpotURL: fx.srv.URL, FuturesURL: fx.srv.URL, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return download.New(store, src, download.Options{})
}

// downloadingEnv is an env whose market data folder holds the stored part
// of ETH/BTC (storeWith) and whose runs download from fx.
func downloadingEnv(t *testing.T, d *db.DB, fx *fakeExchange, workers int) (*env, *market.Store) {
	t.Helper()
	dir, store := storeWith(t)
	opts := fast()
	opts.Workers = workers
	opts.Download = downloader(t, fx, store)
	return newEnvIn(t, d, dir, opts, true), store
}

// submit submits a backtest of spec.
func (e *env) submit(t testing.TB, spec runs.RunSpec) runs.Run {
	t.Helper()
	r, err := e.svc.Submit(context.Background(), e.p(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ethSpec is a backtest of ETH/BTC over the timerange.
func ethSpec(t testing.TB) runs.RunSpec {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"timeframe": "5m", "timerange": timerange, "stake_currency": "BTC", "stake_amount": "unlimited",
		"dry_run_wallet": 1, "max_open_trades": 1, "fee": 0.001, "stoploss": -0.05,
		"exchange": map[string]any{"name": "binance", "pair_whitelist": []string{"ETH/BTC"}},
	})
	return runs.RunSpec{Strategy: "rsi_bollinger", Config: cfg}
}

func (e *env) step(t testing.TB, id, name string) runs.Step {
	t.Helper()
	steps, err := e.store.Steps(context.Background(), e.p(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %s has no step %s: %+v", id, name, steps)
	return runs.Step{}
}

func TestMissingDataIsDownloaded(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		fx := newFakeExchange(t)
		e, store := downloadingEnv(t, d, fx, 0)
		r := e.submit(t, ethSpec(t))
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed || done.Attempts != 1 {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		// Exactly the missing head was asked for: the startup candles and
		// the start of the timerange, up to what was stored.
		want := []klineRequest{{Symbol: "ETHBTC", Start: needFrom, End: storedAt - 1}}
		if got := fx.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("requests %+v, want %+v", got, want)
		}
		cov, err := store.Coverage(context.Background(), ethKey)
		if err != nil || cov.First != needFrom || cov.Missing != 0 {
			t.Fatalf("stored after the run: %+v, %v", cov, err)
		}
		st := e.step(t, r.ID, backtestjob.StepEnsureData)
		if st.Status != runs.Completed || !strings.Contains(st.Detail, "downloaded 2024-01-09 11:30 .. 2024-01-10 06:00 UTC: 222 new candles in 1 requests") {
			t.Fatalf("ensure_data step %+v", st)
		}

		// The data is there now: a second run downloads nothing.
		r2 := e.submit(t, ethSpec(t))
		if done := e.waitTerminal(t, r2.ID, 30*time.Second); done.Status != runs.Completed {
			t.Fatalf("second run %s: %q", done.Status, done.Error)
		}
		if n := len(fx.requests()); n != 1 {
			t.Fatalf("%d requests after the second run, want still 1", n)
		}
		if st := e.step(t, r2.ID, backtestjob.StepEnsureData); st.Detail != "" {
			t.Fatalf("second run's ensure_data detail %q, want none", st.Detail)
		}
	})
}

func TestMissingDataWithoutDownloaderFailsAtOnce(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnvIn(t, d, t.TempDir(), fast(), true)
		r := e.submit(t, ethSpec(t))
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Failed || done.Attempts != 1 {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		t.Logf("the run's error: %s", done.Error)
		for _, want := range []string{
			"binance ETH/BTC 5m", "2024-01-09 11:30 .. 2024-01-12 00:00 UTC", "150 startup candles",
			"tradai data download", "--pairs ETH/BTC --timeframes 5m --timerange 20240109-20240112", "--download",
		} {
			if !strings.Contains(done.Error, want) {
				t.Errorf("error %q does not say %q", done.Error, want)
			}
		}
		if st := e.step(t, r.ID, backtestjob.StepEnsureData); st.Status != runs.Failed || st.Error != done.Error {
			t.Fatalf("ensure_data step %+v", st)
		}
	})
}

func TestPartlyStoredDataWithoutDownloaderRuns(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		dir, _ := storeWith(t)
		e := newEnvIn(t, d, dir, fast(), true)
		r := e.submit(t, ethSpec(t))
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed {
			t.Fatalf("run %s, error %q", done.Status, done.Error)
		}
		st := e.step(t, r.ID, backtestjob.StepEnsureData)
		t.Logf("ensure_data detail: %s", st.Detail)
		if !strings.Contains(st.Detail, "not stored: 2024-01-09 11:30 .. 2024-01-10 06:00 UTC") {
			t.Fatalf("ensure_data detail %q", st.Detail)
		}
	})
}

func TestTransientDownloadErrorIsRetried(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		fx := newFakeExchange(t)
		fx.fail = func(n int) (int, string) {
			if n == 1 {
				return http.StatusBadGateway, "bad gateway"
			}
			return 0, ""
		}
		e, _ := downloadingEnv(t, d, fx, 0)
		r := e.submit(t, ethSpec(t))
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed || done.Attempts != 2 {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
		if n := len(fx.requests()); n != 2 {
			t.Fatalf("%d requests, want 2 (the failed one and its retry)", n)
		}
		if n := e.auditCount(t, r.ID, "run.fail"); n != 1 {
			t.Fatalf("%d recorded failures, want 1", n)
		}
	})
}

func TestUnknownSymbolFailsAtOnce(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		fx := newFakeExchange(t)
		e, _ := downloadingEnv(t, d, fx, 0)
		spec := ethSpec(t)
		spec.Config = json.RawMessage(strings.Replace(string(spec.Config), "ETH/BTC", "NOPE/BTC", 1))
		r := e.submit(t, spec)
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		t.Logf("the run's error: %s", done.Error)
		if done.Status != runs.Failed || done.Attempts != 1 || !strings.Contains(done.Error, "Invalid symbol") || !strings.Contains(done.Error, "NOPE/BTC") {
			t.Fatalf("run %s after %d attempts, error %q", done.Status, done.Attempts, done.Error)
		}
	})
}

func TestConcurrentRunsDownloadOnce(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		fx := newFakeExchange(t)
		fx.gate = make(chan struct{})
		e, _ := downloadingEnv(t, d, fx, 2)
		ctx := context.Background()
		var ids []string
		for range 2 {
			ids = append(ids, e.submit(t, ethSpec(t)).ID)
		}
		// Hold the download until both runs are in their ensure_data step.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM run_steps WHERE name = ?`, backtestjob.StepEnsureData).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d runs reached ensure_data", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(fx.gate)
		for _, id := range ids {
			if done := e.waitTerminal(t, id, 30*time.Second); done.Status != runs.Completed {
				t.Fatalf("run %s: %s, %q", id, done.Status, done.Error)
			}
		}
		if got := fx.requests(); len(got) != 1 {
			t.Fatalf("requests %+v, want the missing range once", got)
		}
	})
}
