package optimize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/internal/optimize/sample"
)

// The loss depends on x and on the choice, never on noise: x and the
// choice explain it, noise gets about the chance share; failed trials and
// the 100000 loss do not swamp the figures.
func TestImportance(t *testing.T) {
	dims := sample.Space{{Name: "x", Low: 0, High: 1}, {Name: "noise", Low: 0, High: 1}, {Name: "mode", Choices: []string{"a", "b"}}}
	r := rand.New(rand.NewPCG(3, 4))
	var trials []Trial
	for i := range 2000 {
		x, noise, mode := r.Float64(), r.Float64(), float64(r.IntN(2))
		loss := x*x + 0.5*mode
		if i%100 == 0 {
			loss = MaxLoss
		}
		tr := Trial{Number: i + 1, Point: []float64{x, noise, mode}, Loss: loss}
		if i%50 == 1 {
			tr.Err, tr.Loss = "failed", math.Inf(1)
		}
		trials = append(trials, tr)
	}
	imp := Importance(dims, trials)
	byName := map[string]ParamImportance{}
	for _, p := range imp {
		byName[p.Name] = p
	}
	if imp[0].Name != "x" || byName["x"].Share < 0.5 || byName["mode"].Share < 0.1 || byName["x"].Bins != ImportanceBins || byName["mode"].Bins != 2 {
		t.Errorf("importance %+v", imp)
	}
	if n := byName["noise"]; n.Share > 5*n.Chance || n.Chance <= 0 {
		t.Errorf("noise explains %v (chance %v)", n.Share, n.Chance)
	}
	if Importance(dims, trials[:2]) != nil {
		t.Error("two trials ranked")
	}
}

func TestRanksTies(t *testing.T) {
	v := []float64{3, 1, 3, 2}
	got := ranks(len(v), func(i int) float64 { return v[i] })
	want := []float64{3.5, 1, 3.5, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranks %v, want %v", got, want)
		}
	}
}
