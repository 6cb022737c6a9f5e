package sample

import (
	"math"
	"strings"
	"testing"
)

func TestSpaceValidate(t *testing.T) {
	cases := []struct {
		space Space
		want  string
	}{
		{nil, "no dimensions"},
		{Space{{Name: "a", Low: 2, High: 1}}, `"a": low 2 is above high 1`},
		{Space{{Name: "a", Low: 0, High: 1, Log: true}}, `"a": a log scale`},
		{Space{{Name: "a", Low: 0.2, High: 0.8, Int: true}}, `"a": no whole number`},
		{Space{{Name: "a", Low: math.NaN(), High: 1}}, `"a": range`},
		{Space{{Name: "a", High: 1}, {Name: "a", High: 2}}, `"a" appears twice`},
		{Space{{High: 1}}, "no name"},
	}
	for _, c := range cases {
		err := c.space.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.space, err, c.want)
		}
	}
	if _, err := New("annealing", Space{{Name: "a", High: 1}}, 1); err == nil || !strings.Contains(err.Error(), "random") {
		t.Errorf("unknown sampler: %v", err)
	}
}

// Random points stay in the space, take every integer and choice, and are
// the same for the same seed.
func TestRandomInSpaceAndSeeded(t *testing.T) {
	space := Space{
		{Name: "x", Low: -1, High: 1},
		{Name: "n", Low: 3, High: 5, Int: true},
		{Name: "lr", Low: 1e-4, High: 1, Log: true},
		{Name: "c", Choices: []string{"a", "b", "c"}},
	}
	s, err := New("random", space, 7)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := New("random", space, 7)
	ints, choices := map[float64]bool{}, map[float64]bool{}
	for range 2000 {
		x, _ := s.Ask()
		y, _ := again.Ask()
		for i, d := range space {
			if x[i] != y[i] {
				t.Fatalf("same seed, different points: %v and %v", x, y)
			}
			if d.Clip(x[i]) != x[i] {
				t.Fatalf("%s = %v is outside the dimension", d.Name, x[i])
			}
		}
		ints[x[1]], choices[x[3]] = true, true
	}
	if len(ints) != 3 || len(choices) != 3 {
		t.Errorf("integers drawn %v, choices drawn %v: want all three of each", ints, choices)
	}
}
