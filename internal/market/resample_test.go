package market

import (
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/sdk"
)

func TestResampleOHLCV(t *testing.T) {
	f := walk(60, "1m", t0, 20)
	out, err := Resample(f, "5m")
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 12 || out.Timeframe != "5m" {
		t.Fatalf("got %d %s candles, want 12 5m", out.Len(), out.Timeframe)
	}
	for b := range 12 {
		src := f.Slice(b*5, b*5+5)
		hi, lo, vol := src.High[0], src.Low[0], 0.0
		for i := range 5 {
			hi, lo, vol = max(hi, src.High[i]), min(lo, src.Low[i]), vol+src.Volume[i]
		}
		if out.Time[b] != src.Time[0] || out.Open[b] != src.Open[0] || out.Close[b] != src.Close[4] ||
			out.High[b] != hi || out.Low[b] != lo || out.Volume[b] != vol {
			t.Errorf("candle %d wrong", b)
		}
	}
}

func TestResampleEdgesAndGaps(t *testing.T) {
	// 1m candles from 00:03 to 00:21 inclusive: the 00:00 and 00:20 5m
	// candles are incomplete and dropped; 00:05, 00:10, 00:15 remain.
	f := walk(19, "1m", t0+3*60_000, 21)
	out, err := Resample(f, "5m")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{t0 + 5*60_000, t0 + 10*60_000, t0 + 15*60_000}
	if len(out.Time) != 3 || out.Time[0] != want[0] || out.Time[2] != want[2] {
		t.Errorf("times %v, want %v", out.Time, want)
	}
	// A bucket with interior gaps is kept; a fully missing bucket is absent.
	g := walk(30, "1m", t0, 22)
	holey := g.Slice(0, 7)  // 00:00..00:06
	rest := g.Slice(15, 30) // 00:15..00:29
	holey = concat(holey, rest)
	out, err = Resample(holey, "5m")
	if err != nil {
		t.Fatal(err)
	}
	// 00:00 full, 00:05 has 2 of 5 candles, 00:10 empty, 00:15..00:25 full.
	if got := len(out.Time); got != 5 || out.Time[1] != t0+5*60_000 || out.Time[2] != t0+15*60_000 {
		t.Errorf("times %v", out.Time)
	}
	if out.Close[1] != g.Close[6] {
		t.Error("partial interior bucket should close with its last present candle")
	}
}

func TestResampleWeeksAndMonths(t *testing.T) {
	// 2024-01-01 is a Monday; 70 days of daily candles.
	f := walk(70, "1d", t0, 23)
	w, err := Resample(f, "1w")
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 10 {
		t.Fatalf("%d weeks, want 10", w.Len())
	}
	for i, ts := range w.Time {
		if d := time.UnixMilli(ts).UTC(); d.Weekday() != time.Monday || d.Hour() != 0 {
			t.Errorf("week %d opens %s, not Monday 00:00", i, d)
		}
	}
	if w.Open[1] != f.Open[7] || w.Close[1] != f.Close[13] {
		t.Error("week 2 must run Monday 8 Jan to Sunday 14 Jan")
	}
	m, err := Resample(f, "1M")
	if err != nil {
		t.Fatal(err)
	}
	// Jan (31 days) and Feb (29 days, leap year) complete; March incomplete.
	if m.Len() != 2 || m.Open[1] != f.Open[31] || m.Close[1] != f.Close[59] {
		t.Errorf("months: %d, want January and February", m.Len())
	}
	// Starting mid-week drops the first partial week.
	w, _ = Resample(f.Slice(3, 70), "1w")
	if time.UnixMilli(w.Time[0]).UTC().Day() != 8 {
		t.Errorf("first whole week opens %s", time.UnixMilli(w.Time[0]).UTC())
	}
}

func TestCanResample(t *testing.T) {
	ok := [][2]sdk.Timeframe{{"1m", "5m"}, {"1m", "3m"}, {"5m", "1h"}, {"1h", "4h"}, {"1h", "1d"}, {"1d", "3d"}, {"1h", "1w"}, {"1d", "1M"}, {"8h", "1d"}}
	for _, c := range ok {
		if err := CanResample(c[0], c[1]); err != nil {
			t.Errorf("%s → %s: %v", c[0], c[1], err)
		}
	}
	bad := [][2]sdk.Timeframe{{"5m", "1m"}, {"3m", "5m"}, {"5m", "5m"}, {"3d", "1w"}, {"1w", "1M"}, {"1d", "1w2"}, {"1w", "2w"}}
	for _, c := range bad {
		if err := CanResample(c[0], c[1]); err == nil {
			t.Errorf("%s → %s accepted", c[0], c[1])
		}
	}
	if _, err := Resample(walk(3, "1m", t0+60_000, 1), "1h"); err == nil || !strings.Contains(err.Error(), "whole 1h candle") {
		t.Errorf("too short: %v", err)
	}
}
