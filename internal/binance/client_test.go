package binance

import (
	"context"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/clock"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 10, 0, time.UTC)

// answer is a scripted answer; hangUp closes the connection instead.
type answer struct {
	status     int
	retryAfter string
	weight     string
	body       string
	hangUp     bool
}

type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *server) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// serve answers request n with answers[n] (the last one again after the
// end).
func serve(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := answers[min(len(s.reqs), len(answers)-1)]
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
		if a.hangUp {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.weight != "" {
			w.Header().Set("X-MBX-USED-WEIGHT-1M", a.weight)
		}
		w.WriteHeader(cmpStatus(a.status))
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

func newClient(t *testing.T, s *server, clk clock.Clock, cfg Config) *Client {
	t.Helper()
	cfg.BaseURL, cfg.HTTP, cfg.Clock = s.URL, s.Client(), clk
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// jsonOK decodes nothing; undecodable fails the way a truncated body does.
func jsonOK(body []byte) error {
	if !strings.HasPrefix(string(body), "{") || !strings.HasSuffix(string(body), "}") {
		return fmt.Errorf("%w: %q", ErrUndecodable, body)
	}
	return nil
}

func TestDo(t *testing.T) {
	busy := `{"code":-1003,"msg":"Too much request weight used"}`
	tests := []struct {
		name      string
		method    string
		answers   []answer
		requests  int
		sleeps    []time.Duration
		rateWait  time.Duration
		retryWait time.Duration
		wantErr   string // "" = success
	}{
		{"200", "GET", []answer{{body: "{}"}}, 1, nil, 0, 0, ""},
		{"429 Retry-After", "GET", []answer{{status: 429, retryAfter: "7", body: busy}, {body: "{}"}}, 2, []time.Duration{7 * time.Second}, 7 * time.Second, 0, ""},
		{"429 Retry-After date", "GET", []answer{{status: 429, retryAfter: t0.Add(30 * time.Second).Format(http.TimeFormat), body: busy}, {body: "{}"}}, 2, []time.Duration{30 * time.Second}, 30 * time.Second, 0, ""},
		{"429 without Retry-After", "GET", []answer{{status: 429}, {status: 429}, {body: "{}"}}, 3, []time.Duration{time.Second, 2 * time.Second}, 3 * time.Second, 0, ""},
		{"429 POST retried", "POST", []answer{{status: 429, retryAfter: "1", body: busy}, {body: "{}"}}, 2, []time.Duration{time.Second}, time.Second, 0, ""},
		{"429 every time", "GET", []answer{{status: 429, retryAfter: "2", body: busy}}, 5, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}, 8 * time.Second, 0, "giving up after 5 attempts: binance GET /api/v3/x: HTTP 429: Too much request weight used (code -1003)"},
		{"418 stops", "GET", []answer{{status: 418, retryAfter: "120", body: `{"code":-1003,"msg":"Way too much request weight used; IP banned until 1704067330000."}`}, {body: "{}"}}, 1, nil, 0, 0, "HTTP 418: Way too much request weight used; IP banned until 1704067330000. (code -1003); the IP is banned until 2024-01-01T00:02:10Z"},
		{"500 GET retried", "GET", []answer{{status: 500}, {status: 502, body: "<html>bad gateway</html>"}, {body: "{}"}}, 3, []time.Duration{time.Second, 2 * time.Second}, 0, 3 * time.Second, ""},
		{"500 POST not retried", "POST", []answer{{status: 500}, {body: "{}"}}, 1, nil, 0, 0, "binance POST /api/v3/x: HTTP 500"},
		{"503 DELETE not retried", "DELETE", []answer{{status: 503, body: `{"code":-1007,"msg":"Timeout"}`}}, 1, nil, 0, 0, "HTTP 503: Timeout (code -1007)"},
		{"hang-up GET retried", "GET", []answer{{hangUp: true}, {body: "{}"}}, 2, []time.Duration{time.Second}, 0, time.Second, ""},
		{"hang-up POST not retried", "POST", []answer{{hangUp: true}, {body: "{}"}}, 1, nil, 0, 0, "binance POST /api/v3/x: Post"},
		{"undecodable GET retried", "GET", []answer{{body: "{tru"}, {body: "{}"}}, 2, []time.Duration{time.Second}, 0, time.Second, ""},
		{"undecodable every time", "GET", []answer{{body: "{tru"}}, 5, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, 0, 15 * time.Second, "giving up after 5 attempts: binance GET /api/v3/x: undecodable response"},
		{"undecodable POST not retried", "POST", []answer{{body: "{tru"}, {body: "{}"}}, 1, nil, 0, 0, "binance POST /api/v3/x: undecodable response"},
		{"400 not retried", "GET", []answer{{status: 400, body: `{"code":-1121,"msg":"Invalid symbol."}`}}, 1, nil, 0, 0, "binance GET /api/v3/x: HTTP 400: Invalid symbol. (code -1121)"},
		{"403 body not JSON", "GET", []answer{{status: 403, body: " forbidden\n"}}, 1, nil, 0, 0, "binance GET /api/v3/x: HTTP 403: forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := serve(t, tc.answers...)
			clk := clock.NewSkipping(t0)
			c := newClient(t, s, clk, Config{})
			st, err := c.Do(context.Background(), Request{Method: tc.method, Path: "/api/v3/x"}, jsonOK)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if st.Requests != tc.requests || len(s.requests()) != tc.requests {
				t.Errorf("%d requests (server saw %d), want %d", st.Requests, len(s.requests()), tc.requests)
			}
			if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(tc.sleeps) {
				t.Errorf("slept %v, want %v", got, tc.sleeps)
			}
			if st.RateWait != tc.rateWait || st.RetryWait != tc.retryWait {
				t.Errorf("rate wait %v, retry wait %v; want %v, %v", st.RateWait, st.RetryWait, tc.rateWait, tc.retryWait)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	s := serve(t, answer{status: 418, retryAfter: "120", body: `{"code":-1003,"msg":"banned"}`})
	c := newClient(t, s, clock.NewSkipping(t0), Config{})
	_, err := c.Do(context.Background(), Request{Path: "/api/v3/klines"}, jsonOK)
	var e *APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	want := APIError{Method: "GET", Endpoint: "/api/v3/klines", Status: 418, Code: -1003, Msg: "banned",
		RetryAfter: 2 * time.Minute, BannedUntil: t0.Add(2 * time.Minute)}
	if *e != want {
		t.Errorf("error %+v, want %+v", *e, want)
	}
}

// A decoder's own error (not undecodable) is returned as it is, untried
// again.
func TestDecoderError(t *testing.T) {
	s := serve(t, answer{body: "{}"})
	c := newClient(t, s, clock.NewSkipping(t0), Config{})
	bad := errors.New("row 3 is off the grid")
	st, err := c.Do(context.Background(), Request{Path: "/x"}, func([]byte) error { return bad })
	if err != bad || st.Requests != 1 { //nolint:errorlint // the decoder's error itself, not wrapped
		t.Fatalf("error %v after %d requests", err, st.Requests)
	}
}

func TestSigned(t *testing.T) {
	s := serve(t, answer{body: "{}"})
	clk := clock.NewSkipping(t0)
	c := newClient(t, s, clk, Config{APIKey: "key", Secret: "secret", RecvWindow: 3 * time.Second})
	q := url.Values{"symbol": {"BTCUSDT"}}
	for range 2 {
		if _, err := c.Do(context.Background(), Request{Method: "POST", Path: "/api/v3/order", Query: q, Signed: true}, jsonOK); err != nil {
			t.Fatal(err)
		}
	}
	if len(q) != 1 {
		t.Errorf("the caller's query was changed: %v", q)
	}
	for _, r := range s.requests() {
		raw := r.URL.RawQuery
		payload, sig, ok := strings.Cut(raw, "&signature=")
		if !ok || !Verify("secret", payload, sig) {
			t.Errorf("query %s is not signed", raw)
		}
		got := r.URL.Query()
		if got.Get("timestamp") != strconv.FormatInt(t0.UnixMilli(), 10) || got.Get("recvWindow") != "3000" || got.Get("symbol") != "BTCUSDT" {
			t.Errorf("query %s", raw)
		}
		if r.Header.Get("X-MBX-APIKEY") != "key" {
			t.Errorf("API key header %q", r.Header.Get("X-MBX-APIKEY"))
		}
	}
	// Without a key nothing is sent.
	c = newClient(t, s, clk, Config{})
	_, err := c.Do(context.Background(), Request{Path: "/api/v3/account", Signed: true}, jsonOK)
	var e *APIError
	if !errors.As(err, &e) || e.Code != -2014 || e.Status != 0 || len(s.requests()) != 2 {
		t.Errorf("error %v, %d requests", err, len(s.requests()))
	}
}

// The budget counts the weight the server reports: past it, the next
// request waits for the next minute.
func TestWeightHeader(t *testing.T) {
	s := serve(t, answer{weight: "5392", body: "{}"}, answer{weight: "5398", body: "{}"}, answer{weight: "8", body: "{}"})
	clk := clock.NewSkipping(t0)
	c := newClient(t, s, clk, Config{})
	var waits []time.Duration
	for range 3 {
		st, err := c.Do(context.Background(), Request{Path: "/api/v3/klines", Weight: 5}, jsonOK)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, st.RateWait)
	}
	if want := []time.Duration{0, 0, 50 * time.Second}; fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	// Weight: what the client sent, and the server's last count.
	if sent, minute := c.Weight(); sent != 15 || minute != 8 {
		t.Errorf("weight sent %d, last reported %d; want 15 and 8", sent, minute)
	}
}

func TestBackoffCap(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Clock: clock.NewSkipping(time.Time{}), Attempts: 12})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w*time.Second {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
}

func TestWeightBudgetLocal(t *testing.T) {
	// Without headers the local count keeps the budget: a limit of 10 with
	// margin 0.5 allows 5 weight (2 requests of 2) per minute.
	clk := clock.NewSkipping(time.Date(2024, 1, 1, 0, 0, 50, 0, time.UTC))
	b := NewQuota(10, 0.5)
	var waits []time.Duration
	for range 5 {
		w, _, err := b.reserve(context.Background(), clk, 2)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	want := []time.Duration{0, 0, 10 * time.Second, 0, time.Minute}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.reserve(ctx, clk, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("reserve with a cancelled context: %v", err)
	}
}

// The base URL may have a path (a simulator mounted under a prefix, a
// proxy); without a clock it takes the system clock.
func TestNew(t *testing.T) {
	if _, err := New(Config{BaseURL: "http://127.0.0.1:1/binance/", Clock: clock.NewSkipping(time.Time{})}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "127.0.0.1:8090", "ftp://x", "http://"} {
		if _, err := New(Config{BaseURL: bad, Clock: clock.NewSkipping(time.Time{})}); err == nil {
			t.Errorf("base URL %q accepted", bad)
		}
	}
	if c, err := New(Config{BaseURL: "http://127.0.0.1:1"}); err != nil || c.cfg.Clock == nil {
		t.Errorf("without a clock: %v", err)
	}
}

func TestCancelledInRetryWait(t *testing.T) {
	s := serve(t, answer{status: 429, retryAfter: "3"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, s, cancelOnSleep{clock.NewSkipping(t0), cancel}, Config{})
	st, err := c.Do(ctx, Request{Path: "/x"}, jsonOK)
	if !errors.Is(err, context.Canceled) || st.Requests != 1 {
		t.Fatalf("error %v after %d requests", err, st.Requests)
	}
}

// cancelOnSleep cancels the context when asked to sleep.
type cancelOnSleep struct {
	*clock.Skipping
	cancel context.CancelFunc
}

func (c cancelOnSleep) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.Skipping.Sleep(ctx, d)
}

// recorder is an Observer keeping what it was told.
type recorder struct {
	mu       sync.Mutex
	requests []string // weight/status
	used     []int
}

func (r *recorder) Request(weight, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, fmt.Sprintf("%d/%d", weight, status))
}

func (r *recorder) UsedWeight(used int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.used = append(r.used, used)
}

// The observer is told of every HTTP request, retries included, with its
// weight and the answer's status (0 for none), and of the weight the
// venue reports used.
func TestObserver(t *testing.T) {
	s := serve(t, answer{hangUp: true}, answer{status: 500}, answer{status: 429, retryAfter: "1", weight: "40"}, answer{body: "{}", weight: "45"})
	rec := &recorder{}
	c := newClient(t, s, clock.NewSkipping(t0), Config{Observe: rec})
	if _, err := c.Do(context.Background(), Request{Path: "/api/v3/x", Weight: 5}, jsonOK); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(rec.requests), "[5/0 5/500 5/429 5/200]"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(rec.used), "[40 45]"; got != want {
		t.Errorf("used weights %s, want %s", got, want)
	}
}

// After an HTTP 418 no request of the quota is sent until the ban ends —
// by any client sharing it —; each is refused at once, saying until when.
func TestBanStopsEveryRequest(t *testing.T) {
	s := serve(t, answer{status: 418, retryAfter: "120", body: `{"code":-1003,"msg":"banned"}`}, answer{body: "{}"})
	clk := clock.NewSkipping(t0)
	q := NewQuota(0, 0)
	a := newClient(t, s, clk, Config{Quota: q})
	b := newClient(t, s, clk, Config{Quota: q})
	if _, err := a.Do(context.Background(), Request{Path: "/x"}, jsonOK); err == nil {
		t.Fatal("the 418 was not an error")
	}
	clk.Advance(119 * time.Second)
	for _, c := range []*Client{a, b} {
		st, err := c.Do(context.Background(), Request{Method: "POST", Path: "/api/v3/order"}, jsonOK)
		var e *APIError
		if !errors.As(err, &e) || e.Status != 0 || e.Code != -1003 || !e.BannedUntil.Equal(t0.Add(2*time.Minute)) || e.RetryAfter != time.Second || st.Requests != 0 {
			t.Fatalf("during the ban: %v (%+v), %d requests", err, e, st.Requests)
		}
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests sent during the ban", n)
	}
	clk.Advance(time.Second)
	if _, err := b.Do(context.Background(), Request{Path: "/x"}, jsonOK); err != nil || len(s.requests()) != 2 {
		t.Fatalf("after the ban: %v, %d requests", err, len(s.requests()))
	}
	// A 418 without Retry-After bans for DefaultBan.
	s = serve(t, answer{status: 418}, answer{body: "{}"})
	c := newClient(t, s, clk, Config{})
	_, err := c.Do(context.Background(), Request{Path: "/x"}, jsonOK)
	var e *APIError
	if !errors.As(err, &e) || !e.BannedUntil.Equal(clk.Now().Add(DefaultBan)) {
		t.Fatalf("418 without Retry-After: %v", err)
	}
	if _, err := c.Do(context.Background(), Request{Path: "/x"}, jsonOK); err == nil || len(s.requests()) != 1 {
		t.Fatalf("sent during the default ban: %v", err)
	}
}

// A 429's Retry-After holds back the other clients of the quota too.
func TestRetryAfterPausesTheQuota(t *testing.T) {
	s := serve(t, answer{status: 429, retryAfter: "7"}, answer{body: "{}"})
	clk := clock.NewSkipping(t0)
	q := NewQuota(0, 0)
	a := newClient(t, s, clk, Config{Quota: q, Attempts: 1})
	b := newClient(t, s, clk, Config{Quota: q})
	if _, err := a.Do(context.Background(), Request{Path: "/x"}, jsonOK); err == nil {
		t.Fatal("429 with one attempt succeeded")
	}
	st, err := b.Do(context.Background(), Request{Path: "/x"}, jsonOK)
	if err != nil || st.RateWait != 7*time.Second || st.Requests != 1 {
		t.Fatalf("the other client: %v, waited %v, %d requests", err, st.RateWait, st.Requests)
	}
}

// A signed request refused with -1021 (the clocks differ by more than
// recvWindow) is sent again once, timestamped on the server's clock read
// from /api/v3/time; a second -1021 is returned.
func TestTimestampOutsideRecvWindow(t *testing.T) {
	serverNow := t0.Add(-7 * time.Second) // our clock runs 7 s ahead
	skew := `{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."}`
	s := serve(t, answer{status: 400, body: skew}, answer{body: fmt.Sprintf(`{"serverTime":%d}`, serverNow.UnixMilli())}, answer{body: "{}"})
	clk := clock.NewSkipping(t0)
	c := newClient(t, s, clk, Config{APIKey: "k", Secret: "s", Attempts: 1})
	st, err := c.Do(context.Background(), Request{Method: "POST", Path: "/api/v3/order", Signed: true}, jsonOK)
	if err != nil || st.Requests != 3 {
		t.Fatalf("%v after %d requests", err, st.Requests)
	}
	reqs := s.requests()
	if reqs[1].URL.Path != "/api/v3/time" {
		t.Fatalf("second request %s, want the server time", reqs[1].URL.Path)
	}
	if got := reqs[2].URL.Query().Get("timestamp"); got != strconv.FormatInt(serverNow.UnixMilli(), 10) {
		t.Errorf("retried with timestamp %s, want the server's %d", got, serverNow.UnixMilli())
	}
	// The offset stays learnt.
	if _, err := c.Do(context.Background(), Request{Path: "/api/v3/account", Signed: true}, jsonOK); err != nil {
		t.Fatal(err)
	}
	if got := s.requests()[3].URL.Query().Get("timestamp"); got != strconv.FormatInt(serverNow.UnixMilli(), 10) {
		t.Errorf("next request's timestamp %s", got)
	}
	// Refused again after the sync: returned, not tried a third time.
	s = serve(t, answer{status: 400, body: skew}, answer{body: fmt.Sprintf(`{"serverTime":%d}`, serverNow.UnixMilli())}, answer{status: 400, body: skew})
	c = newClient(t, s, clk, Config{APIKey: "k", Secret: "s"})
	_, err = c.Do(context.Background(), Request{Method: "POST", Path: "/api/v3/order", Signed: true}, jsonOK)
	var e *APIError
	if !errors.As(err, &e) || e.Code != -1021 || len(s.requests()) != 3 {
		t.Fatalf("%v after %d requests", err, len(s.requests()))
	}
}
