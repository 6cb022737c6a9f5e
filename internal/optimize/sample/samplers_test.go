package sample

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestStepValidateAndClip(t *testing.T) {
	for _, c := range []struct {
		d    Dim
		want string
	}{
		{Dim{Name: "s", High: 1, Step: -1}, `"s": step -1`},
		{Dim{Name: "s", Low: 1, High: 2, Step: 0.1, Log: true}, `"s": a step cannot`},
		{Dim{Name: "s", High: 5, Int: true, Step: 1.5}, `"s": an integer dimension needs a whole step`},
		{Dim{Name: "s", High: 1, Step: 1e-15}, `"s": step 1e-15 cuts`},
	} {
		if err := c.d.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.d, err, c.want)
		}
	}
	d := Dim{Name: "d", Low: 0.1, High: 0.35, Step: 0.1}
	for x, want := range map[float64]float64{-1: 0.1, 0.14: 0.1, 0.16: 0.2, 0.29: 0.30000000000000004, 9: 0.30000000000000004} {
		if got := d.Clip(x); got != want {
			t.Errorf("Clip(%v) = %v, want %v", x, got, want)
		}
	}
	n := Dim{Name: "n", Low: 1.5, High: 11, Int: true, Step: 3}
	if got := gridValues(n); !slices.Equal(got, []float64{2, 5, 8, 11}) {
		t.Errorf("integer grid by 3: %v", got)
	}
}

// The grid walks every combination once, last dimension fastest, then
// reports ErrExhausted.
func TestGridWalksEveryCombination(t *testing.T) {
	space := Space{
		{Name: "c", Choices: []string{"a", "b"}},
		{Name: "n", Low: 1, High: 3, Int: true},
		{Name: "x", Low: 0, High: 1},
		{Name: "lr", Low: 1e-3, High: 10, Log: true},
	}
	s, err := New("grid", space, 99)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float64
	for {
		x, err := s.Ask()
		if errors.Is(err, ErrExhausted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tell(x, 0); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	if want := 2 * 3 * (GridSteps + 1) * (GridSteps + 1); len(got) != want {
		t.Fatalf("%d points, want %d", len(got), want)
	}
	if !slices.Equal(got[0], []float64{0, 1, 0, 1e-3}) || got[1][3] <= got[0][3] || got[1][2] != 0 {
		t.Errorf("order: %v then %v", got[0], got[1])
	}
	if last := got[len(got)-1]; !slices.Equal(last, []float64{1, 3, 1, 10}) {
		t.Errorf("last point %v", last)
	}
	seen := map[[4]float64]bool{}
	for _, x := range got {
		seen[[4]float64(x)] = true
	}
	if len(seen) != len(got) {
		t.Errorf("%d distinct of %d", len(seen), len(got))
	}
	if _, err := s.Ask(); !errors.Is(err, ErrExhausted) {
		t.Errorf("after the end: %v", err)
	}
}

var mixed = Space{
	{Name: "x", Low: -5, High: 10},
	{Name: "n", Low: 1, High: 50, Int: true},
	{Name: "lr", Low: 1e-4, High: 1, Log: true},
	{Name: "k", Low: 1, High: 1000, Int: true, Log: true},
	{Name: "d", Low: 0.01, High: 0.2, Step: 0.005},
	{Name: "c", Choices: []string{"a", "b", "c"}},
	{Name: "one", Low: 2, High: 2},
}

func mixedLoss(x []float64) float64 {
	l := (x[0]-2)*(x[0]-2) + math.Abs(x[1]-17) + math.Abs(math.Log10(x[2])+2) + math.Abs(x[3]-30)/30 + math.Abs(x[4]-0.07)*10
	if x[5] != 1 {
		l++
	}
	return l
}

// run asks in batches of k and tells each batch in ask order, as a
// parallel study does; every fifth trial fails.
func run(t *testing.T, seed uint64, k, trials int) [][]float64 {
	t.Helper()
	s, err := NewTPE(mixed, seed, DefaultTPEConfig())
	if err != nil {
		t.Fatal(err)
	}
	var points [][]float64
	for len(points) < trials {
		batch := make([][]float64, k)
		for i := range batch {
			if batch[i], err = s.Ask(); err != nil {
				t.Fatal(err)
			}
			for j, d := range mixed {
				if d.Clip(batch[i][j]) != batch[i][j] {
					t.Fatalf("%s = %v is outside the dimension", d.Name, batch[i][j])
				}
			}
		}
		for _, x := range batch {
			loss := mixedLoss(x)
			if len(points)%5 == 4 {
				loss = math.NaN()
			}
			if err := s.Tell(x, loss); err != nil {
				t.Fatal(err)
			}
			points = append(points, x)
		}
	}
	return points
}

// The same seed and the same sequence of Asks and Tells give the same
// points, in batches (pending trials) too; another seed differs.
func TestTPEReproducible(t *testing.T) {
	for _, k := range []int{1, 4} {
		a, b, c := run(t, 3, k, 80), run(t, 3, k, 80), run(t, 4, k, 80)
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				t.Fatalf("batch %d, trial %d: %v and %v", k, i, a[i], b[i])
			}
		}
		if slices.EqualFunc(a, c, slices.Equal) {
			t.Errorf("batch %d: seeds 3 and 4 gave the same points", k)
		}
	}
}

// Pending points are the constant liar's: a batch asked at once does not
// repeat itself, even on a small lattice where it easily could.
func TestTPEPendingSpreadsABatch(t *testing.T) {
	space := Space{{Name: "n", Low: 0, High: 9, Int: true}}
	s, _ := NewTPE(space, 1, DefaultTPEConfig())
	for i := range 30 {
		x, _ := s.Ask()
		_ = s.Tell(x, math.Abs(x[0]-float64(i%3))) // a few good values
	}
	seen := map[float64]int{}
	for range 4 {
		x, _ := s.Ask()
		seen[x[0]]++
	}
	if len(seen) < 3 {
		t.Errorf("a batch of 4 asked %v", seen)
	}
}

func TestTPETellErrorsAndForeignPoints(t *testing.T) {
	s, _ := NewTPE(mixed, 1, DefaultTPEConfig())
	if err := s.Tell([]float64{1}, 0); err == nil {
		t.Error("a point of one value was accepted")
	}
	// A point never asked (a resumed study's past trial) counts as a trial.
	for range 20 {
		if err := s.Tell([]float64{2, 17, 0.01, 30, 0.07, 1, 2}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Ask(); err != nil || s.told != 20 || len(s.pending) != 1 || s.number != 21 {
		t.Errorf("told %d, pending %d, next number %d: %v", s.told, len(s.pending), s.number, err)
	}
	if _, err := NewTPE(mixed, 1, TPEConfig{Candidates: 0, PriorWeight: 1}); err == nil {
		t.Error("0 candidates accepted")
	}
}

// CMA-ES: the same seed and sequence of Asks and Tells (in batches too)
// give the same points; every point lies in the space, choices included;
// a point never asked is taken; a space of choices only is refused.
func TestCMAES(t *testing.T) {
	runCMA := func(seed uint64, k int) [][]float64 {
		s, err := NewCMAES(mixed, seed)
		if err != nil {
			t.Fatal(err)
		}
		var points [][]float64
		for len(points) < 120 {
			batch := make([][]float64, k)
			for i := range batch {
				if batch[i], err = s.Ask(); err != nil {
					t.Fatal(err)
				}
				for j, d := range mixed {
					if d.Clip(batch[i][j]) != batch[i][j] {
						t.Fatalf("%s = %v is outside the dimension", d.Name, batch[i][j])
					}
				}
			}
			for _, x := range batch {
				loss := mixedLoss(x)
				if len(points)%7 == 6 {
					loss = math.NaN()
				}
				if err := s.Tell(x, loss); err != nil {
					t.Fatal(err)
				}
				points = append(points, x)
			}
		}
		return points
	}
	for _, k := range []int{1, 5} {
		a, b, c := runCMA(3, k), runCMA(3, k), runCMA(4, k)
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Errorf("batch %d: seed 3 twice gave other points", k)
		}
		if slices.EqualFunc(a, c, slices.Equal) {
			t.Errorf("batch %d: seeds 3 and 4 gave the same points", k)
		}
		// It learns: the last generation is better than the first.
		if first, last := mixedLoss(a[0])+mixedLoss(a[1]), mixedLoss(a[118])+mixedLoss(a[119]); !(last < first) {
			t.Errorf("batch %d: losses %v at the start, %v at the end", k, first, last)
		}
	}
	s, _ := NewCMAES(mixed, 1)
	for range 40 { // more than a generation of a resumed study's trials
		if err := s.Tell([]float64{2, 17, 0.01, 30, 0.07, 1, 2}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if s.gens == 0 {
		t.Error("told points that were not asked did not make a generation")
	}
	if err := s.Tell([]float64{1}, 0); err == nil {
		t.Error("a point of one value was accepted")
	}
	if _, err := NewCMAES(Space{{Name: "c", Choices: []string{"a", "b"}}, {Name: "one", Low: 2, High: 2}}, 1); err == nil || !strings.Contains(err.Error(), "no numeric dimension") {
		t.Errorf("a space of choices: %v", err)
	}
}

// TPE's model is joint: fitted to trials at (0.2, 0.8) and (0.8, 0.2),
// its density is high there and low at (0.2, 0.2) and (0.8, 0.8), which
// combine their values (by at least twice; a model of
// each dimension on its own, a product of the two, is as high there). It
// is a density: it integrates to 1 over a space of every kind of
// dimension, and sampling it agrees.
func TestTPEModelIsJoint(t *testing.T) {
	s, err := NewTPE(Space{{Name: "x", High: 1}, {Name: "y", High: 1}}, 1, DefaultTPEConfig())
	if err != nil {
		t.Fatal(err)
	}
	var e joint
	e.fit(s.modelAxes, s.model, []observed{{u: []float64{0.2, 0.8}}, {number: 1, u: []float64{0.8, 0.2}}}, 1)
	if good, mixed := e.logPDF([]float64{0.2, 0.8}), e.logPDF([]float64{0.2, 0.2}); good-mixed < math.Log(2) {
		t.Errorf("log density %.3f at a trial, %.3f where two trials' values combine", good, mixed)
	}

	space := Space{{Name: "x", Low: -1, High: 2}, {Name: "n", Low: 1, High: 6, Int: true}, {Name: "c", Choices: []string{"a", "b", "c"}}, {Name: "l", Low: 0.1, High: 10, Log: true}}
	if s, err = NewTPE(space, 1, DefaultTPEConfig()); err != nil {
		t.Fatal(err)
	}
	r := newRNG(5)
	var obs []observed
	for i := range 7 {
		x := make([]float64, len(space))
		for j, d := range space {
			x[j] = d.Uniform(r)
		}
		obs = append(obs, observed{number: i, u: s.encode(x)})
	}
	e.fit(s.modelAxes, s.model, obs, 1)
	// The mass and the mean of x by the midpoint rule on the continuous
	// dimensions, summed over the whole numbers and the choices.
	const m = 100
	lx, la := s.modelAxes[0], s.modelAxes[3]
	mass, mean := 0.0, 0.0
	for ix := range m {
		x := lx.low + (lx.high-lx.low)*(float64(ix)+0.5)/m
		for n := 1.0; n <= 6; n++ {
			for c := 0.0; c < 3; c++ {
				for il := range m {
					l := la.low + (la.high-la.low)*(float64(il)+0.5)/m
					p := math.Exp(e.logPDF([]float64{x, n, c, l})) * (lx.high - lx.low) / m * (la.high - la.low) / m
					mass += p
					mean += x * p
				}
			}
		}
	}
	if math.Abs(mass-1) > 1e-3 {
		t.Errorf("the density integrates to %.5f", mass)
	}
	sampled := 0.0
	u := make([]float64, len(space))
	for range 20000 {
		e.sample(r, u)
		sampled += u[0]
	}
	if sampled /= 20000; math.Abs(sampled-mean) > 0.03 {
		t.Errorf("mean of x: %.4f sampled, %.4f by the density", sampled, mean)
	}
}

// TPE restarts a run that has stalled in one basin: after Restart trials
// without progress, once its good group is full and its losses spread
// over a quarter of the way to the latest trials' median, the run begins
// again (an empty good group, random trials first). A run that stalls
// while probing far from its best (most trials much worse), or that keeps
// improving, goes on.
func TestTPERestartsASettledRun(t *testing.T) {
	space := Space{{Name: "x", High: 1}}
	tell := func(s *TPE, loss float64) {
		t.Helper()
		x, err := s.Ask()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tell(x, loss); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultTPEConfig()

	// Losses spread evenly over [−1, −0.9), the best first: no progress.
	flat := func(i int) float64 { _, f := math.Modf(float64(i) * 0.6180339887); return -1 + 0.1*f }
	settled, _ := NewTPE(space, 1, cfg)
	restartAt := 0
	for i := range 400 {
		tell(settled, flat(i))
		if settled.run.told == 0 && restartAt == 0 {
			restartAt = i + 1
		}
	}
	// The good group is full after 121 trials; the best is trial 0.
	if restartAt != 121 {
		t.Errorf("a settled run restarted after %d trials, want 121", restartAt)
	}
	// And again: each run's best is its first trials'.
	if settled.told != 400 || settled.run.told >= 121 || len(settled.good) > settled.run.told {
		t.Errorf("told %d, %d in the run, %d good", settled.told, settled.run.told, len(settled.good))
	}

	probing, _ := NewTPE(space, 1, cfg)
	improving, _ := NewTPE(space, 1, cfg)
	for i := range 400 {
		loss := 100.0
		if i%4 == 0 {
			loss = flat(i)
		}
		tell(probing, loss)
		tell(improving, -float64(i))
	}
	if probing.run.told != 400 || improving.run.told != 400 {
		t.Errorf("restarted: a run probing far (%d trials in its run), an improving run (%d)", probing.run.told, improving.run.told)
	}

	cfg.Restart = 0
	never, _ := NewTPE(space, 1, cfg)
	for i := range 400 {
		tell(never, flat(i))
	}
	if never.run.told != 400 {
		t.Errorf("Restart 0 restarted: %d trials in the run", never.run.told)
	}
	if _, err := NewTPE(space, 1, TPEConfig{Candidates: 1, PriorWeight: 1, Restart: -1}); err == nil {
		t.Error("a negative Restart was accepted")
	}
}

// Once a run's best has not improved for refineAfter trials, every
// Refine-th trial is drawn around the best with the good group's
// covariance: with every good trial on the diagonal, so is the refined
// point. A refined trial that improves the best is not the run's
// progress (the restart clock goes on); Refine 0 never refines.
func TestTPERefinesAStalledRun(t *testing.T) {
	space := Space{{Name: "x", High: 1}, {Name: "y", High: 1}}
	stalled := func(cfg TPEConfig) *TPE {
		t.Helper()
		s, err := NewTPE(space, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// 40 trials: the even ones on the diagonal, the best (loss 0) at
		// (0.5, 0.5), trial 20; the odd ones across it, the worst.
		for i := range 40 {
			v := float64(i) / 40
			x, loss := []float64{v, v}, math.Abs(v-0.5)
			if i%2 == 1 {
				x, loss = []float64{v, 1 - v}, 10
			}
			if err := s.Tell(x, loss); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	onDiagonal := func(x []float64) bool { return math.Abs(x[0]-x[1]) < 1e-9 }

	s := stalled(DefaultTPEConfig())
	x, err := s.Ask() // trial 40: stalled for 20 trials, and 40 is a multiple of 4
	if err != nil {
		t.Fatal(err)
	}
	if !onDiagonal(x) || x[0] == 0.5 {
		t.Errorf("refined point %v: not on the diagonal around (0.5, 0.5)", x)
	}
	if err := s.Tell(x, -1); err != nil {
		t.Fatal(err)
	}
	if s.run.bestAt != 20 || s.good[0].number != 40 {
		t.Errorf("after a better refined trial the run's best is trial %d, the good group's %d; want 20 and 40", s.run.bestAt, s.good[0].number)
	}
	for n := 41; n < 44; n++ {
		if x, _ := s.Ask(); onDiagonal(x) {
			t.Errorf("trial %d, not a fourth, was refined: %v", n, x)
		}
	}

	cfg := DefaultTPEConfig()
	cfg.Refine = 0
	if x, _ := stalled(cfg).Ask(); onDiagonal(x) {
		t.Errorf("Refine 0 refined: %v", x)
	}
	cfg.Refine = -1
	if _, err := NewTPE(space, 1, cfg); err == nil {
		t.Error("a negative Refine was accepted")
	}
}
