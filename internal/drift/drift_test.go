package drift_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/trade"
)

// The Kolmogorov distribution's upper critical values, as tabulated for
// the two-sample test's large-sample approximation (Smirnov 1948, "Table
// for estimating the goodness of fit of empirical distributions", Ann.
// Math. Statist. 19; reproduced in most statistics texts): the rejection
// threshold c(α) of λ = D·√(nm/(n+m)).
func TestKolmogorovQMatchesTables(t *testing.T) {
	for _, c := range []struct{ lambda, alpha float64 }{
		{1.22, 0.10}, {1.36, 0.05}, {1.48, 0.025}, {1.63, 0.01}, {1.73, 0.005}, {1.95, 0.001},
	} {
		if got := drift.KolmogorovQ(c.lambda); math.Abs(got-c.alpha) > 0.003 {
			t.Errorf("Q(%v) = %.4f, the tables say %v", c.lambda, got, c.alpha)
		}
	}
	if q := drift.KolmogorovQ(0.1); q != 1 {
		t.Errorf("Q(0.1) = %v, want 1", q)
	}
}

// A hand-worked statistic: {1,2,3,4} against {3,4,5,6}: the empirical
// distribution functions are 1/2 and 0 after 2, so D = 0.5 and
// λ = 0.5·√(16/8).
func TestKSKnownStatistic(t *testing.T) {
	d, l := drift.KS([]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6})
	if d != 0.5 || math.Abs(l-0.5*math.Sqrt2) > 1e-12 {
		t.Errorf("KS = %v, %v; want 0.5, %v", d, l, 0.5*math.Sqrt2)
	}
	if d, _ := drift.KS([]float64{1, 2}, []float64{3, 4}); d != 1 {
		t.Errorf("disjoint samples: D = %v, want 1", d)
	}
}

// A hand-worked index: 200 values make ten bins; the reference's deciles
// of 1…200 split it in ten bins of 20 values; a sample all in the top bin
// has share 1 there and epsilon elsewhere. With 40 values a side, two
// bins at the median.
func TestPSIKnownValue(t *testing.T) {
	var ref, top []float64
	for i := range 200 {
		ref = append(ref, float64(i+1))
		top = append(top, 200)
	}
	const eps = 1e-4
	want := (1-0.1)*math.Log(1/0.1) + 9*(eps-0.1)*math.Log(eps/0.1)
	if got := drift.PSI(ref, top); math.Abs(got-want) > 1e-9 {
		t.Errorf("PSI = %v, want %v", got, want)
	}
	want = (1-0.5)*math.Log(1/0.5) + (eps-0.5)*math.Log(eps/0.5)
	if got := drift.PSI(ref, top[:40]); math.Abs(got-want) > 1e-9 {
		t.Errorf("PSI = %v, want %v", got, want)
	}
	if got := drift.PSI(ref, ref); got != 0 {
		t.Errorf("PSI of a sample with itself = %v, want 0", got)
	}
}

func draw(r *rand.Rand, n int, mean, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + sd*r.NormFloat64()
	}
	return out
}

// Two samples of one distribution: PSI small, KS p not small; the same
// shifted by a standard deviation: both past their thresholds.
func TestProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		n := rapid.IntRange(1000, 2000).Draw(t, "n")
		mean := rapid.Float64Range(-1, 1).Draw(t, "mean")
		sd := rapid.Float64Range(0.01, 2).Draw(t, "sd")
		a, b := draw(r, n, mean, sd), draw(r, n, mean, sd)
		if psi := drift.PSI(a, a); psi != 0 {
			t.Fatalf("PSI of identical samples = %v", psi)
		}
		if d, l := drift.KS(a, a); d != 0 || drift.KolmogorovQ(l) != 1 {
			t.Fatalf("KS of identical samples: D %v, p %v", d, drift.KolmogorovQ(l))
		}
		if psi := drift.PSI(a, b); psi > 0.25 {
			t.Fatalf("PSI of two samples of one distribution = %v", psi)
		}
		shifted := draw(r, n, mean+sd, sd)
		if psi := drift.PSI(a, shifted); psi < 0.25 {
			t.Fatalf("PSI of a shifted sample = %v", psi)
		}
		if _, l := drift.KS(a, shifted); drift.KolmogorovQ(l) >= 0.01 {
			t.Fatalf("KS p of a shifted sample = %v", drift.KolmogorovQ(l))
		}
	})
}

// The KS p-value of one distribution's samples is uniform: it falls below
// 0.01 about 1% of the time (here: under 4% of 300 pairs).
func TestKSPValueCalibrated(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	low := 0
	for range 300 {
		_, l := drift.KS(draw(r, 100, 0, 1), draw(r, 80, 0, 1))
		if drift.KolmogorovQ(l) < 0.01 {
			low++
		}
	}
	if low > 12 {
		t.Errorf("%d of 300 same-distribution pairs had p < 0.01", low)
	}
}

// trades makes n closed trades, one every step candles of 1 h from start,
// with returns around ret and holding hold candles.
func trades(r *rand.Rand, n int, start, step int64, ret float64, hold int64) []trade.Trade {
	const h = 3_600_000
	out := make([]trade.Trade, n)
	for i := range out {
		open := start + int64(i)*step*h
		out[i] = trade.Trade{Pair: "BTC/USDT", OpenTime: open, CloseTime: open + (hold+r.Int64N(hold+1))*h, ProfitRatio: ret + 0.01*r.NormFloat64()}
	}
	return out
}

func TestCompare(t *testing.T) {
	const h = 3_600_000
	r := rand.New(rand.NewPCG(1, 2))
	ref := drift.Observe(trades(r, 200, 0, 6, 0.01, 4), 0, 1200*h, h, 1)
	if len(ref.Returns) != 200 || len(ref.Frequency) != 50 || ref.Frequency[0] != 4.0/24 {
		t.Fatalf("reference sample: %d returns, %d windows, first rate %v", len(ref.Returns), len(ref.Frequency), ref.Frequency)
	}
	same := drift.Compare(ref, drift.Observe(trades(r, 60, 0, 6, 0.01, 4), 0, 360*h, h, 1), drift.Thresholds{})
	if same.Drifted || !same.Enough || same.Score >= 1 || !strings.HasPrefix(same.Verdict, "no drift") {
		t.Errorf("same regime: %+v", same)
	}
	// The new regime: losing trades, held longer, entered twice as often.
	changed := drift.Compare(ref, drift.Observe(trades(r, 60, 0, 3, -0.01, 10), 0, 180*h, h, 1), drift.Thresholds{})
	if !changed.Drifted || changed.Score <= 1 || !strings.Contains(changed.Verdict, "returns") || !strings.Contains(changed.Verdict, "signal frequency") {
		t.Errorf("changed regime: %+v", changed)
	}
	for _, f := range changed.Features {
		if !f.Drifted || f.Score <= 1 {
			t.Errorf("changed regime: feature %+v", f)
		}
	}
	few := drift.Compare(ref, drift.Observe(trades(r, 19, 0, 3, -0.05, 10), 0, 60*h, h, 1), drift.Thresholds{})
	if few.Enough || few.Drifted || few.Score != 0 || !strings.Contains(few.Verdict, "19 closed of the 20") {
		t.Errorf("19 trades: %+v", few)
	}
	// A looser threshold: the same shift scores less.
	loose := drift.Compare(ref, drift.Observe(trades(r, 60, 0, 3, -0.01, 10), 0, 180*h, h, 1), drift.Thresholds{PSI: 100, KSAlpha: 1e-9})
	if loose.Score >= changed.Score {
		t.Errorf("looser thresholds scored %v, the defaults %v", loose.Score, changed.Score)
	}
}

func TestObserveOpenTradesAreEntriesOnly(t *testing.T) {
	const h = 3_600_000
	s := drift.Observe([]trade.Trade{{OpenTime: 0, CloseTime: 2 * h, ProfitRatio: 0.1}, {OpenTime: h}}, 0, 24*h, h, 2)
	if len(s.Returns) != 1 || s.Holding[0] != 120 || len(s.Frequency) != 1 || s.Frequency[0] != 2.0/48 {
		t.Errorf("sample: %+v", s)
	}
	if s := drift.Observe(nil, 0, 11*h, h, 1); s.Frequency != nil {
		t.Errorf("less than half a window: frequency %v", s.Frequency)
	}
}

// FuzzCompare: whatever the trades' figures (a venue's fills make them),
// comparing ends with finite figures and a score of 0 or more.
func FuzzCompare(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, int64(3_600_000))
	f.Fuzz(func(t *testing.T, raw []byte, candle int64) {
		var xs []float64
		for i := 0; i+8 <= len(raw); i += 8 {
			xs = append(xs, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		var ts []trade.Trade
		for i := 0; i+2 <= len(xs); i += 2 {
			ts = append(ts, trade.Trade{OpenTime: int64(i) * 1000, CloseTime: int64(i)*1000 + 5000, ProfitRatio: xs[i] / (1 + math.Abs(xs[i+1]))})
		}
		live := drift.Observe(ts, 0, int64(len(ts))*1000+1, candle, 1)
		ref := drift.Sample{Returns: xs, Holding: xs, Frequency: xs}
		for _, r := range []drift.Report{drift.Compare(ref, live, drift.Thresholds{MinTrades: 1}), drift.Compare(live, ref, drift.Thresholds{MinTrades: 1})} {
			if math.IsNaN(r.Score) || math.IsInf(r.Score, 0) || r.Score < 0 || r.Verdict == "" {
				t.Fatalf("report %+v", r)
			}
			for _, ft := range r.Features {
				if math.IsNaN(ft.PSI) || math.IsNaN(ft.KS) || math.IsNaN(ft.KSP) || ft.KSP < 0 || ft.KSP > 1 || ft.KS < 0 || ft.KS > 1 {
					t.Fatalf("feature %+v", ft)
				}
			}
		}
	})
}
