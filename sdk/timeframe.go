package sdk

import (
	"fmt"
	"time"
)

// Timeframe is a candle interval in Freqtrade's notation, for example "5m",
// "1h" or "1d". The zero value is invalid; use [ParseTimeframe].
type Timeframe string

// timeframeMinutes lists every supported timeframe with its length in minutes.
// A month counts as 30 days, as in ccxt and Freqtrade.
var timeframeMinutes = map[Timeframe]int64{
	"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30,
	"1h": 60, "2h": 120, "4h": 240, "6h": 360, "8h": 480, "12h": 720,
	"1d": 1440, "3d": 4320, "1w": 10080, "1M": 43200,
}

// Timeframes lists the supported timeframes from shortest to longest.
func Timeframes() []Timeframe {
	return []Timeframe{"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"}
}

// ParseTimeframe validates s and returns it as a Timeframe.
func ParseTimeframe(s string) (Timeframe, error) {
	tf := Timeframe(s)
	if _, ok := timeframeMinutes[tf]; !ok {
		return "", fmt.Errorf("unknown timeframe %q (supported: %v)", s, Timeframes())
	}
	return tf, nil
}

// Minutes returns the length of one candle in minutes (0 for an invalid
// timeframe).
func (tf Timeframe) Minutes() int64 { return timeframeMinutes[tf] }

// Millis returns the length of one candle in milliseconds.
func (tf Timeframe) Millis() int64 { return timeframeMinutes[tf] * 60_000 }

// Duration returns the length of one candle.
func (tf Timeframe) Duration() time.Duration { return time.Duration(tf.Millis()) * time.Millisecond }

// Valid reports whether tf is a supported timeframe.
func (tf Timeframe) Valid() bool { _, ok := timeframeMinutes[tf]; return ok }

func (tf Timeframe) String() string { return string(tf) }

const (
	msPerDay = 86_400_000
	// mondayOffset is the distance from the Unix epoch (a Thursday) back to
	// the Monday that starts its week, in milliseconds.
	mondayOffset = 3 * msPerDay
)

// Floor returns the open time of the candle of timeframe tf that contains
// ms (Unix milliseconds, UTC). Candles lie on a fixed grid: minute, hour
// and day timeframes (including "3d") on multiples of their length since the
// Unix epoch, "1w" on Mondays 00:00 UTC (ISO weeks, as Binance's weekly
// candles), "1M" on the first day of each month 00:00 UTC.
func (tf Timeframe) Floor(ms int64) int64 {
	switch tf {
	case "1M":
		y, m, _ := time.UnixMilli(ms).UTC().Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case "1w":
		return floorTo(ms+mondayOffset, 7*msPerDay) - mondayOffset
	}
	step := tf.Millis()
	if step == 0 {
		return ms
	}
	return floorTo(ms, step)
}

// Next returns the open time of the candle after the one that contains ms,
// which is also the close time of the candle that contains ms.
func (tf Timeframe) Next(ms int64) int64 {
	if tf == "1M" {
		y, m, _ := time.UnixMilli(ms).UTC().Date()
		return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	return tf.Floor(ms) + tf.Millis()
}

// OnGrid reports whether ms is the open time of a candle of timeframe tf.
func (tf Timeframe) OnGrid(ms int64) bool { return tf.Floor(ms) == ms }

// floorTo rounds ms down to a multiple of step, also for negative ms.
func floorTo(ms, step int64) int64 {
	r := ms % step
	if r < 0 {
		r += step
	}
	return ms - r
}
