package sample

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// CMAES is the covariance matrix adaptation evolution strategy (Hansen,
// "The CMA Evolution Strategy: A Tutorial", 2016), (μ/μ_w, λ) with the
// tutorial's default learning rates, over the numeric dimensions scaled
// to the unit cube (the log of a log-scaled range; whole numbers and
// steps relaxed to the reals, rounded when asked for). Categorical
// dimensions are drawn uniformly at random, as Optuna's CMA-ES sampler
// leaves them to an independent sampler.
//
// Settings: the search starts at the centre of the cube with step size
// σ₀ = 1/6 (Optuna's: a sixth of the range) and a population of twice the
// tutorial's default λ = 4 + ⌊3 ln n⌋ (a larger population, the first
// step of IPOP-CMA-ES, found Hartmann-6's global minimum in 48 of 50
// seeded runs instead of 43; docs/optimisation.md). A point outside the
// cube is drawn again, up to 100 times, then clipped to it.
//
// Ask draws from the current generation's distribution; once λ points
// are told, the distribution is updated from the best μ = λ/2 of them
// (failed trials count as the worst) and the next generation begins. A
// study asks in batches and tells in trial order, so the same seed and
// the same sequence of Ask and Tell calls give the same points. A point
// told that was not asked (a resumed study's earlier trial) joins the
// generation like any other.
type CMAES struct {
	space Space
	num   []int // the numeric, not fixed, dimensions: the search's coordinates
	rng   *rand.Rand

	lambda, mu                               int
	w                                        []float64
	mueff, cc, cs, c1, cmu, damps, chiN, sig float64
	mean, pc, ps                             []float64
	c, b                                     [][]float64 // covariance; its eigenvectors (columns)
	d                                        []float64   // square roots of its eigenvalues
	gens                                     int

	pending []cmaPoint // asked, not told
	told    []cmaPoint // told in this generation
}

type cmaPoint struct {
	x    []float64 // as asked
	u    []float64 // the coordinates in the unit cube
	loss float64
}

// NewCMAES returns a CMA-ES sampler over space (validated by New). A
// space without a numeric dimension to search is an error: use random.
func NewCMAES(space Space, seed uint64) (*CMAES, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	s := &CMAES{space: space, rng: newRNG(seed)}
	for i, d := range space {
		if a := newAxis(d); !d.Categorical() && !a.fixed {
			s.num = append(s.num, i)
		}
	}
	n := len(s.num)
	if n == 0 {
		return nil, fmt.Errorf("cmaes: the space has no numeric dimension to search (its dimensions are choices or single values): use random")
	}
	fn := float64(n)
	s.lambda = 2 * (4 + int(3*math.Log(fn)))
	s.mu = s.lambda / 2
	s.w = make([]float64, s.mu)
	sum, sum2 := 0.0, 0.0
	for i := range s.w {
		s.w[i] = math.Log(float64(s.mu)+0.5) - math.Log(float64(i+1))
		sum += s.w[i]
	}
	for i := range s.w {
		s.w[i] /= sum
		sum2 += s.w[i] * s.w[i]
	}
	s.mueff = 1 / sum2
	s.cc = (4 + s.mueff/fn) / (fn + 4 + 2*s.mueff/fn)
	s.cs = (s.mueff + 2) / (fn + s.mueff + 5)
	s.c1 = 2 / ((fn+1.3)*(fn+1.3) + s.mueff)
	s.cmu = math.Min(1-s.c1, 2*(s.mueff-2+1/s.mueff)/((fn+2)*(fn+2)+s.mueff))
	s.damps = 1 + 2*math.Max(0, math.Sqrt((s.mueff-1)/(fn+1))-1) + s.cs
	s.chiN = math.Sqrt(fn) * (1 - 1/(4*fn) + 1/(21*fn*fn))
	s.sig = 1.0 / 6
	s.mean, s.pc, s.ps, s.d = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	s.c, s.b = identity(n), identity(n)
	for i := range s.mean {
		s.mean[i], s.d[i] = 0.5, 1
	}
	return s, nil
}

func identity(n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		m[i][i] = 1
	}
	return m
}

// Ask proposes the next point.
func (s *CMAES) Ask() ([]float64, error) {
	n := len(s.num)
	u := make([]float64, n)
	z := make([]float64, n)
	for try := 0; ; try++ {
		for i := range z {
			z[i] = s.rng.NormFloat64()
		}
		inside := true
		for i := range n {
			v := 0.0
			for j := range n {
				v += s.b[i][j] * s.d[j] * z[j]
			}
			u[i] = s.mean[i] + s.sig*v
			inside = inside && u[i] >= 0 && u[i] <= 1
		}
		if inside || try == 99 {
			break
		}
	}
	for i := range u {
		u[i] = math.Max(0, math.Min(1, u[i]))
	}
	x := make([]float64, len(s.space))
	k := 0
	for i, d := range s.space {
		if k < n && s.num[k] == i {
			x[i] = s.decode(i, u[k])
			k++
			continue
		}
		x[i] = d.Uniform(s.rng)
	}
	s.pending = append(s.pending, cmaPoint{x: x, u: u})
	return slices.Clone(x), nil
}

// decode maps coordinate u of dimension i to its value.
func (s *CMAES) decode(i int, u float64) float64 {
	d := s.space[i]
	a := newAxis(d) // a lattice owns half a step beyond each end
	lo, hi := a.low-a.step/2, a.high+a.step/2
	return a.decode(lo+u*(hi-lo), d)
}

// encode maps dimension i's value x to its coordinate (the reverse of
// decode, for points told that were not asked).
func (s *CMAES) encode(i int, x float64) float64 {
	d := s.space[i]
	a := newAxis(d)
	lo, hi := a.low-a.step/2, a.high+a.step/2
	return math.Max(0, math.Min(1, (a.encode(d.Clip(x))-lo)/(hi-lo)))
}

// Tell records the loss of a point (NaN or +Inf for a failed trial);
// the λ-th of a generation updates the distribution.
func (s *CMAES) Tell(x []float64, loss float64) error {
	if len(x) != len(s.space) {
		return fmt.Errorf("cmaes: told %d values for %d dimensions: %w", len(x), len(s.space), errPointLength)
	}
	if math.IsNaN(loss) {
		loss = math.Inf(1)
	}
	p := cmaPoint{loss: loss}
	for k, q := range s.pending {
		if slices.Equal(q.x, x) {
			p.u = q.u
			s.pending = slices.Delete(s.pending, k, k+1)
			break
		}
	}
	if p.u == nil {
		p.u = make([]float64, len(s.num))
		for k, i := range s.num {
			p.u[k] = s.encode(i, x[i])
		}
	}
	s.told = append(s.told, p)
	if len(s.told) == s.lambda {
		s.update()
		s.told = s.told[:0]
	}
	return nil
}

// update moves the mean to the weighted best μ points of the generation
// and adapts the evolution paths, the covariance and the step size.
func (s *CMAES) update() {
	n := len(s.num)
	slices.SortStableFunc(s.told, func(a, b cmaPoint) int { return cmp.Compare(a.loss, b.loss) })
	old := slices.Clone(s.mean)
	for i := range n {
		s.mean[i] = 0
		for k := range s.mu {
			s.mean[i] += s.w[k] * s.told[k].u[i]
		}
	}
	y := make([]float64, n) // the mean's step, in units of σ
	for i := range n {
		y[i] = (s.mean[i] - old[i]) / s.sig
	}
	// C^(-1/2) y = B D⁻¹ Bᵀ y.
	t := make([]float64, n)
	for j := range n {
		for i := range n {
			t[j] += s.b[i][j] * y[i]
		}
		t[j] /= s.d[j]
	}
	norm := 0.0
	for i := range n {
		cy := 0.0
		for j := range n {
			cy += s.b[i][j] * t[j]
		}
		s.ps[i] = (1-s.cs)*s.ps[i] + math.Sqrt(s.cs*(2-s.cs)*s.mueff)*cy
		norm += s.ps[i] * s.ps[i]
	}
	norm = math.Sqrt(norm)
	s.gens++
	hs := 0.0
	if norm/math.Sqrt(1-math.Pow(1-s.cs, 2*float64(s.gens))) < (1.4+2/float64(n+1))*s.chiN {
		hs = 1
	}
	for i := range n {
		s.pc[i] = (1-s.cc)*s.pc[i] + hs*math.Sqrt(s.cc*(2-s.cc)*s.mueff)*y[i]
	}
	for i := range n {
		for j := range n {
			rank := 0.0
			for k := range s.mu {
				u := s.told[k].u
				rank += s.w[k] * (u[i] - old[i]) * (u[j] - old[j])
			}
			rank /= s.sig * s.sig
			s.c[i][j] = (1-s.c1-s.cmu)*s.c[i][j] + s.c1*(s.pc[i]*s.pc[j]+(1-hs)*s.cc*(2-s.cc)*s.c[i][j]) + s.cmu*rank
		}
	}
	s.sig *= math.Exp((s.cs / s.damps) * (norm/s.chiN - 1))
	s.b, s.d = symEigen(s.c)
	for i := range s.d {
		s.d[i] = math.Sqrt(math.Max(s.d[i], 1e-20))
	}
}

// symEigen returns the eigenvectors (as columns) and eigenvalues of the
// symmetric matrix a, by cyclic Jacobi rotations.
func symEigen(a [][]float64) (vectors [][]float64, values []float64) {
	n := len(a)
	m := make([][]float64, n)
	for i := range m {
		m[i] = slices.Clone(a[i])
	}
	v := identity(n)
	for range 50 {
		off := 0.0
		for i := range n {
			for j := i + 1; j < n; j++ {
				off += m[i][j] * m[i][j]
			}
		}
		if off < 1e-22 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if m[p][q] == 0 {
					continue
				}
				theta := (m[q][q] - m[p][p]) / (2 * m[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				sn := t * c
				for k := range n {
					m[k][p], m[k][q] = c*m[k][p]-sn*m[k][q], sn*m[k][p]+c*m[k][q]
				}
				for k := range n {
					m[p][k], m[q][k] = c*m[p][k]-sn*m[q][k], sn*m[p][k]+c*m[q][k]
				}
				for k := range n {
					v[k][p], v[k][q] = c*v[k][p]-sn*v[k][q], sn*v[k][p]+c*v[k][q]
				}
			}
		}
	}
	values = make([]float64, n)
	for i := range n {
		values[i] = m[i][i]
	}
	return v, values
}
