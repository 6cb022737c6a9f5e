// Package alpaca implements exchange.Exchange over Alpaca's trading API v2
// (US stocks; https://docs.alpaca.markets/reference) and its market data
// API v2 (stock bars). It is a small REST client written for TradAI rather
// than Alpaca's Go SDK: the SDK reads the system clock and sleeps on its
// own, and brings a decimal library and more modules into the runner's
// graph; this client waits on an injected clock and holds amounts as
// fixed.Dec.
//
// What Alpaca does differently from a crypto exchange, and how it maps:
//   - Symbols are tickers (AAPL); every market's quote asset is USD, the
//     account's cash. A position is a balance of its symbol: qty_available
//     free, the rest held by open sell orders. Cash held by open buy limit
//     orders is not reported by Alpaca; Balances computes it from them.
//   - Order ids are UUIDs; exchange.Order.ID is a 63-bit hash of the UUID
//     (OrderID), looked up again among the account's recent orders. Refer
//     to orders by client order id where possible: that is one request.
//   - Fills are the account activities of type FILL; Alpaca charges no
//     commission on stock trades, so every Trade's Commission is 0 (the
//     regulatory fees on sells are separate FEE activities, not read).
//   - Orders are placed only in the regular session of the exchange
//     calendar (GET /v2/calendar: holidays and early closes included);
//     with Config.ExtendedHours limit orders are also placed in the pre-
//     and after-market sessions, as day orders with extended_hours set.
//     Outside those the order is refused here (exchange.ErrRejected)
//     instead of queueing at Alpaca for the next open.
//   - Fractional quantities go to fractionable assets only (the market's
//     step is 10⁻⁸, TradAI's precision, for those and one share for the
//     others) and, as Alpaca requires, as day orders.
//   - Errors are {"code": …, "message": …}; the HTTP status and the
//     message give the kind (kindOf). HTTP 429 is waited out until the
//     X-RateLimit-Reset time and retried; 5xx and network errors are
//     retried for reads, and are exchange.ErrUnknownStatus for placements
//     and cancels (the order is looked up, never sent again blindly).
//
// It was never run against Alpaca itself, only against alpacatest, a
// local server answering with the payloads of Alpaca's documentation.
package alpaca

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
)

// Alpaca's API roots.
const (
	PaperURL = "https://paper-api.alpaca.markets" // paper trading keys
	LiveURL  = "https://api.alpaca.markets"       // live trading keys
	DataURL  = "https://data.alpaca.markets"      // market data, both
)

// Defaults of Config.
const (
	DefaultAttempts    = 3
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultSettleWait  = 5 * time.Second
	DefaultSettlePoll  = 250 * time.Millisecond
	DefaultHTTPTimeout = 30 * time.Second
	maxBody            = 32 << 20
)

// Config is how to reach one Alpaca account.
type Config struct {
	// BaseURL is the trading API (PaperURL when empty); DataURL the
	// market data API (DataURL when empty).
	BaseURL, DataURL string
	// KeyID and Secret are the account's API key.
	KeyID, Secret string
	// Feed is the bars' data feed: "iex", "sip" (empty: Alpaca's default
	// for the subscription).
	Feed string
	// ExtendedHours lets limit orders be placed in the pre- and
	// after-market sessions (as day orders); otherwise orders are placed
	// in the regular session only.
	ExtendedHours bool
	// HTTP makes the requests (a client with DefaultHTTPTimeout).
	HTTP *http.Client
	// Clock decides the session and waits for rate limits and retries.
	Clock clock.Clock
	// Log gets a warning for each retry (nil: discarded).
	Log *slog.Logger
	// Attempts is how often a request is tried (DefaultAttempts): after
	// HTTP 429 always, after 5xx or a network error for reads only.
	Attempts int
	// BaseDelay is the back-off before the first retry, doubling
	// (DefaultBaseDelay); also the wait after a 429 that names no reset.
	BaseDelay time.Duration
	// SettleWait is how long PlaceOrder waits for a market order to fill
	// and CancelOrder for a cancel to complete (DefaultSettleWait),
	// looking every SettlePoll (DefaultSettlePoll); after it the order is
	// returned as it stands.
	SettleWait, SettlePoll time.Duration
}

// Client is an exchange.Exchange on one Alpaca account.
type Client struct {
	cfg Config
	hc  *http.Client
	clk clock.Clock
	log *slog.Logger

	mu   sync.Mutex
	ids  map[int64]string // order UUIDs by OrderID
	sess *session         // today's sessions, cached for the day
}

var _ exchange.Exchange = (*Client)(nil)

// New returns a client for cfg, with its defaults filled in.
func New(cfg Config) (*Client, error) {
	cfg.BaseURL = strings.TrimRight(cmp.Or(cfg.BaseURL, PaperURL), "/")
	cfg.DataURL = strings.TrimRight(cmp.Or(cfg.DataURL, DataURL), "/")
	for _, u := range []string{cfg.BaseURL, cfg.DataURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("alpaca: base URL %q: want http(s)://host[:port]", u)
		}
	}
	cfg.Attempts = max(cfg.Attempts, 0)
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	cfg.BaseDelay = cmp.Or(cfg.BaseDelay, DefaultBaseDelay)
	cfg.SettleWait = cmp.Or(cfg.SettleWait, DefaultSettleWait)
	cfg.SettlePoll = cmp.Or(cfg.SettlePoll, DefaultSettlePoll)
	c := &Client{cfg: cfg, hc: cfg.HTTP, clk: clock.Or(cfg.Clock), log: cfg.Log, ids: map[int64]string{}}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// apiError is Alpaca's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// parseError reads an error answer of status into an *exchange.Error; a
// body that is not Alpaca's shape becomes the message as it is.
func parseError(status int, path string, body []byte) *exchange.Error {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || strings.TrimSpace(e.Message) == "" {
		e.Message = strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), 512)]), "?"))
	}
	if strings.TrimSpace(e.Message) == "" {
		e.Message = strings.TrimSpace(fmt.Sprintf("HTTP %d %s", status, http.StatusText(status)))
	}
	return &exchange.Error{Kind: kindOf(status, path, e.Message), HTTPStatus: status, Code: e.Code, Msg: e.Message}
}

// kindOf maps an error answer to a kind of failure. Alpaca's codes are
// coarse (40310000 is every "forbidden" from no buying power to a blocked
// account), so the status and the message decide.
func kindOf(status int, path, msg string) error {
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case status == http.StatusTooManyRequests:
		return exchange.ErrRateLimited
	case status == http.StatusUnauthorized:
		return exchange.ErrAuth
	case status >= 500:
		return exchange.ErrUnknownStatus
	case has("insufficient"):
		return exchange.ErrInsufficientBalance
	case has("must be unique"):
		return exchange.ErrDuplicateOrder
	case has("not cancelable", "order not found"):
		return exchange.ErrUnknownOrder
	case has("asset") && has("not found", "could not find", "not active", "is not tradable"):
		return exchange.ErrUnknownSymbol
	case has("sub-penny", "cost basis must be", "qty must be", "notional must be", "not fractionable", "fractional", "increment"):
		return exchange.ErrFilter
	case status == http.StatusForbidden && has("forbidden", "unauthorized", "not authorized", "blocked"):
		return exchange.ErrAuth
	case status == http.StatusNotFound && strings.HasPrefix(path, "/v2/orders"):
		return exchange.ErrUnknownOrder
	case status == http.StatusNotFound && strings.HasPrefix(path, "/v2/assets"):
		return exchange.ErrUnknownSymbol
	case status == http.StatusForbidden || status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return exchange.ErrRejected
	}
	return nil
}

// request is one call of the API.
type request struct {
	method string
	data   bool // the market data API, not the trading API
	path   string
	query  url.Values
	body   any    // JSON
	stats  *Stats // counts the call's requests and waits, when set
}

// Stats are the HTTP requests one call made, retries included, and the
// time it waited for rate limits and before retries.
type Stats struct {
	Requests            int
	RateWait, RetryWait time.Duration
}

// do sends r and decodes a 2xx answer into out (nil: ignored). HTTP 429
// is waited out and retried, 5xx and network errors retried for GET; the
// error of an answer is an *exchange.Error.
func (c *Client) do(ctx context.Context, r request, out any) error {
	method := cmp.Or(r.method, http.MethodGet)
	base := c.cfg.BaseURL
	if r.data {
		base = c.cfg.DataURL
	}
	u := base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("alpaca: encode %s %s: %w", method, r.path, err)
		}
	}
	read := method == http.MethodGet
	delay := c.cfg.BaseDelay
	for attempt := 1; ; attempt++ {
		last := attempt >= c.cfg.Attempts
		status, hdr, body, err := c.send(ctx, method, u, payload)
		if r.stats != nil {
			r.stats.Requests++
		}
		var wait time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("alpaca: %s %s: %w", method, r.path, ctx.Err())
		case err != nil && (!read || last):
			if !read { // the request may have reached Alpaca
				return &exchange.Error{Kind: exchange.ErrUnknownStatus, Msg: err.Error()}
			}
			return fmt.Errorf("alpaca: %s %s: %w", method, r.path, err)
		case err != nil:
			wait = delay
		case status >= 200 && status < 300:
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("alpaca: %s %s: undecodable answer: %w", method, r.path, err)
			}
			return nil
		case status == http.StatusTooManyRequests:
			wait = c.resetWait(hdr, delay)
			if last {
				e := parseError(status, r.path, body)
				e.RetryAfter = wait
				return e
			}
		case status >= 500 && read && !last:
			wait = delay
		default:
			return parseError(status, r.path, body)
		}
		c.log.Warn("alpaca: retrying", "method", method, "path", r.path, "attempt", attempt, "status", status, "error", err, "wait", wait)
		if r.stats != nil && status == http.StatusTooManyRequests {
			r.stats.RateWait += wait
		} else if r.stats != nil {
			r.stats.RetryWait += wait
		}
		if err := c.clk.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("alpaca: %s %s: %w", method, r.path, err)
		}
		delay *= 2
	}
}

// send makes one HTTP request.
func (c *Client) send(ctx context.Context, method, u string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("APCA-API-KEY-ID", c.cfg.KeyID)
	req.Header.Set("APCA-API-SECRET-KEY", c.cfg.Secret)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// resetWait is how long a 429 says to wait: until X-RateLimit-Reset (Unix
// seconds), or Retry-After seconds, or def; at most a minute and a second
// (Alpaca's window is a minute).
func (c *Client) resetWait(h http.Header, def time.Duration) time.Duration {
	if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && s > 0 {
		return min(max(time.Unix(s, 0).Sub(c.clk.Now()), 0)+100*time.Millisecond, 61*time.Second)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 61*time.Second)
	}
	return def
}

// errNoSuchOrder is the error of an order that is not among the account's.
func errNoSuchOrder(what string) error {
	return &exchange.Error{Kind: exchange.ErrUnknownOrder, HTTPStatus: http.StatusNotFound, Msg: "order not found: " + what}
}
