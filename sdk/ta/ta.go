package ta

import (
	"fmt"
	"math"
)

// nan is the value of every output position that is not yet defined.
var nan = math.NaN()

// mustPeriod panics unless p >= 1.
func mustPeriod(fn, arg string, p int) {
	if p < 1 {
		panic(fmt.Sprintf("ta.%s: %s must be >= 1, got %d", fn, arg, p))
	}
}

// mustFactor panics unless x is a finite number >= 0.
func mustFactor(fn, arg string, x float64) {
	if !(x >= 0) || math.IsInf(x, 1) {
		panic(fmt.Sprintf("ta.%s: %s must be a finite number >= 0, got %v", fn, arg, x))
	}
}

// mustMatch panics unless col has the same length as ref.
func mustMatch(fn, refName string, ref []float64, name string, col []float64) {
	if len(col) != len(ref) {
		panic(fmt.Sprintf("ta.%s: len(%s) = %d does not match len(%s) = %d", fn, name, len(col), refName, len(ref)))
	}
}

// mustHLC panics unless high, low and close have the same length.
func mustHLC(fn string, high, low, close []float64) {
	mustMatch(fn, "high", high, "low", low)
	mustMatch(fn, "high", high, "close", close)
}

// clampPeriod limits p to n+1. Every indicator's warm-up is at least p-1, so
// any period above n+1 gives the same (all-NaN) output; clamping keeps the
// warm-up arithmetic far from integer overflow.
func clampPeriod(p, n int) int {
	if p > n+1 {
		return n + 1
	}
	return p
}

// firstValid returns the first index at which no column holds NaN (the
// length if there is none). Leading NaNs, such as the warm-up of another
// indicator, are skipped: the indicator starts at that index.
func firstValid(cols ...[]float64) int {
	n := len(cols[0])
	for i := 0; i < n; i++ {
		ok := true
		for _, c := range cols {
			if c[i] != c[i] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return n
}

// fillNaN sets dst[0 : start+lookback] to NaN (clipped to len(dst)): the
// leading NaNs of the input plus the indicator's own warm-up.
func fillNaN(dst []float64, start, lookback int) {
	end := len(dst)
	if lookback < end-start {
		end = start + lookback
	}
	for i := range dst[:end] {
		dst[i] = nan
	}
}

// ksum is a running sum with Neumaier/Knuth compensation: hi+lo tracks the
// exact sum of the added terms to within a few ulps no matter how many terms
// were added and removed, so rolling sums do not drift over long series.
type ksum struct{ hi, lo float64 }

func (k *ksum) add(x float64) {
	t := k.hi + x
	z := t - k.hi
	k.lo += (k.hi - (t - z)) + (x - z)
	k.hi = t
}

func (k *ksum) sum() float64 { return k.hi + k.lo }

// slide returns the window sum k moved on: in enters it, out leaves it.
// The change is split exactly into d+e off the critical path, so each
// step adds only one term to the running sum. It takes and returns values
// (no pointer) so that a loop keeps the sum in registers.
func (k ksum) slide(in, out float64) ksum {
	out = -out
	d := in + out
	z := d - in
	e := (in - (d - z)) + (out - z)
	t := k.hi + d
	z = t - k.hi
	return ksum{hi: t, lo: k.lo + ((k.hi - (t - z)) + (d - z)) + e}
}

// deque is a monotonic deque of indices into a series, a ring of capacity
// equal to the window length. It yields a rolling maximum or minimum in
// amortized O(1) per step.
type deque struct {
	idx        []int
	head, size int
}

func newDeque(capacity int) deque { return deque{idx: make([]int, capacity)} }

// expire drops the front index if it has left the window (i-p, i].
func (d *deque) expire(i, p int) {
	if d.size > 0 && d.idx[d.head] <= i-p {
		d.head++
		if d.head == len(d.idx) {
			d.head = 0
		}
		d.size--
	}
}

func (d *deque) back() int {
	t := d.head + d.size - 1
	if t >= len(d.idx) {
		t -= len(d.idx)
	}
	return t
}

func (d *deque) pushBack(i int) {
	t := d.head + d.size
	if t >= len(d.idx) {
		t -= len(d.idx)
	}
	d.idx[t] = i
	d.size++
}

// pushMax adds index i of src for a rolling maximum over p values.
func (d *deque) pushMax(src []float64, i, p int) {
	d.expire(i, p)
	v := src[i]
	for d.size > 0 && src[d.idx[d.back()]] <= v {
		d.size--
	}
	d.pushBack(i)
}

// pushMin adds index i of src for a rolling minimum over p values.
func (d *deque) pushMin(src []float64, i, p int) {
	d.expire(i, p)
	v := src[i]
	for d.size > 0 && src[d.idx[d.back()]] >= v {
		d.size--
	}
	d.pushBack(i)
}

// front returns the index of the current extreme.
func (d *deque) front() int { return d.idx[d.head] }
