package sample

import "testing"

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

// beats runs sampler (made by mk for a seed) on f for 50 seeds and
// returns in how many runs it got within 1 % of the optimum in fewer
// evaluations than random search (which runs only as long as the sampler
// took: it wins a run only by getting there first), and the mean number
// of evaluations (budget + 1 for a run that did not get there).
func beats(t testing.TB, f testFunction, budget int, mk func(Space, uint64) (Sampler, error)) (wins, mean int) {
	t.Helper()
	const runs = 50
	total := 0
	for seed := range uint64(runs) {
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
//
// TPE holds it on Branin (49 of 50, 180 evaluations on average), with the
// default history of 200 trials (so this is also the test that the cap
// keeps the quality: most runs tell more than 200 trials). CMA-ES holds
// it on all three functions. TPE does not on Rosenbrock-2 (a curved
// valley) and Hartmann-6 within 1,000 evaluations — univariate TPE,
// Optuna's default, got there first in 40 and 31 of 50 runs (random
// search in none) — and its runs there take long (TPE's Ask costs about
// a millisecond): BenchmarkSamplerQuality measures them.
func TestSamplersBeatRandom(t *testing.T) {
	const budget = 1000
	for _, c := range []struct {
		sampler string
		mk      func(Space, uint64) (Sampler, error)
		f       testFunction
	}{
		{"tpe", newTPE, branin},
		{"cmaes", newCMAES, branin},
		{"cmaes", newCMAES, hartmann6},
		{"cmaes", newCMAES, rosenbrock},
	} {
		t.Run(c.sampler+"/"+c.f.name, func(t *testing.T) {
			wins, mean := beats(t, c.f, budget, c.mk)
			t.Logf("first within 1 %% in %d of 50 runs, %d evaluations on average", wins, mean)
			if wins < 45 {
				t.Errorf("%s beat random search in %d of 50 runs, want at least 90 %%", c.sampler, wins)
			}
		})
	}
}

// BenchmarkSamplerQuality runs the property of TestSamplersBeatRandom for
// every sampler and test function (a sweep of a few minutes; not timed):
// wins is the number of the 50 seeded runs in which the sampler got
// within 1 % of the optimum before random search, evals the mean number
// of evaluations it took (1,001 for a run that did not get there).
func BenchmarkSamplerQuality(b *testing.B) {
	for _, f := range []testFunction{branin, hartmann6, rosenbrock} {
		for _, s := range []struct {
			name string
			mk   func(Space, uint64) (Sampler, error)
		}{{"tpe", newTPE}, {"cmaes", newCMAES}} {
			b.Run(s.name+"/"+f.name, func(b *testing.B) {
				var wins, mean int
				for range b.N {
					wins, mean = beats(b, f, 1000, s.mk)
				}
				b.ReportMetric(float64(wins), "wins/50")
				b.ReportMetric(float64(mean), "evals")
			})
		}
	}
}
