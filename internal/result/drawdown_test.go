package result

import "testing"

// A curve's drawdown is measured from the running peak, which starts at
// the starting balance, and only raises the result's.
func TestTakeCurveDrawdown(t *testing.T) {
	r := Result{StartingBalance: 100, Start: 1}
	r.TakeCurveDrawdown([]EquityPoint{{2, 90}, {3, 120}, {4, 96}, {5, 130}, {6, 117}})
	if r.MaxDrawdownEquity != 0.2 || r.MaxDrawdownEquityAbs != 24 || r.MaxDrawdownEquityPeak != 3 || r.MaxDrawdownEquityTrough != 4 {
		t.Fatalf("drawdown %v (abs %v) from %d to %d, want 0.2 (24) from 3 to 4", r.MaxDrawdownEquity, r.MaxDrawdownEquityAbs, r.MaxDrawdownEquityPeak, r.MaxDrawdownEquityTrough)
	}
	// A fall below the starting balance before any new peak counts from it.
	r = Result{StartingBalance: 100, Start: 1}
	r.TakeCurveDrawdown([]EquityPoint{{2, 70}, {3, 110}})
	if r.MaxDrawdownEquity != 0.3 || r.MaxDrawdownEquityPeak != 1 || r.MaxDrawdownEquityTrough != 2 {
		t.Fatalf("drawdown %v from %d to %d, want 0.3 from 1 to 2", r.MaxDrawdownEquity, r.MaxDrawdownEquityPeak, r.MaxDrawdownEquityTrough)
	}
	// A smaller one leaves the result's larger drawdown as it was.
	r.TakeCurveDrawdown([]EquityPoint{{4, 99}})
	if r.MaxDrawdownEquity != 0.3 || r.MaxDrawdownEquityTrough != 2 {
		t.Fatalf("a smaller drawdown replaced the larger: %v at %d", r.MaxDrawdownEquity, r.MaxDrawdownEquityTrough)
	}
}
