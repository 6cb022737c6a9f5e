package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/clock"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

// Options tune a Client; zero fields take the defaults shown.
type Options struct {
	// HTTPClient sends the requests (a client with Timeout as its timeout).
	HTTPClient *http.Client
	// Timeout bounds one HTTP request, body included (30 s).
	Timeout time.Duration
	// RateRetries is how many refusals one call waits out (4): 429
	// rate_limited and 503 overloaded, which the server answers before
	// doing anything, so every request may be repeated after them; a
	// negative value waits out none.
	RateRetries int
	// MaxRetryAfter is the longest Retry-After honoured (30 s); an answer
	// asking for more is returned as the error at once.
	MaxRetryAfter time.Duration
	// ConnRetries is how many times a request that is safe to repeat is
	// repeated after a connection error or a 502/503/504 (2); a negative
	// value repeats none.
	ConnRetries int
	// Backoff is the wait before the first such repeat, doubled for each
	// further one (250 ms).
	Backoff time.Duration
	// PollMin and PollMax bound Wait's polling interval, which starts at
	// PollMin and grows by half each poll up to PollMax (200 ms, 1 s).
	PollMin, PollMax time.Duration
	// UserAgent names the caller ("tradai-client").
	UserAgent string
	// Clock reads Retry-After dates and waits between attempts and polls
	// (the system clock).
	Clock clock.Clock
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 30*time.Second)
	def(&o.MaxRetryAfter, 30*time.Second)
	def(&o.Backoff, 250*time.Millisecond)
	def(&o.PollMin, 200*time.Millisecond)
	def(&o.PollMax, time.Second)
	if o.PollMax < o.PollMin {
		o.PollMax = o.PollMin
	}
	if o.RateRetries == 0 {
		o.RateRetries = 4
	}
	if o.ConnRetries == 0 {
		o.ConnRetries = 2
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout, Transport: transport()}
	}
	o.Clock = clock.Or(o.Clock)
	if o.UserAgent == "" {
		o.UserAgent = "tradai-client"
	}
	return o
}

// transport is Go's default transport keeping enough idle connections for
// a client used concurrently (the default keeps 2 per host, so every
// further concurrent request opens a connection of its own and closes it
// after), and closing them after a minute idle, before the server's idle
// timeout (2 minutes) closes them under a request.
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = time.Minute
	return t
}

// Client talks to one TradAI API server as one token. It is safe for
// concurrent use.
type Client struct {
	base  *url.URL
	token string
	o     Options
}

// New is a client for the server at baseURL (scheme and host, e.g.
// http://127.0.0.1:8080; a path prefix is kept) acting with token.
func New(baseURL, token string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host", baseURL)
	}
	if token == "" {
		return nil, errors.New("client: an API token is required")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &Client{base: u, token: token, o: o.withDefaults()}, nil
}

// BaseURL is the server's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// URL makes a link the API answers with (a path such as
// /api/v1/backtests/run_…/artifacts/report.html) absolute.
func (c *Client) URL(link string) string {
	if link == "" {
		return ""
	}
	if u, err := url.Parse(link); err == nil && u.IsAbs() {
		return link
	}
	return c.base.String() + "/" + strings.TrimPrefix(link, "/")
}

// call is one API request.
type call struct {
	what   string // what it does, in the user's terms: "submit backtest"
	prep   string // the word before the URL: "to", "from", "at"
	method string
	path   string
	query  url.Values
	body   any
	// raw, when set, is sent as it is (application/octet-stream) instead
	// of body.
	raw    []byte
	header http.Header
	// repeatable: sending it twice does no more than sending it once, so
	// it may be repeated after a connection error.
	repeatable bool
	// keyed: it carries an Idempotency-Key, so a repeat answers what the
	// first attempt did; it is repeated after a timeout too, which leaves
	// the caller not knowing whether it was done.
	keyed bool
}

// do sends cl and decodes a successful answer into out: a *[]byte gets
// the raw body, anything else the decoded JSON; nil discards it.
func (c *Client) do(ctx context.Context, cl call, out any) error {
	target := c.base.String() + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	op := cl.what + " " + cl.prep + " " + target
	body := cl.raw
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("%s: encode the request: %w", op, err)
		}
	}
	rateLeft, connLeft := c.o.RateRetries, c.o.ConnRetries
	backoff := c.o.Backoff
	for {
		resp, err := c.send(ctx, cl, target, body)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", op, context.Cause(ctx))
			}
			if cl.repeatable && connLeft > 0 && (cl.keyed || !isTimeout(err)) {
				connLeft--
				if serr := c.o.Clock.Sleep(ctx, backoff); serr != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				backoff *= 2
				continue
			}
			return fmt.Errorf("%s: %w%s", op, err, hint(err))
		}
		if resp.StatusCode < 300 {
			err := decode(resp, out)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("%s: read the answer: %w", op, err)
			}
			return nil
		}
		apiErr := readError(op, resp, c.o.Clock.Now())
		resp.Body.Close()
		switch {
		case refusedUndone(apiErr) && rateLeft > 0 && apiErr.RetryAfter <= c.o.MaxRetryAfter:
			rateLeft--
			if err := c.o.Clock.Sleep(ctx, max(apiErr.RetryAfter, c.o.Backoff)); err != nil {
				return fmt.Errorf("%w (gave up waiting: %w)", apiErr, err)
			}
			continue
		case cl.repeatable && connLeft > 0 && transient(resp.StatusCode) && apiErr.RetryAfter <= c.o.MaxRetryAfter:
			connLeft--
			if err := c.o.Clock.Sleep(ctx, max(apiErr.RetryAfter, backoff)); err != nil {
				return fmt.Errorf("%w (gave up waiting: %w)", apiErr, err)
			}
			backoff *= 2
			continue
		}
		return apiErr
	}
}

func (c *Client) send(ctx context.Context, cl call, target string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/problem+json, */*")
	req.Header.Set("User-Agent", c.o.UserAgent)
	switch {
	case cl.raw != nil:
		req.Header.Set("Content-Type", "application/octet-stream")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.o.HTTPClient.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the caller names the URL already
	}
	return resp, err
}

// maxAnswer bounds what is read of an answer body (artifacts included).
const maxAnswer = 1 << 30

func decode(resp *http.Response, out any) error {
	switch v := out.(type) {
	case nil:
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return err
	case *[]byte:
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		*v = b
		return err
	default:
		return json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out)
	}
}

// readError turns an error answer into an *Error: the problem document
// when there is one, else the start of whatever the body says.
func readError(op string, resp *http.Response, now time.Time) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p apitype.Problem
	if json.Unmarshal(b, &p) == nil && (p.Code != "" || p.Detail != "") {
		e.Code, e.Detail, e.Problem = p.Code, p.Detail, &p
		return e
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	e.Detail = text
	return e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// refusedUndone reports whether the server refused the request before
// doing anything of it (rate limited, overloaded): any request may be sent
// again after Retry-After.
func refusedUndone(e *Error) bool {
	return e.Status == http.StatusTooManyRequests || (e.Status == http.StatusServiceUnavailable && e.Code == apitype.CodeOverloaded)
}

func transient(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hint says what a connection error probably means.
func hint(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return " (is tradai serve running there?)"
	case isTimeout(err):
		return " (the server did not answer in time)"
	}
	return ""
}
