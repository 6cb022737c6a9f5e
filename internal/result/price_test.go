package result_test

import (
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/result"
	"pgregory.net/rapid"
)

// drawSeries is a random price series of 0 to 5,000 rows with valid
// candles (low ≤ open, close ≤ high).
func drawSeries(t *rapid.T) result.PriceSeries {
	n := rapid.IntRange(0, 5000).Draw(t, "rows")
	s := result.PriceSeries{Pair: "BTC/USDT"}
	px := 100.0
	for i := range n {
		o := px
		px *= 1 + rapid.Float64Range(-0.05, 0.05).Draw(t, "move")
		h := max(o, px) * (1 + rapid.Float64Range(0, 0.02).Draw(t, "up"))
		l := min(o, px) * (1 - rapid.Float64Range(0, 0.02).Draw(t, "down"))
		s.Time = append(s.Time, 1_600_000_000_000+int64(i)*60_000)
		s.Open, s.High, s.Low, s.Close = append(s.Open, o), append(s.High, h), append(s.Low, l), append(s.Close, px)
	}
	return s
}

// Downsampling keeps the first time and open, the last close and the
// extremes, stays within the bound, keeps time order, and every bucket
// spans the rows it replaces.
func TestDownsampleKeepsEndsAndExtremes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawSeries(t)
		n := rapid.IntRange(-1, 1200).Draw(t, "n")
		d := s.Downsample(n)
		if d.Pair != s.Pair {
			t.Fatalf("pair %q", d.Pair)
		}
		if d.Len() > max(n, 1) {
			t.Fatalf("%d rows for a bound of %d", d.Len(), n)
		}
		if len(d.Open) != d.Len() || len(d.High) != d.Len() || len(d.Low) != d.Len() || len(d.Close) != d.Len() {
			t.Fatal("columns of different lengths")
		}
		if s.Len() == 0 {
			if d.Len() != 0 {
				t.Fatalf("%d rows from none", d.Len())
			}
			return
		}
		if s.Len() <= max(n, 1) && !slices.Equal(d.Close, s.Close) {
			t.Fatal("a series within the bound changed")
		}
		last := s.Len() - 1
		if d.Time[0] != s.Time[0] || d.Open[0] != s.Open[0] || d.Close[d.Len()-1] != s.Close[last] {
			t.Fatal("first open or last close lost")
		}
		if slices.Max(d.High) != slices.Max(s.High) || slices.Min(d.Low) != slices.Min(s.Low) {
			t.Fatalf("extremes lost: high %v of %v, low %v of %v", slices.Max(d.High), slices.Max(s.High), slices.Min(d.Low), slices.Min(s.Low))
		}
		if !slices.IsSorted(d.Time) {
			t.Fatal("times out of order")
		}
		for b := range d.Len() {
			if d.Low[b] > min(d.Open[b], d.Close[b]) || d.High[b] < max(d.Open[b], d.Close[b]) {
				t.Fatalf("bucket %d is not a candle: %v %v %v %v", b, d.Open[b], d.High[b], d.Low[b], d.Close[b])
			}
		}
	})
}

// The downsampled series owns its columns.
func TestDownsampleCopies(t *testing.T) {
	s := result.PriceSeries{Time: []int64{1, 2}, Open: []float64{1, 2}, High: []float64{1, 2}, Low: []float64{1, 2}, Close: []float64{1, 2}}
	d := s.Downsample(10)
	d.Close[0] = 9
	if s.Close[0] != 1 {
		t.Error("Downsample shares the close column")
	}
}
