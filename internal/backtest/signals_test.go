package backtest

import (
	"math/rand/v2"
	"testing"
)

// countTrue and firstTrue, which read eight values at a time, answer as a
// value-by-value loop: at any offset and length, with and without the
// second column.
func TestSignalScansReadEveryValue(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(8, 9))
	for trial := range 20_000 {
		n := r.IntN(70)
		a, b := make([]bool, n), make([]bool, n)
		density := r.IntN(40) + 1
		for i := range n {
			a[i], b[i] = r.IntN(density) == 0, r.IntN(density) == 0
		}
		lo := 0
		if n > 0 {
			lo = r.IntN(n)
		}
		a, b = a[lo:], b[lo:]
		var count int
		first, firstEither := len(a), len(a)
		for i := range a {
			if a[i] {
				count++
				first = min(first, i)
			}
			if a[i] || b[i] {
				firstEither = min(firstEither, i)
			}
		}
		if got := countTrue(a); got != count {
			t.Fatalf("trial %d: countTrue %d, want %d", trial, got, count)
		}
		if got := firstTrue(a, nil); got != first {
			t.Fatalf("trial %d: firstTrue(a) %d, want %d", trial, got, first)
		}
		if got := firstTrue(a, b); got != firstEither {
			t.Fatalf("trial %d: firstTrue(a, b) %d, want %d", trial, got, firstEither)
		}
	}
}
