package datafile

import (
	"strconv"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// Timestamps are kept within pandas' datetime64[ns] range, which is what
// Freqtrade can represent: 1677-09-21 to 2262-04-11.
const (
	minMillis = -9_223_372_036_854 // 1677-09-21T00:12:43.146Z
	maxMillis = 9_223_372_036_854  // 2262-04-11T23:47:16.854Z
)

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func pad2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendISO appends ms as an RFC 3339 UTC time ("2018-01-10T07:25:00Z", with
// ".123" milliseconds when not zero). Times outside years 0000-9999 are
// appended as integer milliseconds, which the CSV reader also accepts.
func appendISO(b []byte, ms int64) []byte {
	days := clock.Day(ms)
	rem := ms - days*clock.DayMs
	y, m, d := civilFromDays(days)
	if y < 0 || y > 9999 {
		return strconv.AppendInt(b, ms, 10)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = pad2(b, m)
	b = append(b, '-')
	b = pad2(b, d)
	b = append(b, 'T')
	secs := rem / 1000
	b = pad2(b, secs/3600)
	b = append(b, ':')
	b = pad2(b, secs/60%60)
	b = append(b, ':')
	b = pad2(b, secs%60)
	if frac := rem % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return append(b, 'Z')
}

// fmtTime formats ms for messages.
func fmtTime(ms int64) string {
	if ms < minMillis || ms > maxMillis {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	return string(appendISO(nil, ms))
}

// fmtGap formats a duration in milliseconds for messages.
func fmtGap(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

func digits(s []byte, i, n int) (int64, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v int64
	for _, c := range s[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// ParseISO parses an ISO 8601 / RFC 3339 date or date-time: "2018-01-10",
// "2018-01-10T07:25", "2018-01-10 07:25:00", "2018-01-10T07:25:00.5Z",
// "2018-01-10 07:25:00+00:00", "2018-01-10T09:25:00+0200", and the same with a
// trailing " UTC". A time without a zone is UTC. It returns Unix milliseconds
// (fractions below a millisecond are dropped).
func ParseISO(s []byte) (int64, bool) {
	y, ok1 := digits(s, 0, 4)
	mo, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false
	}
	var hh, mm, ss, frac, off int64
	i := 10
	if i < len(s) && (s[i] == 'T' || s[i] == 't' || s[i] == ' ') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
		var ok bool
		if hh, ok = digits(s, i+1, 2); !ok || i+3 >= len(s) || s[i+3] != ':' {
			return 0, false
		}
		if mm, ok = digits(s, i+4, 2); !ok {
			return 0, false
		}
		i += 6
		if i < len(s) && s[i] == ':' {
			if ss, ok = digits(s, i+1, 2); !ok {
				return 0, false
			}
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				i++
				start := i
				scale := int64(100)
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					frac += int64(s[i]-'0') * scale
					scale /= 10
					i++
				}
				if i == start {
					return 0, false
				}
			}
		}
		if hh > 23 || mm > 59 || ss > 59 {
			return 0, false
		}
		// Zone.
		if i < len(s) {
			switch s[i] {
			case 'Z', 'z':
				i++
			case '+', '-':
				sign := int64(1)
				if s[i] == '-' {
					sign = -1
				}
				zh, ok := digits(s, i+1, 2)
				if !ok {
					return 0, false
				}
				i += 3
				var zm int64
				if i < len(s) && s[i] == ':' {
					i++
				}
				if i < len(s) && s[i] >= '0' && s[i] <= '9' {
					if zm, ok = digits(s, i, 2); !ok {
						return 0, false
					}
					i += 2
				}
				if zh > 23 || zm > 59 {
					return 0, false
				}
				off = sign * (zh*3600 + zm*60)
			}
		}
	}
	if i < len(s) && (string(s[i:]) == " UTC" || string(s[i:]) == " Z") {
		i = len(s)
	}
	if i != len(s) {
		return 0, false
	}
	secs := daysFromCivil(y, mo, d)*86400 + hh*3600 + mm*60 + ss - off
	return secs*1000 + frac, true
}
