package report

import (
	"bytes"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// isFinite reports whether x is neither NaN nor ±Inf.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// nonFinite renders NaN and ±Inf for people; ok is false for finite x.
func nonFinite(x float64) (s string, ok bool) {
	switch {
	case math.IsNaN(x):
		return "n/a", true
	case math.IsInf(x, 1):
		return "∞", true
	case math.IsInf(x, -1):
		return "-∞", true
	}
	return "", false
}

// fixed formats x with dec decimals, never printing "-0.00".
func fixed(x float64, dec int) string {
	if s, ok := nonFinite(x); ok {
		return s
	}
	return string(appendFixed(make([]byte, 0, 24), x, dec))
}

// appendFixed appends fixed(x, dec) for a finite x.
func appendFixed(b []byte, x float64, dec int) []byte {
	at := len(b)
	b = strconv.AppendFloat(b, x, 'f', dec, 64)
	if b[at] == '-' && len(bytes.Trim(b[at+1:], "0.")) == 0 {
		b = append(b[:at], b[at+1:]...) // no "-0.00"
	}
	return b
}

// signed is fixed with an explicit "+" for positive values.
func signed(x float64, dec int) string {
	s := fixed(x, dec)
	if isFinite(x) && !strings.HasPrefix(s, "-") && strings.Trim(s, "0.") != "" {
		return "+" + s
	}
	if math.IsInf(x, 1) {
		return "+" + s
	}
	return s
}

// signedGrouped is grouped with an explicit "+" for positive values.
func signedGrouped(x float64, dec int) string {
	s := grouped(x, dec)
	if isFinite(x) && !strings.HasPrefix(s, "-") && strings.Trim(s, "0.,") != "" {
		return "+" + s
	}
	return s
}

// pct formats a ratio as a percentage number without the sign: 0.1234 -> "12.34".
func pct(r float64, dec int) string { return fixed(r*100, dec) }

// pctS formats a ratio as a percentage with the % sign: 0.1234 -> "12.34%".
func pctS(r float64, dec int) string {
	if s, ok := nonFinite(r); ok {
		return s
	}
	return fixed(r*100, dec) + "%"
}

// pctSigned formats a ratio as a signed percentage: 0.1234 -> "+12.34%".
func pctSigned(r float64, dec int) string {
	if s, ok := nonFinite(r); ok {
		return s
	}
	return signed(r*100, dec) + "%"
}

// grouped formats x with dec decimals and thousands separators: 12345.6 -> "12,345.60".
func grouped(x float64, dec int) string {
	s := fixed(x, dec)
	if !isFinite(x) {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	b.WriteString(frac)
	return b.String()
}

// price formats a rate with a precision that suits its magnitude, so both
// 0.00001234 and 64000 read well.
func price(x float64) string {
	if s, ok := nonFinite(x); ok {
		return s
	}
	return string(appendPrice(make([]byte, 0, 24), x))
}

// appendPrice appends price(x) for a finite x.
func appendPrice(b []byte, x float64) []byte {
	dec := 8
	switch a := math.Abs(x); {
	case a == 0:
		return append(b, '0')
	case a >= 1000:
		dec = 2
	case a >= 10:
		dec = 3
	case a >= 1:
		dec = 4
	case a >= 0.01:
		dec = 6
	}
	return appendFixed(b, x, dec)
}

// duration formats minutes the way Freqtrade does (Python's str(timedelta)):
// "0:45:00", "1:05:00", "1 day, 0:05:00", "2 days, 3:10:00".
func duration(minutes float64) string {
	if s, ok := nonFinite(minutes); ok {
		return s
	}
	m := int64(math.Round(minutes))
	neg := m < 0
	if neg {
		m = -m
	}
	days, rem := m/1440, m%1440
	s := strconv.FormatInt(rem/60, 10) + ":" + pad2(rem%60) + ":00"
	switch {
	case days == 1:
		s = "1 day, " + s
	case days > 1:
		s = strconv.FormatInt(days, 10) + " days, " + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

// shortDuration is a compact human duration for tables: "45m", "3h 05m", "2d 3h".
func shortDuration(minutes float64) string {
	if s, ok := nonFinite(minutes); ok {
		return s
	}
	m := int64(math.Round(minutes))
	if m < 0 {
		return "-" + shortDuration(float64(-m))
	}
	switch {
	case m < 60:
		return strconv.FormatInt(m, 10) + "m"
	case m < 1440:
		return strconv.FormatInt(m/60, 10) + "h " + pad2(m%60) + "m"
	default:
		return strconv.FormatInt(m/1440, 10) + "d " + strconv.FormatInt(m%1440/60, 10) + "h"
	}
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func utc(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// isoTime is the JSON date format: RFC 3339 in UTC with a "Z" and
// milliseconds only when there are any: "2018-01-10T07:25:00Z".
func isoTime(ms int64) string { return utc(ms).Format("2006-01-02T15:04:05.999Z07:00") }

// dateTime is Freqtrade's human date format: "2018-01-10 07:25:00".
func dateTime(ms int64) string { return utc(ms).Format("2006-01-02 15:04:05") }

// dateMinute is "2018-01-10 07:25".
func dateMinute(ms int64) string { return utc(ms).Format("2006-01-02 15:04") }

// dateOnly is "2018-01-10".
func dateOnly(ms int64) string { return utc(ms).Format("2006-01-02") }

func sortStrings(s []string) { sort.Strings(s) }

// autoDec picks enough decimals to show an amount of the stake currency
// meaningfully: 2 for hundreds of USDT, more for small BTC amounts.
func autoDec(x float64) int {
	switch a := math.Abs(x); {
	case a >= 100 || a == 0:
		return 2
	case a >= 1:
		return 3
	case a >= 0.01:
		return 4
	default:
		return 6
	}
}
