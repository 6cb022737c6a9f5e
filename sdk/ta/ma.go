package ta

import "math"

// SMA returns the simple moving average of src over period values.
// Warm-up: period-1. It panics if period < 1.
func SMA(src []float64, period int) []float64 {
	mustPeriod("SMA", "period", period)
	out := make([]float64, len(src))
	smaInto(out, src, clampPeriod(period, len(src)))
	return out
}

func smaInto(dst, src []float64, p int) {
	w := newSMAStream(src, p)
	w.Read(dst)
}

// SMAStream yields the values of SMA(src, period) in order, a block at a
// time, without an output column: for a strategy that uses each value
// once, as it goes (two averages compared candle by candle), it saves the
// columns' memory. The values are SMA's, bit for bit.
type SMAStream struct {
	src []float64
	p   int // the period, at most len(src)+1
	s   int // the first index where src is a number
	i   int // the next index to yield
	acc ksum
}

// NewSMAStream returns the stream of SMA(src, period)'s values from the
// first. It panics if period < 1.
func NewSMAStream(src []float64, period int) SMAStream {
	mustPeriod("SMAStream", "period", period)
	return newSMAStream(src, clampPeriod(period, len(src)))
}

func newSMAStream(src []float64, p int) SMAStream {
	return SMAStream{src: src, p: p, s: firstValid(src)}
}

// Read writes the next values into dst, as many as fit and are left, and
// returns how many it wrote (0 at the end of src).
func (w *SMAStream) Read(dst []float64) int {
	src, p, i := w.src, w.p, w.i
	n := min(len(dst), len(src)-i)
	dst = dst[:n]
	k := 0
	// The warm-up sums the window's first values.
	for last := w.s + p - 1; k < n && i <= last; k, i = k+1, i+1 {
		dst[k] = nan
		if i >= w.s {
			w.acc.add(src[i])
			if i == last {
				dst[k] = w.acc.sum() / float64(p)
			}
		}
	}
	if k < n {
		// The window sum is compensated, so it stays exact to a few ulps
		// over any number of steps.
		acc, fp := w.acc, float64(p)
		in, out := src[i:i+n-k], src[i-p:i-p+n-k]
		for x, v := range in {
			acc = acc.slide(v, out[x])
			dst[k+x] = (acc.hi + acc.lo) / fp // acc.sum(), with acc kept in registers
		}
		w.acc = acc
		i += n - k
	}
	w.i = i
	return n
}

// SMAAbove yields, a block at a time, whether SMA(src, fast) is above
// SMA(src, slow) at each index of src (false where either is NaN): the
// comparison of two [SMAStream]s, computed in one pass that keeps both
// window sums in registers and writes no average. The answers are those
// of comparing SMA's values, bit for bit.
type SMAAbove struct {
	a, b SMAStream // fast, slow; always at the same index
}

// NewSMAAbove returns the stream of SMA(src, fast) > SMA(src, slow) from
// the first index. It panics if a period is < 1.
func NewSMAAbove(src []float64, fast, slow int) SMAAbove {
	mustPeriod("SMAAbove", "fast", fast)
	mustPeriod("SMAAbove", "slow", slow)
	return SMAAbove{a: newSMAStream(src, clampPeriod(fast, len(src))), b: newSMAStream(src, clampPeriod(slow, len(src)))}
}

// Read writes the next answers into dst, as many as fit and are left, and
// returns how many it wrote (0 at the end of src).
func (w *SMAAbove) Read(dst []bool) int {
	a, b := &w.a, &w.b
	n := min(len(dst), len(a.src)-a.i)
	k := 0
	// Until both windows are full, the two streams yield their values.
	var va, vb [64]float64
	for k < n && (a.i <= a.s+a.p-1 || b.i <= b.s+b.p-1) {
		m := min(n-k, len(va))
		a.Read(va[:m])
		b.Read(vb[:m])
		for x := range m {
			dst[k+x] = va[x] > vb[x]
		}
		k += m
	}
	if k < n {
		i, m := a.i, n-k
		accA, accB := a.acc, b.acc
		fa, fb := float64(a.p), float64(b.p)
		in := a.src[i : i+m]
		outA, outB := a.src[i-a.p:i-a.p+m], a.src[i-b.p:i-b.p+m]
		out := dst[k:n]
		out, outA, outB = out[:len(in)], outA[:len(in)], outB[:len(in)]
		for x, v := range in {
			accA, accB = accA.slide(v, outA[x]), accB.slide(v, outB[x])
			out[x] = (accA.hi+accA.lo)/fa > (accB.hi+accB.lo)/fb
		}
		a.acc, b.acc = accA, accB
		a.i, b.i = i+m, i+m
	}
	return n
}

// EMA returns the exponential moving average of src with smoothing
// 2/(period+1), seeded with the SMA of the first period values, as TA-Lib.
// Warm-up: period-1. It panics if period < 1.
func EMA(src []float64, period int) []float64 {
	mustPeriod("EMA", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	emaCore(out[s:], src[s:], p)
	fillNaN(out, s, p-1)
	return out
}

// emaCore writes the TA-Lib EMA of src into dst[p-1:].
func emaCore(dst, src []float64, p int) {
	n := len(src)
	if n < p {
		return
	}
	k := 2 / float64(p+1)
	sum := 0.0
	for i := 0; i < p; i++ {
		sum += src[i]
	}
	prev := sum / float64(p)
	dst[p-1] = prev
	for i := p; i < n; i++ {
		prev = (src[i]-prev)*k + prev
		dst[i] = prev
	}
}

// emaStream is an EMA fed one value at a time, seeded like emaCore.
type emaStream struct {
	k, fp float64
	p, n  int
	sum   float64
	v     float64 // current value, once ready
}

func newEMAStream(p int) emaStream {
	return emaStream{k: 2 / float64(p+1), fp: float64(p), p: p}
}

// push adds x and reports whether v is defined.
func (e *emaStream) push(x float64) bool {
	if e.n < e.p {
		e.sum += x
		e.n++
		if e.n < e.p {
			return false
		}
		e.v = e.sum / e.fp
		return true
	}
	e.v = (x-e.v)*e.k + e.v
	return true
}

// DEMA returns the double exponential moving average 2*EMA - EMA(EMA), the
// inner EMA seeded as TA-Lib does. Warm-up: 2*(period-1). It panics if
// period < 1.
func DEMA(src []float64, period int) []float64 {
	mustPeriod("DEMA", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	e1, e2 := newEMAStream(p), newEMAStream(p)
	for i := s; i < len(src); i++ {
		if e1.push(src[i]) && e2.push(e1.v) {
			out[i] = 2*e1.v - e2.v
		}
	}
	fillNaN(out, s, 2*(p-1))
	return out
}

// TEMA returns the triple exponential moving average
// 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA)), seeded as TA-Lib does.
// Warm-up: 3*(period-1). It panics if period < 1.
func TEMA(src []float64, period int) []float64 {
	mustPeriod("TEMA", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	e1, e2, e3 := newEMAStream(p), newEMAStream(p), newEMAStream(p)
	for i := s; i < len(src); i++ {
		if e1.push(src[i]) && e2.push(e1.v) && e3.push(e2.v) {
			out[i] = e3.v + (3*e1.v - 3*e2.v)
		}
	}
	fillNaN(out, s, 3*(p-1))
	return out
}

// WMA returns the linearly weighted moving average of src: weights 1..period,
// the newest value weighing most. Warm-up: period-1. It panics if period < 1.
func WMA(src []float64, period int) []float64 {
	mustPeriod("WMA", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	s := firstValid(src)
	x, dst := src[s:], out[s:]
	if len(x) >= p {
		w := newWMARoll(p)
		for i := p - 1; i < len(x); i++ {
			dst[i] = w.next(x, i)
		}
	}
	fillNaN(out, s, p-1)
	return out
}

// wmaRoll computes a WMA over consecutive windows of a slice in O(1) per
// step, recomputing the sums exactly every p steps so they cannot drift.
type wmaRoll struct {
	p, left        int
	fp, div        float64
	sum, weightSum float64
}

func newWMARoll(p int) wmaRoll {
	return wmaRoll{p: p, fp: float64(p), div: float64(p) * float64(p+1) / 2}
}

// next returns the WMA of src[i-p+1 : i+1]. Calls must be for consecutive i,
// and src[i-p] must still hold the value that left the window.
func (w *wmaRoll) next(src []float64, i int) float64 {
	if w.left == 0 {
		w.sum, w.weightSum = 0, 0
		base := i - w.p + 1
		for k := 0; k < w.p; k++ {
			x := src[base+k]
			w.sum += x
			w.weightSum += float64(k+1) * x
		}
		w.left = w.p
	} else {
		x := src[i]
		w.weightSum += w.fp*x - w.sum
		w.sum += x - src[i-w.p]
	}
	w.left--
	return w.weightSum / w.div
}

// HMA returns the Hull moving average
// WMA(2*WMA(src, period/2) - WMA(src, period), floor(sqrt(period))), each
// inner length at least 1. Warm-up: period-1 + floor(sqrt(period))-1. It
// panics if period < 1.
func HMA(src []float64, period int) []float64 {
	mustPeriod("HMA", "period", period)
	out := make([]float64, len(src))
	p := clampPeriod(period, len(src))
	half := max(p/2, 1)
	sq := max(int(math.Sqrt(float64(p))), 1)
	s := firstValid(src)
	x, dst := src[s:], out[s:]
	if len(x) >= p+sq-1 {
		wh, wf, wd := newWMARoll(half), newWMARoll(p), newWMARoll(sq)
		// The last sq+1 raw differences live in a mirrored ring: each is
		// stored at j%r and j%r+r, so the window ending at slot j%r+r is
		// contiguous and wd can read it like a plain slice.
		r := sq + 1
		ring := make([]float64, 2*r)
		for i := half - 1; i < p-1; i++ {
			wh.next(x, i)
		}
		for i := p - 1; i < len(x); i++ {
			d := 2*wh.next(x, i) - wf.next(x, i)
			j := i - (p - 1)
			slot := j % r
			ring[slot], ring[slot+r] = d, d
			if j >= sq-1 {
				dst[i] = wd.next(ring, slot+r)
			}
		}
	}
	fillNaN(out, s, p-1+sq-1)
	return out
}
