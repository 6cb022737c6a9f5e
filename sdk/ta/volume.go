package ta

// MFI returns the money flow index over period candles, as TA-Lib MFI: raw
// money flow typical price * volume counts as positive when the typical price
// rose from the previous candle and negative when it fell, and
// MFI = 100*positive/(positive+negative). A window without money flow gives
// 50 (TA-Lib gives 0 whenever the total is below 1.0, which also hits
// low-priced, low-volume markets). Warm-up: period. It panics if period < 1
// or the lengths differ.
func MFI(high, low, close, volume []float64, period int) []float64 {
	mustHLC("MFI", high, low, close)
	mustMatch("MFI", "high", high, "volume", volume)
	mustPeriod("MFI", "period", period)
	n := len(close)
	p := clampPeriod(period, n)
	out := make([]float64, n)
	s := firstValid(high, low, close, volume)
	mfiCore(out[s:], high[s:], low[s:], close[s:], volume[s:], p)
	fillNaN(out, s, p)
	return out
}

// moneyFlow returns the positive and negative raw money flow of candle i >= 1.
func moneyFlow(high, low, close, volume []float64, i int) (pos, neg float64) {
	tp, prev := typical(high, low, close, i), typical(high, low, close, i-1)
	switch {
	case tp > prev:
		pos = tp * volume[i]
	case tp < prev:
		neg = tp * volume[i]
	}
	return pos, neg
}

func mfiCore(dst, high, low, close, volume []float64, p int) {
	n := len(close)
	if n <= p {
		return
	}
	// The counts of non-zero flows in the window let an empty side be exactly
	// 0 instead of the rounding residue of a compensated sum.
	var posSum, negSum ksum
	var posN, negN int
	for i := 1; i < n; i++ {
		if pos, neg := moneyFlow(high, low, close, volume, i); pos != 0 {
			posSum.add(pos)
			posN++
		} else if neg != 0 {
			negSum.add(neg)
			negN++
		}
		if i > p {
			if pos, neg := moneyFlow(high, low, close, volume, i-p); pos != 0 {
				posSum.add(-pos)
				if posN--; posN == 0 {
					posSum = ksum{}
				}
			} else if neg != 0 {
				negSum.add(-neg)
				if negN--; negN == 0 {
					negSum = ksum{}
				}
			}
		}
		if i < p {
			continue
		}
		pos, neg := posSum.sum(), negSum.sum()
		if t := pos + neg; t != 0 {
			dst[i] = 100 * (pos / t)
		} else {
			dst[i] = 50
		}
	}
}

// OBV returns on-balance volume, starting at volume[0] as TA-Lib OBV: volume
// is added when close rises and subtracted when it falls. The running total
// is compensated. No warm-up. It panics if the lengths differ.
func OBV(close, volume []float64) []float64 {
	mustMatch("OBV", "close", close, "volume", volume)
	n := len(close)
	out := make([]float64, n)
	s := firstValid(close, volume)
	if s < n {
		acc := ksum{hi: volume[s]}
		out[s] = volume[s]
		for i := s + 1; i < n; i++ {
			switch c, prev := close[i], close[i-1]; {
			case c > prev:
				acc.add(volume[i])
			case c < prev:
				acc.add(-volume[i])
			}
			out[i] = acc.sum()
		}
	}
	fillNaN(out, s, 0)
	return out
}

// VWAP returns the rolling volume-weighted average of the typical price
// (high+low+close)/3 over the last period candles: sum(tp*volume)/sum(volume).
// A window without volume gives the plain mean of its typical prices.
// Warm-up: period-1. It panics if period < 1 or the lengths differ.
func VWAP(high, low, close, volume []float64, period int) []float64 {
	mustHLC("VWAP", high, low, close)
	mustMatch("VWAP", "high", high, "volume", volume)
	mustPeriod("VWAP", "period", period)
	n := len(close)
	p := clampPeriod(period, n)
	out := make([]float64, n)
	s := firstValid(high, low, close, volume)
	vwapCore(out[s:], high[s:], low[s:], close[s:], volume[s:], p)
	fillNaN(out, s, p-1)
	return out
}

func vwapCore(dst, high, low, close, volume []float64, p int) {
	n := len(close)
	if n < p {
		return
	}
	fp := float64(p)
	var pv, vol, tps ksum
	volN := 0 // candles with non-zero volume in the window
	for i := 0; i < n; i++ {
		tp, v := typical(high, low, close, i), volume[i]
		tps.add(tp)
		if v != 0 {
			pv.add(tp * v)
			vol.add(v)
			volN++
		}
		if i >= p {
			j := i - p
			tp, v := typical(high, low, close, j), volume[j]
			tps.add(-tp)
			if v != 0 {
				pv.add(-tp * v)
				vol.add(-v)
				if volN--; volN == 0 {
					pv, vol = ksum{}, ksum{}
				}
			}
		}
		if i < p-1 {
			continue
		}
		if volN == 0 {
			dst[i] = tps.sum() / fp
		} else {
			dst[i] = pv.sum() / vol.sum()
		}
	}
}
