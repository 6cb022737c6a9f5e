package strategy

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/tradai/tradai/sdk"
)

// BenchmarkSMACrossPopulate is sma_cross's signals alone on 1,000,000
// candles of a random walk, the signal columns reused (as an optimiser's
// trials on loaded data).
func BenchmarkSMACrossPopulate(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m", Close: make([]float64, 1_000_000)}
	f.Time, f.Open, f.High, f.Low, f.Volume = make([]int64, len(f.Close)), f.Close, f.Close, f.Close, f.Close
	x := 100.0
	for i := range f.Close {
		x *= math.Exp(r.NormFloat64() * 0.0015)
		f.Close[i] = x
	}
	st := SMACross{}
	params, err := st.Spec().Resolve(nil)
	if err != nil {
		b.Fatal(err)
	}
	before := cpuTime(b)
	for b.Loop() {
		if err := st.Populate(f, params); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N)/float64(len(f.Close)), "cpu-ns/candle")
}

// cpuTime is the CPU time the process used so far, in nanoseconds (steadier
// than wall time on a shared machine).
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
