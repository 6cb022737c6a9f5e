package api_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// bare is an API server over d without workers (submitted runs stay
// queued), built with opts, with a token of tenant acme.
type bare struct {
	*env
	auth    *tenancy.Store
	handler http.Handler
}

func newBare(t testing.TB, d *db.DB, opts api.Options, log *slog.Logger) *bare {
	t.Helper()
	s, auth := newServer(t, d, clienttest.ExampleData(), opts, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	b := &bare{env: &env{t: t, url: hs.URL, db: d}, auth: auth, handler: s.Handler()}
	b.token = b.newToken(t, "alice", "acme")
	return b
}

// newServer is an API server over d and the data folder dataDir, without
// workers, with the tenancy store it authenticates with. A nil log
// discards; opts.Clock, when set, is the stores' and the jobs' clock too.
func newServer(t testing.TB, d *db.DB, dataDir string, opts api.Options, log *slog.Logger) (*api.Server, *tenancy.Store) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store := runs.New(d, opts.Clock, 3, log)
	svc, err := jobs.New(d, store, dataDir, log, jobs.Options{Clock: opts.Clock})
	if err != nil {
		t.Fatal(err)
	}
	auth := tenancy.New(d, opts.Clock, log)
	s, err := api.New(api.Deps{DB: d, Runs: store, Jobs: svc, Tenancy: auth, DataDir: dataDir, Log: log, Version: "test"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, auth
}

func (b *bare) newToken(t testing.TB, user, tenant string) string {
	t.Helper()
	u, err := b.auth.CreateUser(context.Background(), user, tenant)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := b.auth.CreateToken(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Text PostgreSQL cannot store (NUL, invalid UTF-8) and control
// characters are a 422 naming the field, in bodies, paths, queries and
// headers, on both databases; nothing is stored.
func TestBadTextIsRefusedNamingTheField(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newBare(t, d, api.Options{}, nil)
		sub := func(change func(*apitype.SubmitRequest)) apitype.SubmitRequest {
			r := submission(t)
			change(&r)
			return r
		}
		cases := []struct {
			name, method, path string
			body               any
			header             []string
			loc                string
		}{
			{"NUL in strategy", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) { r.Strategy = "rsi_bollinger\x00" }), nil, "body.strategy"},
			{"NUL in pair", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) { r.Pairs = []string{"ETH/BTC", "LTC\x00/BTC"} }), nil, "body.pairs[1]"},
			{"NUL in tag value", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) { r.Tags = map[string]string{"k": "v\x00"} }), nil, "body.tags.k"},
			{"escape in tag key", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) { r.Tags = map[string]string{"k\x1b": "v"} }), nil, "body.tags"},
			{"NUL in timerange", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) { r.Timerange = "20180110-\x00" }), nil, "body.timerange"},
			{"NUL in exchange", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) {
				r.Config["exchange"].(map[string]any)["name"] = "binance\x00"
			}), nil, "body.config.exchange.name"},
			{"NUL in config pair", "POST", "/api/v1/backtests", sub(func(r *apitype.SubmitRequest) {
				r.Pairs = nil
				r.Config["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC\x00"}
			}), nil, "body.config.exchange.pair_whitelist[0]"},
			{"invalid UTF-8 Idempotency-Key", "POST", "/api/v1/backtests", submission(t), []string{"Idempotency-Key", "k\xff"}, "header.Idempotency-Key"},
			{"tab in Idempotency-Key", "POST", "/api/v1/backtests", submission(t), []string{"Idempotency-Key", "k\tk"}, "header.Idempotency-Key"},
			{"NUL in run id", "GET", "/api/v1/backtests/run%00x", nil, nil, "path.id"},
			{"invalid UTF-8 in run id", "POST", "/api/v1/backtests/run%ff/cancel", nil, nil, "path.id"},
			{"NUL in artifact name", "GET", "/api/v1/backtests/run_x/artifacts/result%00.json", nil, nil, "path.name"},
			{"NUL in strategy filter", "GET", "/api/v1/backtests?strategy=%00", nil, nil, "query.strategy"},
			{"NUL in tag filter", "GET", "/api/v1/backtests?tag=k%3Dv&tag=a%3D%00", nil, nil, "query.tag"},
			{"invalid UTF-8 cursor", "GET", "/api/v1/backtests?cursor=%ff", nil, nil, "query.cursor"},
			{"NUL in compared ids", "GET", "/api/v1/runs/compare?ids=a%00,b", nil, nil, "query.ids"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.do(c.method, c.path, e.token, c.body, c.header...)
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422: %s", r.status, r.body)
				}
				p := r.problem(t)
				if p.Code != apitype.CodeInvalidRequest || len(p.Errors) == 0 || p.Errors[0].Location != c.loc || !strings.HasPrefix(p.Detail, c.loc+": ") {
					t.Fatalf("problem %+v; want the location %s", p, c.loc)
				}
			})
		}
		e.t = t
		var page apitype.RunPage
		e.do("GET", "/api/v1/backtests", e.token, nil).decode(t, &page)
		if len(page.Runs) != 0 {
			t.Fatalf("refused submissions stored %d runs", len(page.Runs))
		}
	})
}

// What would fail the run later is a 422 at submission, naming the field.
func TestSubmitRefusesWhatTheRunWouldFailOn(t *testing.T) {
	e := newBare(t, sqliteDB(t), api.Options{}, nil)
	sub := func(change func(*apitype.SubmitRequest)) apitype.SubmitRequest {
		r := submission(t)
		change(&r)
		return r
	}
	cfg := func(key string, v any) apitype.SubmitRequest {
		return sub(func(r *apitype.SubmitRequest) { r.Config[key] = v })
	}
	exchange := func(name string) apitype.SubmitRequest {
		return sub(func(r *apitype.SubmitRequest) { r.Config["exchange"].(map[string]any)["name"] = name })
	}
	many := map[string]string{}
	for i := range 20_000 {
		many["t"+strconv.Itoa(i)] = "v"
	}
	cases := []struct {
		name string
		body apitype.SubmitRequest
		loc  string
		want string // in the detail
	}{
		{"param above its range", sub(func(r *apitype.SubmitRequest) { r.Params = map[string]any{"rsi_period": 500} }), "body.params.rsi_period", "outside [2, 50]"},
		{"param below its range", sub(func(r *apitype.SubmitRequest) { r.Params = map[string]any{"bb_std": 0.1} }), "body.params.bb_std", "outside"},
		{"unknown param", sub(func(r *apitype.SubmitRequest) { r.Params = map[string]any{"nope": 1} }), "body.params.nope", `no parameter "nope"`},
		{"param of the wrong type", sub(func(r *apitype.SubmitRequest) { r.Params = map[string]any{"rsi_period": "x"} }), "body.params.rsi_period", "rsi_period"},
		{"config strategy_params out of range", cfg("strategy_params", map[string]any{"rsi_buy": 99}), "body.config.strategy_params.rsi_buy", "outside"},
		{"absurd wallet", cfg("dry_run_wallet", 1e308), "body.config", "dry_run_wallet"},
		{"absurd stake", cfg("stake_amount", 1e300), "body.config", "stake_amount"},
		{"exchange outside the data folder", exchange("../../etc"), "body.config.exchange.name", "cannot be a folder name"},
		{"hidden exchange folder", exchange(".git"), "body.config.exchange.name", "cannot be a folder name"},
		{"pair with a backslash", sub(func(r *apitype.SubmitRequest) { r.Pairs = []string{`..\\..\\ETH/BTC`} }), "body.config.exchange.pair_whitelist[0]", "no '\\'"},
		{"unknown exchange", exchange("kraken"), "body.config.exchange.name", `unknown exchange "kraken"`},
		{"20,000 tags", sub(func(r *apitype.SubmitRequest) { r.Tags = many }), "body.tags", "20000 tags; at most 50"},
		{"51 tags", sub(func(r *apitype.SubmitRequest) {
			r.Tags = map[string]string{}
			for i := range 51 {
				r.Tags[fmt.Sprint(i)] = "v"
			}
		}), "body.tags", "at most 50"},
		{"long tag value", sub(func(r *apitype.SubmitRequest) { r.Tags = map[string]string{"k": strings.Repeat("v", 501)} }), "body.tags.k", "at most 500"},
		{"long tag key", sub(func(r *apitype.SubmitRequest) { r.Tags = map[string]string{strings.Repeat("k", 101): "v"} }), "body.tags", "at most 100 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/api/v1/backtests", e.token, c.body)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %.300s", r.status, r.body)
			}
			p := r.problem(t)
			if len(p.Errors) == 0 || p.Errors[0].Location != c.loc || !strings.Contains(p.Detail, c.want) {
				t.Fatalf("problem %+v; want the location %s and %q", p, c.loc, c.want)
			}
		})
	}
	e.t = t
	// The limits' edges are accepted: a stored exchange, the downloadable
	// one, params at their bounds, 50 tags.
	ok := []apitype.SubmitRequest{
		exchange("binance"), exchange("Binance"),
		sub(func(r *apitype.SubmitRequest) { r.Params = map[string]any{"rsi_period": 50, "bb_std": 0.5} }),
		sub(func(r *apitype.SubmitRequest) {
			r.Tags = map[string]string{}
			for i := range 50 {
				r.Tags[fmt.Sprint(i)] = strings.Repeat("v", 500)
			}
		}),
	}
	for i, body := range ok {
		if r := e.do("POST", "/api/v1/backtests", e.token, body); r.status != http.StatusAccepted {
			t.Errorf("acceptable submission %d: %d %s", i, r.status, r.body)
		}
	}
}

// rawRequest sends req on a new TCP connection to the server at base,
// half-closes it when hangUp, and returns the answer's status.
func rawRequest(t *testing.T, base, req string, hangUp bool) int {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if hangUp {
		conn.(*net.TCPConn).CloseWrite()
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A body that cannot be read is the client's fault: 400, not 500.
func TestUnreadableBodyIs400(t *testing.T) {
	e := newBare(t, sqliteDB(t), api.Options{}, nil)
	head := "POST /api/v1/backtests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\nContent-Type: application/json\r\n"
	cases := []struct {
		name   string
		req    string
		hangUp bool
	}{
		{"malformed chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", false},
		{"chunk longer than its size", head + "Transfer-Encoding: chunked\r\n\r\n2\r\n{\"strategy\"\r\n0\r\n\r\n", false},
		{"hang-up mid-body", head + "Content-Length: 1000\r\n\r\n{\"strategy\":\"rsi", true},
		{"hang-up mid-chunk", head + "Transfer-Encoding: chunked\r\n\r\n100\r\n{\"strategy\"", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rawRequest(t, e.url, c.req, c.hangUp); got != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", got)
			}
		})
	}
	// A well-formed chunked body is read as any other.
	body := `{"strategy":"rsi_bollinger"}`
	if got := rawRequest(t, e.url, head+"Transfer-Encoding: chunked\r\n\r\n"+strconv.FormatInt(int64(len(body)), 16)+"\r\n"+body+"\r\n0\r\n\r\n", false); got != http.StatusAccepted {
		t.Fatalf("chunked submission: %d", got)
	}
}

// The rate limit is the user's, whatever the spelling of the header;
// headers that are not exactly "Bearer <token>" do not authenticate.
func TestRateLimitIsPerUserWhateverTheHeaderSpelling(t *testing.T) {
	e := newBare(t, sqliteDB(t), api.Options{RateLimit: 0.01, RateBurst: 3, AuthFailureBurst: 1000}, nil)
	get := func(h string) int {
		return e.do("GET", "/api/v1/strategies", "", nil, "Authorization", h).status
	}
	for _, h := range []string{"Bearer  " + e.token, "Bearer\t" + e.token, "Bearer " + e.token + " x", "Bearer" + e.token, "Token " + e.token} {
		if got := get(h); got != http.StatusUnauthorized {
			t.Errorf("header %q: %d, want 401", h, got)
		}
	}
	for i, h := range []string{"Bearer " + e.token, "bearer " + e.token, "BEARER " + e.token} {
		if got := get(h); got != http.StatusOK {
			t.Fatalf("request %d (%q): %d", i, h, got)
		}
	}
	// Both of the user's tokens share the user's budget.
	second, _, err := e.auth.CreateToken(context.Background(), userOf(t, e, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bearer " + e.token, "bEaReR " + e.token, "Bearer " + second} {
		r := e.do("GET", "/api/v1/strategies", "", nil, "Authorization", h)
		if r.status != http.StatusTooManyRequests || r.problem(t).Code != apitype.CodeRateLimited || r.header.Get("Retry-After") == "" {
			t.Fatalf("%q after the burst: %d %s", h, r.status, r.body)
		}
	}
	// Another user has its own.
	if got := get("Bearer " + e.newToken(t, "bob", "globex")); got != http.StatusOK {
		t.Fatalf("other user: %d", got)
	}
}

func userOf(t *testing.T, e *bare, name string) string {
	t.Helper()
	u, err := e.auth.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// Failed authentications are limited per client address: beyond the
// burst an address gets 429 (with Retry-After) without its tokens being
// looked up, until its budget refills.
func TestFailedAuthenticationIsLimitedPerAddress(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	e := newBare(t, sqliteDB(t), api.Options{AuthFailures: 1, AuthFailureBurst: 3, Clock: clk}, nil)
	for i, tok := range []string{"tdi_wrong", "garbage", ""} {
		if r := e.do("GET", "/api/v1/backtests", tok, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	for _, tok := range []string{"tdi_wrong", e.token} {
		r := e.do("GET", "/api/v1/backtests", tok, nil)
		if r.status != http.StatusTooManyRequests || r.problem(t).Code != apitype.CodeRateLimited || r.header.Get("Retry-After") != "1" {
			t.Fatalf("after 3 failures, token %.8s: %d %s (Retry-After %q)", tok, r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	clk.Advance(time.Second)
	if r := e.do("GET", "/api/v1/backtests", e.token, nil); r.status != http.StatusOK {
		t.Fatalf("a second later: %d %s", r.status, r.body)
	}
	// X-Forwarded-For is not trusted unless the server is told to: it
	// does not give an attacker a fresh budget.
	for i := range 3 {
		if r := e.do("GET", "/api/v1/backtests", "tdi_wrong", nil, "X-Forwarded-For", "10.0.0."+strconv.Itoa(i)); i > 0 && r.status != http.StatusTooManyRequests {
			t.Fatalf("failure %d from a forged address: %d", i, r.status)
		}
	}

	proxied := newBare(t, sqliteDB(t), api.Options{AuthFailures: 1, AuthFailureBurst: 1, Clock: clk, TrustForwardedFor: true}, nil)
	for i := range 3 {
		if r := proxied.do("GET", "/api/v1/backtests", "tdi_wrong", nil, "X-Forwarded-For", "203.0.113.9, 10.0.0."+strconv.Itoa(i)); r.status != http.StatusUnauthorized {
			t.Fatalf("client %d behind a trusted proxy: %d", i, r.status)
		}
	}
}

// Concurrent submissions with one Idempotency-Key: identical requests get
// the same run, a different request gets 409, never a 500, on both
// databases.
func TestConcurrentSubmissionsWithOneIdempotencyKey(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newBare(t, d, api.Options{RateLimit: 1e6}, nil)
		for round := range 5 {
			key := "key-" + strconv.Itoa(round)
			const n = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			got := make([]resp, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := submission(t)
					if i%2 == 1 {
						req.Timerange = "20180111-20180112"
					}
					<-start
					got[i] = e.do("POST", "/api/v1/backtests", e.token, req, "Idempotency-Key", key)
				}()
			}
			close(start)
			wg.Wait()
			var winner string
			for i, r := range got {
				switch r.status {
				case http.StatusConflict:
					if r.problem(t).Code != apitype.CodeIdempotency {
						t.Fatalf("round %d: 409 %s", round, r.body)
					}
				case http.StatusAccepted:
					var tk apitype.Ticket
					r.decode(t, &tk)
					if winner == "" {
						winner = tk.RunID
					} else if tk.RunID != winner {
						t.Fatalf("round %d: one key gave runs %s and %s", round, winner, tk.RunID)
					}
				default:
					t.Fatalf("round %d: submission %d: %d %s", round, i, r.status, r.body)
				}
			}
		}
	})
}

// A submission that waits for the database longer than the body's read
// deadline still succeeds: the deadline bounds reading the body, not the
// handler. (net/http cancels a request's context when the connection's
// read deadline passes while the handler runs: under load, submissions
// waiting for SQLite's writer failed with 500 "context canceled" 5 s after
// their body was read.)
func TestSlowSubmissionOutlivesTheBodyReadDeadline(t *testing.T) {
	d := sqliteDB(t)
	e := newBare(t, d, api.Options{BodyReadTimeout: 100 * time.Millisecond}, nil)
	// A first request records the token's use (a write, at most once a
	// minute), so that the submission below waits for the writer only in
	// its handler, after its body was read.
	if r := e.do("GET", "/api/v1/backtests", e.token, nil); r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.InTx(context.Background(), func(*db.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	time.AfterFunc(500*time.Millisecond, func() { close(release) })
	r := e.do("POST", "/api/v1/backtests", e.token, submission(t))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %.300s", r.status, r.body)
	}
}
