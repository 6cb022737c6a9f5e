package sample

import (
	"math"
	"math/rand/v2"
	"slices"
)

// This file holds the Parzen estimators of TPE: one dimension's density,
// a weighted mixture of one kernel per observation plus one wide prior
// kernel. The rules follow Optuna's documented defaults (prior weight
// 1.0, magic clip, no endpoint bandwidths); see tpe.go.

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

// parzen is a numeric Parzen estimator: a mixture of normal kernels
// truncated to [lo, hi] (the axis widened by half a step on each side),
// over the lattice of step when step > 0. The last kernel is the prior.
type parzen struct {
	mu, sigma []float64
	coef      []float64 // the mixture weight over the truncation mass (and σ√2π when continuous)
	cum       []float64 // cumulative mixture weights, for sampling
	lo, hi    float64
	low, step float64
	order     []int // scratch for the bandwidths
}

// fit builds the estimator of obs (in trial order) on a.
func (p *parzen) fit(a axis, obs []float64, priorWeight float64) {
	n := len(obs)
	k := n + 1
	p.mu = slices.Grow(p.mu[:0], k)[:k]
	p.sigma = slices.Grow(p.sigma[:0], k)[:k]
	p.coef = slices.Grow(p.coef[:0], k)[:k]
	p.cum = slices.Grow(p.cum[:0], k)[:k]
	p.order = slices.Grow(p.order[:0], k)[:k]
	p.lo, p.hi = a.low-a.step/2, a.high+a.step/2
	p.low, p.step = a.low, a.step
	copy(p.mu, obs)
	p.mu[n] = (a.low + a.high) / 2

	// Bandwidths: each kernel reaches to the farther of its neighbours
	// among the sorted centres (the prior's centre included, the widened
	// bounds as outer neighbours); the outermost kernels look inwards
	// only. Then all are clipped to [span/min(100, 1+kernels), span].
	for i := range p.order {
		p.order[i] = i
	}
	slices.SortStableFunc(p.order, func(i, j int) int { return cmpFloat(p.mu[i], p.mu[j]) })
	span := a.span()
	minSigma := span / math.Min(100, 1+float64(k))
	for r, i := range p.order {
		left, right := p.lo, p.hi
		if r > 0 {
			left = p.mu[p.order[r-1]]
		}
		if r < k-1 {
			right = p.mu[p.order[r+1]]
		}
		s := math.Max(p.mu[i]-left, right-p.mu[i])
		if k >= 2 && r == 0 {
			s = right - p.mu[i]
		}
		if k >= 2 && r == k-1 {
			s = p.mu[i] - left
		}
		p.sigma[i] = min(max(s, minSigma), span)
	}
	p.sigma[n] = span

	obsWeights(p.coef, n)
	p.coef[n] = priorWeight
	if n == 0 {
		p.coef[n] = 1
	}
	total := 0.0
	for i := range k {
		total += p.coef[i]
		p.cum[i] = total
	}
	for i := range k {
		p.coef[i] /= total * normMass((p.lo-p.mu[i])/p.sigma[i], (p.hi-p.mu[i])/p.sigma[i])
		if p.step == 0 {
			p.coef[i] /= p.sigma[i] * math.Sqrt(2*math.Pi)
		}
	}
}

// sample draws one value: a kernel by weight, then its truncated normal,
// rounded to the lattice when there is one.
func (p *parzen) sample(r *rand.Rand) float64 {
	return p.sampleKernel(r, pick(r, p.cum))
}

// pick draws an index by the cumulative weights cum.
func pick(r *rand.Rand, cum []float64) int {
	i, _ := slices.BinarySearch(cum, r.Float64()*cum[len(cum)-1])
	return min(i, len(cum)-1)
}

// sampleKernel draws one value from kernel i.
func (p *parzen) sampleKernel(r *rand.Rand, i int) float64 {
	x := p.mu[i] + p.sigma[i]*truncNormal(r, (p.lo-p.mu[i])/p.sigma[i], (p.hi-p.mu[i])/p.sigma[i])
	x = math.Max(p.lo, math.Min(p.hi, x))
	if p.step > 0 {
		top := math.Round((p.hi - p.step/2 - p.low) / p.step)
		x = p.low + math.Max(0, math.Min(top, math.Round((x-p.low)/p.step)))*p.step
	}
	return x
}

// logPDF is the log density at x (the log probability of x's lattice
// cell when there is a lattice). The prior kernel, as wide as the range,
// keeps the sum well above underflow anywhere in the range.
func (p *parzen) logPDF(x float64) float64 {
	sum := 0.0
	if p.step == 0 {
		for i, mu := range p.mu {
			z := (x - mu) / p.sigma[i]
			sum += p.coef[i] * math.Exp(-z*z/2)
		}
		return math.Log(sum)
	}
	h := p.step / 2
	for i, mu := range p.mu {
		sum += p.coef[i] * normMass((x-h-mu)/p.sigma[i], (x+h-mu)/p.sigma[i])
	}
	return math.Log(sum)
}

// categorical is the Parzen estimator of a categorical dimension: each
// observation's kernel puts 1 on its choice plus priorWeight/kernels on
// every choice (then normalised), the prior kernel is uniform; the mixture
// reduces to weighted counts of the choices.
type categorical struct {
	logP, cum []float64
}

func (c *categorical) fit(choices int, obs []float64, priorWeight float64, w []float64) {
	n := len(obs)
	c.logP = slices.Grow(c.logP[:0], choices)[:choices]
	c.cum = slices.Grow(c.cum[:0], choices)[:choices]
	w = w[:n]
	obsWeights(w, n)
	prior := priorWeight
	if n == 0 {
		prior = 1
	}
	total := prior
	for _, x := range w {
		total += x
	}
	smooth := priorWeight / float64(n+1)
	norm := 1 + smooth*float64(choices)
	p := c.logP
	for j := range p {
		p[j] = prior / total / float64(choices)
	}
	for i, x := range obs {
		p[int(x)] += w[i] / total / norm
	}
	obsTotal := (total - prior) / total
	run := 0.0
	for j := range p {
		p[j] += obsTotal * smooth / norm
		run += p[j]
		c.cum[j] = run
		p[j] = math.Log(p[j])
	}
}

func (c *categorical) sample(r *rand.Rand) float64 { return float64(pick(r, c.cum)) }

func (c *categorical) logPDF(x float64) float64 { return c.logP[int(x)] }

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

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
