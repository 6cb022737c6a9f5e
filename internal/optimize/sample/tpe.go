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
	// density, keeping the one with the best ratio of good to bad density
	// (Optuna's n_ei_candidates).
	Candidates int
	// PriorWeight is the weight of the wide prior kernel beside the
	// observations' kernels, each weighing up to 1.
	PriorWeight float64
	// History bounds the trials the bad density is made of: the History
	// most recently told ones (the good ones are always the best of all
	// told). It keeps Ask's cost and the sampler's memory flat in the
	// number of trials; 0 keeps every trial, as Optuna does.
	History int
	// Restart is how many trials TPE lets pass without its run's best
	// improving (by more than restartTol of it) before it begins a new
	// run, when the run has settled in one basin: its good group is full
	// (gamma's cap) and its losses spread over at least settledShare of
	// the way from the best to the median of the History latest trials.
	// 0 never restarts, as Optuna does not.
	Restart int
	// Refine is how often TPE polishes its run's best once the model has
	// stalled: when the run's best has not improved (as Restart counts
	// it) for refineAfter trials, every Refine-th trial is drawn around
	// the best instead of from the model (see refine). 0 never refines,
	// as Optuna does not.
	Refine int
}

// DefaultTPEConfig returns Optuna's defaults (10 random trials, 24
// candidates, prior weight 1), a history of 200 trials, a restart after
// 60 trials without progress and, once the model has stalled, every
// fourth trial a refinement of the best. The good group (gamma) and the
// joint model are set in TPE; see its doc.
func DefaultTPEConfig() TPEConfig {
	return TPEConfig{Startup: 10, Candidates: 24, PriorWeight: 1, History: 200, Restart: 60, Refine: 4}
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
	case c.Restart < 0:
		return fmt.Errorf("tpe: restart after %d trials is below 0", c.Restart)
	case c.Refine < 0:
		return fmt.Errorf("tpe: refine every %d trials is below 0", c.Refine)
	}
	return nil
}

// maxGood is the most trials the good group holds: gamma's cap.
const maxGood = 25

// gamma is how many of n told trials are the good group:
// min(⌈n/5⌉, 25) — a fifth of them, at most 25. Optuna's default is a
// tenth; with the joint model a fifth got within 1 % of the optimum
// first in more runs (Rosenbrock 45 of 50 instead of 42, Hartmann-6 29
// instead of 21; docs/optimisation.md). The cap is reached at 125
// trials, so a study that tells a rebuilt sampler its 250 best trials
// gets the same group as telling it all.
func gamma(n int) int { return min((n+4)/5, maxGood) }

// restartTol is how much a run's best must improve, relative to its
// magnitude, to count as progress; settledShare is how much of the way
// from the best to the median of the latest trials the good group's
// losses must spread for the run to have settled in one basin (see
// TPEConfig.Restart).
const (
	restartTol   = 1e-3
	settledShare = 0.25
)

// refineAfter is how many trials the run's best must go without
// improving before TPE refines it (TPEConfig.Refine): twice the startup
// trials, so that a model that still finds better points is left alone.
const refineAfter = 20

// TPE is the Tree-structured Parzen Estimator (Bergstra, Bardenet,
// Bengio & Kégl, "Algorithms for Hyper-Parameter Optimization", 2011),
// with Optuna's documented options as the reference. After Startup
// random trials, the told trials are split into the good — the gamma(n)
// lowest losses — and the rest; each group gets a Parzen estimator over
// all dimensions jointly (Optuna's multivariate option; see joint), l(x)
// of the good and g(x) of the rest, in the transformed space (the log of
// a log-scaled value, the lattice of an integer or stepped one). Ask
// draws Candidates points from l and proposes the one that maximises
// l(x)/g(x). A kernel keeps its trial's values together, so the model
// follows parameters that matter together (a curved valley: Rosenbrock's
// runs got there first in 45 of 50 instead of 40 modelling each
// dimension on its own, Optuna's default). Observations count in trial
// order, older ones less once there are more than 25 (Optuna's weights);
// endpoints get no special widths (Optuna's consider_endpoints off);
// kernels are no narrower than the magic clip. There is no grouping of
// conditional dimensions (Optuna's group): a Space has none.
//
// Restarts: TPE can settle in the basin of a local optimum (Hartmann-6's
// second-best minimum) and, its good group all there, never leave it.
// When a run's best has not improved for Restart trials and the run has
// settled (TPEConfig.Restart says when), TPE begins a new run, as
// IPOP-CMA-ES restarts a converged search: the good group starts empty
// and the first Startup trials of the run are random again, while the
// earlier runs' trials stay in the bad group's history, so the new run
// is steered away from where the last one settled. A run still making
// progress, or probing far from its best (a narrow curved valley:
// Rosenbrock's), is not restarted.
//
// Refinement: the kernels are no narrower than the magic clip, which for
// a good group of 25 is 1/27 of each range, so once the good trials lie
// in a band much narrower than that (Rosenbrock's curved valley is 1/200
// of the range across where it is within 1 % of the optimum), few
// candidates land in it and the ratio l/g, low where many trials were
// told, steers away from the best. So once the run's best has not improved for
// refineAfter trials, every Refine-th trial is drawn from a normal
// centred on the best with the covariance of the good group (see
// refine): it follows the direction in which the good trials spread, as
// CMA-ES's sampling does. A refined trial that improves the best does
// not count as the run's progress (Restart): polishing the best of a
// local optimum must not keep a run from restarting.
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
	run     tpeRun     // the current run (see Restart)
	good    []observed // the best told trials of the run, at most maxGood, by loss then number
	recent  []observed // a ring of the History latest told trials (every one when History is 0)
	head    int        // where the ring writes next, once full
	pending []observed // asked, not told, in ask order

	model     []int  // the dimensions modelled: all but the single-valued
	modelAxes []axis // their axes

	// Scratch, reused by every Ask.
	bad        []observed
	l, g       joint
	cand, best []float64
	inGood     map[int]bool
	goodSort   []observed
	losses     []float64
}

// tpeRun is TPE's current run: since a restart, or since the start.
type tpeRun struct {
	told   int     // trials told in the run
	best   float64 // its best loss, as last improved by more than restartTol
	bestAt int     // the number of the trial that set it
}

// observed is a trial as TPE keeps it.
type observed struct {
	number int
	x      []float64 // the point as asked (pending trials)
	u      []float64 // the point in the model's space
	loss   float64
	// refined says the point was drawn by refine, not from the model.
	refined bool
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
		if !t.axes[i].fixed {
			t.model = append(t.model, i)
			t.modelAxes = append(t.modelAxes, t.axes[i])
		}
	}
	t.cand = make([]float64, len(t.model))
	t.best = make([]float64, len(t.model))
	return t, nil
}

// Ask proposes the next point.
func (t *TPE) Ask() ([]float64, error) {
	x := make([]float64, len(t.space))
	refined := false
	switch {
	case t.run.told < t.cfg.Startup || t.run.told == 0:
		for i, d := range t.space {
			x[i] = d.Uniform(t.rng)
		}
	case t.cfg.Refine > 0 && t.number-t.run.bestAt >= refineAfter && t.number%t.cfg.Refine == 0:
		t.refine(x)
		refined = true
	default:
		t.split()
		t.propose(x)
	}
	t.pending = append(t.pending, observed{number: t.number, x: x, u: t.encode(x), refined: refined})
	t.number++
	return slices.Clone(x), nil
}

// split fills t.goodSort (the good group) and t.bad (the rest within the
// history, and the pending trials), each in trial order.
func (t *TPE) split() {
	n := gamma(t.run.told)
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

// propose fills x from the split: the candidate drawn from l with the
// best l/g, the single-valued dimensions their value.
func (t *TPE) propose(x []float64) {
	for i, a := range t.axes {
		if a.fixed {
			x[i] = a.decode(a.low, t.space[i])
		}
	}
	if len(t.model) == 0 {
		return
	}
	t.l.fit(t.modelAxes, t.model, t.goodSort, t.cfg.PriorWeight)
	t.g.fit(t.modelAxes, t.model, t.bad, t.cfg.PriorWeight)
	bestScore := math.Inf(-1)
	for c := range t.cfg.Candidates {
		t.l.sample(t.rng, t.cand)
		if s := t.l.logPDF(t.cand) - t.g.logPDF(t.cand); s > bestScore || c == 0 {
			bestScore = s
			copy(t.best, t.cand)
		}
	}
	for j, i := range t.model {
		if t.axes[i].cat > 0 {
			x[i] = t.best[j]
		} else {
			x[i] = t.axes[i].decode(t.best[j], t.space[i])
		}
	}
}

// refine fills x from the normal centred on the run's best trial with
// the covariance of the good group (gamma(n) best trials of the run),
// in the model's space; a point outside a range is clipped to it (and a
// lattice value rounded by decode). A choice keeps the best's.
func (t *TPE) refine(x []float64) {
	good := t.good[:gamma(t.run.told)]
	best := good[0].u
	for i, a := range t.axes {
		if a.cat > 0 {
			x[i] = best[i]
		} else {
			x[i] = a.decode(best[i], t.space[i])
		}
	}
	var num []int // the numeric dimensions modelled
	for _, i := range t.model {
		if t.axes[i].cat == 0 {
			num = append(num, i)
		}
	}
	mean := make([]float64, len(num))
	for _, o := range good {
		for j, i := range num {
			mean[j] += o.u[i] / float64(len(good))
		}
	}
	cov := make([][]float64, len(num))
	for j, i := range num {
		cov[j] = make([]float64, len(num))
		for k, l := range num {
			for _, o := range good {
				cov[j][k] += (o.u[i] - mean[j]) * (o.u[l] - mean[k]) / float64(len(good))
			}
		}
	}
	vectors, values := symEigen(cov)
	z := make([]float64, len(num))
	for k := range z {
		z[k] = t.rng.NormFloat64() * math.Sqrt(math.Max(values[k], 0))
	}
	for j, i := range num {
		a := t.axes[i]
		u := best[i]
		for k := range z {
			u += vectors[j][k] * z[k]
		}
		x[i] = a.decode(math.Max(a.low-a.step/2, math.Min(a.high+a.step/2, u)), t.space[i])
	}
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
			o.u, o.refined = p.u, p.refined
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
	t.progress(o)
	return nil
}

// progress counts a told trial in the current run and begins a new one
// when the run has stalled and settled (TPEConfig.Restart).
func (t *TPE) progress(o observed) {
	r := &t.run
	r.told++
	// A refined trial is no progress of the run (see TPE's doc).
	improved := o.loss < r.best && (math.IsInf(r.best, 1) || r.best-o.loss > restartTol*math.Abs(r.best))
	if !o.refined && (r.told == 1 || improved) {
		r.best, r.bestAt = o.loss, o.number
	}
	if t.cfg.Restart == 0 || t.number-r.bestAt < t.cfg.Restart || gamma(r.told) < maxGood || !t.settled() {
		return
	}
	t.good = t.good[:0]
	t.run = tpeRun{bestAt: t.number}
}

// settled reports whether the run's good group spreads over at least
// settledShare of the way from its best loss to the median of the latest
// trials: the run samples near its best as often as a converged search
// does, rather than probing far from it.
func (t *TPE) settled() bool {
	t.losses = t.losses[:0]
	for _, o := range t.recent {
		t.losses = append(t.losses, o.loss)
	}
	slices.Sort(t.losses)
	best, edge, median := t.good[0].loss, t.good[maxGood-1].loss, t.losses[len(t.losses)/2]
	return !math.IsInf(edge, 0) && !math.IsInf(median, 0) && edge-best >= settledShare*(median-best)
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
