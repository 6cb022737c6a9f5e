package clock_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/clock"
)

// Day agrees with the calendar: its midnight is the UTC date's midnight
// of any millisecond time, also before 1970.
func TestDayIsTheUTCDate(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want int64
	}{
		{0, 0}, {clock.DayMs - 1, 0}, {clock.DayMs, 1}, {-1, -1}, {-clock.DayMs, -1}, {-clock.DayMs - 1, -2},
	} {
		if got := clock.Day(tc.ms); got != tc.want {
			t.Errorf("Day(%d) = %d, want %d", tc.ms, got, tc.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		ms := rapid.Int64Range(-9_223_372_036_854, 9_223_372_036_854).Draw(t, "ms")
		u := time.UnixMilli(ms).UTC()
		midnight := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).UnixMilli()
		if got := clock.Day(ms) * clock.DayMs; got != midnight {
			t.Fatalf("Day(%d)·DayMs = %d, want the UTC midnight %d (%s)", ms, got, midnight, u)
		}
	})
}
