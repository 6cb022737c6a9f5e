package download

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Binance defaults (see [BinanceOptions]).
const (
	DefaultBinanceSpotURL    = "https://api.binance.com"
	DefaultBinanceFuturesURL = "https://fapi.binance.com"
	// DefaultPageSize is the number of candles requested per call (the
	// "limit" parameter).
	DefaultPageSize = 1000
	// DefaultSpotWeightLimit and DefaultFuturesWeightLimit are Binance's
	// request-weight limits per minute and IP (REQUEST_WEIGHT in
	// exchangeInfo) for the spot and the USDⓈ-M futures API.
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
	// DefaultHTTPTimeout is the timeout of the HTTP client NewBinance makes
	// when given none.
	DefaultHTTPTimeout = 30 * time.Second
)

// weightHeader is where Binance reports the request weight used in the
// current minute by the caller's IP.
const weightHeader = "X-Mbx-Used-Weight-1m"

// BinanceOptions configures a [Binance] source. Zero fields take the
// defaults in parentheses.
type BinanceOptions struct {
	// SpotURL is the base URL of the spot API (DefaultBinanceSpotURL);
	// FuturesURL that of the USDⓈ-M futures API (DefaultBinanceFuturesURL).
	SpotURL    string
	FuturesURL string
	// PageSize is the number of candles requested per call, at most 1000
	// for spot and 1500 for futures (DefaultPageSize).
	PageSize int
	// SpotWeightLimit and FuturesWeightLimit are the request-weight limits
	// per minute (DefaultSpotWeightLimit, DefaultFuturesWeightLimit).
	SpotWeightLimit    int
	FuturesWeightLimit int
	// WeightMargin is the share of a limit this source uses before it waits
	// for the next minute, in (0, 1] (DefaultWeightMargin).
	WeightMargin float64
	// Weight returns the weight of one klines request to endpoint (a URL
	// path such as "/api/v3/klines") with the given limit (BinanceWeight).
	Weight func(endpoint string, limit int) int
	// Attempts is how often a request is tried when it fails with a
	// retryable error: HTTP 429, 418, 5xx, a network error or an
	// undecodable body (DefaultAttempts).
	Attempts int
	// BaseDelay is the back-off before the first retry, doubling with each
	// further one up to MaxDelay (DefaultBaseDelay, DefaultMaxDelay). It is
	// also used on HTTP 429/418 without a Retry-After header.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// BinanceWeight is the default request-weight table for klines requests:
// weight 2 on the spot API (/api/…) whatever the limit; on the futures API
// (/fapi/…, also for mark, index and premium index klines) 1 for a limit
// below 100, 2 below 500, 5 up to 1000 and 10 above.
func BinanceWeight(endpoint string, limit int) int {
	if !strings.HasPrefix(endpoint, "/fapi/") {
		return 2
	}
	switch {
	case limit < 100:
		return 1
	case limit < 500:
		return 2
	case limit <= 1000:
		return 5
	}
	return 10
}

// Binance is the [Source] for Binance's public klines endpoints: spot
// candles from /api/v3/klines, and from the USDⓈ-M futures API
// /fapi/v1/klines (market.Futures), /fapi/v1/markPriceKlines (market.Mark),
// /fapi/v1/indexPriceKlines (market.Index) and /fapi/v1/premiumIndexKlines
// (market.PremiumIndex). Funding rates are not supported. It keeps the
// request weight under the configured limits and retries transient
// failures. It is safe for concurrent use.
type Binance struct {
	client  *http.Client
	clock   clock.Clock
	log     *slog.Logger
	opts    BinanceOptions
	spot    *weightBudget
	futures *weightBudget
}

// NewBinance returns a Binance source. A nil client means an http.Client
// with DefaultHTTPTimeout, a nil clock [clock.Real], a nil log discards
// messages.
func NewBinance(client *http.Client, clk clock.Clock, log *slog.Logger, opts BinanceOptions) *Binance {
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	clk = clock.Or(clk)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.SpotURL == "" {
		opts.SpotURL = DefaultBinanceSpotURL
	}
	if opts.FuturesURL == "" {
		opts.FuturesURL = DefaultBinanceFuturesURL
	}
	opts.SpotURL = strings.TrimRight(opts.SpotURL, "/")
	opts.FuturesURL = strings.TrimRight(opts.FuturesURL, "/")
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.SpotWeightLimit <= 0 {
		opts.SpotWeightLimit = DefaultSpotWeightLimit
	}
	if opts.FuturesWeightLimit <= 0 {
		opts.FuturesWeightLimit = DefaultFuturesWeightLimit
	}
	if opts.WeightMargin <= 0 || opts.WeightMargin > 1 {
		opts.WeightMargin = DefaultWeightMargin
	}
	if opts.Weight == nil {
		opts.Weight = BinanceWeight
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = DefaultBaseDelay
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	budget := func(limit int) *weightBudget {
		return &weightBudget{budget: max(1, int(math.Floor(float64(limit)*opts.WeightMargin)))}
	}
	return &Binance{
		client: client, clock: clk, log: log, opts: opts,
		spot: budget(opts.SpotWeightLimit), futures: budget(opts.FuturesWeightLimit),
	}
}

// Exchange returns "binance".
func (b *Binance) Exchange() string { return "binance" }

// PageSize returns the number of candles requested per call.
func (b *Binance) PageSize() int { return b.opts.PageSize }

// BinanceSymbol converts a pair to Binance's symbol: "BTC/USDT" and the
// futures pair "BTC/USDT:USDT" both become "BTCUSDT".
func BinanceSymbol(pair string) string {
	if i := strings.IndexByte(pair, ':'); i >= 0 {
		pair = pair[:i]
	}
	return strings.ToUpper(strings.ReplaceAll(pair, "/", ""))
}

// endpoint describes where the candles of one candle type come from.
type endpoint struct {
	base, path string
	param      string // "symbol", or "pair" for index price klines
	budget     *weightBudget
}

func (b *Binance) endpoint(t market.CandleType) (endpoint, error) {
	fut := func(path, param string) endpoint {
		return endpoint{base: b.opts.FuturesURL, path: path, param: param, budget: b.futures}
	}
	switch t {
	case market.Spot, "":
		return endpoint{base: b.opts.SpotURL, path: "/api/v3/klines", param: "symbol", budget: b.spot}, nil
	case market.Futures:
		return fut("/fapi/v1/klines", "symbol"), nil
	case market.Mark:
		return fut("/fapi/v1/markPriceKlines", "symbol"), nil
	case market.Index:
		return fut("/fapi/v1/indexPriceKlines", "pair"), nil
	case market.PremiumIndex:
		return fut("/fapi/v1/premiumIndexKlines", "symbol"), nil
	case market.FundingRate:
		return endpoint{}, errors.New("downloading funding rates from Binance is not supported")
	}
	return endpoint{}, fmt.Errorf("unknown candle type %q", string(t))
}

// APIError is an error response from the exchange.
type APIError struct {
	// Series is the series requested; Endpoint the URL path and Symbol the
	// exchange's symbol for the pair.
	Series   market.Key
	Endpoint string
	Symbol   string
	// Status is the HTTP status code; Code and Msg are the exchange's error
	// code and message (Code is 0 and Msg the start of the body when the
	// body is not an exchange error).
	Status int
	Code   int
	Msg    string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s %s (symbol %s): HTTP %d", e.Series, e.Series.Exchange, e.Endpoint, e.Symbol, e.Status)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	return s
}

// retryable marks an error worth retrying. rateLimited errors (HTTP 429 and
// 418) wait retryAfter when it is not negative.
type retryable struct {
	err         error
	rateLimited bool
	retryAfter  time.Duration
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// Fetch returns the candles of k opening in [start, end), at most PageSize
// of them. See [Source.Fetch].
func (b *Binance) Fetch(ctx context.Context, k market.Key, start, end int64) (Page, error) {
	var page Page
	ep, err := b.endpoint(k.Type)
	if err != nil {
		return page, fmt.Errorf("%s: %w", k, err)
	}
	if !k.Timeframe.Valid() {
		return page, fmt.Errorf("%s: unknown timeframe %q", k, string(k.Timeframe))
	}
	symbol := BinanceSymbol(k.Pair)
	q := url.Values{}
	q.Set(ep.param, symbol)
	q.Set("interval", string(k.Timeframe)) // Binance's intervals are Freqtrade's ("1M" is a month)
	q.Set("startTime", strconv.FormatInt(start, 10))
	q.Set("endTime", strconv.FormatInt(end-1, 10)) // Binance's endTime is inclusive
	q.Set("limit", strconv.Itoa(b.opts.PageSize))
	u := ep.base + ep.path + "?" + q.Encode()
	cost := b.opts.Weight(ep.path, b.opts.PageSize)

	for attempt := 1; ; attempt++ {
		w, err := ep.budget.reserve(ctx, b.clock, cost)
		page.RateWait += w
		if err != nil {
			return page, fmt.Errorf("%s: waiting for the %s request-weight limit: %w", k, b.Exchange(), err)
		}
		page.Requests++
		b.log.Debug("requesting candles", "series", k.String(), "url", u, "attempt", attempt)
		f, err := b.get(ctx, k, ep, symbol, u, start, end)
		if err == nil {
			page.Candles = f
			return page, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return page, fmt.Errorf("%s: %s %s: %w", k, b.Exchange(), ep.path, cerr)
		}
		var re *retryable
		if !errors.As(err, &re) {
			return page, err
		}
		if attempt >= b.opts.Attempts {
			return page, fmt.Errorf("giving up after %d attempts: %w", attempt, re.err)
		}
		delay := b.backoff(attempt)
		if re.rateLimited && re.retryAfter >= 0 {
			delay = re.retryAfter
		}
		b.log.Warn("request failed, retrying", "series", k.String(), "endpoint", ep.path,
			"attempt", attempt, "wait", delay, "err", re.err)
		if err := b.clock.Sleep(ctx, delay); err != nil {
			return page, fmt.Errorf("%s: waiting to retry %s %s: %w", k, b.Exchange(), ep.path, err)
		}
		if re.rateLimited {
			page.RateWait += delay
		} else {
			page.RetryWait += delay
		}
	}
}

// backoff returns the wait before retry number attempt (1-based).
func (b *Binance) backoff(attempt int) time.Duration {
	d := b.opts.BaseDelay
	for i := 1; i < attempt && d < b.opts.MaxDelay; i++ {
		d *= 2
	}
	return min(d, b.opts.MaxDelay)
}

// maxBody bounds the size of a response body read (a page of 1000 candles
// is about 150 kB).
const maxBody = 32 << 20

// get makes one request and decodes and checks the page.
func (b *Binance) get(ctx context.Context, k market.Key, ep endpoint, symbol, u string, start, end int64) (*sdk.Frame, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: building the request for %s: %w", k, ep.path, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, &retryable{err: fmt.Errorf("%s: %s %s: %w", k, b.Exchange(), ep.path, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &retryable{err: fmt.Errorf("%s: %s %s: reading the response: %w", k, b.Exchange(), ep.path, err)}
	}
	if h := resp.Header.Get(weightHeader); h != "" {
		if used, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
			ep.budget.observe(b.clock.Now(), used)
		}
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := newAPIError(k, ep.path, symbol, resp.StatusCode, body)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusTeapot:
			return nil, &retryable{err: apiErr, rateLimited: true, retryAfter: b.retryAfter(resp.Header.Get("Retry-After"))}
		case resp.StatusCode >= 500:
			return nil, &retryable{err: apiErr}
		}
		return nil, apiErr
	}
	return b.decode(k, ep.path, body, start, end)
}

func newAPIError(k market.Key, path, symbol string, status int, body []byte) *APIError {
	e := &APIError{Series: k, Endpoint: path, Symbol: symbol, Status: status}
	var msg struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(body, &msg) == nil && (msg.Msg != "" || msg.Code != 0) {
		e.Code, e.Msg = msg.Code, msg.Msg
	} else {
		e.Msg = shorten(strings.TrimSpace(string(body)), 200)
	}
	return e
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); -1 when
// it is missing or unreadable.
func (b *Binance) retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return -1
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(b.clock.Now()))
	}
	return -1
}

// decode parses a klines page: rows of [openTime, "open", "high", "low",
// "close", "volume", closeTime, …]. Bodies that cannot be parsed are
// retryable (truncated responses); rows that parse but make no sense are
// a [*RowError].
func (b *Binance) decode(k market.Key, path string, body []byte, start, end int64) (*sdk.Frame, error) {
	undecodable := func(format string, args ...any) error {
		return &retryable{err: fmt.Errorf("%s: %s %s: undecodable response: %s", k, b.Exchange(), path, fmt.Sprintf(format, args...))}
	}
	var rows [][]json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, undecodable("%v (body starts %q)", err, shorten(string(body), 80))
	}
	n := len(rows)
	f := &sdk.Frame{
		Pair: k.Pair, Timeframe: k.Timeframe,
		Time: make([]int64, 0, n), Open: make([]float64, 0, n), High: make([]float64, 0, n),
		Low: make([]float64, 0, n), Close: make([]float64, 0, n), Volume: make([]float64, 0, n),
	}
	prev := int64(math.MinInt64)
	for i, cells := range rows {
		raw := func() string {
			parts := make([]string, len(cells))
			for j, c := range cells {
				parts[j] = string(c)
			}
			return shorten("["+strings.Join(parts, ",")+"]", 200)
		}
		rowErr := func(problem string) error {
			return &RowError{Series: k, Endpoint: path, Row: i + 1, Raw: raw(), Problem: problem}
		}
		if len(cells) < 6 {
			return nil, undecodable("row %d %s has %d values, want at least 6", i+1, raw(), len(cells))
		}
		t, err := strconv.ParseInt(string(cells[0]), 10, 64)
		if err != nil {
			return nil, undecodable("row %d %s: open time %s is not an integer", i+1, raw(), cells[0])
		}
		var v [5]float64
		for j := range v {
			if v[j], err = parseDecimal(cells[j+1]); err != nil {
				return nil, undecodable("row %d %s: value %d %s is not a number", i+1, raw(), j+2, cells[j+1])
			}
		}
		if p := timeProblem(k.Timeframe, t, prev, start, end); p != "" {
			return nil, rowErr(p)
		}
		if _, p := datafile.CheckCandle(k.Type.Kind(), v[0], v[1], v[2], v[3], v[4]); p != "" {
			return nil, rowErr(p)
		}
		prev = t
		f.Time = append(f.Time, t)
		f.Open = append(f.Open, v[0])
		f.High = append(f.High, v[1])
		f.Low = append(f.Low, v[2])
		f.Close = append(f.Close, v[3])
		f.Volume = append(f.Volume, v[4])
	}
	if n > b.opts.PageSize {
		return nil, fmt.Errorf("%s: %s %s returned %d candles for a limit of %d", k, b.Exchange(), path, n, b.opts.PageSize)
	}
	return f, nil
}

// parseDecimal parses a JSON string holding a decimal number ("12.5", as
// Binance sends prices) or a bare JSON number.
func parseDecimal(c json.RawMessage) (float64, error) {
	s := string(c)
	if len(c) >= 2 && c[0] == '"' && c[len(c)-1] == '"' {
		s = s[1 : len(s)-1]
		if strings.ContainsRune(s, '\\') {
			if err := json.Unmarshal(c, &s); err != nil {
				return 0, err
			}
		}
	}
	return strconv.ParseFloat(s, 64)
}

// shorten cuts s to at most n bytes (plus "…").
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
