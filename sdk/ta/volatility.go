package ta

import "math"

// StdDev returns the population standard deviation of src over period
// values, as TA-Lib STDDEV with nbdev 1. It uses a rolling Welford update
// that is recomputed exactly every period steps, so a large mean does not
// cost precision; a window of identical values gives exactly 0.
// Warm-up: period-1. It panics if period < 1.
func StdDev(src []float64, period int) []float64 {
	mustPeriod("StdDev", "period", period)
	out := make([]float64, len(src))
	stdDevInto(out, src, clampPeriod(period, len(src)))
	return out
}

func stdDevInto(dst, src []float64, p int) {
	s := firstValid(src)
	stdDevCore(dst[s:], src[s:], p)
	fillNaN(dst, s, p-1)
}

func stdDevCore(dst, src []float64, p int) {
	n := len(src)
	if n < p {
		return
	}
	fp := float64(p)
	var mean, m2 float64
	// changes counts j in the window, but its first, with src[j] != src[j-1]:
	// zero means the window is flat and the deviation is exactly 0.
	changes := 0
	for j := 1; j < p; j++ {
		if src[j] != src[j-1] {
			changes++
		}
	}
	left := 0
	for i := p - 1; i < n; i++ {
		if i >= p {
			if src[i] != src[i-1] {
				changes++
			}
			if src[i-p+1] != src[i-p] {
				changes--
			}
		}
		if left == 0 {
			sum := 0.0
			for _, x := range src[i-p+1 : i+1] {
				sum += x
			}
			mean = sum / fp
			m2 = 0
			for _, x := range src[i-p+1 : i+1] {
				d := x - mean
				m2 += d * d
			}
			left = p
		} else {
			in, out := src[i], src[i-p]
			old := mean
			mean += (in - out) / fp
			m2 += (in - out) * (in - mean + out - old)
		}
		left--
		if changes == 0 || m2 <= 0 {
			dst[i] = 0
			continue
		}
		dst[i] = math.Sqrt(m2 / fp)
	}
}

// BollingerBands returns SMA(src, period) as middle and middle ± k*StdDev as
// upper and lower, as TA-Lib BBANDS with an SMA. Warm-up: period-1. It panics
// if period < 1 or k is not a finite number >= 0.
func BollingerBands(src []float64, period int, k float64) (upper, middle, lower []float64) {
	mustPeriod("BollingerBands", "period", period)
	mustFactor("BollingerBands", "k", k)
	n := len(src)
	p := clampPeriod(period, n)
	upper, middle, lower = make([]float64, n), make([]float64, n), make([]float64, n)
	smaInto(middle, src, p)
	stdDevInto(upper, src, p)
	for i, sd := range upper {
		d := sd * k
		upper[i] = middle[i] + d
		lower[i] = middle[i] - d
	}
	return upper, middle, lower
}

// trueRange is the true range of candle i >= 1.
func trueRange(high, low, close []float64, i int) float64 {
	h, l, pc := high[i], low[i], close[i-1]
	tr := h - l
	if v := math.Abs(pc - h); v > tr {
		tr = v
	}
	if v := math.Abs(pc - l); v > tr {
		tr = v
	}
	return tr
}

// TrueRange returns max(high-low, |high-prevClose|, |low-prevClose|), as
// TA-Lib TRANGE. Warm-up: 1 (the first candle has no previous close). It
// panics if the lengths differ.
func TrueRange(high, low, close []float64) []float64 {
	mustHLC("TrueRange", high, low, close)
	out := make([]float64, len(close))
	s := firstValid(high, low, close)
	for i := s + 1; i < len(close); i++ {
		out[i] = trueRange(high, low, close, i)
	}
	fillNaN(out, s, 1)
	return out
}

// ATR returns the average true range with Wilder smoothing, seeded with the
// mean of the first period true ranges, as TA-Lib. Warm-up: period. It panics
// if period < 1 or the lengths differ.
func ATR(high, low, close []float64, period int) []float64 {
	mustHLC("ATR", high, low, close)
	mustPeriod("ATR", "period", period)
	out := make([]float64, len(close))
	atrInto(out, high, low, close, clampPeriod(period, len(close)))
	return out
}

func atrInto(dst, high, low, close []float64, p int) {
	s := firstValid(high, low, close)
	atrCore(dst[s:], high[s:], low[s:], close[s:], p)
	fillNaN(dst, s, p)
}

func atrCore(dst, high, low, close []float64, p int) {
	n := len(close)
	if n <= p {
		return
	}
	fp := float64(p)
	sum := 0.0
	for i := 1; i <= p; i++ {
		sum += trueRange(high, low, close, i)
	}
	prev := sum / fp
	dst[p] = prev
	for i := p + 1; i < n; i++ {
		prev *= fp - 1
		prev += trueRange(high, low, close, i)
		prev /= fp
		dst[i] = prev
	}
}

// Keltner returns Keltner channels: middle is EMA(close, period), upper and
// lower are middle ± mult*ATR(atrPeriod). Warm-up: period-1 for middle,
// max(period-1, atrPeriod) for the bands. It panics if a period is < 1, mult
// is not a finite number >= 0, or the lengths differ.
func Keltner(high, low, close []float64, period int, atrPeriod int, mult float64) (upper, middle, lower []float64) {
	mustHLC("Keltner", high, low, close)
	mustPeriod("Keltner", "period", period)
	mustPeriod("Keltner", "atrPeriod", atrPeriod)
	mustFactor("Keltner", "mult", mult)
	n := len(close)
	p, ap := clampPeriod(period, n), clampPeriod(atrPeriod, n)
	upper, middle, lower = make([]float64, n), make([]float64, n), make([]float64, n)
	s := firstValid(high, low, close)
	emaCore(middle[s:], close[s:], p)
	fillNaN(middle, s, p-1)
	atrInto(upper, high, low, close, ap)
	for i, a := range upper {
		d := mult * a
		upper[i] = middle[i] + d
		lower[i] = middle[i] - d
	}
	return upper, middle, lower
}

// Highest returns the rolling maximum of src over period values, using a
// monotonic deque (amortized O(1) per value, O(period) scratch).
// Warm-up: period-1. It panics if period < 1.
func Highest(src []float64, period int) []float64 {
	mustPeriod("Highest", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	rollExtreme(out[s:], src[s:], p, true)
	fillNaN(out, s, p-1)
	return out
}

// Lowest returns the rolling minimum of src over period values, using a
// monotonic deque. Warm-up: period-1. It panics if period < 1.
func Lowest(src []float64, period int) []float64 {
	mustPeriod("Lowest", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	rollExtreme(out[s:], src[s:], p, false)
	fillNaN(out, s, p-1)
	return out
}

func rollExtreme(dst, src []float64, p int, isMax bool) {
	if len(src) < p {
		return
	}
	d := newDeque(p)
	for i := range src {
		if isMax {
			d.pushMax(src, i, p)
		} else {
			d.pushMin(src, i, p)
		}
		if i >= p-1 {
			dst[i] = src[d.front()]
		}
	}
}

// Donchian returns the Donchian channel: upper is the highest high and lower
// the lowest low of the last period candles, middle their mean.
// Warm-up: period-1. It panics if period < 1 or the lengths differ.
func Donchian(high, low []float64, period int) (upper, middle, lower []float64) {
	mustMatch("Donchian", "high", high, "low", low)
	mustPeriod("Donchian", "period", period)
	n := len(high)
	p := clampPeriod(period, n)
	upper, middle, lower = make([]float64, n), make([]float64, n), make([]float64, n)
	s := firstValid(high, low)
	rollExtreme(upper[s:], high[s:], p, true)
	rollExtreme(lower[s:], low[s:], p, false)
	fillNaN(upper, s, p-1)
	fillNaN(lower, s, p-1)
	for i := range middle {
		middle[i] = (upper[i] + lower[i]) / 2
	}
	return upper, middle, lower
}

// SuperTrend returns the SuperTrend line and direction, as TradingView's
// ta.supertrend: bands (high+low)/2 ± mult*ATR(period) that only tighten
// while price stays inside them; the trend turns up when close rises above
// the upper band and down when it falls below the lower band. line is the
// lower band in an up trend and the upper band in a down trend; up[i] is true
// when the trend is up. The first defined candle starts in a down trend.
// Warm-up: period (line NaN, up false). It panics if period < 1, mult is not a
// finite number >= 0, or the lengths differ.
func SuperTrend(high, low, close []float64, period int, mult float64) (line []float64, up []bool) {
	mustHLC("SuperTrend", high, low, close)
	mustPeriod("SuperTrend", "period", period)
	mustFactor("SuperTrend", "mult", mult)
	n := len(close)
	p := clampPeriod(period, n)
	line, up = make([]float64, n), make([]bool, n)
	s := firstValid(high, low, close)
	atrInto(line, high, low, close, p) // line holds the ATR until overwritten
	first := s + p
	var fu, fl float64 // final upper and lower bands
	isUp := false
	for i := first; i < n; i++ {
		mid := (high[i] + low[i]) / 2
		d := mult * line[i]
		bu, bl := mid+d, mid-d
		if i == first {
			fu, fl = bu, bl
		} else {
			pc := close[i-1]
			if bu < fu || pc > fu {
				fu = bu
			}
			if bl > fl || pc < fl {
				fl = bl
			}
			if isUp {
				isUp = !(close[i] < fl)
			} else {
				isUp = close[i] > fu
			}
		}
		up[i] = isUp
		if isUp {
			line[i] = fl
		} else {
			line[i] = fu
		}
	}
	return line, up
}
