// Package market is the market data store: candle series kept in a data
// directory laid out as Freqtrade's (<datadir>/<exchange>/<PAIR>-<tf>.feather,
// futures series under <datadir>/<exchange>/futures/), with atomic writes,
// merge-on-append, a per-exchange index of what is stored, and the
// coverage, gap and freshness queries the CLI, the server and the runners
// share.
package market

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// CandleType says what a series holds. Spot candles live in the exchange's
// folder; the others live in its futures/ folder with the type in the file
// name, as Freqtrade lays them out.
type CandleType string

// The candle types, named as in Freqtrade's file names.
const (
	Spot         CandleType = "spot"
	Futures      CandleType = "futures"
	Mark         CandleType = "mark"
	Index        CandleType = "index"
	PremiumIndex CandleType = "premiumIndex"
	FundingRate  CandleType = "funding_rate"
)

// CandleTypes lists the candle types.
func CandleTypes() []CandleType {
	return []CandleType{Spot, Futures, Mark, Index, PremiumIndex, FundingRate}
}

// ParseCandleType validates s ("" means spot).
func ParseCandleType(s string) (CandleType, error) {
	if s == "" {
		return Spot, nil
	}
	for _, c := range CandleTypes() {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown candle type %q (want one of %v)", s, CandleTypes())
}

// Key names one series: an exchange, a pair, a timeframe and a candle type.
type Key struct {
	Exchange  string        `json:"exchange"`
	Pair      string        `json:"pair"`
	Timeframe sdk.Timeframe `json:"timeframe"`
	Type      CandleType    `json:"candle_type"`
}

// String formats k as "binance BTC/USDT 5m" (with the candle type appended
// when it is not spot).
func (k Key) String() string {
	s := k.Exchange + " " + k.Pair + " " + string(k.Timeframe)
	if k.Type != Spot && k.Type != "" {
		s += " " + string(k.Type)
	}
	return s
}

// Validate checks that k names a series that can be stored.
func (k Key) Validate() error { return k.validate(true) }

// validate is Validate; without requireExchange an empty exchange is
// allowed (a series read straight from the data directory).
func (k Key) validate(requireExchange bool) error {
	switch {
	case k.Exchange == "" && requireExchange:
		return fmt.Errorf("series %s: empty exchange name", k)
	case k.Exchange != "" && (strings.ContainsAny(k.Exchange, `/\`) || k.Exchange == "." || k.Exchange == ".." || strings.HasPrefix(k.Exchange, ".")):
		return fmt.Errorf("series %s: exchange name %q cannot be a folder name", k, k.Exchange)
	case k.Pair == "":
		return fmt.Errorf("series %s: empty pair", k)
	case !k.Timeframe.Valid():
		return fmt.Errorf("series %s: unknown timeframe %q (supported: %v)", k, string(k.Timeframe), sdk.Timeframes())
	}
	if _, err := ParseCandleType(string(k.Type)); err != nil {
		return fmt.Errorf("series %s: %w", k, err)
	}
	return nil
}

// normal returns k with an empty candle type set to spot.
func (k Key) normal() Key {
	if k.Type == "" {
		k.Type = Spot
	}
	return k
}

// baseName returns the file name of the series without its extension:
// "BTC_USDT-5m" for spot, "BTC_USDT_USDT-1h-mark" for the others.
func (k Key) baseName() string {
	name := datafile.PairFileName(k.Pair) + "-" + string(k.Timeframe)
	if k.Type != Spot && k.Type != "" {
		name += "-" + string(k.Type)
	}
	return name
}

// dir returns the folder of the series under datadir.
func (k Key) dir(datadir string) string {
	if k.Type != Spot && k.Type != "" {
		return filepath.Join(datadir, k.Exchange, "futures")
	}
	return filepath.Join(datadir, k.Exchange)
}

// Range is a time range [Start, End) in Unix milliseconds of candle open
// times. A zero Start or End leaves that side open.
type Range struct {
	Start int64
	End   int64
}

// Contains reports whether the candle opening at ms is in r.
func (r Range) Contains(ms int64) bool {
	return (r.Start == 0 || ms >= r.Start) && (r.End == 0 || ms < r.End)
}
