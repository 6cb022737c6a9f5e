package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tradai/tradai/internal/clock"
)

// Defaults of [Config].
const (
	// DefaultSpotWeightLimit and DefaultFuturesWeightLimit are Binance's
	// request-weight limits per minute and IP (REQUEST_WEIGHT in
	// exchangeInfo) of the spot and the USDⓈ-M futures API.
	DefaultSpotWeightLimit    = 6000
	DefaultFuturesWeightLimit = 2400
	// DefaultWeightMargin is the share of the weight limit used before
	// waiting for the next minute.
	DefaultWeightMargin = 0.9
	// DefaultAttempts is how often a request is tried before giving up.
	DefaultAttempts = 5
	// DefaultBaseDelay and DefaultMaxDelay bound the exponential back-off
	// between attempts (1 s, 2 s, 4 s, … up to 1 min).
	DefaultBaseDelay = time.Second
	DefaultMaxDelay  = time.Minute
	// DefaultHTTPTimeout is the timeout of the HTTP client New makes when
	// given none.
	DefaultHTTPTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds the name lookup and connection (and the
	// TLS handshake) of a request of the client New makes, so an exchange
	// that cannot be reached is said within seconds, not after the whole
	// HTTP timeout.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultRecvWindow is how long after its timestamp a signed request is
	// valid (Binance's default).
	DefaultRecvWindow = 5 * time.Second
)

// weightHeader is where Binance reports the request weight used in the
// current minute by the caller's IP.
const weightHeader = "X-Mbx-Used-Weight-1m"

// maxBody bounds the size of an answer read (a page of 1000 candles is
// about 150 kB, the whole exchangeInfo some MB).
const maxBody = 64 << 20

// Config is what a [Client] needs. BaseURL is required; zero fields take
// the defaults in parentheses.
type Config struct {
	// BaseURL is the API's root: https://api.binance.com,
	// https://fapi.binance.com, or the simulator's http://127.0.0.1:8090; a
	// path is kept (a simulator mounted under a prefix, a proxy).
	BaseURL string
	// APIKey and Secret are needed for signed requests only.
	APIKey, Secret string
	// HTTP makes the requests (a client with DefaultHTTPTimeout).
	HTTP *http.Client
	// Clock signs timestamps and waits for rate limits and retries.
	Clock clock.Clock // (the system clock)
	// Log gets a warning for each retry (nil: discarded).
	Log *slog.Logger
	// WeightLimit is the API's request-weight limit per minute
	// (DefaultSpotWeightLimit); WeightMargin the share of it used before
	// waiting for the next minute, in (0, 1] (DefaultWeightMargin). Both
	// are ignored when Quota is given (NewQuota takes them).
	WeightLimit  int
	WeightMargin float64
	// Attempts is how often a request is tried when it fails with a
	// retryable error (DefaultAttempts): HTTP 429 for every request; HTTP
	// 5xx, a network error or an undecodable answer for GET requests.
	Attempts int
	// BaseDelay is the back-off before the first retry, doubling with each
	// further one up to MaxDelay (DefaultBaseDelay, DefaultMaxDelay). It is
	// also the wait after an HTTP 429 without a Retry-After header.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// RecvWindow is how long a signed request stays valid
	// (DefaultRecvWindow).
	RecvWindow time.Duration
	// Observe is told of every HTTP request, for the process's metrics
	// (nil: nothing).
	Observe Observer
	// Tracer makes a client span of every HTTP request, a child of the
	// span of the request's context (nil: none).
	Tracer trace.Tracer
	// Quota is the request weight, pause and ban of the IP and API,
	// shared with the other clients sending from this IP to this API (nil:
	// the client's own, of WeightLimit and WeightMargin).
	Quota *Quota
}

// Observer is told what a [Client]'s requests cost (telemetry.Venue).
type Observer interface {
	// Request: one HTTP request of weight, answered with HTTP status (0:
	// no answer, a network error).
	Request(weight, status int)
	// UsedWeight: the weight the API says this IP used in the current
	// minute.
	UsedWeight(used int)
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) Request(int, int) {}
func (noObserver) UsedWeight(int)   {}

// Client sends requests to one Binance API. It is safe for concurrent use;
// all requests share one [Quota]: share it between the clients of one API
// and IP (Config.Quota).
type Client struct {
	cfg    Config
	budget *Quota
	// offset is the server's clock minus ours, in milliseconds, learnt
	// from /api/v3/time after a -1021 (the timestamp outside recvWindow);
	// signed timestamps add it.
	offset atomic.Int64
	// sent is the request weight of every request this client sent
	// (Weight; the Quota may be shared by other clients).
	sent atomic.Int64
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("binance: base URL %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	cfg.Clock = clock.Or(cfg.Clock)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: DefaultConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = DefaultConnectTimeout
		cfg.HTTP = &http.Client{Timeout: DefaultHTTPTimeout, Transport: tr}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.RecvWindow <= 0 {
		cfg.RecvWindow = DefaultRecvWindow
	}
	if cfg.Observe == nil {
		cfg.Observe = noObserver{}
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	q := cfg.Quota
	if q == nil {
		q = NewQuota(cfg.WeightLimit, cfg.WeightMargin)
	}
	return &Client{cfg: cfg, budget: q}, nil
}

// Request is one call of the API.
type Request struct {
	// Method is the HTTP method (GET when empty).
	Method string
	// Path is the endpoint: "/api/v3/klines".
	Path  string
	Query url.Values
	// Signed requests get timestamp, recvWindow and signature parameters
	// and the API key header; they need an API key and secret.
	Signed bool
	// Weight is the request's weight in Binance's limit (1 when 0).
	Weight int
}

// Stats counts what one [Client.Do] took, also when it failed.
type Stats struct {
	// Requests is the number of HTTP requests made, retries included.
	Requests int
	// RateWait is the time spent waiting for the rate limit (the weight
	// budget, or Retry-After on HTTP 429).
	RateWait time.Duration
	// RetryWait is the time spent backing off before retrying failed
	// requests (server and network errors, undecodable answers).
	RetryWait time.Duration
}

// Do sends r and hands the body of a 200 answer to decode. It waits for
// the weight budget (and a pause an HTTP 429 asked for) first and retries
// as [Config.Attempts] says. A non-200 answer is an [*APIError]; HTTP 418
// (a ban) is never retried, and until the ban ends (its Retry-After, else
// [DefaultBan]) no request of the quota is sent: each is refused at once
// with the ban's end. A signed request refused with -1021 (its timestamp
// outside recvWindow: the clocks differ) is sent again once after the
// client learnt the server's time from /api/v3/time. An error
// from decode that wraps [ErrUndecodable] is retried like a truncated
// answer and returned naming the method and path; other errors from decode
// are returned as they are.
func (c *Client) Do(ctx context.Context, r Request, decode func(body []byte) error) (Stats, error) {
	var st Stats
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if r.Signed && (c.cfg.APIKey == "" || c.cfg.Secret == "") {
		return st, &APIError{Method: r.Method, Endpoint: r.Path, Code: -2014, Msg: "an API key and secret are needed for this request"}
	}
	safe := r.Method == http.MethodGet
	synced := false
	for attempt := 1; ; attempt++ {
		w, banned, err := c.budget.reserve(ctx, c.cfg.Clock, max(1, r.Weight))
		st.RateWait += w
		if err != nil {
			return st, fmt.Errorf("binance %s %s: waiting for the request-weight limit: %w", r.Method, r.Path, err)
		}
		if !banned.IsZero() {
			return st, &APIError{Method: r.Method, Endpoint: r.Path, Code: -1003, Msg: "the IP is banned (HTTP 418)",
				RetryAfter: banned.Sub(c.cfg.Clock.Now()), BannedUntil: banned}
		}
		st.Requests++
		c.sent.Add(int64(max(1, r.Weight)))
		err = c.once(ctx, r, decode)
		if err == nil {
			return st, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return st, fmt.Errorf("binance %s %s: %w", r.Method, r.Path, cerr)
		}
		var apiErr *APIError
		var te *transportError
		isAPI := errors.As(err, &apiErr)
		rateLimited := isAPI && apiErr.Status == http.StatusTooManyRequests
		switch {
		case isAPI && apiErr.Status == http.StatusTeapot:
			until := apiErr.BannedUntil
			if until.IsZero() {
				until = c.cfg.Clock.Now().Add(DefaultBan)
				apiErr.BannedUntil = until
			}
			c.budget.ban(until)
			return st, err
		case isAPI && apiErr.Code == -1021 && r.Signed && !synced:
			// Refused before it was looked at: safe to send again, once.
			synced = true
			if serr := c.syncTime(ctx, &st); serr != nil {
				return st, fmt.Errorf("%w (and learning the server's time failed: %w)", err, serr)
			}
			attempt--
			continue
		case rateLimited && apiErr.RetryAfter > 0:
			c.budget.pause(c.cfg.Clock.Now().Add(apiErr.RetryAfter))
		case rateLimited:
		case !safe:
			return st, err
		case isAPI && apiErr.Status < 500:
			return st, err // refused, banned: trying again will not help
		case !isAPI && !errors.Is(err, ErrUndecodable) && !errors.As(err, &te):
			return st, err // the decoder refused what it read
		}
		if attempt >= c.cfg.Attempts {
			return st, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		delay := c.backoff(attempt)
		if rateLimited && apiErr.RetryAfter > 0 {
			delay = apiErr.RetryAfter
		}
		c.cfg.Log.Warn("binance request failed, retrying", "endpoint", r.Method+" "+r.Path,
			"attempt", attempt, "wait", delay, "err", err)
		if err := c.cfg.Clock.Sleep(ctx, delay); err != nil {
			return st, fmt.Errorf("binance %s %s: waiting to retry: %w", r.Method, r.Path, err)
		}
		if rateLimited {
			st.RateWait += delay
		} else {
			st.RetryWait += delay
		}
	}
}

// transportError is a request that got no complete answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Clock is the clock the client signs with and waits on (Config.Clock).
func (c *Client) Clock() clock.Clock { return c.cfg.Clock }

// once makes one request.
func (c *Client) once(ctx context.Context, r Request, decode func([]byte) error) (err error) {
	ctx, span := c.cfg.Tracer.Start(ctx, "binance "+r.Method+" "+r.Path, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.Path), attribute.Int("binance.weight", max(1, r.Weight))))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	raw := r.Query.Encode()
	if r.Signed {
		q := maps.Clone(r.Query)
		if q == nil {
			q = url.Values{}
		}
		q.Set("timestamp", strconv.FormatInt(c.cfg.Clock.Now().UnixMilli()+c.offset.Load(), 10))
		q.Set("recvWindow", strconv.FormatInt(c.cfg.RecvWindow.Milliseconds(), 10))
		raw = q.Encode()
		raw += "&signature=" + Sign(c.cfg.Secret, raw)
	}
	u := c.cfg.BaseURL + r.Path
	if raw != "" {
		u += "?" + raw
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, nil)
	if err != nil {
		return fmt.Errorf("binance %s %s: building the request: %w", r.Method, r.Path, err)
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("X-MBX-APIKEY", c.cfg.APIKey)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		c.cfg.Observe.Request(max(1, r.Weight), 0)
		return &transportError{fmt.Errorf("binance %s %s: %w", r.Method, r.Path, err)}
	}
	defer resp.Body.Close()
	c.cfg.Observe.Request(max(1, r.Weight), resp.StatusCode)
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &transportError{fmt.Errorf("binance %s %s: reading the answer: %w", r.Method, r.Path, err)}
	}
	if h := resp.Header.Get(weightHeader); h != "" {
		if used, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
			c.budget.observe(c.cfg.Clock.Now(), used)
			c.cfg.Observe.UsedWeight(used)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(r.Method, r.Path, resp.StatusCode, resp.Header, body, c.cfg.Clock.Now())
	}
	if err := decode(body); err != nil {
		if errors.Is(err, ErrUndecodable) {
			return fmt.Errorf("binance %s %s: %w", r.Method, r.Path, err)
		}
		return err
	}
	return nil
}

// syncTime learns the server's clock (GET /api/v3/time, weight 1): the
// offset from ours at the middle of the request.
func (c *Client) syncTime(ctx context.Context, st *Stats) error {
	w, banned, err := c.budget.reserve(ctx, c.cfg.Clock, 1)
	st.RateWait += w
	if err != nil {
		return err
	}
	if !banned.IsZero() {
		return fmt.Errorf("the IP is banned until %s", banned.UTC().Format(time.RFC3339))
	}
	st.Requests++
	c.sent.Add(1)
	before := c.cfg.Clock.Now()
	var server int64
	err = c.once(ctx, Request{Method: http.MethodGet, Path: "/api/v3/time"}, func(body []byte) error {
		var t struct {
			ServerTime int64 `json:"serverTime"`
		}
		if err := json.Unmarshal(body, &t); err != nil || t.ServerTime <= 0 {
			return fmt.Errorf("%w: server time %q", ErrUndecodable, shorten(string(body), 100))
		}
		server = t.ServerTime
		return nil
	})
	if err != nil {
		return err
	}
	after := c.cfg.Clock.Now()
	mid := before.Add(after.Sub(before) / 2)
	c.offset.Store(server - mid.UnixMilli())
	c.cfg.Log.Info("binance clock offset learnt after -1021", "base", c.cfg.BaseURL, "offset_ms", server-mid.UnixMilli())
	return nil
}

// backoff returns the wait before retry number attempt (1-based).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BaseDelay
	for i := 1; i < attempt && d < c.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxDelay)
}
