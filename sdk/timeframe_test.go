package sdk

import (
	"testing"
	"time"
)

func TestTimeframeGrid(t *testing.T) {
	at := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	cases := []struct {
		tf          Timeframe
		at          string
		floor, next string
	}{
		{"1m", "2024-03-05 10:07", "2024-03-05 10:07", "2024-03-05 10:08"},
		{"5m", "2024-03-05 10:07", "2024-03-05 10:05", "2024-03-05 10:10"},
		{"4h", "2024-03-05 10:07", "2024-03-05 08:00", "2024-03-05 12:00"},
		{"1d", "2024-03-05 10:07", "2024-03-05 00:00", "2024-03-06 00:00"},
		// 2024-03-05 is a Tuesday: its week starts on Monday the 4th.
		{"1w", "2024-03-05 10:07", "2024-03-04 00:00", "2024-03-11 00:00"},
		{"1w", "2024-03-04 00:00", "2024-03-04 00:00", "2024-03-11 00:00"},
		{"1w", "2024-03-03 23:59", "2024-02-26 00:00", "2024-03-04 00:00"},
		{"1w", "1970-01-01 00:00", "1969-12-29 00:00", "1970-01-05 00:00"},
		{"1M", "2024-02-29 23:00", "2024-02-01 00:00", "2024-03-01 00:00"},
		{"1M", "2023-12-31 10:00", "2023-12-01 00:00", "2024-01-01 00:00"},
		{"1h", "1969-12-31 23:30", "1969-12-31 23:00", "1970-01-01 00:00"},
	}
	for _, c := range cases {
		ms := at(c.at)
		if got := c.tf.Floor(ms); got != at(c.floor) {
			t.Errorf("%s.Floor(%s) = %s, want %s", c.tf, c.at, time.UnixMilli(got).UTC(), c.floor)
		}
		if got := c.tf.Next(ms); got != at(c.next) {
			t.Errorf("%s.Next(%s) = %s, want %s", c.tf, c.at, time.UnixMilli(got).UTC(), c.next)
		}
		if on := c.tf.OnGrid(ms); on != (c.at == c.floor) {
			t.Errorf("%s.OnGrid(%s) = %v", c.tf, c.at, on)
		}
	}
}
