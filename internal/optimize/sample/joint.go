package sample

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// This file holds TPE's Parzen estimator (see tpe.go): the density of
// one group of trials over the modelled dimensions jointly.

// axis is one dimension as TPE models it: a categorical with cat choices,
// or a numeric range [low, high] in the transformed space (the log of the
// value on a log scale), continuous (step 0) or on a lattice of step.
type axis struct {
	cat       int
	low, high float64
	step      float64
	log       bool
	fixed     bool // a single value: nothing to model
}

func newAxis(d Dim) axis {
	if d.Categorical() {
		return axis{cat: len(d.Choices), fixed: len(d.Choices) == 1}
	}
	if lo, step, n, ok := d.lattice(); ok {
		return axis{low: lo, high: lo + float64(n-1)*step, step: step, fixed: n == 1}
	}
	if d.Log && d.Int {
		// A whole number k owns [k−½, k+½] on the log scale, so that the
		// rounding back gives every whole number its share.
		lo, hi := math.Ceil(d.Low), math.Floor(d.High)
		return axis{low: math.Log(lo - 0.5), high: math.Log(hi + 0.5), log: true, fixed: lo == hi}
	}
	if d.Log {
		return axis{low: math.Log(d.Low), high: math.Log(d.High), log: true, fixed: d.Low == d.High}
	}
	return axis{low: d.Low, high: d.High, fixed: d.Low == d.High}
}

// encode maps a value of the dimension into the model's space.
func (a axis) encode(x float64) float64 {
	if a.log {
		return math.Log(x)
	}
	return x
}

// decode maps a model value back into the dimension.
func (a axis) decode(u float64, d Dim) float64 {
	if a.log {
		u = math.Exp(u)
	}
	return d.Clip(u)
}

// span is the width the bandwidths are measured against: the range
// widened by half a step on each side.
func (a axis) span() float64 { return a.high - a.low + a.step }

// obsWeights fills w with the weight of each of n observations in trial
// order: 1 each up to 25; beyond, the 25 latest weigh 1 and the older
// ones ramp linearly from 1/n up to 1 (Optuna's default weights).
func obsWeights(w []float64, n int) {
	const flat = 25
	if n < flat {
		for i := range w[:n] {
			w[i] = 1
		}
		return
	}
	m := n - flat
	for i := range m {
		if m == 1 {
			w[i] = 1 / float64(n)
			continue
		}
		w[i] = 1/float64(n) + float64(i)*(1-1/float64(n))/float64(m-1)
	}
	for i := m; i < n; i++ {
		w[i] = 1
	}
}

// joint is the Parzen estimator of one group of trials (multivariate
// TPE, Optuna's multivariate option): a mixture of one kernel per trial,
// centred on its point, and one wide prior kernel, each kernel a product
// over the modelled dimensions, so that a kernel keeps its trial's
// values together. On a numeric dimension a kernel is a normal truncated
// to the axis (widened by half a step on each side), over the lattice of
// the step when there is one; a trial's kernel is as wide as the farther
// of its neighbours on that dimension among the sorted centres (the
// prior's centre included, the widened bounds as outer neighbours; the
// outermost kernels look inwards only), clipped to [span/min(100,
// kernels+1), span] (the magic clip); the prior is centred on the axis
// and as wide as its span. On a choice, a trial's kernel puts 1 on its
// choice plus prior/kernels on every choice (then normalised); the
// prior's is uniform. The trials weigh as obsWeights says, the prior
// priorWeight.
type joint struct {
	axes []axis // the modelled dimensions, in order
	k    int    // kernels: the trials in trial order, then the prior

	mu     []float64 // k×d, kernel-major: a numeric centre or a choice (the prior's choice is −1)
	sigma  []float64 // k×d: a numeric kernel's width
	logC   []float64 // k×d: a numeric kernel's log normalising constant
	hit    []float64 // d: a trial's kernel's log probability on its own choice
	miss   []float64 // d: and on another
	logW   []float64 // k: log mixture weights, normalised
	cum    []float64 // k: cumulative mixture weights, for sampling
	lo, hi []float64 // d: the numeric axes' truncation bounds

	// Scratch.
	terms []float64 // one log term per kernel
	col   []float64 // one dimension's centres
	order []int     // their sorting
}

// fit builds the estimator of the trials obs, in trial order: u holds
// every dimension of the space, dims says which are modelled, axes are
// theirs.
func (e *joint) fit(axes []axis, dims []int, obs []observed, priorWeight float64) {
	n, d := len(obs), len(axes)
	e.axes = axes
	e.k = n + 1
	k := e.k
	grow := func(s []float64, m int) []float64 { return slices.Grow(s[:0], m)[:m] }
	e.mu, e.sigma, e.logC = grow(e.mu, k*d), grow(e.sigma, k*d), grow(e.logC, k*d)
	e.hit, e.miss, e.lo, e.hi = grow(e.hit, d), grow(e.miss, d), grow(e.lo, d), grow(e.hi, d)
	e.logW, e.cum, e.terms, e.col = grow(e.logW, k), grow(e.cum, k), grow(e.terms, k), grow(e.col, k)
	e.order = slices.Grow(e.order[:0], k)[:k]

	for j, a := range axes {
		for i, o := range obs {
			e.col[i] = o.u[dims[j]]
		}
		if a.cat > 0 {
			smooth := priorWeight / float64(k)
			norm := 1 + smooth*float64(a.cat)
			e.hit[j], e.miss[j] = math.Log((1+smooth)/norm), math.Log(smooth/norm)
			for i := range n {
				e.mu[i*d+j] = e.col[i]
			}
			e.mu[n*d+j] = -1
			continue
		}
		e.col[n] = (a.low + a.high) / 2
		e.lo[j], e.hi[j] = a.low-a.step/2, a.high+a.step/2
		e.widths(j, d, a.span())
		for i := range k {
			mu, sg := e.col[i], e.sigma[i*d+j]
			c := -math.Log(normMass((e.lo[j]-mu)/sg, (e.hi[j]-mu)/sg))
			if a.step == 0 {
				c -= math.Log(sg * math.Sqrt(2*math.Pi))
			}
			e.mu[i*d+j], e.logC[i*d+j] = mu, c
		}
	}

	obsWeights(e.logW, n)
	e.logW[n] = priorWeight
	if n == 0 {
		e.logW[n] = 1
	}
	total := 0.0
	for i, w := range e.logW {
		total += w
		e.cum[i] = total
	}
	for i, w := range e.logW {
		e.logW[i] = math.Log(w / total)
	}
}

// widths sets the kernels' widths on numeric dimension j (of d) from the
// centres in e.col: the neighbour rule and the magic clip, the prior (the
// last kernel) as wide as span.
func (e *joint) widths(j, d int, span float64) {
	k := e.k
	for i := range e.order {
		e.order[i] = i
	}
	slices.SortStableFunc(e.order, func(a, b int) int { return cmp.Compare(e.col[a], e.col[b]) })
	minSigma := span / math.Min(100, 1+float64(k))
	for r, i := range e.order {
		left, right := e.lo[j], e.hi[j]
		if r > 0 {
			left = e.col[e.order[r-1]]
		}
		if r < k-1 {
			right = e.col[e.order[r+1]]
		}
		s := math.Max(e.col[i]-left, right-e.col[i])
		if k >= 2 && r == 0 {
			s = right - e.col[i]
		}
		if k >= 2 && r == k-1 {
			s = e.col[i] - left
		}
		e.sigma[i*d+j] = min(max(s, minSigma), span)
	}
	e.sigma[(k-1)*d+j] = span
}

// sample draws one point of the modelled dimensions into u: a kernel by
// weight, then each dimension from it.
func (e *joint) sample(r *rand.Rand, u []float64) {
	i := pick(r, e.cum)
	d := len(e.axes)
	prior := i == e.k-1
	for j, a := range e.axes {
		at := i*d + j
		if a.cat > 0 {
			// The kernel is uniform on the choices but for the extra 1
			// on the trial's own choice: draw which part, then a choice.
			if !prior && r.Float64() < 1-float64(a.cat)*math.Exp(e.miss[j]) {
				u[j] = e.mu[at]
			} else {
				u[j] = float64(r.IntN(a.cat))
			}
			continue
		}
		mu, sg := e.mu[at], e.sigma[at]
		x := mu + sg*truncNormal(r, (e.lo[j]-mu)/sg, (e.hi[j]-mu)/sg)
		x = math.Max(e.lo[j], math.Min(e.hi[j], x))
		if a.step > 0 {
			top := math.Round((a.high - a.low) / a.step)
			x = a.low + math.Max(0, math.Min(top, math.Round((x-a.low)/a.step)))*a.step
		}
		u[j] = x
	}
}

// logPDF is the log density at u, a point of the modelled dimensions (on
// a lattice, the log probability of u's cell), summed in log space so
// that no kernel underflows. The prior kernel, as wide as the range,
// keeps it finite anywhere in the range.
func (e *joint) logPDF(u []float64) float64 {
	d := len(e.axes)
	top := math.Inf(-1)
	for i := range e.k {
		// The cells' probabilities multiply in prod, folded into the log
		// sum s before they could underflow: one logarithm per kernel.
		s, prod := e.logW[i], 1.0
		row := i * d
		for j, a := range e.axes {
			at := row + j
			switch {
			case a.cat > 0 && e.mu[at] < 0:
				s -= math.Log(float64(a.cat))
			case a.cat > 0 && e.mu[at] == u[j]:
				s += e.hit[j]
			case a.cat > 0:
				s += e.miss[j]
			case a.step > 0:
				mu, sg, h := e.mu[at], e.sigma[at], a.step/2
				s += e.logC[at]
				if prod *= normMass((u[j]-h-mu)/sg, (u[j]+h-mu)/sg); prod < 1e-250 {
					s += math.Log(prod)
					prod = 1
				}
			default:
				z := (u[j] - e.mu[at]) / e.sigma[at]
				s += e.logC[at] - z*z/2
			}
		}
		s += math.Log(prod)
		e.terms[i] = s
		top = max(top, s)
	}
	sum := 0.0
	for _, s := range e.terms[:e.k] {
		sum += math.Exp(s - top)
	}
	return top + math.Log(sum)
}

// pick draws an index by the cumulative weights cum.
func pick(r *rand.Rand, cum []float64) int {
	i, _ := slices.BinarySearch(cum, r.Float64()*cum[len(cum)-1])
	return min(i, len(cum)-1)
}

// normMass is P(a ≤ Z ≤ b) for a standard normal Z, accurate in the tails.
func normMass(a, b float64) float64 {
	switch {
	case a >= 0:
		return (math.Erfc(a/math.Sqrt2) - math.Erfc(b/math.Sqrt2)) / 2
	case b <= 0:
		return (math.Erfc(-b/math.Sqrt2) - math.Erfc(-a/math.Sqrt2)) / 2
	}
	return 1 - (math.Erfc(-a/math.Sqrt2)+math.Erfc(b/math.Sqrt2))/2
}

// truncNormal draws a standard normal truncated to [a, b] by inverting
// its distribution function on the side of the tail, for precision.
func truncNormal(r *rand.Rand, a, b float64) float64 {
	if a > 0 {
		return -truncNormal(r, -b, -a)
	}
	// Here a ≤ 0, so Φ(a) ≤ ½ and erfc keeps its digits.
	pa := math.Erfc(-a/math.Sqrt2) / 2
	pb := math.Erfc(-b/math.Sqrt2) / 2
	q := pa + r.Float64()*(pb-pa)
	z := -math.Sqrt2 * math.Erfcinv(2*q)
	return math.Max(a, math.Min(b, z))
}
