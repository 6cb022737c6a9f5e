package apitype

import (
	"time"

	"github.com/tradai/tradai/sdk"
)

// StrategyList is the answer of GET /api/v1/strategies.
type StrategyList struct {
	Strategies []sdk.Spec `json:"strategies"`
}

// DataList is the answer of GET /api/v1/data.
type DataList struct {
	Series []Series `json:"series"`
	// Unreadable lists the stored series files that could not be read; the
	// other series are listed all the same.
	Unreadable []Unreadable `json:"unreadable" doc:"Stored series files that could not be read (corrupt, truncated, invalid candles), each with why; the readable series are listed in series"`
}

// SeriesKey names one series: an exchange, a pair, a timeframe and a
// candle type (spot, futures, mark, index, premiumIndex, funding_rate).
type SeriesKey struct {
	Exchange   string        `json:"exchange"`
	Pair       string        `json:"pair"`
	Timeframe  sdk.Timeframe `json:"timeframe"`
	CandleType string        `json:"candle_type"`
}

// Series is one stored series with its coverage.
type Series struct {
	SeriesKey
	// File is the series' data file, relative to the data directory.
	File string `json:"file"`
	// First and Last are the open times (Unix ms) of the first and last
	// candle; Count is the number of candles.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Count int   `json:"count"`
	// Gaps lists the missing ranges between First and Last; Missing is the
	// number of candles they miss.
	Gaps    []Gap `json:"gaps,omitempty"`
	Missing int   `json:"missing"`
	// Size is the data file's size in bytes, Updated its modification time.
	Size    int64     `json:"size"`
	Updated time.Time `json:"updated"`
	// Checksum is "sha256:" and the hex SHA-256 of the data file.
	Checksum string `json:"checksum"`
}

// Gap is a run of missing candles: the candles opening at From, From+tf, …
// up to but not including To are absent from a series.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Unreadable is a stored series file that could not be read (corrupt,
// truncated, invalid candles, unreadable on disk).
type Unreadable struct {
	// SeriesKey is the series the file's name names.
	SeriesKey
	// File is the file, relative to the data directory.
	File string `json:"file"`
	// Error says why it could not be read, naming files relative to the
	// data directory.
	Error string `json:"error"`
}

// FreshnessRequest names the series to check.
type FreshnessRequest struct {
	Exchange      string   `json:"exchange" minLength:"1" maxLength:"100" example:"binance"`
	Pairs         []string `json:"pairs" minItems:"1" maxItems:"1000" example:"[\"BTC/USDT\"]"`
	Timeframes    []string `json:"timeframes" minItems:"1" maxItems:"20" example:"[\"5m\"]"`
	CandleType    string   `json:"candle_type,omitempty" enum:"spot,futures,mark,index,premiumIndex,funding_rate" default:"spot"`
	MaxAgeSeconds float64  `json:"max_age_seconds,omitempty" minimum:"0" doc:"Age beyond which a series is stale; default two candles"`
}

// SeriesFreshness is one series' freshness.
type SeriesFreshness struct {
	Exchange      string   `json:"exchange"`
	Pair          string   `json:"pair"`
	Timeframe     string   `json:"timeframe"`
	CandleType    string   `json:"candle_type"`
	Status        string   `json:"status" enum:"fresh,stale,missing"`
	Last          int64    `json:"last,omitempty" doc:"Open time (Unix ms) of the last stored candle"`
	LastClose     int64    `json:"last_close,omitempty" doc:"Close time (Unix ms) of the last stored candle"`
	Count         int      `json:"count"`
	AgeSeconds    *float64 `json:"age_seconds,omitempty" doc:"Seconds since the last candle closed; absent when missing"`
	MaxAgeSeconds float64  `json:"max_age_seconds"`
	Error         string   `json:"error,omitempty"`
}

// FreshnessAnswer is the answer of POST /api/v1/data/freshness.
type FreshnessAnswer struct {
	Series []SeriesFreshness `json:"series"`
	Fresh  bool              `json:"fresh" doc:"Every series is fresh"`
}

// DownloadRequest asks the server's workers to download candles into the
// market data store (POST /api/v1/data/downloads).
type DownloadRequest struct {
	Exchange   string   `json:"exchange" maxLength:"100" example:"binance" doc:"The exchange; the server downloads from the one it was started for (tradai serve --download)"`
	Pairs      []string `json:"pairs" minItems:"1" maxItems:"100" example:"[\"BTC/USDT\"]"`
	Timeframes []string `json:"timeframes" minItems:"1" maxItems:"20" example:"[\"5m\",\"1h\"]"`
	Timerange  string   `json:"timerange,omitempty" maxLength:"40" example:"20240101-20240201" doc:"YYYYMMDD-YYYYMMDD, end exclusive; an open start downloads from the pair's listing, an open end up to now"`
}
