package fixed

import (
	"errors"
	"math/big"
	"testing"
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
