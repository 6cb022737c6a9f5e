package importer

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/tradai/tradai/internal/datafile"
)

// Timestamps are kept within the range datafile.Validate accepts
// (1677-09-21..2262-04-11 in Unix milliseconds).
const (
	minMillis = -9_223_372_036_854
	maxMillis = 9_223_372_036_854
)

// bstr views b as a string without copying; the string must not outlive a
// change to b (it never does here: it is only parsed or copied).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseFloat parses a decimal number: datafile.ParseDecimal's exact fast
// path for plain decimals, strconv.ParseFloat for everything else.
func parseFloat(b []byte) (float64, bool) {
	if v, n, ok := datafile.ParseDecimal(b); ok && n == len(b) {
		return v, true
	}
	return slowFloat(b)
}

func slowFloat(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(bstr(b), 64)
	if err != nil {
		// ParseFloat reports out-of-range values as ±Inf with an error;
		// treat them as numbers so the candle check names the problem.
		if errors.Is(err, strconv.ErrRange) {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// parseInt parses an optionally signed decimal integer that fits an int64.
func parseInt(b []byte) (int64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	if i == len(b) || len(b)-i > 19 {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c) // 19 digits cannot overflow a uint64
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

// isNumeric reports whether b looks like an integer or decimal number.
func isNumeric(b []byte) bool {
	_, ok := parseFloat(b)
	return ok && len(b) > 0 && (b[0] == '-' || b[0] == '+' || b[0] == '.' || b[0] >= '0' && b[0] <= '9')
}

// autoUnit guesses the unit of an integer timestamp from its magnitude:
// below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds,
// nanoseconds above (each unit reaches the year 5138 before the next one
// starts; milliseconds before 1973-03-03 would be taken for seconds).
func autoUnit(v int64) timeUnit {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a < 100_000_000_000: // < 1e11: seconds up to year 5138
		return unitSeconds
	case a < 100_000_000_000_000: // < 1e14: milliseconds up to year 5138
		return unitMillis
	case a < 100_000_000_000_000_000: // < 1e17: microseconds
		return unitMicros
	}
	return unitNanos
}

// timeUnit is the unit of an integer timestamp.
type timeUnit int8

const (
	unitSeconds timeUnit = iota
	unitMillis
	unitMicros
	unitNanos
)

// toMillis converts v in unit u to milliseconds. ok is false when v has a
// sub-millisecond part or overflows.
func (u timeUnit) toMillis(v int64) (int64, bool) {
	switch u {
	case unitSeconds:
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return 0, false
		}
		return v * 1000, true
	case unitMicros:
		return v / 1000, v%1000 == 0
	case unitNanos:
		return v / 1_000_000, v%1_000_000 == 0
	}
	return v, true
}

func (u timeUnit) String() string {
	return [...]string{"seconds", "milliseconds", "microseconds", "nanoseconds"}[u]
}

// fmtTime formats Unix milliseconds for messages.
func fmtTime(ms int64) string {
	if ms < minMillis || ms > maxMillis {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.999Z07:00")
}

// fmtGap formats a duration in milliseconds for messages.
func fmtGap(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

// quote shortens and quotes a field for a message.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
