package report

import (
	"math"
	"strconv"
	"testing"
)

// A number of the trade list is written as 'g' formatting writes it, from
// its export text or not: around the places where the two part (1e-4,
// 1e6, 1e-6 and 1e21, where the export's own exponent begins) and at 0.
func FuzzNumberTexts(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-4, 9.9999e-5, 0.00012, 1e-5, 1e-7, 123456.7, 999999.9999999999,
		1e6, 1e21, 1e20, 97.41054256643326, -125.76488752809382, 0.01299424371808211, 5e-324, math.MaxFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if !isFinite(x) {
			return
		}
		want := strconv.FormatFloat(x, 'g', -1, 64)
		if got := string(appendGText([]byte("x"), x, appendJSONFloat(nil, x))); got != "x"+want {
			t.Errorf("%v: got %s, want %s", x, got[1:], want)
		}
	})
}
