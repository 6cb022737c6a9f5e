package ta

import (
	"math"
	"math/bits"
)

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
// comparison of two [SMAStream]s, computed in one pass that writes no
// average. The answers are those of comparing SMA's values, bit for bit.
type SMAAbove struct {
	a, b SMAStream // fast, slow; always at the same index
	q    aboveQuick
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
	if k < n && w.q.state == quickUntried {
		w.q.start(a, b)
	}
	if k < n && w.q.state == quickOn {
		k += w.q.read(a, b, dst[k:n])
		if w.q.state == quickOff {
			// A value outside the band: the exact sums take over from
			// where the quick path stopped, as they would stand there.
			a.skipTo(a.i)
			b.skipTo(b.i)
		}
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

// skipTo sets the window sum to what Read leaves it at index i (the next
// to yield), computed afresh from the stream's first value with the same
// operations in the same order.
func (w *SMAStream) skipTo(i int) {
	src, p := w.src, w.p
	w.acc = ksum{}
	last := min(w.s+p-1, i-1)
	for j := w.s; j <= last; j++ {
		w.acc.add(src[j])
	}
	acc := w.acc
	for j := w.s + p; j < i; j++ {
		acc = acc.slide(src[j], src[j-p])
	}
	w.acc, w.i = acc, i
}

// aboveQuick is SMAAbove's quick path, used while every value read lies
// in a band of positive binades chosen at the first full window (zero,
// negative numbers, NaN and infinities lie outside any). In that band
// each value is a multiple of the smallest binade's unit (2^-52 of it)
// and the compensated window sums never round their low part (its bound
// below), so the exact path's hi+lo is the exact window sum rounded
// once, whatever came before: its
// answer at index i is fl(fl(S_fast)/fast) > fl(fl(S_slow)/slow), S the
// exact sums of the two windows ending at i. Plain sliding sums, whose
// error is bounded, decide that comparison with a margin that covers
// their error and both roundings; a close call (within the margin: a
// cross, or equal averages) sums its two windows afresh, exactly. The
// answers are the exact path's, bit for bit, without its compensation or
// its two divisions per index.
//
// Why the low part never rounds: every value, sum and error term is a
// multiple of the unit u = 2^(emin-52) (sums of multiples of u round to
// multiples of u), and each step adds to the low part at most the
// rounding errors of one sum below 2^(emax+1+bl) and one difference below
// 2^(emax+2) (bl the bit length of the longer period): 2^(emax+2+bl-52)
// together, 2^(span+bl+2) units. Over at most 2^L steps (L the bit length
// of len(src)) the low part stays below 2^(L+span+bl+2) units, so it is
// exact while L+span+bl+2 <= 52: span is chosen so.
type aboveQuick struct {
	state      int
	emin, span uint64  // the band: biased exponents emin ... emin+span
	sa, sb     float64 // plain sums of the two windows ending at the last index read
	k          int     // steps since sa and sb were summed afresh
	every      int     // sa and sb are summed afresh at least this often
	drift      float64 // the bound of either plain sum's error, per step since summed afresh
	top        float64 // 2^(emax+2): twice the band's top
}

const (
	quickUntried = iota
	quickOn
	quickOff
)

// start chooses the band from the first value and turns the quick path on
// if every value read so far lies in it.
func (q *aboveQuick) start(a, b *SMAStream) {
	q.state = quickOff
	src, s, i := a.src, a.s, a.i
	bl := bits.Len(uint(max(a.p, b.p)))
	span := 50 - bits.Len(uint(len(src))) - bl
	if s >= i || span < 1 {
		return
	}
	e0 := math.Float64bits(src[s]) >> 52 // above 0x7ff when negative
	// The band around the first value's binade: down to 1/4096 of it, up
	// to 16 times; within 2^-900 ... 2^900 so no product or quotient
	// below leaves the normal numbers.
	up := min(uint64(span)/2, 4)
	down := min(uint64(span)-up, 12)
	if e0 < 1023-900+down || e0 > 1023+900-up {
		return
	}
	q.emin, q.span = e0-down, up+down
	for _, v := range src[s:i] {
		if math.Float64bits(v)>>52-q.emin > q.span {
			return
		}
	}
	emax := int(q.emin+q.span) - 1023
	// Per step a plain sum takes the rounding of a difference below
	// 2^(emax+2) and of a sum below 2^(emax+1+bl): at most
	// 2^(emax+bl-50) together; twice that for safety.
	q.drift = math.Ldexp(1, emax+bl-49)
	q.top = math.Ldexp(1, emax+2)
	q.every = max(1024, 2*(a.p+b.p))
	// The plain sums stay positive, as the exact ones (each at least the
	// band's smallest value): their error stays below that value.
	if float64(q.every+1)*q.drift >= math.Ldexp(1, int(q.emin)-1023) {
		return
	}
	q.sa, q.sb = exactSum(src[i-a.p:i]), exactSum(src[i-b.p:i])
	q.state = quickOn
}

// exactSum is the sum of a window in the band, rounded once (see
// aboveQuick): the compensated sum's hi+lo.
func exactSum(win []float64) float64 {
	var acc ksum
	for _, v := range win {
		acc.add(v)
	}
	return acc.sum()
}

// read answers into dst from a.i on while the values stay in the band;
// it returns how many it answered and turns itself off at a value outside
// it (a and b then stand at that value's index).
func (q *aboveQuick) read(a, b *SMAStream, dst []bool) int {
	src, pa, pb := a.src, a.p, b.p
	fa, fb := float64(pa), float64(pb)
	emin, span := q.emin, q.span
	k := 0
	for k < len(dst) {
		i, m := a.i, min(len(dst)-k, q.every-q.k)
		// tol: twice the sums' error bound times fast+slow, plus the
		// products' rounding: 2^-48 of their sum at most, u+w below
		// 2·fast·slow·2^(emax+1) (plus the sums' error: tiny), so
		// 2^-47·fast·slow·2^(emax+2).
		tol := 2*q.drift*float64(q.k+m+1)*(fa+fb) + 0x1p-47*fa*fb*q.top
		sa, sb := q.sa, q.sb
		in := src[i : i+m]
		outA, outB := src[i-pa:i-pa+m], src[i-pb:i-pb+m]
		out := dst[k : k+m]
		out, outA, outB = out[:len(in)], outA[:len(in)], outB[:len(in)]
		x := 0
		for ; x < len(in); x++ {
			v := in[x]
			if math.Float64bits(v)>>52-emin > span {
				break
			}
			sa += v - outA[x]
			sb += v - outB[x]
			u, w := sa*fb, sb*fa
			d := u - w
			out[x] = d > tol
			if math.Abs(d) <= tol { // a close call
				j := i + x + 1
				sa, sb = exactSum(src[j-pa:j]), exactSum(src[j-pb:j])
				out[x] = sa/fa > sb/fb
			}
		}
		q.sa, q.sb = sa, sb
		q.k += x
		a.i, b.i = i+x, i+x
		k += x
		if x < len(in) {
			q.state = quickOff
			return k
		}
		if q.k >= q.every {
			j := a.i
			q.sa, q.sb, q.k = exactSum(src[j-pa:j]), exactSum(src[j-pb:j]), 0
		}
	}
	return k
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
