package download

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Source fetches candles from one exchange, one page at a time.
type Source interface {
	// Exchange is the exchange's name as used in [market.Key.Exchange]
	// ("binance").
	Exchange() string
	// PageSize is the largest number of candles one Fetch returns.
	PageSize() int
	// Fetch returns the candles of k whose open times lie in [start, end)
	// (Unix ms), oldest first: the first PageSize of them at or after start.
	// Fewer than PageSize candles means there are no more in the range.
	// The candles are validated (on k's grid, strictly increasing, in the
	// range, sane values). The request counts and waits in the returned Page
	// are set also when Fetch fails.
	Fetch(ctx context.Context, k market.Key, start, end int64) (Page, error)
}

// Page is the result of one [Source.Fetch].
type Page struct {
	// Candles holds the candles (never nil when Fetch succeeds; may be
	// empty). Pair and Timeframe are k's.
	Candles *sdk.Frame
	// Requests is the number of HTTP requests made, retries included.
	Requests int
	// RateWait is the time spent waiting for the exchange's rate limits
	// (the request-weight budget, or Retry-After on HTTP 429/418).
	RateWait time.Duration
	// RetryWait is the time spent backing off before retrying failed
	// requests (server errors, network errors, undecodable bodies).
	RetryWait time.Duration
}

// RowError reports a candle received from an exchange that cannot be stored:
// off the timeframe's grid, out of order, outside the requested range, or
// with impossible values.
type RowError struct {
	// Series is the series requested.
	Series market.Key
	// Endpoint is the URL path queried, such as "/api/v3/klines".
	Endpoint string
	// Row is the 1-based position of the row in the page.
	Row int
	// Raw is the row as received (shortened if long).
	Raw string
	// Problem says what is wrong with it.
	Problem string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s: bad candle from %s %s, row %d of the page %s: %s",
		e.Series, e.Series.Exchange, e.Endpoint, e.Row, e.Raw, e.Problem)
}

// timeProblem checks a candle's open time t against the grid, the previous
// candle's open time prev (math.MinInt64 for the first) and the requested
// range [start, end). It returns what is wrong, or "".
func timeProblem(tf sdk.Timeframe, t, prev, start, end int64) string {
	switch {
	case !tf.OnGrid(t):
		return fmt.Sprintf("open time %s is not on the %s candle grid", fmtTime(t), tf)
	case t <= prev:
		return fmt.Sprintf("open time %s is not after the previous row's %s", fmtTime(t), fmtTime(prev))
	case t < start || t >= end:
		return fmt.Sprintf("open time %s is outside the requested range %s .. %s", fmtTime(t), fmtTime(start), fmtTime(end))
	}
	return ""
}

// fmtTime formats Unix ms as "2024-01-02T03:04:00Z (1704164640000)".
func fmtTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339) + " (" + strconv.FormatInt(ms, 10) + ")"
}
