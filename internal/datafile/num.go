package datafile

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// ParseDecimal parses the decimal number at the start of b
// ([-]digits[.digits][e[+-]digits]) when it can be converted exactly with one
// multiplication or division (Clinger's fast path: mantissa at most 2^53,
// power of ten at most 22), which covers prices and volumes as exchanges
// write them. It returns the value and the number of bytes used, or false
// when the caller must fall back to strconv.ParseFloat. It is the one fast
// number parser of the candle readers: this package's JSON and CSV readers
// and the importer's readers use it.
func ParseDecimal(b []byte) (float64, int, bool) {
	i := 0
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	nd, exp := 0, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		mant = mant*10 + uint64(b[i]-'0')
		nd++
		i++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			nd++
			exp--
			i++
		}
	}
	if nd == 0 || nd > 19 {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		start, e := i, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 4 {
			e = e*10 + int(b[i]-'0')
			i++
		}
		if i == start {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if mant > 1<<53 || exp < -22 || exp > 22 {
		return 0, 0, false
	}
	v := float64(mant)
	if exp > 0 {
		v *= pow10[exp]
	} else if exp < 0 {
		v /= pow10[-exp]
	}
	if neg {
		v = -v
	}
	return v, i, true
}
