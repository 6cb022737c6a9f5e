package ta

import "testing"

const benchN = 1_000_000

func benchSeries() []float64 {
	x := walk(42, benchN)
	for i := range x {
		x[i] += 100
	}
	return x
}

func BenchmarkSMA(b *testing.B) {
	x := benchSeries()
	b.SetBytes(8 * benchN)
	for b.Loop() {
		SMA(x, 20)
	}
}

func BenchmarkEMA(b *testing.B) {
	x := benchSeries()
	b.SetBytes(8 * benchN)
	for b.Loop() {
		EMA(x, 20)
	}
}

func BenchmarkRSI(b *testing.B) {
	x := benchSeries()
	b.SetBytes(8 * benchN)
	for b.Loop() {
		RSI(x, 14)
	}
}
