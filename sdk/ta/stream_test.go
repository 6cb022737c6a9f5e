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
