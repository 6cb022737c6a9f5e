// Package sample owns the search strategies of an optimisation: a Space of
// dimensions (real, integer or categorical ranges) and the Samplers that
// propose points in it (Ask) and learn from their losses (Tell). It knows
// nothing of strategies, backtests or databases: a point is a slice of
// float64 in the space's dimension order, a loss a float64 to minimise.
package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Dim is one dimension of a search space.
type Dim struct {
	// Name identifies the dimension in errors and exports.
	Name string
	// Low and High bound a real or integer dimension, both included.
	Low, High float64
	// Int makes the dimension take whole numbers only.
	Int bool
	// Log samples a real or integer dimension on a log scale (Low > 0).
	Log bool
	// Step, when above 0, makes a real or integer dimension take only the
	// values Low, Low+Step, Low+2·Step, … up to High (for an integer
	// dimension from the first whole number at or above Low, with a whole
	// Step): Freqtrade's decimal parameters are real dimensions with a
	// Step of 10^-decimals. Every sampler keeps to these values, and the
	// grid walks them. It cannot be combined with Log.
	Step float64
	// Choices makes the dimension categorical: a point holds the index
	// of the choice (0, 1, …) as a float64. Low, High, Int and Log are
	// ignored.
	Choices []string
}

// Categorical reports whether the dimension is a choice among names.
func (d Dim) Categorical() bool { return len(d.Choices) > 0 }

// Validate checks one dimension, naming it in the error.
func (d Dim) Validate() error {
	if d.Name == "" {
		return errors.New("a dimension has no name")
	}
	if d.Categorical() {
		return nil
	}
	switch {
	case math.IsNaN(d.Low) || math.IsNaN(d.High) || math.IsInf(d.Low, 0) || math.IsInf(d.High, 0):
		return fmt.Errorf("dimension %q: range [%v, %v] is not finite", d.Name, d.Low, d.High)
	case d.Low > d.High:
		return fmt.Errorf("dimension %q: low %v is above high %v", d.Name, d.Low, d.High)
	case d.Log && d.Low <= 0:
		return fmt.Errorf("dimension %q: a log scale needs a low above 0, not %v", d.Name, d.Low)
	case d.Int && math.Ceil(d.Low) > math.Floor(d.High):
		return fmt.Errorf("dimension %q: no whole number in [%v, %v]", d.Name, d.Low, d.High)
	case math.IsNaN(d.Step) || math.IsInf(d.Step, 0) || d.Step < 0:
		return fmt.Errorf("dimension %q: step %v is not a number above or at 0", d.Name, d.Step)
	case d.Step > 0 && d.Log:
		return fmt.Errorf("dimension %q: a step cannot be combined with a log scale", d.Name)
	case d.Step > 0 && d.Int && d.Step != math.Trunc(d.Step):
		return fmt.Errorf("dimension %q: an integer dimension needs a whole step, not %v", d.Name, d.Step)
	case d.Step > 0 && (d.High-d.Low)/d.Step > maxSteps:
		return fmt.Errorf("dimension %q: step %v cuts [%v, %v] into more than %g values", d.Name, d.Step, d.Low, d.High, float64(maxSteps))
	}
	return nil
}

// maxSteps bounds the values of a stepped dimension, so that their count
// is an int and the grid's walk stays meaningful.
const maxSteps = 1e12

// lattice describes a dimension whose values are evenly spaced: an integer
// dimension (step 1 unless Step says otherwise) or a stepped real one,
// not on a log scale. Its values are lo + k·step for k in [0, n).
func (d Dim) lattice() (lo, step float64, n int64, ok bool) {
	if d.Categorical() || d.Log || (!d.Int && d.Step == 0) {
		return 0, 0, 0, false
	}
	lo, hi, step := d.Low, d.High, d.Step
	if d.Int {
		lo, hi = math.Ceil(d.Low), math.Floor(d.High)
		if step == 0 {
			step = 1
		}
	}
	// The small tolerance keeps High when float arithmetic lands a hair
	// short of it (0.1 to 0.3 by 0.1).
	n = int64(math.Floor((hi-lo)/step+1e-9)) + 1
	return lo, step, n, true
}

// Space is an ordered list of dimensions with distinct names.
type Space []Dim

// Validate checks every dimension and that the names are distinct.
func (s Space) Validate() error {
	if len(s) == 0 {
		return errors.New("the search space has no dimensions")
	}
	seen := make(map[string]bool, len(s))
	for _, d := range s {
		if err := d.Validate(); err != nil {
			return err
		}
		if seen[d.Name] {
			return fmt.Errorf("dimension %q appears twice", d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

// Clip brings x into the dimension: clamped to the range, rounded for an
// integer dimension, an index for a categorical one.
func (d Dim) Clip(x float64) float64 {
	if d.Categorical() {
		i := math.Round(x)
		return math.Max(0, math.Min(float64(len(d.Choices)-1), i))
	}
	if lo, step, n, ok := d.lattice(); ok {
		k := math.Max(0, math.Min(float64(n-1), math.Round((x-lo)/step)))
		return lo + k*step
	}
	if d.Int {
		x = math.Round(x)
		return math.Max(math.Ceil(d.Low), math.Min(math.Floor(d.High), x))
	}
	return math.Max(d.Low, math.Min(d.High, x))
}

// Uniform draws one value of the dimension uniformly (on the log scale
// for a Log dimension; each of the values of an integer or stepped one
// equally often).
func (d Dim) Uniform(r *rand.Rand) float64 {
	if d.Categorical() {
		return float64(r.IntN(len(d.Choices)))
	}
	if lo, step, n, ok := d.lattice(); ok {
		return lo + float64(r.Int64N(n))*step
	}
	switch {
	case d.Log:
		v := math.Exp(math.Log(d.Low) + r.Float64()*(math.Log(d.High)-math.Log(d.Low)))
		return d.Clip(v)
	}
	return d.Low + r.Float64()*(d.High-d.Low)
}

// Sampler proposes points of a space and learns from their losses.
//
// Ask may be called several times before the matching Tells (trials run
// in parallel); a Sampler counts the points asked but not told as pending.
// Tell takes a point Ask returned and its loss (lower is better; NaN or
// +Inf for a failed trial). A Sampler is not safe for concurrent use: the
// study that owns it serialises Ask and Tell. With the same seed and the
// same sequence of Ask and Tell calls, a Sampler proposes the same points.
type Sampler interface {
	Ask() ([]float64, error)
	Tell(x []float64, loss float64) error
}

// ErrExhausted is Ask's error when a sampler has no point left to propose
// (a grid that has been walked whole).
var ErrExhausted = errors.New("the sampler has proposed every point of the space")

// Names lists the samplers New knows.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// constructors maps a sampler's name to its constructor; read-only.
var constructors = map[string]func(Space, uint64) (Sampler, error){
	"random": func(s Space, seed uint64) (Sampler, error) { return NewRandom(s, seed), nil },
	"grid":   func(s Space, _ uint64) (Sampler, error) { return NewGrid(s), nil },
	"tpe":    func(s Space, seed uint64) (Sampler, error) { return NewTPE(s, seed, DefaultTPEConfig()) },
	"cmaes":  func(s Space, seed uint64) (Sampler, error) { return NewCMAES(s, seed) },
}

// New returns the sampler called name over space, seeded: "random",
// "grid" (Grid), "tpe" (TPE with DefaultTPEConfig) or "cmaes" (CMAES).
func New(name string, space Space, seed uint64) (Sampler, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	c, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("unknown sampler %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return c(space, seed)
}

// Random draws every point independently and uniformly: the baseline the
// other samplers must beat.
type Random struct {
	space Space
	rng   *rand.Rand
}

// NewRandom returns a random sampler over space (validated by New).
func NewRandom(space Space, seed uint64) *Random {
	return &Random{space: space, rng: newRNG(seed)}
}

// newRNG is every sampler's source of randomness: one seed, one stream.
func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Ask draws a point.
func (r *Random) Ask() ([]float64, error) {
	x := make([]float64, len(r.space))
	for i, d := range r.space {
		x[i] = d.Uniform(r.rng)
	}
	return x, nil
}

// Tell ignores the loss: random search does not learn.
func (r *Random) Tell([]float64, float64) error { return nil }
