package ta

import (
	"fmt"
	"math"
)

// RSI returns the relative strength index with Wilder smoothing, seeded with
// the mean gain and loss of the first period changes, as TA-Lib. A series
// with no change at all so far gives 50 (TA-Lib gives 0). Warm-up: period.
// It panics if period < 1.
func RSI(src []float64, period int) []float64 {
	mustPeriod("RSI", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	rsiCore(out[s:], src[s:], p)
	fillNaN(out, s, p)
	return out
}

func rsiCore(dst, src []float64, p int) {
	n := len(src)
	if n <= p {
		return
	}
	fp := float64(p)
	var gain, loss float64
	for i := 1; i <= p; i++ {
		if d := src[i] - src[i-1]; d < 0 {
			loss -= d
		} else {
			gain += d
		}
	}
	gain /= fp
	loss /= fp
	dst[p] = rsiValue(gain, loss)
	for i := p + 1; i < n; i++ {
		d := src[i] - src[i-1]
		loss *= fp - 1
		gain *= fp - 1
		if d < 0 {
			loss -= d
		} else {
			gain += d
		}
		loss /= fp
		gain /= fp
		dst[i] = rsiValue(gain, loss)
	}
}

func rsiValue(gain, loss float64) float64 {
	t := gain + loss
	if t == 0 {
		return 50
	}
	return 100 * (gain / t)
}

// MACD returns the MACD line EMA(fast) - EMA(slow), its signal line
// EMA(macd, signal) and the histogram macd - signalLine, as TA-Lib MACD: both
// EMAs are seeded at candle slow-1 (the fast one with the SMA of the fast
// values ending there) and the signal EMA with the SMA of the first signal
// MACD values. Warm-up: slow-1 for macd (TA-Lib hides these values until the
// signal is ready), slow+signal-2 for signalLine and hist. It panics if a
// period is < 1 or fast > slow.
func MACD(src []float64, fast, slow, signal int) (macd, signalLine, hist []float64) {
	mustPeriod("MACD", "fast", fast)
	mustPeriod("MACD", "slow", slow)
	mustPeriod("MACD", "signal", signal)
	if fast > slow {
		panic(fmt.Sprintf("ta.MACD: fast (%d) must be <= slow (%d)", fast, slow))
	}
	n := len(src)
	fast, slow, signal = clampPeriod(fast, n), clampPeriod(slow, n), clampPeriod(signal, n)
	macd, signalLine, hist = make([]float64, n), make([]float64, n), make([]float64, n)
	s := firstValid(src)
	x := src[s:]
	if len(x) >= slow {
		m, sl, h := macd[s:], signalLine[s:], hist[s:]
		// sl and h serve as scratch for the slow and fast EMAs.
		emaCore(sl, x, slow)
		emaCore(h[slow-fast:], x[slow-fast:], fast)
		for i := slow - 1; i < len(x); i++ {
			m[i] = h[i] - sl[i]
		}
		emaCore(sl[slow-1:], m[slow-1:], signal)
		for i := slow + signal - 2; i < len(x); i++ {
			h[i] = m[i] - sl[i]
		}
	}
	fillNaN(macd, s, slow-1)
	fillNaN(signalLine, s, slow+signal-2)
	fillNaN(hist, s, slow+signal-2)
	return macd, signalLine, hist
}

// Stochastic returns the slow stochastic oscillator, as TA-Lib STOCH with SMA
// smoothing: fast %K = 100*(close-LL)/(HH-LL) over kPeriod candles (50 when
// HH == LL; TA-Lib gives 0), k = SMA(fast %K, slowK), d = SMA(k, dPeriod).
// Warm-up: kPeriod+slowK-2 for k (TA-Lib hides these values until d is
// ready), kPeriod+slowK+dPeriod-3 for d. It panics if a period is < 1 or the
// lengths differ.
func Stochastic(high, low, close []float64, kPeriod, slowK, dPeriod int) (k, d []float64) {
	mustHLC("Stochastic", high, low, close)
	mustPeriod("Stochastic", "kPeriod", kPeriod)
	mustPeriod("Stochastic", "slowK", slowK)
	mustPeriod("Stochastic", "dPeriod", dPeriod)
	n := len(close)
	kp, sk, dp := clampPeriod(kPeriod, n), clampPeriod(slowK, n), clampPeriod(dPeriod, n)
	k, d = make([]float64, n), make([]float64, n)
	// d holds fast %K until the last step.
	s := firstValid(high, low, close)
	if n-s >= kp {
		h, l, c, fk := high[s:], low[s:], close[s:], d[s:]
		hi, lo := newDeque(kp), newDeque(kp)
		for i := range c {
			hi.pushMax(h, i, kp)
			lo.pushMin(l, i, kp)
			if i < kp-1 {
				continue
			}
			hh, ll := h[hi.front()], l[lo.front()]
			if diff := (hh - ll) / 100; diff != 0 {
				fk[i] = (c[i] - ll) / diff
			} else {
				fk[i] = 50
			}
		}
	}
	fillNaN(d, s, kp-1)
	smaInto(k, d, sk)
	smaInto(d, k, dp)
	return k, d
}

// WilliamsR returns Williams %R, -100*(HH-close)/(HH-LL) over period candles,
// in [-100, 0] (-50 when HH == LL; TA-Lib gives 0), as TA-Lib WILLR.
// Warm-up: period-1. It panics if period < 1 or the lengths differ.
func WilliamsR(high, low, close []float64, period int) []float64 {
	mustHLC("WilliamsR", high, low, close)
	mustPeriod("WilliamsR", "period", period)
	n := len(close)
	p := clampPeriod(period, n)
	out := make([]float64, n)
	s := firstValid(high, low, close)
	if n-s >= p {
		h, l, c, dst := high[s:], low[s:], close[s:], out[s:]
		hi, lo := newDeque(p), newDeque(p)
		for i := range c {
			hi.pushMax(h, i, p)
			lo.pushMin(l, i, p)
			if i < p-1 {
				continue
			}
			hh, ll := h[hi.front()], l[lo.front()]
			if diff := (hh - ll) / -100; diff != 0 {
				dst[i] = (hh - c[i]) / diff
			} else {
				dst[i] = -50
			}
		}
	}
	fillNaN(out, s, p-1)
	return out
}

// ADX returns the average directional index and the plus and minus
// directional indicators with Wilder smoothing, as TA-Lib ADX, PLUS_DI and
// MINUS_DI (for period 1 TA-Lib's DIs lack the factor 100; these do not). A DI
// is 0 while the smoothed true range is 0; ADX keeps its value while both DIs
// are 0. Warm-up: period for the DIs, 2*period-1 for adx. It panics if
// period < 1 or the lengths differ.
func ADX(high, low, close []float64, period int) (adx, plusDI, minusDI []float64) {
	mustHLC("ADX", high, low, close)
	mustPeriod("ADX", "period", period)
	n := len(close)
	p := clampPeriod(period, n)
	adx, plusDI, minusDI = make([]float64, n), make([]float64, n), make([]float64, n)
	s := firstValid(high, low, close)
	adxCore(adx[s:], plusDI[s:], minusDI[s:], high[s:], low[s:], close[s:], p)
	fillNaN(adx, s, 2*p-1)
	fillNaN(plusDI, s, p)
	fillNaN(minusDI, s, p)
	return adx, plusDI, minusDI
}

func adxCore(adx, pdi, mdi, high, low, close []float64, p int) {
	n := len(close)
	if n <= p {
		return
	}
	fp := float64(p)
	var plusDM, minusDM, tr float64
	for i := 1; i < p; i++ {
		diffP, diffM := high[i]-high[i-1], low[i-1]-low[i]
		if diffM > 0 && diffP < diffM {
			minusDM += diffM
		} else if diffP > 0 && diffP > diffM {
			plusDM += diffP
		}
		tr += trueRange(high, low, close, i)
	}
	var sumDX, prevADX float64
	for i := p; i < n; i++ {
		diffP, diffM := high[i]-high[i-1], low[i-1]-low[i]
		minusDM -= minusDM / fp
		plusDM -= plusDM / fp
		if diffM > 0 && diffP < diffM {
			minusDM += diffM
		} else if diffP > 0 && diffP > diffM {
			plusDM += diffP
		}
		tr = tr - tr/fp + trueRange(high, low, close, i)
		var pd, md, dx float64
		haveDX := false
		if tr != 0 {
			md = 100 * (minusDM / tr)
			pd = 100 * (plusDM / tr)
			if sum := md + pd; sum != 0 {
				dx = 100 * (math.Abs(md-pd) / sum)
				haveDX = true
			}
		}
		pdi[i], mdi[i] = pd, md
		switch {
		case i < 2*p-1:
			if haveDX {
				sumDX += dx
			}
		case i == 2*p-1:
			if haveDX {
				sumDX += dx
			}
			prevADX = sumDX / fp
			adx[i] = prevADX
		default:
			if haveDX {
				prevADX = (prevADX*(fp-1) + dx) / fp
			}
			adx[i] = prevADX
		}
	}
}

// typical returns the typical price (high+low+close)/3 of candle i.
func typical(high, low, close []float64, i int) float64 {
	return (high[i] + low[i] + close[i]) / 3
}

// CCI returns the commodity channel index (tp-SMA(tp))/(0.015*meanDev) of the
// typical price tp = (high+low+close)/3, as TA-Lib CCI; 0 when the window is
// flat. The mean deviation has no rolling form, so CCI costs O(n*period)
// (like TA-Lib); everything else in the package is O(n).
// Warm-up: period-1. It panics if period < 1 or the lengths differ.
func CCI(high, low, close []float64, period int) []float64 {
	mustHLC("CCI", high, low, close)
	mustPeriod("CCI", "period", period)
	n := len(close)
	p := clampPeriod(period, n)
	out := make([]float64, n)
	s := firstValid(high, low, close)
	cciCore(out[s:], high[s:], low[s:], close[s:], p)
	fillNaN(out, s, p-1)
	return out
}

func cciCore(dst, high, low, close []float64, p int) {
	n := len(close)
	if n < p {
		return
	}
	fp := float64(p)
	var acc ksum
	changes := 0 // as in stdDevCore: zero means a flat window
	for i := 0; i < p-1; i++ {
		acc.add(typical(high, low, close, i))
		if i > 0 && typical(high, low, close, i) != typical(high, low, close, i-1) {
			changes++
		}
	}
	for i := p - 1; i < n; i++ {
		tp := typical(high, low, close, i)
		acc.add(tp)
		if i > 0 && tp != typical(high, low, close, i-1) {
			changes++
		}
		if i >= p && typical(high, low, close, i-p+1) != typical(high, low, close, i-p) {
			changes--
		}
		mean := acc.sum() / fp
		md := 0.0
		for j := i - p + 1; j <= i; j++ {
			md += math.Abs(typical(high, low, close, j) - mean)
		}
		if d := tp - mean; changes != 0 && d != 0 && md != 0 {
			dst[i] = d / (0.015 * (md / fp))
		} else {
			dst[i] = 0
		}
		acc.add(-typical(high, low, close, i-p+1))
	}
}

// ROC returns the rate of change in percent, (src[i]/src[i-period]-1)*100,
// as TA-Lib ROC (0 when src[i-period] is 0). Warm-up: period. It panics if
// period < 1.
func ROC(src []float64, period int) []float64 {
	mustPeriod("ROC", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	for i := s + p; i < len(src); i++ {
		if prev := src[i-p]; prev != 0 {
			out[i] = ((src[i] / prev) - 1) * 100
		}
	}
	fillNaN(out, s, p)
	return out
}

// Momentum returns src[i] - src[i-period], as TA-Lib MOM. Warm-up: period.
// It panics if period < 1.
func Momentum(src []float64, period int) []float64 {
	mustPeriod("Momentum", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	for i := s + p; i < len(src); i++ {
		out[i] = src[i] - src[i-p]
	}
	fillNaN(out, s, p)
	return out
}
