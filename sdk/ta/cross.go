package ta

import "fmt"

// CrossedAbove reports whether a crossed above b at candle i:
// a[i-1] <= b[i-1] && a[i] > b[i]. It is false if i < 1 or any of the four
// values is NaN. It panics if the lengths differ or i >= len(a).
func CrossedAbove(a, b []float64, i int) bool {
	mustCross("CrossedAbove", a, b, i)
	if i < 1 {
		return false
	}
	return a[i-1] <= b[i-1] && a[i] > b[i] // false for NaN
}

// CrossedBelow reports whether a crossed below b at candle i:
// a[i-1] >= b[i-1] && a[i] < b[i]. It is false if i < 1 or any of the four
// values is NaN. It panics if the lengths differ or i >= len(a).
func CrossedBelow(a, b []float64, i int) bool {
	mustCross("CrossedBelow", a, b, i)
	if i < 1 {
		return false
	}
	return a[i-1] >= b[i-1] && a[i] < b[i] // false for NaN
}

func mustCross(fn string, a, b []float64, i int) {
	mustMatch(fn, "a", a, "b", b)
	if i >= len(a) {
		panic(fmt.Sprintf("ta.%s: i = %d out of range for len(a) = %d", fn, i, len(a)))
	}
}
