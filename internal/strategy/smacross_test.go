package strategy

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/ta"
)

// sma_cross enters where SMA(fast) crosses above SMA(slow) and exits where
// it crosses back below, from candle slow on, as comparing the two SMA
// columns says: on random walks, in cents with flat stretches (equal
// averages) and not, shorter and longer than the periods, the signal
// columns reused between runs as an optimiser's trials reuse them.
func TestSMACrossSignalsAreCrosses(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	st := SMACross{}
	f := &sdk.Frame{}
	for trial := range 200 {
		n := r.IntN(5000)
		f.Pair, f.Timeframe = "A/B", "1m"
		f.Time, f.Open, f.High, f.Low, f.Volume = make([]int64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		f.Close = make([]float64, n)
		x, cents := 20+r.Float64()*50_000, r.IntN(2) == 0
		for i := range f.Close {
			if r.IntN(30) != 0 { // else a flat candle
				x *= math.Exp(r.NormFloat64() * 0.002)
			}
			f.Close[i] = x
			if cents {
				f.Close[i] = math.Round(x*100) / 100
			}
		}
		fast := 2 + r.IntN(30)
		slow := fast + 1 + r.IntN(100)
		params, err := st.Spec().Resolve(map[string]any{"fast": fast, "slow": slow})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && trial%2 == 1 { // leftovers of an earlier run
			f.EnsureSignals()
			for i := range f.EnterLong {
				f.EnterLong[i], f.ExitLong[i] = i >= slow && r.IntN(2) == 0, i >= slow && r.IntN(2) == 0
			}
		}
		if err := st.Populate(f, params); err != nil {
			t.Fatal(err)
		}
		a, b := ta.SMA(f.Close, fast), ta.SMA(f.Close, slow)
		for i := slow; i < n; i++ {
			up, was := a[i] > b[i], a[i-1] > b[i-1]
			if f.EnterLong[i] != (up && !was) || f.ExitLong[i] != (was && !up) {
				t.Fatalf("trial %d (n %d, fast %d, slow %d): candle %d enters %v, exits %v; SMAs %v, %v before %v, %v",
					trial, n, fast, slow, i, f.EnterLong[i], f.ExitLong[i], a[i], b[i], a[i-1], b[i-1])
			}
		}
	}
}

// crosses marks the same crosses as comparing each value with the one
// before it, for every length around the eight-value words and either
// value before the first.
func TestCrossesComparesNeighbours(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 40 {
		for range 50 {
			now := make([]byte, n)
			for i := range now {
				now[i] = byte(r.IntN(2))
			}
			before := uint64(r.IntN(2))
			en, ex := make([]byte, n), make([]byte, n)
			for i := range en { // leftovers are overwritten
				en[i], ex[i] = byte(r.IntN(2)), byte(r.IntN(2))
			}
			got := crosses(en, ex, now, before)
			prev := byte(before)
			for i, v := range now {
				if want := b2u(v == 1 && prev == 0); en[i] != want {
					t.Fatalf("n %d: en[%d] = %d, want %d (now %v, before %d)", n, i, en[i], want, now, before)
				}
				if want := b2u(v == 0 && prev == 1); ex[i] != want {
					t.Fatalf("n %d: ex[%d] = %d, want %d (now %v, before %d)", n, i, ex[i], want, now, before)
				}
				prev = v
			}
			if got != uint64(prev) {
				t.Fatalf("n %d: returned %d, want the last value %d", n, got, prev)
			}
		}
	}
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}
