package optimize

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/sdk"
)

// The spaces a study searches, named as Freqtrade's --spaces.
const (
	SpaceBuy      = "buy"
	SpaceSell     = "sell"
	SpaceROI      = "roi"
	SpaceStoploss = "stoploss"
	SpaceTrailing = "trailing"
)

// SpaceNames lists the spaces NewSpace knows, with the two groups
// "default" (buy, sell, roi, stoploss: Freqtrade's default) and "all".
func SpaceNames() []string {
	return []string{SpaceBuy, SpaceSell, SpaceROI, SpaceStoploss, SpaceTrailing, "default", "all"}
}

// ParamSpace is the space of a strategy parameter by Freqtrade's naming
// convention: "sell" for a name starting with sell_ or exit_, "buy" for
// every other (our Spec has no buy/sell split).
func ParamSpace(name string) string {
	if strings.HasPrefix(name, "sell_") || strings.HasPrefix(name, "exit_") {
		return SpaceSell
	}
	return SpaceBuy
}

// Space is the search space of a study: the dimensions of the selected
// strategy parameters, then those of the roi, stoploss and trailing
// spaces, and how a point of them becomes parameter values and risk
// settings.
type Space struct {
	dims     sample.Space
	params   []sdk.Param // the searched strategy parameters: dims[:len(params)]
	roi      int         // index of the first roi dimension, or -1
	stoploss int         // index of the stoploss dimension, or -1
	trailing int         // index of the first trailing dimension, or -1
	spaces   []string    // the selected non-empty spaces, in canonical order
}

// NewSpace returns the space of names (see [SpaceNames]) for a strategy
// declaring spec, traded on timeframe tf (the roi space scales with it).
// A space named explicitly that has no dimension for the strategy (sell
// without a sell_/exit_ parameter) is an error naming it; "default" and
// "all" skip such spaces.
func NewSpace(spec sdk.Spec, tf sdk.Timeframe, names []string) (*Space, error) {
	want := map[string]bool{}
	explicit := map[string]bool{}
	for _, n := range names {
		switch n {
		case "default":
			for _, s := range []string{SpaceBuy, SpaceSell, SpaceROI, SpaceStoploss} {
				want[s] = true
			}
		case "all":
			for _, s := range []string{SpaceBuy, SpaceSell, SpaceROI, SpaceStoploss, SpaceTrailing} {
				want[s] = true
			}
		case SpaceBuy, SpaceSell, SpaceROI, SpaceStoploss, SpaceTrailing:
			want[n], explicit[n] = true, true
		default:
			return nil, fmt.Errorf("--spaces: unknown space %q (known: %s)", n, strings.Join(SpaceNames(), ", "))
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("--spaces: no space selected (known: %s)", strings.Join(SpaceNames(), ", "))
	}
	s := &Space{roi: -1, stoploss: -1, trailing: -1}
	for _, sp := range []string{SpaceBuy, SpaceSell} {
		if !want[sp] {
			continue
		}
		n := 0
		for _, p := range spec.Params {
			if ParamSpace(p.Name) != sp {
				continue
			}
			d, err := paramDim(p)
			if err != nil {
				return nil, fmt.Errorf("--spaces %s: strategy %s: %w", sp, spec.Name, err)
			}
			s.dims = append(s.dims, d)
			s.params = append(s.params, p)
			n++
		}
		if n == 0 && explicit[sp] {
			return nil, fmt.Errorf("--spaces %s: strategy %s declares no %s parameter (%s)", sp, spec.Name, sp, conventionHelp(sp))
		}
		if n > 0 {
			s.spaces = append(s.spaces, sp)
		}
	}
	if want[SpaceROI] {
		s.roi = len(s.dims)
		s.dims = append(s.dims, roiDims(tf)...)
		s.spaces = append(s.spaces, SpaceROI)
	}
	if want[SpaceStoploss] {
		s.stoploss = len(s.dims)
		s.dims = append(s.dims, sample.Dim{Name: "stoploss", Low: -0.35, High: -0.02, Step: 0.001})
		s.spaces = append(s.spaces, SpaceStoploss)
	}
	if want[SpaceTrailing] {
		s.trailing = len(s.dims)
		s.dims = append(s.dims,
			sample.Dim{Name: "trailing_stop_positive", Low: 0.01, High: 0.35, Step: 0.001},
			sample.Dim{Name: "trailing_stop_positive_offset_p1", Low: 0.001, High: 0.1, Step: 0.001},
			sample.Dim{Name: "trailing_only_offset_is_reached", Choices: []string{"false", "true"}},
		)
		s.spaces = append(s.spaces, SpaceTrailing)
	}
	if len(s.dims) == 0 {
		return nil, fmt.Errorf("--spaces %s: strategy %s has no parameter in these spaces (buy: parameters not named sell_*/exit_*; sell: those named so)",
			strings.Join(names, " "), spec.Name)
	}
	if err := s.dims.Validate(); err != nil {
		return nil, fmt.Errorf("--spaces: %w", err)
	}
	return s, nil
}

func conventionHelp(sp string) string {
	if sp == SpaceSell {
		return "sell parameters are those named sell_* or exit_*"
	}
	return "buy parameters are those not named sell_* or exit_*"
}

// paramDim is the dimension of a declared strategy parameter.
func paramDim(p sdk.Param) (sample.Dim, error) {
	switch p.Kind {
	case sdk.Int:
		return sample.Dim{Name: p.Name, Low: p.Min, High: p.Max, Int: true}, nil
	case sdk.Float:
		return sample.Dim{Name: p.Name, Low: p.Min, High: p.Max}, nil
	case sdk.Bool:
		return sample.Dim{Name: p.Name, Choices: []string{"false", "true"}}, nil
	case sdk.Categorical:
		if len(p.Choices) == 0 {
			return sample.Dim{}, fmt.Errorf("parameter %q has no choices", p.Name)
		}
		return sample.Dim{Name: p.Name, Choices: p.Choices}, nil
	}
	return sample.Dim{}, fmt.Errorf("parameter %q: unknown kind %q", p.Name, p.Kind)
}

// roiDims is Freqtrade's roi space for tf: three time steps scaled
// linearly with the candle length and three profit steps scaled by
// log(1+minutes)/log(1+5), both exactly Freqtrade's legacy ranges on 5m.
func roiDims(tf sdk.Timeframe) sample.Space {
	minutes := float64(timeframeMinutes(tf))
	ts := minutes / 5
	ps := math.Log1p(minutes) / math.Log1p(5)
	t := func(v float64) float64 { return math.Max(1, math.Trunc(v*ts)) }
	return sample.Space{
		{Name: "roi_t1", Low: t(10), High: t(120), Int: true},
		{Name: "roi_t2", Low: t(10), High: t(60), Int: true},
		{Name: "roi_t3", Low: t(10), High: t(40), Int: true},
		{Name: "roi_p1", Low: 0.01 * ps, High: 0.04 * ps, Step: 0.001},
		{Name: "roi_p2", Low: 0.01 * ps, High: 0.07 * ps, Step: 0.001},
		{Name: "roi_p3", Low: 0.01 * ps, High: 0.20 * ps, Step: 0.001},
	}
}

// timeframeMinutes is tf's length in minutes (a month counts 30 days, as
// in Freqtrade).
func timeframeMinutes(tf sdk.Timeframe) int64 {
	if ms := tf.Millis(); tf != "1M" && ms > 0 {
		return max(1, ms/60_000)
	}
	return 30 * 24 * 60
}

// Dims returns the space's dimensions, in the order of a point's
// coordinates.
func (s *Space) Dims() sample.Space { return s.dims }

// Spaces returns the selected spaces that have dimensions, in the order
// buy, sell, roi, stoploss, trailing.
func (s *Space) Spaces() []string { return s.spaces }

// Has reports whether the space searches the named space.
func (s *Space) Has(name string) bool {
	for _, sp := range s.spaces {
		if sp == name {
			return true
		}
	}
	return false
}

// Point is one point of a space as the backtest takes it.
type Point struct {
	// Params holds the searched strategy parameters' values (int,
	// float64, bool or string, by kind).
	Params map[string]any
	// Risk is the base risk settings with the point's roi, stoploss and
	// trailing values.
	Risk sdk.Risk
}

// Decode turns x (in the order of Dims) into parameter values and the
// risk settings base with the searched roi, stoploss and trailing values
// (Freqtrade's decimals: ratios rounded to 0.001). The roi table is
// Freqtrade's: {0: p1+p2+p3, t3: p1+p2, t3+t2: p1, t3+t2+t1: 0};
// trailing sets trailing_stop and an offset of trailing_stop_positive plus
// the searched difference.
func (s *Space) Decode(x []float64, base sdk.Risk) Point {
	p := Point{Params: make(map[string]any, len(s.params)), Risk: base}
	for i, prm := range s.params {
		v := s.dims[i].Clip(x[i])
		switch prm.Kind {
		case sdk.Int:
			p.Params[prm.Name] = int(v)
		case sdk.Float:
			p.Params[prm.Name] = v
		case sdk.Bool:
			p.Params[prm.Name] = v == 1
		case sdk.Categorical:
			p.Params[prm.Name] = prm.Choices[int(v)]
		}
	}
	at := func(k int) float64 { return s.dims[k].Clip(x[k]) }
	if k := s.roi; k >= 0 {
		t1, t2, t3 := int64(at(k)), int64(at(k+1)), int64(at(k+2))
		p1, p2, p3 := dec3(at(k+3)), dec3(at(k+4)), dec3(at(k+5))
		p.Risk.MinimalROI = sdk.ROITable{
			{Minutes: 0, Ratio: dec3(p1 + p2 + p3)},
			{Minutes: t3, Ratio: dec3(p1 + p2)},
			{Minutes: t3 + t2, Ratio: p1},
			{Minutes: t3 + t2 + t1, Ratio: 0},
		}
	}
	if k := s.stoploss; k >= 0 {
		p.Risk.Stoploss = dec3(at(k))
	}
	if k := s.trailing; k >= 0 {
		pos := dec3(at(k))
		p.Risk.TrailingStop = true
		p.Risk.TrailingStopPositive = pos
		p.Risk.TrailingStopPositiveOffset = dec3(pos + dec3(at(k+1)))
		p.Risk.TrailingOnlyOffsetIsReached = at(k+2) == 1
	}
	return p
}

// dec3 rounds a ratio to Freqtrade's 3 decimals.
func dec3(v float64) float64 { return math.Round(v*1000) / 1000 }

// ParamKey identifies the strategy-parameter part of x: two points with
// the same key have the same signals.
func (s *Space) ParamKey(x []float64) string {
	var b []byte
	for i := range s.params {
		b = strconv.AppendFloat(b, s.dims[i].Clip(x[i]), 'g', -1, 64)
		b = append(b, ',')
	}
	return string(b)
}
