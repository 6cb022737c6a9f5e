package download

import (
	"bytes"
	"context"
	"errors"
	"github.com/tradai/tradai/internal/clock"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// listing is when the generated pairs start trading.
var listing = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

const minute = int64(60_000)

type env struct {
	t     *testing.T
	clk   *clock.Skipping
	fb    *fakeBinance
	src   *Binance
	store *market.Store
	opts  BinanceOptions
}

// newEnv starts a fake Binance and opens a store in a temporary folder. The
// clock is at now.
func newEnv(t *testing.T, now int64, opts BinanceOptions) *env {
	t.Helper()
	clk := clock.NewSkipping(time.UnixMilli(now).UTC())
	fb := newFakeBinance(t, clk)
	opts.SpotURL, opts.FuturesURL = fb.srv.URL, fb.srv.URL+"/"
	store, err := market.Open(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, fb: fb, store: store, opts: opts}
	src, err := NewBinance(fb.srv.Client(), clk, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.src = src
	return e
}

func (e *env) downloader(o Options) *Downloader {
	o.Clock = e.clk
	return New(e.store, e.src, o)
}

// load returns the stored series, checking that it is valid: strictly
// increasing open times on the grid.
func (e *env) load(k market.Key) *sdk.Frame {
	e.t.Helper()
	f, err := e.store.Load(context.Background(), k, market.Range{})
	if err != nil {
		e.t.Fatalf("loading %s: %v", k, err)
	}
	for i, t := range f.Time {
		if !k.Timeframe.OnGrid(t) {
			e.t.Fatalf("%s: stored candle %d at %d is off the grid", k, i, t)
		}
		if i > 0 && t <= f.Time[i-1] {
			e.t.Fatalf("%s: stored candle %d at %d is not after %d", k, i, t, f.Time[i-1])
		}
	}
	return f
}

// sameCandles fails unless got holds exactly the candles of want.
func sameCandles(t *testing.T, got, want *sdk.Frame) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("got %d candles, want %d", got.Len(), want.Len())
	}
	for i := range want.Time {
		if got.Time[i] != want.Time[i] || got.Open[i] != want.Open[i] || got.High[i] != want.High[i] ||
			got.Low[i] != want.Low[i] || got.Close[i] != want.Close[i] || got.Volume[i] != want.Volume[i] {
			t.Fatalf("candle %d: got %d %v %v %v %v %v, want %d %v %v %v %v %v", i,
				got.Time[i], got.Open[i], got.High[i], got.Low[i], got.Close[i], got.Volume[i],
				want.Time[i], want.Open[i], want.High[i], want.Low[i], want.Close[i], want.Volume[i])
		}
	}
}

func spotKey(pair string, tf sdk.Timeframe) market.Key {
	return market.Key{Exchange: "binance", Pair: pair, Timeframe: tf, Type: market.Spot}
}

func TestDownloadSeries(t *testing.T) {
	tests := []struct {
		name     string
		key      market.Key
		path     string
		param    string
		n        int // candles served, the last one still open
		pageSize int
		start    int64 // range start relative to listing, in candles
		requests int
	}{
		{"spot 1m three pages", spotKey("BTC/USDT", "1m"), "/api/v3/klines", "symbol", 2501, 1000, 0, 3},
		{"spot 1m exact pages", spotKey("BTC/USDT", "1m"), "/api/v3/klines", "symbol", 2001, 1000, 0, 2},
		{"spot 1h before listing", spotKey("ETH/USDT", "1h"), "/api/v3/klines", "symbol", 1200, 500, -300, 3},
		{"spot 1M months", spotKey("ETH/USDT", "1M"), "/api/v3/klines", "symbol", 30, 7, 0, 5},
		{"spot 1w weeks", spotKey("ETH/USDT", "1w"), "/api/v3/klines", "symbol", 40, 10, 0, 4},
		{"futures", market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "5m", Type: market.Futures}, "/fapi/v1/klines", "symbol", 1500, 1000, 0, 2},
		{"mark", market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "1h", Type: market.Mark}, "/fapi/v1/markPriceKlines", "symbol", 300, 1000, 0, 1},
		{"index", market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "1h", Type: market.Index}, "/fapi/v1/indexPriceKlines", "pair", 300, 100, 0, 3},
		{"premium index", market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "8h", Type: market.PremiumIndex}, "/fapi/v1/premiumIndexKlines", "symbol", 90, 1000, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tf := tc.key.Timeframe
			first := tf.Floor(listing)
			series := genSeries(tc.key.Pair, tf, first, tc.n, 1)
			open := series.Time[tc.n-1]
			now := open + (tf.Next(open)-open)/2 // the last candle is still open
			e := newEnv(t, now, BinanceOptions{PageSize: tc.pageSize})
			e.fb.add(tc.path, "BTCUSDT", series)
			e.fb.add(tc.path, "ETHUSDT", series)
			start := first
			if tc.start < 0 {
				start = stepBack(tf, first, int(-tc.start))
			}
			var bar bytes.Buffer
			rep, err := e.downloader(Options{Progress: &bar, FlushEvery: 700}).Download(context.Background(), []market.Key{tc.key}, market.Range{Start: start})
			if err != nil {
				t.Fatal(err)
			}
			want := series.Slice(0, tc.n-1)
			sameCandles(t, e.load(tc.key), want)
			sr := rep.Series[0]
			if sr.Received != tc.n-1 || sr.Added != tc.n-1 || rep.Added() != tc.n-1 {
				t.Errorf("received %d, added %d, want %d", sr.Received, sr.Added, tc.n-1)
			}
			if sr.First != want.Time[0] || sr.Last != want.Time[want.Len()-1] {
				t.Errorf("first/last %d/%d, want %d/%d", sr.First, sr.Last, want.Time[0], want.Time[want.Len()-1])
			}
			if sr.Requests != tc.requests {
				t.Errorf("%d requests, want %d", sr.Requests, tc.requests)
			}
			if len(sr.Requested) != 1 || sr.Requested[0] != (market.Range{Start: start, End: open}) {
				t.Errorf("requested %v, want [%d, %d)", sr.Requested, start, open)
			}
			for _, r := range e.fb.requests() {
				q := r.URL.Query()
				if r.URL.Path != tc.path || q.Get(tc.param) == "" || q.Get("interval") != string(tf) || q.Get("limit") != strconv.Itoa(tc.pageSize) {
					t.Errorf("unexpected request %s", r.URL)
				}
			}
			if !strings.Contains(bar.String(), tc.key.String()) {
				t.Errorf("progress bar output %q does not name the series", bar.String())
			}
			if s := e.clk.Sleeps(); len(s) != 0 {
				t.Errorf("slept %v", s)
			}
		})
	}
}

func TestDownloadNothingWhenUpToDate(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 100, 2)
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	d := e.downloader(Options{})
	if _, err := d.Download(context.Background(), []market.Key{k}, market.Range{Start: listing}); err != nil {
		t.Fatal(err)
	}
	n := len(e.fb.requests())
	rep, err := d.Download(context.Background(), []market.Key{k}, market.Range{Start: listing})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.fb.requests()) != n || rep.Series[0].Requests != 0 || rep.Added() != 0 {
		t.Errorf("second download made %d requests, added %d", len(e.fb.requests())-n, rep.Added())
	}
	sameCandles(t, e.load(k), series)
}

func TestDownloadResume(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	const n = 5000
	series := genSeries("BTC/USDT", "1m", listing, n, 3)
	tests := []struct {
		name        string
		stored      [2]int // candles [from, to) of series already stored
		start       int64  // range start
		wantRanges  []market.Range
		maxRequests int
	}{
		{"tail missing", [2]int{0, 1500}, listing, []market.Range{{Start: series.Time[1500], End: listing + n*minute}}, 4},
		{"head and tail missing", [2]int{2000, 2600}, listing,
			[]market.Range{{Start: listing, End: series.Time[2000]}, {Start: series.Time[2600], End: listing + n*minute}}, 5},
		{"head missing, before listing", [2]int{1200, n}, listing - 3000*minute,
			[]market.Range{{Start: listing - 3000*minute, End: series.Time[1200]}}, 4},
		{"range starts inside the stored part", [2]int{0, 3000}, series.Time[1000], []market.Range{{Start: series.Time[3000], End: listing + n*minute}}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, listing+n*minute, BinanceOptions{})
			e.fb.add("/api/v3/klines", "BTCUSDT", series)
			if _, err := e.store.Append(context.Background(), k, series.Slice(tc.stored[0], tc.stored[1])); err != nil {
				t.Fatal(err)
			}
			rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: tc.start})
			if err != nil {
				t.Fatal(err)
			}
			sr := rep.Series[0]
			if len(sr.Requested) != len(tc.wantRanges) {
				t.Fatalf("requested %v, want %v", sr.Requested, tc.wantRanges)
			}
			for i := range tc.wantRanges {
				if sr.Requested[i] != tc.wantRanges[i] {
					t.Errorf("requested %v, want %v", sr.Requested, tc.wantRanges)
				}
			}
			from := 0
			if tc.start > listing {
				from = 0 // the stored part starts at 0 here
			}
			want := series.Slice(from, n)
			wantAdded := n - (tc.stored[1] - tc.stored[0])
			if sr.Added != wantAdded || sr.Received != wantAdded {
				t.Errorf("added %d, received %d, want %d new candles and no duplicates", sr.Added, sr.Received, wantAdded)
			}
			if sr.Requests > tc.maxRequests {
				t.Errorf("%d requests, want at most %d", sr.Requests, tc.maxRequests)
			}
			sameCandles(t, e.load(k), want)
			// Nothing that was stored was asked for again.
			for _, r := range e.fb.requests() {
				q := r.URL.Query()
				s, _ := strconv.ParseInt(q.Get("startTime"), 10, 64)
				end, _ := strconv.ParseInt(q.Get("endTime"), 10, 64)
				if s <= series.Time[tc.stored[1]-1] && end >= series.Time[tc.stored[0]] {
					t.Errorf("request %s overlaps the stored candles", r.URL.RawQuery)
				}
			}
		})
	}
}

func TestOpenCandleNotStored(t *testing.T) {
	k := spotKey("BTC/USDT", "1h")
	series := genSeries("BTC/USDT", "1h", listing, 50, 4)
	last := series.Time[49]
	for _, now := range []int64{last, last + 1, last + 59*minute + 59_999} {
		e := newEnv(t, now, BinanceOptions{})
		e.fb.add("/api/v3/klines", "BTCUSDT", series)
		// The range asks explicitly for the open candle too.
		if _, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing, End: last + 2*3600_000}); err != nil {
			t.Fatal(err)
		}
		sameCandles(t, e.load(k), series.Slice(0, 49))
	}
	// Once it has closed it is stored.
	e := newEnv(t, last+3600_000, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	if _, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing}); err != nil {
		t.Fatal(err)
	}
	sameCandles(t, e.load(k), series)
}

// TestForwardDropsOpenCandle checks the check on each page: the clock is
// moved back after the range was worked out, so the server's last candle is
// open when it arrives.
func TestForwardDropsOpenCandle(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 10, 5)
	e := newEnv(t, listing+10*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	e.fb.hook = nil
	d := e.downloader(Options{})
	e.fb.setFault(func(n int) *fault {
		e.clk.Set(time.UnixMilli(listing + 9*minute + 30_000))
		return nil
	})
	if _, err := d.Download(context.Background(), []market.Key{k}, market.Range{Start: listing}); err != nil {
		t.Fatal(err)
	}
	sameCandles(t, e.load(k), series.Slice(0, 9))
}

func TestRetries(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 1500, 6)
	now := listing + 1500*minute
	tests := []struct {
		name      string
		faults    map[int]*fault
		requests  int
		sleeps    []time.Duration
		rateWait  time.Duration
		retryWait time.Duration
		wantErr   string
	}{
		{"429 with Retry-After", map[int]*fault{1: {status: 429, retryAfter: "7"}}, 3, []time.Duration{7 * time.Second}, 7 * time.Second, 0, ""},
		{"418 stops with the ban's end", map[int]*fault{2: {status: 418, retryAfter: "120"}}, 2, nil, 0, 0, "banned until 2024-01-02T01:02:00Z"},
		{"429 without Retry-After", map[int]*fault{1: {status: 429}, 2: {status: 429}}, 4, []time.Duration{time.Second, 2 * time.Second}, 3 * time.Second, 0, ""},
		{"500 then success", map[int]*fault{1: {status: 500}}, 3, []time.Duration{time.Second}, 0, time.Second, ""},
		{"502 and 503 twice", map[int]*fault{1: {status: 502, body: "<html>bad gateway</html>"}, 2: {status: 503}}, 4, []time.Duration{time.Second, 2 * time.Second}, 0, 3 * time.Second, ""},
		{"truncated body then success", map[int]*fault{2: {truncate: true}}, 3, []time.Duration{time.Second}, 0, time.Second, ""},
		{"malformed JSON then success", map[int]*fault{1: {body: `[[1704067200000,"1","2"`}}, 3, []time.Duration{time.Second}, 0, time.Second, ""},
		{"500 every time", map[int]*fault{1: {status: 500}, 2: {status: 500}, 3: {status: 500}, 4: {status: 500}, 5: {status: 500}},
			5, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, 0, 15 * time.Second, "giving up after 5 attempts"},
		{"malformed JSON every time", map[int]*fault{1: {body: "{"}, 2: {body: "{"}, 3: {body: "nope"}, 4: {body: "[1,2]"}, 5: {body: `[["x"]]`}},
			5, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, 0, 15 * time.Second, "undecodable response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, now, BinanceOptions{})
			e.fb.add("/api/v3/klines", "BTCUSDT", series)
			e.fb.setFault(func(n int) *fault { return tc.faults[n] })
			rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "BTC/USDT") {
					t.Fatalf("error %v, want one containing %q and the pair", err, tc.wantErr)
				}
				if rep.Series[0].Err == nil {
					t.Error("series report has no error")
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				sameCandles(t, e.load(k), series)
			}
			sr := rep.Series[0]
			if sr.Requests != tc.requests || len(e.fb.requests()) != tc.requests {
				t.Errorf("%d requests (server saw %d), want %d", sr.Requests, len(e.fb.requests()), tc.requests)
			}
			if got := e.clk.Sleeps(); !equalDurations(got, tc.sleeps) {
				t.Errorf("slept %v, want %v", got, tc.sleeps)
			}
			if sr.RateWait != tc.rateWait || sr.RetryWait != tc.retryWait {
				t.Errorf("rate wait %v, retry wait %v; want %v, %v", sr.RateWait, sr.RetryWait, tc.rateWait, tc.retryWait)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWeightLimit(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 3000, 7)
	now := listing + 3000*minute + 20_000 // 20 s into a minute
	e := newEnv(t, now, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	// Someone else used most of the budget (90% of 6000 = 5400) this minute.
	e.fb.weight = func(n int) int {
		if n == 1 {
			return 5399
		}
		return 2
	}
	rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.clk.Sleeps(), []time.Duration{40 * time.Second}; !equalDurations(got, want) {
		t.Errorf("slept %v, want %v (to the next minute)", got, want)
	}
	if rep.Series[0].RateWait != 40*time.Second {
		t.Errorf("rate wait %v", rep.Series[0].RateWait)
	}
	sameCandles(t, e.load(k), series)
}

func TestBinanceWeight(t *testing.T) {
	tests := []struct {
		endpoint string
		limit    int
		want     int
	}{
		{"/api/v3/klines", 1000, 2}, {"/api/v3/klines", 10, 2},
		{"/fapi/v1/klines", 99, 1}, {"/fapi/v1/klines", 100, 2}, {"/fapi/v1/markPriceKlines", 499, 2},
		{"/fapi/v1/indexPriceKlines", 500, 5}, {"/fapi/v1/klines", 1000, 5}, {"/fapi/v1/premiumIndexKlines", 1500, 10},
	}
	for _, tc := range tests {
		if got := BinanceWeight(tc.endpoint, tc.limit); got != tc.want {
			t.Errorf("BinanceWeight(%s, %d) = %d, want %d", tc.endpoint, tc.limit, got, tc.want)
		}
	}
}

func TestFuturesWeightBudget(t *testing.T) {
	// Futures: limit 2400, margin 0.9 = 2160; weight 5 per request.
	k := market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "1m", Type: market.Futures}
	series := genSeries("BTC/USDT:USDT", "1m", listing, 2500, 8)
	e := newEnv(t, listing+2500*minute, BinanceOptions{})
	e.fb.add("/fapi/v1/klines", "BTCUSDT", series)
	e.fb.weight = func(n int) int { return 2155 + 5*(n-1) }
	if _, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing}); err != nil {
		t.Fatal(err)
	}
	if got := e.clk.Sleeps(); len(got) != 1 || got[0] != time.Minute {
		t.Errorf("slept %v, want one wait of a minute", got)
	}
	sameCandles(t, e.load(k), series)
}

func TestInvalidSymbol(t *testing.T) {
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	good := spotKey("BTC/USDT", "1m")
	bad := spotKey("NOPE/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 100, 9)
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{bad, good}, market.Range{Start: listing})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"Invalid symbol.", "NOPE/USDT", "/api/v3/klines", "NOPEUSDT", "-1121"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	var apiErr *binance.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != -1121 || apiErr.Status != http.StatusBadRequest {
		t.Errorf("error %v is not the API error", err)
	}
	if rep.Series[0].Requests != 1 {
		t.Errorf("%d requests for an invalid symbol, want 1 (no retries)", rep.Series[0].Requests)
	}
	// The other pair was still downloaded.
	if rep.Series[1].Err != nil {
		t.Errorf("good pair failed: %v", rep.Series[1].Err)
	}
	sameCandles(t, e.load(good), series)
}

func TestOther4xxNotRetried(t *testing.T) {
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", genSeries("BTC/USDT", "1m", listing, 100, 9))
	e.fb.setFault(func(int) *fault { return &fault{status: 403, body: "forbidden"} })
	rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{spotKey("BTC/USDT", "1m")}, market.Range{Start: listing})
	if err == nil || !strings.Contains(err.Error(), "HTTP 403: forbidden") || rep.Series[0].Requests != 1 {
		t.Fatalf("error %v after %d requests", err, rep.Series[0].Requests)
	}
}

func TestBadRows(t *testing.T) {
	row := func(t int64, o, h, l, c, v string) string {
		return `[` + strconv.FormatInt(t, 10) + `,"` + o + `","` + h + `","` + l + `","` + c + `","` + v + `",` + strconv.FormatInt(t+59_999, 10) + `,"0",1,"0","0","0"]`
	}
	ok := func(t int64) string { return row(t, "10", "11", "9", "10.5", "3") }
	tests := []struct {
		name    string
		typ     market.CandleType
		body    string
		wantErr string // "" = accepted
	}{
		{"off grid", market.Spot, `[` + ok(listing) + `,` + ok(listing+minute+1) + `]`, "row 2 of the page"},
		{"out of order", market.Spot, `[` + ok(listing+minute) + `,` + ok(listing) + `]`, "not after the previous"},
		{"duplicate", market.Spot, `[` + ok(listing) + `,` + ok(listing) + `]`, "not after the previous"},
		{"before start", market.Spot, `[` + ok(listing-minute) + `]`, "outside the requested range"},
		{"after end", market.Spot, `[` + ok(listing+500*minute) + `]`, "outside the requested range"},
		{"low above open", market.Spot, `[` + row(listing, "8", "11", "9", "10", "1") + `]`, "open 8 is outside"},
		{"close above high", market.Futures, `[` + row(listing, "10", "11", "9", "12", "1") + `]`, "close 12 is outside"},
		{"zero price", market.Spot, `[` + row(listing, "0", "11", "0", "10", "1") + `]`, "open 0 is not a positive price"},
		{"NaN", market.Spot, `[` + row(listing, "NaN", "11", "9", "10", "1") + `]`, "open is NaN"},
		{"negative volume", market.Spot, `[` + row(listing, "10", "11", "9", "10", "-1") + `]`, "volume -1 is negative"},
		{"mark open outside range ok", market.Mark, `[` + row(listing, "12", "11", "9", "10", "0") + `]`, ""},
		{"mark low above high", market.Mark, `[` + row(listing, "10", "9", "11", "10", "0") + `]`, "high 9 is below low 11"},
		{"index negative", market.Index, `[` + row(listing, "-1", "11", "9", "10", "0") + `]`, "open -1 is not a positive price"},
		{"premium negative ok", market.PremiumIndex, `[` + row(listing, "-0.0001", "0.0002", "-0.0003", "0", "0") + `]`, ""},
		{"premium negative volume", market.PremiumIndex, `[` + row(listing, "-0.0001", "0.0002", "-0.0003", "0", "-1") + `]`, "volume -1 is negative"},
		{"premium infinite", market.PremiumIndex, `[` + row(listing, "-0.0001", "Inf", "-0.0003", "0", "0") + `]`, "high is +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, listing+100*minute, BinanceOptions{})
			e.fb.setFault(func(int) *fault { return &fault{body: tc.body} })
			k := market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "1m", Type: tc.typ}
			_, err := e.src.Fetch(context.Background(), k, listing, listing+100*minute)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var rowErr *RowError
			if !errors.As(err, &rowErr) {
				t.Fatalf("error %v is not a row error", err)
			}
			for _, s := range []string{tc.wantErr, "BTC/USDT:USDT", "/klines", "Klines"} {
				if s == "/klines" && tc.typ != market.Spot && tc.typ != market.Futures {
					continue
				}
				if s == "Klines" && (tc.typ == market.Spot || tc.typ == market.Futures) {
					continue
				}
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if len(e.fb.requests()) != 1 {
				t.Errorf("bad data was requested %d times, want once", len(e.fb.requests()))
			}
		})
	}
}

func TestBadPageStopsDownloadKeepsEarlierPages(t *testing.T) {
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, 2500, 10)
	e := newEnv(t, listing+2500*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	e.fb.setFault(func(n int) *fault {
		if n == 2 {
			return &fault{body: `[[` + strconv.FormatInt(listing+1000*minute+7, 10) + `,"1","1","1","1","1",0,"0",1,"0","0","0"]]`}
		}
		return nil
	})
	_, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing})
	if err == nil || !strings.Contains(err.Error(), "not on the 1m candle grid") {
		t.Fatalf("error %v", err)
	}
	sameCandles(t, e.load(k), series.Slice(0, 1000))
}

func TestFundingRateUnsupported(t *testing.T) {
	e := newEnv(t, listing, BinanceOptions{})
	k := market.Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "8h", Type: market.FundingRate}
	_, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing - 100*3600_000})
	if err == nil || !strings.Contains(err.Error(), "funding rates") {
		t.Fatalf("error %v", err)
	}
}

func TestWrongExchange(t *testing.T) {
	e := newEnv(t, listing, BinanceOptions{})
	k := market.Key{Exchange: "kraken", Pair: "BTC/USDT", Timeframe: "1h", Type: market.Spot}
	_, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing - 100*3600_000})
	if err == nil || !strings.Contains(err.Error(), "kraken") {
		t.Fatalf("error %v", err)
	}
}

func TestFill(t *testing.T) {
	k := spotKey("BTC/USDT", "5m")
	const n = 3000
	series := genSeries("BTC/USDT", "5m", listing, n, 11)
	e := newEnv(t, listing+n*5*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	for _, r := range [][2]int{{0, 100}, {150, 151}, {1400, 2000}, {2999, 3000}} {
		if _, err := e.store.Append(context.Background(), k, series.Slice(r[0], r[1])); err != nil {
			t.Fatal(err)
		}
	}
	cov, err := e.store.Coverage(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov.Gaps) != 3 {
		t.Fatalf("gaps %v", cov.Gaps)
	}
	// A gap reaching into the future is cut to closed candles.
	gaps := append(cov.Gaps, market.Gap{From: series.Time[n-1], To: series.Time[n-1] + 100*5*minute})
	sr, err := e.downloader(Options{}).Fill(context.Background(), k, gaps)
	if err != nil {
		t.Fatal(err)
	}
	// The last gap's one closed candle was stored already: received, not
	// added.
	if want := n - 100 - 1 - 600 - 1; sr.Added != want || sr.Received != want+1 {
		t.Errorf("added %d, received %d, want %d new candles", sr.Added, sr.Received, want)
	}
	// 50 candles, 1249 (two pages), 999, and the last one.
	if sr.Requests != 5 {
		t.Errorf("%d requests, want 5", sr.Requests)
	}
	sameCandles(t, e.load(k), series)
}

func TestResumeBackwardAcrossHole(t *testing.T) {
	// The exchange has no candles for 1500 minutes (more than a page)
	// somewhere before the stored part; going backwards must not take the
	// hole for the listing.
	k := spotKey("BTC/USDT", "1m")
	full := genSeries("BTC/USDT", "1m", listing, 6000, 13)
	series := &sdk.Frame{Pair: full.Pair, Timeframe: full.Timeframe}
	for i := range full.Time {
		if i >= 2000 && i < 3500 {
			continue
		}
		series.Time = append(series.Time, full.Time[i])
		series.Open = append(series.Open, full.Open[i])
		series.High = append(series.High, full.High[i])
		series.Low = append(series.Low, full.Low[i])
		series.Close = append(series.Close, full.Close[i])
		series.Volume = append(series.Volume, full.Volume[i])
	}
	e := newEnv(t, listing+6000*minute, BinanceOptions{})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	stored := series.Search(full.Time[4000])
	if _, err := e.store.Append(context.Background(), k, series.Slice(stored, series.Len())); err != nil {
		t.Fatal(err)
	}
	rep, err := e.downloader(Options{}).Download(context.Background(), []market.Key{k}, market.Range{Start: listing - 10_000*minute})
	if err != nil {
		t.Fatal(err)
	}
	sameCandles(t, e.load(k), series)
	if sr := rep.Series[0]; sr.Added != stored || sr.Received != stored {
		t.Errorf("added %d, received %d, want %d", sr.Added, sr.Received, stored)
	}
}

func TestResumeMonths(t *testing.T) {
	k := spotKey("BTC/USDT", "1M")
	series := genSeries("BTC/USDT", "1M", listing, 41, 14)
	now := series.Time[40] + 86_400_000
	e := newEnv(t, now, BinanceOptions{PageSize: 6})
	e.fb.add("/api/v3/klines", "BTCUSDT", series)
	if _, err := e.store.Append(context.Background(), k, series.Slice(20, 25)); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2020, 3, 15, 0, 0, 0, 0, time.UTC).UnixMilli()
	rep, err := e.downloader(Options{FlushEvery: 4}).Download(context.Background(), []market.Key{k}, market.Range{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	sameCandles(t, e.load(k), series.Slice(0, 40))
	if rep.Added() != 35 {
		t.Errorf("added %d, want 35", rep.Added())
	}
	if r := rep.Series[0].Requested[0]; r.Start != time.Date(2020, 4, 1, 0, 0, 0, 0, time.UTC).UnixMilli() || r.End != series.Time[20] {
		t.Errorf("first range requested %v", r)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := e.downloader(Options{}).Download(ctx, []market.Key{spotKey("BTC/USDT", "1m"), spotKey("ETH/USDT", "1m")}, market.Range{Start: listing})
	if !errors.Is(err, context.Canceled) || len(rep.Series) != 0 || len(e.fb.requests()) != 0 {
		t.Fatalf("error %v, %d reports, %d requests", err, len(rep.Series), len(e.fb.requests()))
	}
}

// An exchange that cannot be reached stops the download after the first
// series instead of failing every series through all its retries.
func TestUnreachableExchangeStops(t *testing.T) {
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	e.fb.srv.Close()
	keys := []market.Key{spotKey("BTC/USDT", "1m"), spotKey("ETH/USDT", "1m"), spotKey("XRP/USDT", "1m")}
	rep, err := e.downloader(Options{}).Download(context.Background(), keys, market.Range{Start: listing})
	if err == nil || !strings.Contains(err.Error(), "stopped before the 2 other series: binance cannot be reached") {
		t.Fatalf("err = %v", err)
	}
	if len(rep.Series) != 1 || rep.Series[0].Requests != 5 {
		t.Errorf("reports %+v; want one series tried 5 times", rep.Series)
	}
}

// An exchange that has banned the IP (HTTP 418) stops the download after
// the first series: it answers nothing else until the ban ends.
func TestBannedStops(t *testing.T) {
	e := newEnv(t, listing+100*minute, BinanceOptions{})
	e.fb.setFault(func(int) *fault { return &fault{status: 418, retryAfter: "600"} })
	keys := []market.Key{spotKey("BTC/USDT", "1m"), spotKey("ETH/USDT", "1m"), spotKey("XRP/USDT", "1m")}
	rep, err := e.downloader(Options{}).Download(context.Background(), keys, market.Range{Start: listing})
	if err == nil || !strings.Contains(err.Error(), "stopped before the 2 other series: binance has banned this IP") ||
		!strings.Contains(err.Error(), "banned until 2024-01-01T01:50:00Z") {
		t.Fatalf("err = %v", err)
	}
	if len(rep.Series) != 1 || rep.Series[0].Requests != 1 || len(e.fb.requests()) != 1 {
		t.Errorf("reports %+v, %d requests; want one series tried once", rep.Series, len(e.fb.requests()))
	}
}
