package fixed

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dec
		err  error
	}{
		{"0", 0, nil},
		{"1", One, nil},
		{"0.001", 100_000, nil},
		{"12.5", 1_250_000_000, nil},
		{"0.00000001", 1, nil},
		{"0.000000010000", 1, nil},
		{"00000000000000000001.00000000000000000000", One, nil},
		{"92233720368.54775807", Max, nil},
		{"92233720368.54775808", 0, ErrRange},
		{"100000000000", 0, ErrRange},
		{"0.000000001", 0, ErrPrecision},
		{"", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"-1", 0, ErrSyntax},
		{"1e5", 0, ErrSyntax},
		{"1.2.3", 0, ErrSyntax},
		{" 1", 0, ErrSyntax},
		{"123456789012345678901", 0, ErrSyntax},
	} {
		got, err := Parse(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		d    Dec
		want string
	}{
		{0, "0.00000000"}, {1, "0.00000001"}, {One, "1.00000000"}, {-150_000_000, "-1.50000000"},
		{MustParse("40000.12"), "40000.12000000"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", int64(tc.d), got, tc.want)
		}
	}
}

func TestMulExact(t *testing.T) {
	a, b := MustParse("40000.01"), MustParse("0.00012345")
	e, ok := Mul(a, b)
	if !ok {
		t.Fatal("overflow")
	}
	// 40000.01 × 0.00012345 = 4.9380012345 exactly.
	if e.Floor() != MustParse("4.93800123") || e.Ceil() != MustParse("4.93800124") || e.Round() != MustParse("4.93800123") {
		t.Errorf("floor/ceil/round = %v/%v/%v", e.Floor(), e.Ceil(), e.Round())
	}
	if e.Cmp(MustParse("4.93800123")) != 1 || e.Cmp(MustParse("4.93800124")) != -1 {
		t.Error("Cmp")
	}
	sum, _ := e.Add(e)
	if sum.Ceil() != MustParse("9.87600247") { // 9.876002469
		t.Errorf("sum = %v", sum.Ceil())
	}
	if _, ok := Mul(Max, Max); ok {
		t.Error("Max×Max fits?")
	}
}

func TestQuoAndSteps(t *testing.T) {
	if got := QuoFloor(MustParse("100"), MustParse("3")); got != MustParse("33.33333333") {
		t.Errorf("100/3 = %v", got)
	}
	step := MustParse("0.001")
	d := MustParse("1.2345")
	if d.FloorTo(step) != MustParse("1.234") || d.CeilTo(step) != MustParse("1.235") || d.RoundTo(step) != MustParse("1.235") {
		t.Error("rounding to step")
	}
	if d.OnGrid(step) || !d.FloorTo(step).OnGrid(step) || !d.CeilTo(step).OnGrid(step) || !d.OnGrid(0) {
		t.Error("OnGrid")
	}
	if v, ok := AddOK(Max, 1); ok || v != Max {
		t.Error("AddOK overflow not caught")
	}
}

// FuzzParse checks Parse against math/big on any input: accepted strings
// are exactly the value they spell, and String gives it back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1.5", "0.00000001", "92233720368.54775807", "1e5", ".1", "0.000000001", "12345678901234567890.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("Parse(%q) accepted what big.Rat rejects", s)
		}
		want := new(big.Rat).SetFrac64(int64(d), int64(One))
		if r.Cmp(want) != 0 {
			t.Fatalf("Parse(%q) = %v", s, d)
		}
		back, err := Parse(d.String())
		if err != nil || back != d {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}

// FloorFloat and CeilFloat never round to the wrong side of the float's
// exact value by more than the float's own error, and land within one
// unit of it; a float written with 8 decimals converts to that Dec.
func TestDirectedFromFloat(t *testing.T) {
	t.Parallel()
	// The regression: nearest rounding raised a sell stop by half a unit.
	if d, _ := FloorFloat(3.78081e-5); d != MustParse("0.0000378") {
		t.Errorf("FloorFloat(3.78081e-5) = %v, want 0.00003780", d)
	}
	if d, _ := CeilFloat(3.78011e-5); d != MustParse("0.00003781") {
		t.Errorf("CeilFloat(3.78011e-5) = %v, want 0.00003781", d)
	}
	for _, s := range []string{"0.1", "0.3", "43210.12", "0.00000001", "98.76", "12345678.87654321"} {
		f, _ := strconv.ParseFloat(s, 64)
		fl, err1 := FloorFloat(f)
		ce, err2 := CeilFloat(f)
		if err1 != nil || err2 != nil || fl != MustParse(s) || ce != MustParse(s) {
			t.Errorf("%s: floor %v, ceil %v (%v, %v)", s, fl, ce, err1, err2)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), 1e12} {
		if _, err := FloorFloat(f); err == nil {
			t.Errorf("FloorFloat(%v) accepted", f)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		f := math.Pow(10, rapid.Float64Range(-8, 7).Draw(t, "log f"))
		fl, err := FloorFloat(f)
		if err != nil {
			t.Fatal(err)
		}
		ce, err := CeilFloat(f)
		if err != nil {
			t.Fatal(err)
		}
		exact := new(big.Float).SetFloat64(f)
		unit := new(big.Float).SetFloat64(1e-8)
		tol := new(big.Float).SetFloat64(8 * f * 0x1p-52)
		fd, cd := decimal(fl), decimal(ce)
		// fl ≤ f + tol, f - fl < unit; symmetric for ce.
		if fd.Cmp(new(big.Float).Add(exact, tol)) > 0 || new(big.Float).Sub(exact, fd).Cmp(unit) >= 0 {
			t.Fatalf("FloorFloat(%v) = %v", f, fl)
		}
		if cd.Cmp(new(big.Float).Sub(exact, tol)) < 0 || new(big.Float).Sub(cd, exact).Cmp(unit) >= 0 {
			t.Fatalf("CeilFloat(%v) = %v", f, ce)
		}
		if ce-fl > 1 || ce < fl {
			t.Fatalf("floor %v, ceil %v of %v", fl, ce, f)
		}
	})
}

func decimal(d Dec) *big.Float {
	v, _, err := big.ParseFloat(d.String(), 10, 200, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	return v
}
