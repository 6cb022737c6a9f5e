package sample

import (
	"fmt"
	"math"
)

// GridSteps is how many equal steps the grid cuts a real dimension without
// a Step into: GridSteps+1 values from Low to High, both included (evenly
// spaced on the log scale for a Log dimension).
const GridSteps = 10

// Grid proposes every combination of the dimensions' values once, in a
// fixed order: the first dimension varies slowest, the last fastest, each
// from its lowest value up. The values of a dimension are its choices, its
// whole numbers (every Step-th from the first), its Step values, or
// GridSteps+1 evenly spaced values of a real range. After the last
// combination Ask returns ErrExhausted. The seed plays no part.
type Grid struct {
	values [][]float64
	next   []int // the odometer: the index of the next value of each dimension
	done   bool
}

// NewGrid returns a grid over space (validated by New).
func NewGrid(space Space) *Grid {
	g := &Grid{values: make([][]float64, len(space)), next: make([]int, len(space))}
	for i, d := range space {
		g.values[i] = gridValues(d)
	}
	return g
}

// gridValues lists one dimension's values in increasing order, distinct.
func gridValues(d Dim) []float64 {
	if d.Categorical() {
		v := make([]float64, len(d.Choices))
		for i := range v {
			v[i] = float64(i)
		}
		return v
	}
	if lo, step, n, ok := d.lattice(); ok {
		v := make([]float64, n)
		for k := range v {
			v[k] = lo + float64(k)*step
		}
		return v
	}
	v := make([]float64, 0, GridSteps+1)
	for k := 0; k <= GridSteps; k++ {
		f := float64(k) / GridSteps
		x := d.Low + f*(d.High-d.Low)
		if d.Log {
			x = math.Exp(math.Log(d.Low) + f*(math.Log(d.High)-math.Log(d.Low)))
		}
		if k == 0 || k == GridSteps { // exactly the bounds, whatever the rounding
			x = []float64{d.Low, d.High}[k/GridSteps]
		}
		x = d.Clip(x)
		if len(v) == 0 || x != v[len(v)-1] { // a log-scaled integer range may repeat a value
			v = append(v, x)
		}
	}
	return v
}

// Ask returns the next combination, or ErrExhausted after the last.
func (g *Grid) Ask() ([]float64, error) {
	if g.done {
		return nil, ErrExhausted
	}
	x := make([]float64, len(g.values))
	for i, v := range g.values {
		x[i] = v[g.next[i]]
	}
	g.done = true
	for i := len(g.next) - 1; i >= 0; i-- {
		g.next[i]++
		if g.next[i] < len(g.values[i]) {
			g.done = false
			break
		}
		g.next[i] = 0
	}
	return x, nil
}

// Tell checks the point's length; a grid does not learn.
func (g *Grid) Tell(x []float64, _ float64) error {
	if len(x) != len(g.values) {
		return fmt.Errorf("a point of %d values told to a grid of %d dimensions", len(x), len(g.values))
	}
	return nil
}
