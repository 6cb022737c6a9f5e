package ta

import (
	"math"
	"math/rand/v2"
	"testing"
)

// candles is a test series of OHLCV columns.
type candles struct {
	name                           string
	open, high, low, close, volume []float64
}

// walk returns a mean-reverting random walk around 0 that crosses zero often,
// with values of a few units to a few tens.
func walk(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	x := 0.0
	for i := range out {
		x = 0.995*x + r.NormFloat64()
		out[i] = x
	}
	return out
}

// makeCandles builds realistic candles. With signed false the prices are a
// geometric random walk from 100; with signed true they are a walk around 0
// (negative about half the time).
func makeCandles(seed uint64, n int, signed bool) candles {
	r := rand.New(rand.NewPCG(seed, 2))
	c := candles{name: "positive"}
	if signed {
		c.name = "signed"
	}
	c.open, c.high, c.low, c.close, c.volume = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	price := 100.0
	if signed {
		price = 0
	}
	for i := 0; i < n; i++ {
		o := price
		var scale float64
		if signed {
			price = 0.995*price + r.NormFloat64()
			scale = 0.5
		} else {
			price *= math.Exp(0.01 * r.NormFloat64())
			scale = 0.005 * price
		}
		c.open[i], c.close[i] = o, price
		c.high[i] = math.Max(o, price) + scale*math.Abs(r.NormFloat64())
		c.low[i] = math.Min(o, price) - scale*math.Abs(r.NormFloat64())
		c.volume[i] = 1000 * math.Exp(0.7*r.NormFloat64())
	}
	return c
}

func (c candles) prefix(n int) candles {
	return candles{c.name, c.open[:n], c.high[:n], c.low[:n], c.close[:n], c.volume[:n]}
}

// sameFloat reports whether a and b are bit for bit equal (any NaN equals
// any NaN).
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// near reports whether got is within tol of want, relative to max(1, |want|).
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// checkWarmup fails unless got is NaN exactly at 0..lookback-1.
func checkWarmup(t *testing.T, name string, got []float64, lookback int) {
	t.Helper()
	for i, v := range got {
		if (i < lookback) != math.IsNaN(v) {
			t.Errorf("%s[%d] = %v; want NaN exactly before %d", name, i, v, lookback)
			return
		}
	}
}

// checkNear fails unless got[i] is near want[i] for i >= from.
func checkNear(t *testing.T, name string, got, want []float64, from int, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := from; i < len(got); i++ {
		if !near(got[i], want[i], tol) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %.17g, want %.17g", name, i, got[i], want[i])
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", name, bad)
	}
}

func nans(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}
