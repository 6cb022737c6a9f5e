package ta

import (
	"math"
	"math/rand/v2"
	"testing"
)

// SMAStream read in blocks of any size yields SMA's values bit for bit:
// with leading NaNs, periods longer than the input, and empty inputs.
func TestSMAStreamIsSMA(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := r.IntN(3000)
		src := make([]float64, n)
		x := 100.0
		for i := range src {
			x *= math.Exp(r.NormFloat64() * 0.01)
			src[i] = x
		}
		if n > 0 && r.IntN(3) == 0 {
			for i := range r.IntN(n) {
				src[i] = math.NaN()
			}
		}
		p := 1 + r.IntN(300)
		want := SMA(src, p)
		w := NewSMAStream(src, p)
		got := make([]float64, 0, n)
		buf := make([]float64, 1+r.IntN(50))
		for k := w.Read(buf); k > 0; k = w.Read(buf) {
			got = append(got, buf[:k]...)
		}
		if len(got) != n {
			t.Fatalf("trial %d: %d values for %d inputs", trial, len(got), n)
		}
		for i := range want {
			if !sameFloat(got[i], want[i]) {
				t.Fatalf("trial %d (n %d, period %d): value %d is %v, SMA's %v", trial, n, p, i, got[i], want[i])
			}
		}
	}
}

// SMAAbove read in blocks of any size answers as comparing SMA's values:
// with leading NaNs, periods longer than the input, and empty inputs.
func TestSMAAboveComparesSMAs(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := r.IntN(3000)
		src := make([]float64, n)
		x := 100.0
		for i := range src {
			x *= math.Exp(r.NormFloat64() * 0.01)
			src[i] = x
		}
		if n > 0 && r.IntN(3) == 0 {
			for i := range r.IntN(n) {
				src[i] = math.NaN()
			}
		}
		fast, slow := 1+r.IntN(300), 1+r.IntN(300)
		a, b := SMA(src, fast), SMA(src, slow)
		w := NewSMAAbove(src, fast, slow)
		got := make([]bool, 0, n)
		buf := make([]bool, 1+r.IntN(200))
		for k := w.Read(buf); k > 0; k = w.Read(buf) {
			got = append(got, buf[:k]...)
		}
		if len(got) != n {
			t.Fatalf("trial %d: %d answers for %d inputs", trial, len(got), n)
		}
		for i := range a {
			if want := a[i] > b[i]; got[i] != want {
				t.Fatalf("trial %d (n %d, periods %d, %d): answer %d is %v, SMAs %v and %v", trial, n, fast, slow, i, got[i], a[i], b[i])
			}
		}
	}
}

// SMAAbove's quick path (plain sums while the values stay in a band of
// binades, close calls summed again exactly) answers as comparing SMA's
// values, bit for bit: on prices in cents with flat stretches (equal
// averages: close calls), on runs long enough to re-sum, and on values
// that leave the band mid-series (a jump, a zero, a NaN, a tiny or
// negative value), where the exact path takes over.
func TestSMAAboveQuickPath(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	var on, off int
	for trial := range 400 {
		n := 1 + r.IntN(6000)
		src := make([]float64, n)
		x := math.Ldexp(1+r.Float64(), r.IntN(60)-30)
		cents := r.IntN(2) == 0
		for i := range src {
			switch {
			case r.IntN(50) == 0: // a flat stretch follows: x stays
			case r.IntN(10) < 7:
				x *= math.Exp(r.NormFloat64() * 0.002)
			}
			src[i] = x
			if cents {
				src[i] = math.Round(x*100) / 100
			}
		}
		if r.IntN(3) == 0 {
			at := r.IntN(n)
			switch r.IntN(6) {
			case 0:
				src[at] *= 1e6
			case 1:
				src[at] = 0
			case 2:
				src[at] = math.NaN()
			case 3:
				src[at] = 1e-300
			case 4:
				src[at] = -src[at]
			default:
				src[at] = math.Inf(1)
			}
		}
		fast, slow := 1+r.IntN(40), 1+r.IntN(300)
		a, b := SMA(src, fast), SMA(src, slow)
		w := NewSMAAbove(src, fast, slow)
		got := make([]bool, 0, n)
		buf := make([]bool, 1+r.IntN(3000))
		for k := w.Read(buf); k > 0; k = w.Read(buf) {
			got = append(got, buf[:k]...)
		}
		for i := range a {
			if want := a[i] > b[i]; got[i] != want {
				t.Fatalf("trial %d (n %d, periods %d, %d): answer %d is %v, SMAs %v and %v", trial, n, fast, slow, i, got[i], a[i], b[i])
			}
		}
		switch w.q.state {
		case quickOn:
			on++
		case quickOff:
			off++
		}
	}
	if on < 100 || off < 20 {
		t.Fatalf("the quick path ran to the end in %d trials and stopped in %d: too few to test either", on, off)
	}
}
