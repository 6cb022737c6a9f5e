package binance

import (
	"context"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/clock"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
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
	// waiting for the next minute, in (0, 1] (DefaultWeightMargin).
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
// all requests share one request-weight budget, so use one Client per API
// and IP.
type Client struct {
	cfg    Config
	budget *weightBudget
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
	if cfg.WeightLimit <= 0 {
		cfg.WeightLimit = DefaultSpotWeightLimit
	}
	if cfg.WeightMargin <= 0 || cfg.WeightMargin > 1 {
		cfg.WeightMargin = DefaultWeightMargin
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
	budget := max(1, int(math.Floor(float64(cfg.WeightLimit)*cfg.WeightMargin)))
	return &Client{cfg: cfg, budget: &weightBudget{budget: budget}}, nil
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
// the weight budget first and retries as [Config.Attempts] says. A non-200
// answer is an [*APIError]; HTTP 418 (a ban) is never retried. An error
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
	for attempt := 1; ; attempt++ {
		w, err := c.budget.reserve(ctx, c.cfg.Clock, max(1, r.Weight))
		st.RateWait += w
		if err != nil {
			return st, fmt.Errorf("binance %s %s: waiting for the request-weight limit: %w", r.Method, r.Path, err)
		}
		st.Requests++
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
		q.Set("timestamp", strconv.FormatInt(c.cfg.Clock.Now().UnixMilli(), 10))
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

// backoff returns the wait before retry number attempt (1-based).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BaseDelay
	for i := 1; i < attempt && d < c.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxDelay)
}
