package overfit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The numerical example of Bailey & López de Prado (2014), section 4
// ("The Deflated Sharpe Ratio", Journal of Portfolio Management): an
// annualised Sharpe ratio of 2.5 over 5 years of daily returns (T =
// 1,250, 250 a year), skew −3, kurtosis 10, the best of N = 100 trials
// whose annualised Sharpe ratios have a variance of 0.5. The paper gives
// SR0 ≈ 0.1132 (per day) and DSR ≈ 0.9004.
func TestDeflatedSharpePaperExample(t *testing.T) {
	m := Moments{Periods: 1250, Sharpe: 2.5 / math.Sqrt(250), Skew: -3, Kurtosis: 10}
	d, err := DeflatedSharpe(m, 100, 0.5/250)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.Benchmark-0.1132) > 5e-5 {
		t.Errorf("SR0 = %.5f, the paper has 0.1132", d.Benchmark)
	}
	if math.Abs(d.DSR-0.9004) > 5e-5 {
		t.Errorf("DSR = %.5f, the paper has 0.9004", d.DSR)
	}
}

// A small series worked by hand: returns 1, 2, 3, 6 have mean 3, sample
// standard deviation √(14/3), so a Sharpe ratio of 3/√(14/3) = 1.38873;
// deviations −2, −1, 0, 3 give the central moments m2 = 14/4 = 3.5,
// m3 = (−8−1+0+27)/4 = 4.5, m4 = (16+1+0+81)/4 = 24.5, so skew
// 4.5/3.5^1.5 = 0.68724 and kurtosis 24.5/3.5² = 2.
func TestDescribeByHand(t *testing.T) {
	m, err := Describe([]float64{1, 2, 3, 6})
	if err != nil {
		t.Fatal(err)
	}
	want := Moments{Periods: 4, Sharpe: 3 / math.Sqrt(14.0/3), Skew: 4.5 / math.Pow(3.5, 1.5), Kurtosis: 2}
	if m.Periods != want.Periods || math.Abs(m.Sharpe-want.Sharpe) > 1e-12 ||
		math.Abs(m.Skew-want.Skew) > 1e-12 || math.Abs(m.Kurtosis-want.Kurtosis) > 1e-12 {
		t.Errorf("Describe = %+v, want %+v", m, want)
	}
	// PSR against 0: z = SR·√(T−1) / √(1 − skew·SR + (2−1)/4·SR²).
	v := 1 - want.Skew*want.Sharpe + 0.25*want.Sharpe*want.Sharpe
	p, err := ProbabilisticSharpe(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w := normCDF(want.Sharpe * math.Sqrt(3) / math.Sqrt(v)); math.Abs(p-w) > 1e-12 {
		t.Errorf("PSR = %v, want %v", p, w)
	}
}

// The expected maximum of N standard normals (variance 1) is close to the
// exact values (e.g. 1.5388 for N = 10, 2.5076 for N = 100, tabulated
// expectations of the largest of N normal draws); the approximation is
// known to be within a few hundredths there.
func TestExpectedMaxSharpe(t *testing.T) {
	for _, c := range []struct {
		n    int
		want float64
	}{{10, 1.5388}, {100, 2.5076}, {1000, 3.2414}} {
		got, err := ExpectedMaxSharpe(c.n, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.want) > 0.05 {
			t.Errorf("N = %d: %v, want about %v", c.n, got, c.want)
		}
	}
	if got, _ := ExpectedMaxSharpe(1, 1); got != 0 {
		t.Errorf("one trial: %v, want 0", got)
	}
}

// More trials, same best: the bar rises and the DSR falls.
func TestDSRFallsWithTrials(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := Moments{
			Periods:  rapid.IntRange(30, 5000).Draw(t, "T"),
			Sharpe:   rapid.Float64Range(-0.2, 0.5).Draw(t, "SR"),
			Skew:     rapid.Float64Range(-2, 2).Draw(t, "skew"),
			Kurtosis: 0,
		}
		m.Kurtosis = m.Skew*m.Skew + 1 + rapid.Float64Range(0.5, 20).Draw(t, "excess")
		v := rapid.Float64Range(1e-6, 0.01).Draw(t, "variance")
		n := rapid.IntRange(1, 10000).Draw(t, "N")
		a, err := DeflatedSharpe(m, n, v)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DeflatedSharpe(m, n*2+1, v)
		if err != nil {
			t.Fatal(err)
		}
		if b.DSR > a.DSR || a.DSR < 0 || a.DSR > 1 {
			t.Fatalf("DSR %v with %d trials, %v with %d", a.DSR, n, b.DSR, 2*n+1)
		}
	})
}

func TestDeflateBest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	trials := make([][]float64, 20)
	for i := range trials {
		trials[i] = make([]float64, 500)
		for k := range trials[i] {
			trials[i][k] = 0.01 * r.NormFloat64()
		}
	}
	for k := range trials[7] {
		trials[7][k] += 0.004 // a real edge: daily Sharpe ≈ 0.4
	}
	trials[3] = make([]float64, 500) // no trades
	d, best, err := DeflateBest(trials)
	if err != nil {
		t.Fatal(err)
	}
	if best != 7 || d.Trials != 20 || d.DSR < 0.95 {
		t.Errorf("best %d, %+v: want trial 7 with a DSR above 0.95", best, d)
	}
	// Noise alone: the best of 20 is not significant once deflated.
	d, _, err = DeflateBest(append(trials[:7:7], trials[8:]...))
	if err != nil {
		t.Fatal(err)
	}
	if d.DSR > 0.9 {
		t.Errorf("the best of 19 noise trials: DSR %v", d.DSR)
	}
}

func TestBadInput(t *testing.T) {
	good := []float64{0.01, -0.02, 0.03, 0.0, 0.01, -0.01, 0.02, 0.01}
	nan := append([]float64(nil), good...)
	nan[5] = math.NaN()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"too few", errOf(Describe([]float64{1, 2})), "2 periods, need at least 3"},
		{"nan", errOf(Describe(nan)), "period 5 is NaN"},
		{"constant", errOf(Describe([]float64{1, 1, 1})), "same return"},
		{"no trials", errOf3(DeflateBest(nil)), "none given"},
		{"nan trial", errOf3(DeflateBest([][]float64{good, nan})), "trial 1: returns: period 5 is NaN"},
		{"trials 0", errOf(ExpectedMaxSharpe(0, 1)), "trials: 0"},
		{"variance", errOf(ExpectedMaxSharpe(3, -1)), "variance"},
		{"odd S", errOf(PBO([][]float64{good, good}, 3)), "splits: 3, need an even"},
		{"big S", errOf(PBO([][]float64{good, good}, 22)), "splits: 22, at most 20"},
		{"one trial", errOf(PBO([][]float64{good}, 2)), "trials: 1"},
		{"short", errOf(PBO([][]float64{good, good}, 6)), "8 periods cannot make 6 blocks"},
		{"ragged", errOf(PBO([][]float64{good, good[1:]}, 2)), "trial 1: 7 periods, trial 0 has 8"},
		{"pbo nan", errOf(PBO([][]float64{good, nan}, 2)), "trial 1: period 5 is NaN"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, c.err, c.want)
		}
	}
}

func errOf[T any](_ T, err error) error          { return err }
func errOf3[T, U any](_ T, _ U, err error) error { return err }

// A hand-worked CSCV: four trials, two blocks of two periods, so two
// splits. Each block of a trial is [m−1, m+1], whose Sharpe ratio is
// m/√2. Block means: A 4|1, B 3|5, C 2|3, D 1|2.
//   - Train on block 1: A is best (4); on block 2 A ranks 1st of 4 from
//     the bottom, ω = 1/5, logit ln(1/4) < 0: overfit.
//   - Train on block 2: B is best (5); on block 1 B ranks 3rd, ω = 3/5,
//     logit ln(3/2) > 0.
//
// So PBO = ½; the (IS, OOS) Sharpe pairs (4, 1)/√2 and (5, 3)/√2 give a
// slope of 2 and an intercept of −7/√2; no out-of-sample loss.
func TestPBOByHand(t *testing.T) {
	block := func(m1, m2 float64) []float64 { return []float64{m1 - 1, m1 + 1, m2 - 1, m2 + 1} }
	trials := [][]float64{block(4, 1), block(3, 5), block(2, 3), block(1, 2)}
	c, err := PBO(trials, 2)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if c.Combinations != 2 || c.PBO != 0.5 || !near(c.Logits[0], math.Log(0.25)) || !near(c.Logits[1], math.Log(1.5)) {
		t.Errorf("%+v: want PBO ½ and logits ln ¼, ln 3/2", c)
	}
	if !near(c.Slope, 2) || !near(c.Intercept, -7/math.Sqrt2) || c.ProbLoss != 0 {
		t.Errorf("slope %v, intercept %v, loss %v: want 2, %v, 0", c.Slope, c.Intercept, c.ProbLoss, -7/math.Sqrt2)
	}
}

func noise(r *rand.Rand, n, t int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, t)
		for k := range m[i] {
			m[i][k] = 0.01 * r.NormFloat64()
		}
	}
	return m
}

// PBO is a share in [0, 1], and a trial better than every other in every
// period is never overfit.
func TestPBOProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 12).Draw(t, "trials")
		s := 2 * rapid.IntRange(1, 4).Draw(t, "half")
		periods := rapid.IntRange(2*s, 80).Draw(t, "periods")
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		m := noise(r, n, periods)
		c, err := PBO(m, s)
		if err != nil {
			t.Fatal(err)
		}
		if c.PBO < 0 || c.PBO > 1 || len(c.Logits) != c.Combinations || c.Dropped != periods%s {
			t.Fatalf("%+v", c)
		}
		// Trial 0 dominates: in every period above every other trial, with
		// returns that do not vary, so that its Sharpe ratio is the highest
		// in every split (+Inf). A margin per period alone does not make it
		// so: on a split of two periods a noise trial's two returns may be
		// close enough for a larger Sharpe ratio.
		top := math.Inf(-1)
		for i := range m {
			for _, x := range m[i] {
				top = math.Max(top, x)
			}
		}
		for k := range m[0] {
			m[0][k] = top + 1
		}
		if c, _ := PBO(m, s); c.PBO != 0 {
			t.Fatalf("a dominating trial: PBO %v", c.PBO)
		}
	})
}

// Trials of pure noise have no skill to find: the in-sample best is as
// likely below the median out of sample as above, PBO ≈ ½.
func TestPBONoise(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	sum, runs := 0.0, 20
	for range runs {
		c, err := PBO(noise(r, 50, 400), 8)
		if err != nil {
			t.Fatal(err)
		}
		sum += c.PBO
	}
	if mean := sum / float64(runs); math.Abs(mean-0.5) > 0.1 {
		t.Errorf("mean PBO of noise %v, want about 0.5", mean)
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		dsr, pbo float64
		want     string
	}{
		{0.99, 0.05, "Likely genuine"},
		{0.97, 0.3, "Doubtful"},
		{0.7, 0.1, "Doubtful"},
		{0.3, 0.1, "Likely overfit"},
		{0.99, 0.6, "Likely overfit"},
		{0.99, math.NaN(), "Doubtful"},
		{math.NaN(), math.NaN(), "Not measured"},
	} {
		if got := Verdict(c.dsr, c.pbo); !strings.HasPrefix(got, c.want) {
			t.Errorf("Verdict(%v, %v) = %q, want %q…", c.dsr, c.pbo, got, c.want)
		}
	}
}
