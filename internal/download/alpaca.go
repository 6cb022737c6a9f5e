package download

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// AlpacaPageSize is the number of bars an [Alpaca] source asks for per
// call: the data API's largest page.
const AlpacaPageSize = 10000

// Alpaca is a [Source] of US stock bars from Alpaca's market data API v2
// (GET /v2/stocks/{symbol}/bars, raw prices) through the Alpaca client,
// which waits out HTTP 429 and retries server errors on its clock. A pair
// is SYMBOL/USD; daily bars are stamped at midnight UTC of their date.
// Bars exist only where trades were: weekends, holidays and quiet minutes
// are gaps.
type Alpaca struct {
	c *alpaca.Client
}

// NewAlpaca returns a source reading bars through c (its DataURL, key and
// feed).
func NewAlpaca(c *alpaca.Client) *Alpaca { return &Alpaca{c: c} }

// Exchange returns "alpaca".
func (a *Alpaca) Exchange() string { return "alpaca" }

// PageSize returns AlpacaPageSize.
func (a *Alpaca) PageSize() int { return AlpacaPageSize }

// Fetch returns the bars of k opening in [start, end), at most PageSize
// of them. See [Source.Fetch].
func (a *Alpaca) Fetch(ctx context.Context, k market.Key, start, end int64) (Page, error) {
	var page Page
	if k.Type != market.Spot && k.Type != "" {
		return page, fmt.Errorf("%s: Alpaca has spot bars only, not %s", k, k.Type)
	}
	if !k.Timeframe.Valid() {
		return page, fmt.Errorf("%s: unknown timeframe %q", k, string(k.Timeframe))
	}
	symbol, quote, ok := strings.Cut(k.Pair, "/")
	if !ok || symbol == "" || quote != "USD" {
		return page, fmt.Errorf("%s: an Alpaca pair is SYMBOL/USD (AAPL/USD)", k)
	}
	var st alpaca.Stats
	ks, err := a.c.Bars(ctx, symbol, k.Timeframe, time.UnixMilli(start), time.UnixMilli(end), AlpacaPageSize, &st)
	page.Requests, page.RateWait, page.RetryWait = st.Requests, st.RateWait, st.RetryWait
	if err != nil {
		return page, fmt.Errorf("%s (symbol %s): %w", k, symbol, err)
	}
	path := "/v2/stocks/" + symbol + "/bars"
	f := &sdk.Frame{Pair: k.Pair, Timeframe: k.Timeframe, Time: make([]int64, 0, len(ks)), Open: make([]float64, 0, len(ks)),
		High: make([]float64, 0, len(ks)), Low: make([]float64, 0, len(ks)), Close: make([]float64, 0, len(ks)), Volume: make([]float64, 0, len(ks))}
	prev := int64(math.MinInt64)
	for i, b := range ks {
		t := b.Time.UnixMilli()
		v := [5]float64{b.Open.Float(), b.High.Float(), b.Low.Float(), b.Close.Float(), b.Volume.Float()}
		rowErr := func(problem string) error {
			return &RowError{Series: k, Endpoint: path, Row: i + 1, Raw: fmt.Sprintf("%s o=%s h=%s l=%s c=%s v=%s", b.Time.UTC().Format(time.RFC3339),
				b.Open, b.High, b.Low, b.Close, b.Volume), Problem: problem}
		}
		if p := timeProblem(k.Timeframe, t, prev, start, end); p != "" {
			return page, rowErr(p)
		}
		if _, p := datafile.CheckCandle(k.Type.Kind(), v[0], v[1], v[2], v[3], v[4]); p != "" {
			return page, rowErr(p)
		}
		prev = t
		f.Time = append(f.Time, t)
		f.Open = append(f.Open, v[0])
		f.High = append(f.High, v[1])
		f.Low = append(f.Low, v[2])
		f.Close = append(f.Close, v[3])
		f.Volume = append(f.Volume, v[4])
	}
	page.Candles = f
	return page, nil
}
