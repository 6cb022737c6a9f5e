package sample

import (
	"fmt"
	"testing"
)

// BenchmarkTPEAsk measures one Ask (and its Tell) after n told trials on
// Hartmann-6's six dimensions, with the default history of 200 trials.
func BenchmarkTPEAsk(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("told=%d", n), func(b *testing.B) {
			s, err := NewTPE(hartmann6.space, 1, DefaultTPEConfig())
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				x, _ := s.Ask()
				if err := s.Tell(x, hartmann6.f(x)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				x, _ := s.Ask()
				if err := s.Tell(x, hartmann6.f(x)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
