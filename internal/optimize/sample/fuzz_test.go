package sample

import (
	"math"
	"testing"
)

// FuzzDim: any dimension a strategy or a user can declare is refused by
// Validate or sampled inside itself by every sampler.
func FuzzDim(f *testing.F) {
	f.Add(0.0, 1.0, 0.0, false, false, uint8(0), 0.3)
	f.Add(1.0, 1000.0, 0.0, true, true, uint8(0), 7.0)
	f.Add(0.01, 0.2, 0.005, false, false, uint8(0), 0.1)
	f.Add(0.0, 0.0, 0.0, false, false, uint8(3), 1.0)
	f.Fuzz(func(t *testing.T, low, high, step float64, isInt, log bool, choices uint8, x float64) {
		d := Dim{Name: "p", Low: low, High: high, Step: step, Int: isInt, Log: log}
		for i := range int(choices % 5) {
			d.Choices = append(d.Choices, string(rune('a'+i)))
		}
		if d.Validate() != nil || (!d.Categorical() && (math.Abs(low) > 1e12 || math.Abs(high) > 1e12 || (d.Step > 0 && (high-low)/d.Step > 1e6))) {
			return
		}
		space := Space{d, {Name: "q", High: 1}}
		inside := func(v float64) {
			if math.IsNaN(v) || d.Clip(v) != v {
				t.Fatalf("%+v: %v is outside", d, v)
			}
		}
		if !math.IsNaN(x) {
			inside(d.Clip(x))
		}
		for _, name := range []string{"random", "grid", "tpe", "cmaes"} {
			s, err := New(name, space, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 14 {
				p, err := s.Ask()
				if err != nil {
					break
				}
				inside(p[0])
				if err := s.Tell(p, float64(i%4)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
