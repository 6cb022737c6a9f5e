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
