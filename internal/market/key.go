// Package market is the market data store: candle series kept in a data
// directory laid out as Freqtrade's (<datadir>/<exchange>/<PAIR>-<tf>.feather,
// futures series under <datadir>/<exchange>/futures/), with atomic writes,
// merge-on-append, a per-exchange index of what is stored, and the
// coverage, gap and freshness queries the CLI, the server and the runners
// share.
package market

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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

// ErrInvalidName is wrapped by every error about a series name (exchange,
// pair, timeframe or candle type) that cannot name a stored series; the
// error is an [*InvalidNameError] saying which.
var ErrInvalidName = errors.New("invalid series name")

// InvalidNameError says which part of a series key cannot be used, and why.
type InvalidNameError struct {
	// Field is the key's field as JSON names it: "exchange", "pair",
	// "timeframe" or "candle_type".
	Field string
	// Msg says what is wrong, quoting the value.
	Msg string
}

func (e *InvalidNameError) Error() string { return e.Msg }

// Unwrap returns [ErrInvalidName].
func (e *InvalidNameError) Unwrap() error { return ErrInvalidName }

// maxNameLen bounds exchange names and pairs (in bytes), well under the
// 255 bytes a file name may have.
const maxNameLen = 100

// ValidateExchange checks that name can be an exchange's folder in the data
// directory: not empty, at most 100 bytes of valid UTF-8 without control
// characters, no path separator ('/' or '\'), and not starting with a dot
// (so neither ".", "..", nor the store's own hidden files). The error is an
// [*InvalidNameError] for the field "exchange".
//
// It is the check every name that becomes an exchange folder goes through:
// the store applies it (with [Key.Validate]) to every key and exchange it is
// given, and the API and the CLI call it to refuse a bad name up front.
func ValidateExchange(name string) error {
	if name == "" {
		return &InvalidNameError{Field: "exchange", Msg: "empty exchange name"}
	}
	if why := badName(name); why != "" {
		return &InvalidNameError{Field: "exchange", Msg: fmt.Sprintf("exchange name %s %s", quote(name), why)}
	}
	if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return &InvalidNameError{Field: "exchange", Msg: fmt.Sprintf("exchange name %s cannot be a folder name (no '/', '\\' or leading '.')", quote(name))}
	}
	return nil
}

// ValidatePair checks a pair as ValidateExchange checks an exchange name;
// '/' and ':' are allowed (the file name replaces them, as Freqtrade's
// does), '\\' is not.
func ValidatePair(pair string) error {
	if pair == "" {
		return &InvalidNameError{Field: "pair", Msg: "empty pair"}
	}
	if why := badName(pair); why != "" {
		return &InvalidNameError{Field: "pair", Msg: fmt.Sprintf("pair %s %s", quote(pair), why)}
	}
	if strings.ContainsRune(pair, '\\') {
		return &InvalidNameError{Field: "pair", Msg: fmt.Sprintf("pair %s cannot be part of a file name (no '\\')", quote(pair))}
	}
	return nil
}

// badName says why s cannot be part of a path, or "".
func badName(s string) string {
	switch {
	case len(s) > maxNameLen:
		return fmt.Sprintf("is longer than %d bytes", maxNameLen)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "contains a control character"
	}
	return ""
}

// quote quotes s for an error message, cut to maxNameLen bytes.
func quote(s string) string {
	if len(s) > maxNameLen {
		return strconv.Quote(s[:maxNameLen]) + "..."
	}
	return strconv.Quote(s)
}

// Validate checks that k names a series that can be stored: the exchange
// as [ValidateExchange] checks it, a pair that can be part of a file name,
// a supported timeframe and candle type (empty means spot). The error wraps
// an [*InvalidNameError] naming the field.
//
// It is the one check of a series name: the store refuses every key that
// fails it (Load, Append, Coverage, Freshness), and what turns user input
// into a key (the API, the CLI, a backtest config at submission) calls it
// first to name the bad field.
func (k Key) Validate() error { return k.validate(true) }

// validate is Validate; without requireExchange an empty exchange is
// allowed (a series read straight from the data directory).
func (k Key) validate(requireExchange bool) error {
	if k.Exchange != "" || requireExchange {
		if err := ValidateExchange(k.Exchange); err != nil {
			return err
		}
	}
	if err := ValidatePair(k.Pair); err != nil {
		return err
	}
	// The exchange and pair are printable now: name the series.
	if !k.Timeframe.Valid() {
		return fmt.Errorf("series %s: %w", k, &InvalidNameError{Field: "timeframe",
			Msg: fmt.Sprintf("unknown timeframe %s (supported: %v)", quote(string(k.Timeframe)), sdk.Timeframes())})
	}
	if _, err := ParseCandleType(string(k.Type)); err != nil {
		return fmt.Errorf("series %s: %w", k, &InvalidNameError{Field: "candle_type", Msg: err.Error()})
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
