package report

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestHistogram(t *testing.T) {
	// Range -0.031 … 0.05: width niceStep(0.081 / 24 = 0.003375) = 0.005;
	// edges at multiples of 0.005 from -0.035 to 0.05 (the maximum opens
	// the last bin).
	xs := []float64{-0.031, -0.001, 0, 0.001, 0.004, 0.05, math.NaN()}
	got := histogram(xs)
	if len(got) != 18 {
		t.Fatalf("%d bins, want 18: %+v", len(got), got)
	}
	counts := make([]int, len(got))
	for i, b := range got {
		counts[i] = b.n
	}
	want := []int{1, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	if math.Abs(got[0].lo+0.035) > 1e-12 || math.Abs(got[7].lo) > 1e-12 {
		t.Errorf("edges: first %g, bin 7 starts at %g (want -0.035, 0)", got[0].lo, got[7].lo)
	}
	if histogram([]float64{math.NaN()}) != nil {
		t.Error("bins without finite values")
	}
	if b := histogram([]float64{0.01, 0.01}); len(b) != 1 || b[0].n != 2 {
		t.Errorf("equal values: %+v", b)
	}
}

func TestHistogramChart(t *testing.T) {
	// Width niceStep(0.032 / 24) = 0.002: four bars of one.
	svg := string(histogramChart("h", "Trade returns", "trade", []float64{-0.02, -0.01, 0.01, 0.012, 0.0121}))
	if strings.Count(svg, `class="bar-neg"`) != 2 || strings.Count(svg, `class="bar-pos"`) != 2 {
		t.Errorf("bars: %s", svg)
	}
	if !strings.Contains(svg, "<title>1.0% to 1.2%: 1 trade</title>") || !strings.Contains(svg, "<title>1.2% to 1.4%: 2 trades</title>") {
		t.Errorf("no bar title: %s", svg)
	}
	if strings.Contains(svg, "NaN") {
		t.Error("NaN in SVG")
	}
}
