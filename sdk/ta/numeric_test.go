package ta

import (
	"math"
	"math/rand/v2"
	"testing"

	talib "github.com/markcheno/go-talib"
)

// longSeries returns n prices that fall gradually from about 1e5 to about
// 1e-2 (a log-price random walk with drift), the case where a plain running
// sum keeps the rounding error of the large early values forever.
func longSeries(n int) []float64 {
	r := rand.New(rand.NewPCG(99, 3))
	out := make([]float64, n)
	lp := math.Log(1e5)
	drift := (math.Log(1e-2) - lp) / float64(n)
	for i := range out {
		lp += drift + 0.002*r.NormFloat64()
		out[i] = math.Exp(lp)
	}
	return out
}

// relErr is |got-want|/|want|.
func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// TestLongSeriesDrift checks rolling sums over 1,000,000 values against
// direct window sums at sampled candles, to 1e-9 relative.
func TestLongSeriesDrift(t *testing.T) {
	t.Parallel()
	const n, p = 1_000_000, 50
	x := longSeries(n)
	vol := make([]float64, n)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range vol {
		vol[i] = 1000 * math.Exp(r.NormFloat64())
	}
	sma, wma, sd, vwap := SMA(x, p), WMA(x, p), StdDev(x, p), VWAP(x, x, x, vol, p)
	hma := HMA(x, p)
	taSMA := talib.Sma(x, p)
	var worstTA float64
	for i := p - 1; i < n; i += 997 {
		if i+997 >= n {
			i = n - 1
		}
		w := x[i-p+1 : i+1]
		var s, ws ksum
		for k, v := range w {
			s.add(v)
			ws.add(float64(k+1) * v)
		}
		mean := s.sum() / p
		var q ksum
		for _, v := range w {
			q.add((v - mean) * (v - mean))
		}
		wantSD := math.Sqrt(q.sum() / p)
		wantWMA := ws.sum() / (p * (p + 1) / 2)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"SMA", sma[i], mean},
			{"WMA", wma[i], wantWMA},
			{"StdDev", sd[i], wantSD},
			{"VWAP", vwap[i], refVWAP(x[i-p+1:i+1], x[i-p+1:i+1], x[i-p+1:i+1], vol[i-p+1:i+1], p)[p-1]},
		} {
			if e := relErr(c.got, c.want); !(e <= 1e-9) {
				t.Fatalf("%s[%d] = %.17g, want %.17g (relative error %.3g)", c.name, i, c.got, c.want, e)
			}
		}
		worstTA = math.Max(worstTA, relErr(taSMA[i], mean))
		if math.IsNaN(hma[i]) && i >= p+6 {
			t.Fatalf("HMA[%d] is NaN", i)
		}
	}
	t.Logf("go-talib SMA worst relative error on the same samples: %.3g", worstTA)
}

// TestStdDevLargeMean checks StdDev where the mean dwarfs the deviation
// (prices near 1e6 moving by about 1), which E[x²]-E[x]² cannot resolve.
func TestStdDevLargeMean(t *testing.T) {
	t.Parallel()
	const n, p = 20000, 20
	r := rand.New(rand.NewPCG(5, 5))
	x := make([]float64, n)
	for i := range x {
		x[i] = 1e6 + r.NormFloat64()
	}
	got, want, ta := StdDev(x, p), refStdDev(x, p), talib.StdDev(x, p, 1)
	checkNear(t, "StdDev", got, want, p-1, 1e-9)
	worst := 0.0
	for i := p - 1; i < n; i++ {
		worst = math.Max(worst, relErr(ta[i], want[i]))
	}
	t.Logf("go-talib StdDev worst relative error at mean 1e6, sd 1: %.3g", worst)
}
