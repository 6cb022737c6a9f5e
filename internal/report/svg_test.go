package report

import (
	"math"
	"testing"
)

func TestDownsampleKeepsExtremes(t *testing.T) {
	var pts []pt
	for i := 0; i < 10000; i++ {
		pts = append(pts, pt{int64(i), math.Sin(float64(i) / 50)})
	}
	pts[4321].v = -5
	pts[7777].v = 9
	out := downsample(pts, 500)
	if len(out) > 500 {
		t.Fatalf("%d points", len(out))
	}
	var lo, hi float64
	for i, p := range out {
		if i > 0 && p.t <= out[i-1].t {
			t.Fatal("not in time order")
		}
		lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
	}
	if lo != -5 || hi != 9 || out[0].t != 0 || out[len(out)-1].t != 9999 {
		t.Errorf("extremes or ends lost: lo %v hi %v", lo, hi)
	}
}

func TestTimeTicks(t *testing.T) {
	year, layout := timeTicks(ms("2024-01-01 00:00"), ms("2024-12-31 23:00"), 9)
	if layout != "Jan 2006" || len(year) != 6 || year[0] != ms("2024-01-01 00:00") || year[1] != ms("2024-03-01 00:00") {
		t.Errorf("year ticks %v %q", year, layout)
	}
	days, layout := timeTicks(ms("2024-01-01 00:00"), ms("2024-01-06 00:00"), 9)
	if layout != "Jan 2" || len(days) != 6 {
		t.Errorf("day ticks %d %q", len(days), layout)
	}
	hours, _ := timeTicks(ms("2024-01-01 00:00"), ms("2024-01-01 05:00"), 9)
	if len(hours) != 6 {
		t.Errorf("hour ticks %d", len(hours))
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ raw, want float64 }{{0.7, 1}, {1.3, 2}, {2.2, 2.5}, {3, 5}, {7, 10}, {230, 250}, {0.0042, 0.005}, {0, 1}} {
		if got := niceStep(c.raw, 0); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", c.raw, got, c.want)
		}
	}
}
