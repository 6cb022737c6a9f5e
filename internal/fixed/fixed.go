// Package fixed is exact decimal arithmetic for prices, quantities and
// balances: a Dec is an int64 count of 10⁻⁸ units, the precision Binance
// gives every price, quantity and balance. Products and quotients go
// through 128-bit intermediates (math/bits), so price × quantity is exact
// before it is rounded, and every rounding is explicit in the name of the
// function that does it (Floor, Ceil).
//
// Why not a decimal library: the simulator's matching core must do millions
// of order events per second; an int64 adds and compares in one instruction
// and allocates nothing, while an arbitrary-precision decimal allocates on
// most operations. Eight decimals is all the exchange we imitate uses.
package fixed

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Decimals is the number of decimal places of a Dec.
const Decimals = 8

// One is 1 as a Dec.
const One Dec = 100_000_000

// Max is the largest Dec, about 92 billion.
const Max Dec = math.MaxInt64

// Dec is a decimal number with 8 decimal places, stored as an integer count
// of 10⁻⁸. The zero value is 0.
type Dec int64

// Errors of Parse.
var (
	// ErrSyntax: the text is not digits with an optional point and digits.
	ErrSyntax = errors.New("not a decimal number")
	// ErrPrecision: more than 8 decimal places that are not zero.
	ErrPrecision = errors.New("too much precision")
	// ErrRange: the number does not fit.
	ErrRange = errors.New("number too large")
)

// Parse reads a non-negative decimal such as "0.001", "12" or "3.50000000":
// 1 to 20 digits, optionally a point and 1 to 20 digits (Binance's legal
// range for decimal parameters). Digits past the eighth decimal place must
// be zeros.
func Parse(s string) (Dec, error) {
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if frac == "" {
				return 0, ErrSyntax
			}
			break
		}
	}
	if len(intPart) == 0 || len(intPart) > 20 || len(frac) > 20 {
		return 0, ErrSyntax
	}
	var v uint64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, ErrSyntax
		}
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > uint64(math.MaxInt64) {
			return 0, ErrRange
		}
		v = lo
	}
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, ErrSyntax
		}
		if i >= Decimals && c != '0' {
			return 0, ErrPrecision
		}
	}
	hi, lo := bits.Mul64(v, uint64(One))
	if hi != 0 || lo > uint64(math.MaxInt64) {
		return 0, ErrRange
	}
	v = lo
	scale := uint64(One / 10)
	for i := 0; i < len(frac) && i < Decimals; i++ {
		v += uint64(frac[i]-'0') * scale
		scale /= 10
	}
	if v > uint64(math.MaxInt64) {
		return 0, ErrRange
	}
	return Dec(v), nil
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Dec {
	d, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("fixed.MustParse(%q): %v", s, err))
	}
	return d
}

// FromFloat rounds f to the nearest Dec. Market data arrives as float64;
// this is where it becomes exact. It fails for NaN, infinities and values
// out of range.
func FromFloat(f float64) (Dec, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v: %w", f, ErrSyntax)
	}
	v := math.Round(f * float64(One))
	if v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, fmt.Errorf("%v: %w", f, ErrRange)
	}
	return Dec(v), nil
}

// FloorFloat returns the largest Dec not above f, and CeilFloat the
// smallest not below it: where a decided price or quantity must not be
// made worse by the rounding to 8 decimals (FromFloat's nearest may be
// half a unit on the wrong side). A float64 that lies within its own
// rounding error of a Dec (0.1 is not exactly 0.1) is taken as that Dec.
func FloorFloat(f float64) (Dec, error) { return directed(f, math.Floor) }

// CeilFloat: see FloorFloat.
func CeilFloat(f float64) (Dec, error) { return directed(f, math.Ceil) }

func directed(f float64, round func(float64) float64) (Dec, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v: %w", f, ErrSyntax)
	}
	v := f * float64(One)
	if n := math.Round(v); math.Abs(v-n) <= 4*ulp(v) {
		v = n
	} else {
		v = round(v)
	}
	if v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, fmt.Errorf("%v: %w", f, ErrRange)
	}
	return Dec(v), nil
}

// ulp is the spacing of float64 values at v.
func ulp(v float64) float64 {
	a := math.Abs(v)
	return math.Nextafter(a, math.Inf(1)) - a
}

// Float returns d as a float64 (for reports and charts, never for money).
func (d Dec) Float() float64 { return float64(d) / float64(One) }

// String formats d with all 8 decimals, as Binance does: "0.00100000".
func (d Dec) String() string {
	var buf [32]byte
	return string(d.Append(buf[:0]))
}

// Append appends d's String form to b.
func (d Dec) Append(b []byte) []byte {
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = uint64(-d)
	}
	b = strconv.AppendUint(b, u/uint64(One), 10)
	b = append(b, '.')
	frac := u % uint64(One)
	var digits [Decimals]byte
	for i := Decimals - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, digits[:]...)
}

// MarshalText implements encoding.TextMarshaler (JSON gets a string).
func (d Dec) MarshalText() ([]byte, error) { return d.Append(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Dec) UnmarshalText(b []byte) error {
	s := string(b)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	v, err := Parse(s)
	if err != nil {
		return fmt.Errorf("decimal %q: %w", b, err)
	}
	if neg {
		v = -v
	}
	*d = v
	return nil
}

// Exact is a non-negative value with 16 decimal places held exactly: Units
// whole 10⁻⁸ plus Rem/10⁸ of one more. It is what a product of two Decs is
// before rounding, and it adds up without loss.
type Exact struct {
	Units Dec
	Rem   int64 // 0 ≤ Rem < 10⁸
}

// Mul returns a × b exactly; both must be non-negative. ok is false when the
// product does not fit.
func Mul(a, b Dec) (Exact, bool) {
	if a < 0 || b < 0 {
		return Exact{}, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(One) {
		return Exact{}, false
	}
	q, r := bits.Div64(hi, lo, uint64(One))
	if q > uint64(math.MaxInt64) {
		return Exact{}, false
	}
	return Exact{Units: Dec(q), Rem: int64(r)}, true
}

// Add returns e + o (ok is false on overflow).
func (e Exact) Add(o Exact) (Exact, bool) {
	u, ok := AddOK(e.Units, o.Units)
	r := e.Rem + o.Rem
	if r >= int64(One) {
		r -= int64(One)
		u, ok = u+1, ok && u < Max
	}
	return Exact{Units: u, Rem: r}, ok
}

// Floor rounds e down to a Dec.
func (e Exact) Floor() Dec { return e.Units }

// Ceil rounds e up to a Dec.
func (e Exact) Ceil() Dec {
	if e.Rem > 0 {
		return e.Units + 1
	}
	return e.Units
}

// Round rounds e to the nearest Dec, halves up.
func (e Exact) Round() Dec {
	if e.Rem*2 >= int64(One) {
		return e.Units + 1
	}
	return e.Units
}

// Cmp compares e with d: -1, 0 or +1.
func (e Exact) Cmp(d Dec) int {
	switch {
	case e.Units < d:
		return -1
	case e.Units > d || e.Rem > 0:
		return 1
	}
	return 0
}

// MulFloor is a × b rounded down; MulCeil rounded up. Both saturate at Max.
func MulFloor(a, b Dec) Dec {
	e, ok := Mul(a, b)
	if !ok {
		return Max
	}
	return e.Floor()
}

// MulCeil is a × b rounded up (saturating at Max).
func MulCeil(a, b Dec) Dec {
	e, ok := Mul(a, b)
	if !ok {
		return Max
	}
	return e.Ceil()
}

// QuoFloor is a ÷ b rounded down (b > 0, a ≥ 0), saturating at Max.
func QuoFloor(a, b Dec) Dec {
	if b <= 0 || a < 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(One))
	if hi >= uint64(b) {
		return Max
	}
	q, _ := bits.Div64(hi, lo, uint64(b))
	if q > uint64(math.MaxInt64) {
		return Max
	}
	return Dec(q)
}

// AddOK returns a + b and whether it did not overflow.
func AddOK(a, b Dec) (Dec, bool) {
	if b > 0 && a > Max-b || b < 0 && a < math.MinInt64-b {
		return Max, false
	}
	return a + b, true
}

// FloorTo rounds d down to a multiple of step (step ≤ 0 leaves d as is).
func (d Dec) FloorTo(step Dec) Dec {
	if step <= 0 {
		return d
	}
	return d - d%step
}

// CeilTo rounds d up to a multiple of step (step ≤ 0 leaves d as is).
func (d Dec) CeilTo(step Dec) Dec {
	if step <= 0 || d%step == 0 {
		return d
	}
	return d - d%step + step
}

// OnGrid reports whether d is a multiple of step (any d when step ≤ 0,
// which means no step): the exchange's tick and step filters.
func (d Dec) OnGrid(step Dec) bool { return step <= 0 || d%step == 0 }

// RoundTo rounds d to the nearest multiple of step, halves up.
func (d Dec) RoundTo(step Dec) Dec {
	if step <= 0 {
		return d
	}
	r := d % step
	if r*2 >= step {
		return d - r + step
	}
	return d - r
}
