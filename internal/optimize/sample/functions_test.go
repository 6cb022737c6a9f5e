package sample

import (
	"math"
	"testing"
)

// The test functions of the sampler tests, with their domains and known
// minima (Surjanovic & Bingham's Virtual Library of Simulation
// Experiments lists all three).
type testFunction struct {
	name  string
	space Space
	f     func([]float64) float64
	min   float64 // f*, the global minimum
	max   float64 // the maximum over the domain
}

var branin = testFunction{
	name:  "Branin",
	space: Space{{Name: "x1", Low: -5, High: 10}, {Name: "x2", Low: 0, High: 15}},
	f: func(x []float64) float64 {
		b, c, t := 5.1/(4*math.Pi*math.Pi), 5/math.Pi, 1/(8*math.Pi)
		d := x[1] - b*x[0]*x[0] + c*x[0] - 6
		return d*d + 10*(1-t)*math.Cos(x[0]) + 10
	},
	min: 0.397887357729739,
	max: 308.129096, // at (−5, 0)
}

var hartmann6 = testFunction{
	name: "Hartmann-6",
	space: Space{
		{Name: "x1", High: 1}, {Name: "x2", High: 1}, {Name: "x3", High: 1},
		{Name: "x4", High: 1}, {Name: "x5", High: 1}, {Name: "x6", High: 1},
	},
	f: func(x []float64) float64 {
		alpha := [4]float64{1.0, 1.2, 3.0, 3.2}
		a := [4][6]float64{
			{10, 3, 17, 3.5, 1.7, 8},
			{0.05, 10, 17, 0.1, 8, 14},
			{3, 3.5, 1.7, 10, 17, 8},
			{17, 8, 0.05, 10, 0.1, 14},
		}
		p := [4][6]float64{
			{1312, 1696, 5569, 124, 8283, 5886},
			{2329, 4135, 8307, 3736, 1004, 9991},
			{2348, 1451, 3522, 2883, 3047, 6650},
			{4047, 8828, 8732, 5743, 1091, 381},
		}
		sum := 0.0
		for i := range 4 {
			e := 0.0
			for j := range 6 {
				d := x[j] - p[i][j]*1e-4
				e += a[i][j] * d * d
			}
			sum += alpha[i] * math.Exp(-e)
		}
		return -sum
	},
	min: -3.32236801141551,
	max: 0,
}

var rosenbrock = testFunction{
	name:  "Rosenbrock-2",
	space: Space{{Name: "x", Low: -2, High: 2}, {Name: "y", Low: -2, High: 2}},
	f: func(x []float64) float64 {
		a, b := 1-x[0], x[1]-x[0]*x[0]
		return a*a + 100*b*b
	},
	min: 0,
	max: 3609, // at (−2, −2)
}

// The test functions take their published minima at their minimisers.
func TestFunctionsMinima(t *testing.T) {
	for _, c := range []struct {
		f testFunction
		x []float64
	}{
		{branin, []float64{math.Pi, 2.275}},
		{hartmann6, []float64{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}},
		{rosenbrock, []float64{1, 1}},
	} {
		if y := c.f.f(c.x); math.Abs(y-c.f.min) > 1e-5 {
			t.Errorf("%s%v = %v, want %v", c.f.name, c.x, y, c.f.min)
		}
	}
}
