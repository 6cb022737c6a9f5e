package download

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Binance defaults (see [BinanceOptions]); the request-weight limits,
// retries and back-off default to the client core's (internal/binance).
const (
	DefaultBinanceSpotURL    = "https://api.binance.com"
	DefaultBinanceFuturesURL = "https://fapi.binance.com"
	// DefaultPageSize is the number of candles requested per call (the
	// "limit" parameter).
	DefaultPageSize = 1000
)

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
	// per minute (binance.DefaultSpotWeightLimit,
	// binance.DefaultFuturesWeightLimit).
	SpotWeightLimit    int
	FuturesWeightLimit int
	// WeightMargin is the share of a limit this source uses before it waits
	// for the next minute, in (0, 1] (binance.DefaultWeightMargin).
	WeightMargin float64
	// Weight returns the weight of one klines request to endpoint (a URL
	// path such as "/api/v3/klines") with the given limit (BinanceWeight).
	Weight func(endpoint string, limit int) int
	// Attempts is how often a request is tried when it fails with a
	// retryable error: HTTP 429, 5xx, a network error or an undecodable
	// body (binance.DefaultAttempts). HTTP 418 (the IP is banned) stops at
	// once.
	Attempts int
	// BaseDelay is the back-off before the first retry, doubling with each
	// further one up to MaxDelay (binance.DefaultBaseDelay,
	// binance.DefaultMaxDelay). It is also used on HTTP 429 without a
	// Retry-After header.
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
// (market.PremiumIndex). Funding rates are not supported. Requests go
// through the Binance client core (internal/binance), one client per API,
// which keeps the request weight under the configured limits and retries
// transient failures. It is safe for concurrent use.
type Binance struct {
	log     *slog.Logger
	opts    BinanceOptions
	spot    *binance.Client
	futures *binance.Client
}

// NewBinance returns a Binance source. A nil client means an http.Client
// with binance.DefaultHTTPTimeout, a nil clock [clock.Real], a nil log
// discards messages. It fails on a base URL that is not http(s)://host….
func NewBinance(client *http.Client, clk clock.Clock, log *slog.Logger, opts BinanceOptions) (*Binance, error) {
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
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.FuturesWeightLimit <= 0 {
		opts.FuturesWeightLimit = binance.DefaultFuturesWeightLimit
	}
	if opts.Weight == nil {
		opts.Weight = BinanceWeight
	}
	core := func(base string, limit int) (*binance.Client, error) {
		return binance.New(binance.Config{
			BaseURL: base, HTTP: client, Clock: clk, Log: log,
			WeightLimit: limit, WeightMargin: opts.WeightMargin,
			Attempts: opts.Attempts, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay,
		})
	}
	spot, err := core(opts.SpotURL, opts.SpotWeightLimit)
	if err != nil {
		return nil, fmt.Errorf("binance spot API: %w", err)
	}
	futures, err := core(opts.FuturesURL, opts.FuturesWeightLimit)
	if err != nil {
		return nil, fmt.Errorf("binance futures API: %w", err)
	}
	return &Binance{log: log, opts: opts, spot: spot, futures: futures}, nil
}

// Exchange returns "binance".
func (b *Binance) Exchange() string { return "binance" }

// PageSize returns the number of candles requested per call.
func (b *Binance) PageSize() int { return b.opts.PageSize }

// endpoint describes where the candles of one candle type come from.
type endpoint struct {
	client *binance.Client
	path   string
	param  string // "symbol", or "pair" for index price klines
}

func (b *Binance) endpoint(t market.CandleType) (endpoint, error) {
	fut := func(path, param string) endpoint {
		return endpoint{client: b.futures, path: path, param: param}
	}
	switch t {
	case market.Spot, "":
		return endpoint{client: b.spot, path: "/api/v3/klines", param: "symbol"}, nil
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

// Fetch returns the candles of k opening in [start, end), at most PageSize
// of them. See [Source.Fetch]. An error answer of the exchange is a
// [*binance.APIError] (HTTP 418, a ban of the IP, is not retried).
func (b *Binance) Fetch(ctx context.Context, k market.Key, start, end int64) (Page, error) {
	var page Page
	ep, err := b.endpoint(k.Type)
	if err != nil {
		return page, fmt.Errorf("%s: %w", k, err)
	}
	if !k.Timeframe.Valid() {
		return page, fmt.Errorf("%s: unknown timeframe %q", k, string(k.Timeframe))
	}
	m, err := binance.Symbol(k.Pair)
	if err != nil {
		return page, fmt.Errorf("%s: %w", k, err)
	}
	q := url.Values{}
	q.Set(ep.param, m.Symbol)
	q.Set("interval", string(k.Timeframe)) // Binance's intervals are Freqtrade's ("1M" is a month)
	q.Set("startTime", strconv.FormatInt(start, 10))
	q.Set("endTime", strconv.FormatInt(end-1, 10)) // Binance's endTime is inclusive
	q.Set("limit", strconv.Itoa(b.opts.PageSize))
	b.log.Debug("requesting candles", "series", k.String(), "endpoint", ep.path, "symbol", m.Symbol, "start", start, "end", end)
	st, err := ep.client.Do(ctx, binance.Request{Path: ep.path, Query: q, Weight: b.opts.Weight(ep.path, b.opts.PageSize)},
		func(body []byte) (err error) {
			page.Candles, err = b.decode(k, ep.path, body, start, end)
			return err
		})
	page.Requests, page.RateWait, page.RetryWait = st.Requests, st.RateWait, st.RetryWait
	if err != nil {
		page.Candles = nil
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			return page, err
		}
		return page, fmt.Errorf("%s (symbol %s): %w", k, m.Symbol, err)
	}
	return page, nil
}

// decode parses a klines page: rows of [openTime, "open", "high", "low",
// "close", "volume", closeTime, …]. Bodies that cannot be parsed wrap
// binance.ErrUndecodable, which the client core retries (truncated
// responses); rows that parse but make no sense are a [*RowError].
func (b *Binance) decode(k market.Key, path string, body []byte, start, end int64) (*sdk.Frame, error) {
	ks, err := binance.DecodeKlines(body)
	if err != nil {
		return nil, err
	}
	n := ks.Len()
	f := &sdk.Frame{
		Pair: k.Pair, Timeframe: k.Timeframe,
		Time: make([]int64, 0, n), Open: make([]float64, 0, n), High: make([]float64, 0, n),
		Low: make([]float64, 0, n), Close: make([]float64, 0, n), Volume: make([]float64, 0, n),
	}
	prev := int64(math.MinInt64)
	for i := range n {
		row, err := ks.Row(i)
		if err != nil {
			return nil, err
		}
		rowErr := func(problem string) error {
			return &RowError{Series: k, Endpoint: path, Row: i + 1, Raw: ks.Raw(i), Problem: problem}
		}
		var v [5]float64
		for j, c := range [...][]byte{row.Open, row.High, row.Low, row.Close, row.Volume} {
			if v[j], err = strconv.ParseFloat(string(c), 64); err != nil {
				return nil, fmt.Errorf("%w: row %d %s: value %d %s is not a number", binance.ErrUndecodable, i+1, ks.Raw(i), j+2, ks[i][j+1])
			}
		}
		t := row.OpenTime
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
		return nil, fmt.Errorf("%s %s returned %d candles for a limit of %d", b.Exchange(), path, n, b.opts.PageSize)
	}
	return f, nil
}
