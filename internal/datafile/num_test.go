package datafile

import (
	"math"
	"strconv"
	"testing"
)

// FuzzParseDecimal checks the fast path against strconv.ParseFloat: when
// ParseDecimal accepts a prefix of the input, that prefix is a number and
// has exactly strconv's value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "7", "-0.5", "1.", ".5", "42283.58000000", "0.00162008", "108.14853839",
		"1e5", "1E-5", "-2.5e+3", "1e22", "1e23", "1e-22", "1e-23", "1e", "1e+", "1e00005",
		"9007199254740992", "9007199254740993", "1234567890123456789", "12345678901234567890",
		"0.30000000000000004", "12x", "-", "", "1,2", "NaN", "inf",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, n, ok := ParseDecimal([]byte(s))
		if !ok {
			return
		}
		if n <= 0 || n > len(s) {
			t.Fatalf("ParseDecimal(%q) used %d bytes", s, n)
		}
		want, err := strconv.ParseFloat(s[:n], 64)
		if err != nil {
			t.Fatalf("ParseDecimal(%q) accepted %q, which strconv rejects: %v", s, s[:n], err)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("ParseDecimal(%q) = %v, strconv says %v", s, got, want)
		}
	})
}
