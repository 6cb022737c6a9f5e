package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TPEConfig sets the Tree-structured Parzen Estimator. DefaultTPEConfig
// holds Optuna's documented defaults, the reference for this sampler.
type TPEConfig struct {
	// Startup is how many trials must be told before TPE models them;
	// until then it draws points at random (Optuna's n_startup_trials).
	Startup int
	// Candidates is how many points TPE draws from the good trials'
	// density per dimension, keeping the one with the best ratio of good
	// to bad density (Optuna's n_ei_candidates).
	Candidates int
	// PriorWeight is the weight of the wide prior kernel beside the
	// observations' kernels, each weighing up to 1.
	PriorWeight float64
	// History bounds the trials the bad density is made of: the History
	// most recently told ones (the good ones are always the best of all
	// told). It keeps Ask's cost and the sampler's memory flat in the
	// number of trials; 0 keeps every trial, as Optuna does.
	History int
}

// DefaultTPEConfig returns Optuna's defaults (10 random trials, 24
// candidates, prior weight 1) and a history of 200 trials.
func DefaultTPEConfig() TPEConfig {
	return TPEConfig{Startup: 10, Candidates: 24, PriorWeight: 1, History: 200}
}

// Validate checks the settings, naming the bad one.
func (c TPEConfig) Validate() error {
	switch {
	case c.Startup < 0:
		return fmt.Errorf("tpe: startup trials %d is below 0", c.Startup)
	case c.Candidates < 1:
		return fmt.Errorf("tpe: candidates %d is below 1", c.Candidates)
	case !(c.PriorWeight > 0) || math.IsInf(c.PriorWeight, 0):
		return fmt.Errorf("tpe: prior weight %v is not a number above 0", c.PriorWeight)
	case c.History < 0:
		return fmt.Errorf("tpe: history %d is below 0", c.History)
	case c.History > 0 && c.History < maxGood:
		return fmt.Errorf("tpe: a history of %d trials is below the %d good trials TPE can keep", c.History, maxGood)
	}
	return nil
}

// maxGood is the most trials the good group holds: gamma's cap.
const maxGood = 25

// gamma is how many of n told trials are the good group: Optuna's
// default, min(⌈n/10⌉, 25).
func gamma(n int) int { return min((n+9)/10, maxGood) }

// TPE is the Tree-structured Parzen Estimator (Bergstra, Bardenet,
// Bengio & Kégl, "Algorithms for Hyper-Parameter Optimization", 2011),
// with Optuna's defaults as the reference. After Startup random trials,
// the told trials are split into the good — the gamma(n) lowest losses —
// and the rest; each dimension gets a Parzen estimator of the good
// values, l(x), and of the rest, g(x), in the transformed space (the log
// of a log-scaled value, the lattice of an integer or stepped one). Ask
// draws Candidates values from l per dimension and keeps the one that
// maximises l(x)/g(x), each dimension on its own (Optuna's default,
// univariate TPE). Observations count in trial order, older ones less
// once there are more than 25 (Optuna's weights).
//
// Failed trials (loss NaN or +Inf) count as the worst. Pending trials
// (asked, not yet told) join the bad group with their points — the
// constant liar that Optuna's constant_liar option names: a worker asking
// while others run is steered away from the points they are trying.
//
// Reproducibility: the same seed and the same sequence of Ask and Tell
// calls give the same points. A parallel study keeps this by asking in
// batches (k Asks), running the batch, and telling its results in trial
// (ask) order before the next batch, whatever order they finished in.
//
// Tell takes the point as Ask returned it (bit for bit; a float64 keeps
// its bits through JSON). A point that was not asked — a trial of an
// earlier run, told to a fresh sampler when a study resumes — counts as
// a new trial.
type TPE struct {
	space Space
	axes  []axis
	cfg   TPEConfig
	rng   *rand.Rand

	told    int
	number  int        // the next trial number
	good    []observed // the best told trials, at most maxGood, by loss then number
	recent  []observed // a ring of the History latest told trials (every one when History is 0)
	head    int        // where the ring writes next, once full
	pending []observed // asked, not told, in ask order

	// Scratch, reused by every Ask.
	bad      []observed
	goodObs  []float64
	badObs   []float64
	weights  []float64
	lEst     parzen
	gEst     parzen
	lCat     categorical
	gCat     categorical
	inGood   map[int]bool
	goodSort []observed
}

// observed is a trial as TPE keeps it.
type observed struct {
	number int
	x      []float64 // the point as asked (pending trials)
	u      []float64 // the point in the model's space
	loss   float64
}

// NewTPE returns a TPE sampler over space (validated by New).
func NewTPE(space Space, seed uint64, cfg TPEConfig) (*TPE, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &TPE{space: space, cfg: cfg, rng: newRNG(seed), axes: make([]axis, len(space)), inGood: map[int]bool{}}
	for i, d := range space {
		t.axes[i] = newAxis(d)
	}
	return t, nil
}

// Ask proposes the next point.
func (t *TPE) Ask() ([]float64, error) {
	x := make([]float64, len(t.space))
	if t.told < t.cfg.Startup || t.told == 0 {
		for i, d := range t.space {
			x[i] = d.Uniform(t.rng)
		}
	} else {
		t.split()
		for i := range t.space {
			x[i] = t.sampleDim(i)
		}
	}
	t.pending = append(t.pending, observed{number: t.number, x: x, u: t.encode(x)})
	t.number++
	return slices.Clone(x), nil
}

// split fills t.goodSort (the good group) and t.bad (the rest within the
// history, and the pending trials), each in trial order.
func (t *TPE) split() {
	n := gamma(t.told)
	t.goodSort = append(t.goodSort[:0], t.good[:n]...)
	slices.SortFunc(t.goodSort, func(a, b observed) int { return a.number - b.number })
	clear(t.inGood)
	for _, o := range t.goodSort {
		t.inGood[o.number] = true
	}
	t.bad = t.bad[:0]
	for _, o := range t.recent {
		if !t.inGood[o.number] {
			t.bad = append(t.bad, o)
		}
	}
	t.bad = append(t.bad, t.pending...)
	slices.SortFunc(t.bad, func(a, b observed) int { return a.number - b.number })
}

// sampleDim proposes dimension i's value from the split.
func (t *TPE) sampleDim(i int) float64 {
	a := t.axes[i]
	if a.fixed {
		return a.decode(a.low, t.space[i])
	}
	t.goodObs = t.goodObs[:0]
	for _, o := range t.goodSort {
		t.goodObs = append(t.goodObs, o.u[i])
	}
	t.badObs = t.badObs[:0]
	for _, o := range t.bad {
		t.badObs = append(t.badObs, o.u[i])
	}
	t.weights = slices.Grow(t.weights[:0], len(t.badObs)+1)[:len(t.badObs)+1]
	var l, g interface {
		sample(*rand.Rand) float64
		logPDF(float64) float64
	}
	if a.cat > 0 {
		t.lCat.fit(a.cat, t.goodObs, t.cfg.PriorWeight, t.weights)
		t.gCat.fit(a.cat, t.badObs, t.cfg.PriorWeight, t.weights)
		l, g = &t.lCat, &t.gCat
	} else {
		t.lEst.fit(a, t.goodObs, t.cfg.PriorWeight)
		t.gEst.fit(a, t.badObs, t.cfg.PriorWeight)
		l, g = &t.lEst, &t.gEst
	}
	best, bestScore := 0.0, math.Inf(-1)
	for range t.cfg.Candidates {
		u := l.sample(t.rng)
		if s := l.logPDF(u) - g.logPDF(u); s > bestScore || math.IsInf(bestScore, -1) {
			best, bestScore = u, s
		}
	}
	if a.cat > 0 {
		return best
	}
	return a.decode(best, t.space[i])
}

// encode maps a point into the model's space.
func (t *TPE) encode(x []float64) []float64 {
	u := make([]float64, len(x))
	for i, a := range t.axes {
		u[i] = a.encode(x[i])
	}
	return u
}

// errPointLength is Tell's error for a point of another space.
var errPointLength = errors.New("the point does not have one value per dimension")

// Tell records the loss of a point (NaN or +Inf for a failed trial).
func (t *TPE) Tell(x []float64, loss float64) error {
	if len(x) != len(t.space) {
		return fmt.Errorf("tpe: told %d values for %d dimensions: %w", len(x), len(t.space), errPointLength)
	}
	if math.IsNaN(loss) {
		loss = math.Inf(1)
	}
	o := observed{number: -1, loss: loss}
	for k, p := range t.pending {
		if slices.Equal(p.x, x) {
			o.number = p.number
			o.u = p.u
			t.pending = slices.Delete(t.pending, k, k+1)
			break
		}
	}
	if o.number < 0 {
		c := make([]float64, len(x))
		for i, d := range t.space {
			c[i] = d.Clip(x[i])
		}
		o.number, o.u = t.number, t.encode(c)
		t.number++
	}
	t.told++
	t.remember(o)
	return nil
}

// remember files a told trial in the history ring and, if it is among
// the best, in the good list.
func (t *TPE) remember(o observed) {
	switch {
	case t.cfg.History == 0 || len(t.recent) < t.cfg.History:
		t.recent = append(t.recent, o)
	default:
		t.recent[t.head] = o
		t.head = (t.head + 1) % t.cfg.History
	}
	better := func(a, b observed) bool { return a.loss < b.loss || (a.loss == b.loss && a.number < b.number) }
	if len(t.good) == maxGood && !better(o, t.good[maxGood-1]) {
		return
	}
	at := len(t.good)
	for at > 0 && better(o, t.good[at-1]) {
		at--
	}
	t.good = slices.Insert(t.good, at, o)
	if len(t.good) > maxGood {
		t.good = t.good[:maxGood]
	}
}
