package sample

import (
	"fmt"
	"testing"

	"github.com/tradai/tradai/internal/racetest"
)

// near is the target of the property: "within 1 % of the optimum" means
// f(x) − f* ≤ 1 % of max(|f*|, 1) — relative to the optimum, with the
// unit as the floor for an optimum at or near 0 (Rosenbrock's f* = 0,
// Branin's 0.398). It is deliberately stricter than 1 % of the
// function's range over the domain: Branin's range is 308 and
// Rosenbrock's 3,609, so 1 % of those is a band that random search finds
// within its first handful of draws, and the comparison would measure
// luck, not the sampler. At this target random search needs thousands of
// evaluations on each function.
func near(f testFunction, y float64) bool { return y-f.min <= 0.01*max(1, f.min, -f.min) }

// hitAt is the evaluation (from 1) at which s first lands near f's
// optimum, or budget+1 if it does not within budget.
func hitAt(t testing.TB, s Sampler, f testFunction, budget int) int {
	t.Helper()
	for i := 1; i <= budget; i++ {
		x, err := s.Ask()
		if err != nil {
			t.Fatal(err)
		}
		y := f.f(x)
		if near(f, y) {
			return i
		}
		if err := s.Tell(x, y); err != nil {
			t.Fatal(err)
		}
	}
	return budget + 1
}

// beats runs sampler (made by mk for a seed) on f for seeds first to
// first+runs−1 and returns in how many runs it got within 1 % of the optimum in fewer
// evaluations than random search (which runs only as long as the sampler
// took: it wins a run only by getting there first), and the mean number
// of evaluations (budget + 1 for a run that did not get there).
func beats(t testing.TB, f testFunction, budget, first, runs int, mk func(Space, uint64) (Sampler, error)) (wins, mean int) {
	t.Helper()
	total := 0
	for seed := uint64(first); seed < uint64(first+runs); seed++ {
		s, err := mk(f.space, seed)
		if err != nil {
			t.Fatal(err)
		}
		n := hitAt(t, s, f, budget)
		total += n
		if n <= budget && hitAt(t, NewRandom(f.space, seed), f, n) > n {
			wins++
		}
	}
	return wins, total / runs
}

func newTPE(s Space, seed uint64) (Sampler, error)   { return NewTPE(s, seed, DefaultTPEConfig()) }
func newCMAES(s Space, seed uint64) (Sampler, error) { return NewCMAES(s, seed) }

// The property: a sampler reaches the optimum in fewer
// evaluations than random search in at least 90 % of 50 seeded runs
// (random search needs thousands of evaluations at this target).
// BenchmarkSamplerQuality measures it on two sets of 50 seeds (0 to 49,
// 50 to 99) for every sampler and function; this test checks, on every
// run of the tests, what fits their time (under -race in CI): both sets
// where TPE's runs are quick (Branin, Rosenbrock-2), the first 10 seeds
// (at least 9 first) on Hartmann-6, where they are long, and CMA-ES on
// seeds 0 to 49.
//
// TPE (joint model, a fifth of the trials as the good group, restarts of
// a settled run, refinement of a stalled run's best) holds it on Branin
// (49 and 49 of 50, 94 and 85 evaluations on average), Hartmann-6 (48
// and 47, 386 and 334) and Rosenbrock-2 (47 and 45, 222 and 222), with
// the default history of 200 trials (so this is also the test that the
// cap keeps the quality: many runs tell more than 200 trials). Without
// refinement Rosenbrock-2's runs crept along the valley's floor and
// stalled at 1 to 5 % of the target above it: 45 and 40 of 50. Without
// restarts Hartmann-6 held in 29 of 50: the runs that missed settled in
// the basin of its second minimum (−3.20, 4 % above f*) and never left
// it. CMA-ES holds it on all three functions.
func TestSamplersBeatRandom(t *testing.T) {
	racetest.Skip(t, "runs 360 searches of 1,000 trials, one goroutine each, compute-bound")
	const budget = 1000
	for _, c := range []struct {
		sampler     string
		mk          func(Space, uint64) (Sampler, error)
		f           testFunction
		first, runs int
	}{
		{"tpe", newTPE, branin, 0, 50},
		{"tpe", newTPE, branin, 50, 50},
		{"tpe", newTPE, hartmann6, 0, 10},
		{"tpe", newTPE, rosenbrock, 0, 50},
		{"tpe", newTPE, rosenbrock, 50, 50},
		{"cmaes", newCMAES, branin, 0, 50},
		{"cmaes", newCMAES, hartmann6, 0, 50},
		{"cmaes", newCMAES, rosenbrock, 0, 50},
	} {
		t.Run(fmt.Sprintf("%s/%s/seeds=%d-%d", c.sampler, c.f.name, c.first, c.first+c.runs-1), func(t *testing.T) {
			wins, mean := beats(t, c.f, budget, c.first, c.runs, c.mk)
			t.Logf("first within 1 %% in %d of %d runs, %d evaluations on average", wins, c.runs, mean)
			if wins*10 < c.runs*9 {
				t.Errorf("%s beat random search in %d of %d runs, want at least 90 %%", c.sampler, wins, c.runs)
			}
		})
	}
}

// BenchmarkSamplerQuality runs the property of TestSamplersBeatRandom for
// every sampler and test function on both sets of seeds (a sweep of a
// few minutes; not timed): wins is the number of the 50 seeded runs in
// which the sampler got within 1 % of the optimum before random search,
// evals the mean number of evaluations it took (1,001 for a run that did
// not get there). Seeds 50 to 99 check that settings chosen on seeds 0
// to 49 are not fitted to them.
func BenchmarkSamplerQuality(b *testing.B) {
	for _, f := range []testFunction{branin, hartmann6, rosenbrock} {
		for _, s := range []struct {
			name string
			mk   func(Space, uint64) (Sampler, error)
		}{{"tpe", newTPE}, {"cmaes", newCMAES}} {
			for _, first := range []int{0, 50} {
				b.Run(fmt.Sprintf("%s/%s/seeds=%d-%d", s.name, f.name, first, first+49), func(b *testing.B) {
					var wins, mean int
					for range b.N {
						wins, mean = beats(b, f, 1000, first, 50, s.mk)
					}
					b.ReportMetric(float64(wins), "wins/50")
					b.ReportMetric(float64(mean), "evals")
				})
			}
		}
	}
}
