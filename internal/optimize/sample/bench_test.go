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

// BenchmarkTPEAskLattice is BenchmarkTPEAsk on a study's usual space:
// whole numbers and Freqtrade's decimal ranges (steps of 0.001), the
// dimensions of `--spaces buy roi stoploss`.
func BenchmarkTPEAskLattice(b *testing.B) {
	space := Space{
		{Name: "fast", Low: 2, High: 100, Int: true}, {Name: "slow", Low: 5, High: 200, Int: true},
		{Name: "roi_t1", Low: 10, High: 120, Int: true}, {Name: "roi_t2", Low: 10, High: 60, Int: true},
		{Name: "roi_t3", Low: 10, High: 40, Int: true}, {Name: "roi_p1", Low: 0.01, High: 0.04, Step: 0.001},
		{Name: "roi_p2", Low: 0.01, High: 0.07, Step: 0.001}, {Name: "roi_p3", Low: 0.01, High: 0.2, Step: 0.001},
		{Name: "stoploss", Low: -0.35, High: -0.02, Step: 0.001},
	}
	loss := func(x []float64) float64 {
		l := 0.0
		for i, d := range space {
			u := (x[i]-d.Low)/(d.High-d.Low) - 0.3
			l += u * u
		}
		return l
	}
	s, err := NewTPE(space, 1, DefaultTPEConfig())
	if err != nil {
		b.Fatal(err)
	}
	for range 1000 {
		x, _ := s.Ask()
		if err := s.Tell(x, loss(x)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		x, _ := s.Ask()
		if err := s.Tell(x, loss(x)); err != nil {
			b.Fatal(err)
		}
	}
}
