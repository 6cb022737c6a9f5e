package report

import (
	"html"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
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

func TestLogTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   []float64
		gap    float64
	}{
		{9000, 31000, []float64{10000, 12000, 15000, 20000, 25000, 30000}, 2000},
		{1000, 1e6, []float64{1000, 3000, 1e4, 3e4, 1e5, 3e5, 1e6}, 2000},
		{1000, 1050, []float64{1000, 1010, 1020, 1030, 1040, 1050}, 10}, // one round value: linear steps
	} {
		got, gap := logTicks(c.lo, c.hi)
		if len(got) != len(c.want) || math.Abs(gap-c.gap) > 1e-9 {
			t.Errorf("logTicks(%g, %g) = %v, %g; want %v, %g", c.lo, c.hi, got, gap, c.want, c.gap)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-9*c.want[i] {
				t.Errorf("logTicks(%g, %g) = %v, want %v", c.lo, c.hi, got, c.want)
				break
			}
		}
	}
}

func TestEquityLogChart(t *testing.T) {
	res, m := largeFixture()
	out := writeHTML(t, res, m)
	i := strings.Index(out, `id="equity-log"`)
	if i < 0 || !strings.Contains(out, `id="equity-log-toggle"`) {
		t.Fatal("no log-scale equity chart or toggle")
	}
	svg := out[i:]
	svg = svg[:strings.Index(svg, "</svg>")]
	// Equity between about 9,000 and 13,000: round log ticks.
	for _, s := range []string{">10,000<", ">12,000<"} {
		if !strings.Contains(svg, s) {
			t.Errorf("log chart lacks tick %s", s)
		}
	}
	res.Equity[5].Equity = -1
	if out := writeHTML(t, res, metrics.Compute(res)); strings.Contains(out, `id="equity-log"`) || strings.Contains(out, `id="equity-log-toggle"`) {
		t.Error("log chart of an equity that goes below 0")
	}
}

// A coordinate is written with one decimal, x·10 rounded half away from
// zero (ties too), bare without a ".0", never as -0 or NaN.
func TestAppendTenths(t *testing.T) {
	for _, c := range []struct {
		x          float64
		num, plain string
	}{
		{0, "0.0", "0"}, {-0.04, "0.0", "0"}, {math.Copysign(0, -1), "0.0", "0"}, {0.05, "0.1", "0.1"}, {0.25, "0.3", "0.3"},
		{-0.25, "-0.3", "-0.3"}, {1234.56, "1234.6", "1234.6"}, {-7, "-7.0", "-7"}, {1199.96, "1200.0", "1200"},
		{math.NaN(), "0.0", "0"}, {math.Inf(1), "0.0", "0"},
		{1e300, strconv.FormatFloat(1e300, 'f', 1, 64), strconv.FormatFloat(1e300, 'f', 1, 64)},
	} {
		if got := string(appendTenths([]byte("M"), c.x, false)); got != "M"+c.num {
			t.Errorf("appendTenths(%v) = %q, want %q", c.x, got[1:], c.num)
		}
		if got := string(appendTenths(nil, c.x, true)); got != c.plain {
			t.Errorf("appendTenths(%v, bare) = %q, want %q", c.x, got, c.plain)
		}
	}
}

// The chart's appenders write what num and html.EscapeString return: a
// chart's hover texts carry the stake currency a config names.
func FuzzChartAppenders(f *testing.F) {
	f.Add(-0.04, `USDT`, int64(1_515_568_500_000))
	f.Add(-0.05, `a"b'c<d>&e`, int64(-1))
	f.Add(math.Inf(-1), "\u2028\xff", int64(253_402_300_800_000))
	f.Add(1234.56, "", int64(-62_135_596_800_001))
	f.Fuzz(func(t *testing.T, x float64, s string, ms int64) {
		if got := string(appendDateMinute([]byte("a"), ms)); got != "a"+dateMinute(ms) {
			t.Errorf("appendDateMinute(%d) = %q, want %q", ms, got, "a"+dateMinute(ms))
		}
		if got := string(appendNum([]byte("L"), x)); got != "L"+num(x) {
			t.Errorf("appendNum(%v) = %q, want %q", x, got, "L"+num(x))
		}
		// Within charts (|x| < 1e15), the number round half away from zero
		// gives, as strconv writes it.
		if a := math.Abs(x); a < 1e15 {
			want := strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
			if want == "-0" {
				want = "0"
			}
			if got := string(appendTenths(nil, x, true)); got != want {
				t.Errorf("appendTenths(%v, bare) = %q, want %q", x, got, want)
			}
		}
		if got := string(appendHTMLEscaped([]byte("a"), []byte(s))); got != "a"+html.EscapeString(s) {
			t.Errorf("appendHTMLEscaped(%q) = %q, want %q", s, got, "a"+html.EscapeString(s))
		}
	})
}
