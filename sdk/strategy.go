package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Strategy is a vectorized trading strategy.
type Strategy interface {
	// Spec declares the strategy: name, timeframe, warm-up, parameters and
	// default risk settings. It must return the same value on every call.
	Spec() Spec
	// Populate fills the frame's signal columns (call f.EnsureSignals first)
	// using parameter values p. It must not look ahead: the decision for
	// candle i may only use candles 0..i.
	Populate(f *Frame, p Values) error
}

// Spec describes a strategy.
type Spec struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Timeframe   Timeframe `json:"timeframe"`
	// StartupCandles is how many candles the indicators need before their
	// values are usable. The engine loads that many extra candles before the
	// requested time range and never trades on them.
	StartupCandles int  `json:"startup_candle_count"`
	CanShort       bool `json:"can_short"`
	// FileSignals declares that the strategy trades the signal columns
	// stored in the data file (enter_long, exit_long, ...) instead of
	// computing them: the engine then hands Populate those columns, where
	// every other strategy gets fresh all-false ones, and `tradai strategy
	// check` has nothing to check. The strategy protocol sends only candle
	// columns, so it is for built-in strategies; a spec without the field
	// computes its signals.
	FileSignals bool    `json:"file_signals,omitempty"`
	Params      []Param `json:"parameters,omitempty"`
	Risk        Risk    `json:"risk"`
}

// ParamKind is the type of a strategy parameter.
type ParamKind string

// Parameter kinds.
const (
	Int         ParamKind = "int"
	Float       ParamKind = "float"
	Bool        ParamKind = "bool"
	Categorical ParamKind = "categorical"
)

// Param declares one tunable parameter. Min and Max bound Int and Float
// parameters (inclusive) and form the optimization range; Choices lists the
// values of a Categorical one. Default must lie in range.
type Param struct {
	Name    string    `json:"name"`
	Kind    ParamKind `json:"kind"`
	Default any       `json:"default"`
	Min     float64   `json:"min,omitempty"`
	Max     float64   `json:"max,omitempty"`
	Choices []string  `json:"choices,omitempty"`
	Help    string    `json:"help,omitempty"`
}

// Values holds resolved parameter values by name: int, float64, bool or
// string according to each Param's kind.
type Values map[string]any

// Int returns the value of an int parameter (0 if absent).
func (v Values) Int(name string) int {
	switch x := v[name].(type) {
	case int:
		return x
	case float64:
		return int(x)
	}
	return 0
}

// Float returns the value of a float parameter (0 if absent).
func (v Values) Float(name string) float64 {
	switch x := v[name].(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// Bool returns the value of a bool parameter.
func (v Values) Bool(name string) bool { b, _ := v[name].(bool); return b }

// String returns the value of a categorical parameter.
func (v Values) String(name string) string { s, _ := v[name].(string); return s }

// Resolve checks overrides against the declared parameters and returns the
// full set of values: defaults, replaced by overrides. An override for an
// undeclared parameter, of the wrong type, or out of range is an error that
// names the parameter. JSON numbers (float64) are accepted for int
// parameters when they are whole.
func (s Spec) Resolve(overrides map[string]any) (Values, error) {
	out := make(Values, len(s.Params))
	known := make(map[string]Param, len(s.Params))
	for _, p := range s.Params {
		known[p.Name] = p
		out[p.Name] = p.Default
	}
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := known[name]
		if !ok {
			return nil, fmt.Errorf("strategy %s has no parameter %q", s.Name, name)
		}
		v, err := p.coerce(overrides[name])
		if err != nil {
			return nil, fmt.Errorf("strategy %s parameter %q: %w", s.Name, name, err)
		}
		out[name] = v
	}
	return out, nil
}

// Validate checks the spec itself: a name, a valid timeframe, a non-negative
// startup count, well-formed parameters and risk settings.
func (s Spec) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("strategy has no name")
	}
	if !s.Timeframe.Valid() {
		return fmt.Errorf("strategy %s: unknown timeframe %q", s.Name, s.Timeframe)
	}
	if s.StartupCandles < 0 {
		return fmt.Errorf("strategy %s: startup candle count %d is negative", s.Name, s.StartupCandles)
	}
	seen := map[string]bool{}
	for _, p := range s.Params {
		if p.Name == "" {
			return fmt.Errorf("strategy %s: a parameter has no name", s.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("strategy %s: parameter %q declared twice", s.Name, p.Name)
		}
		seen[p.Name] = true
		if _, err := p.coerce(p.Default); err != nil {
			return fmt.Errorf("strategy %s parameter %q default: %w", s.Name, p.Name, err)
		}
	}
	if err := s.Risk.Validate(); err != nil {
		return fmt.Errorf("strategy %s: %w", s.Name, err)
	}
	return nil
}

func (p Param) coerce(v any) (any, error) {
	switch p.Kind {
	case Int:
		var n float64
		switch x := v.(type) {
		case int:
			n = float64(x)
		case float64:
			n = x
		default:
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		if n != math.Trunc(n) {
			return nil, fmt.Errorf("want an integer, got %v", n)
		}
		if n < p.Min || n > p.Max {
			return nil, fmt.Errorf("%v is outside [%v, %v]", n, p.Min, p.Max)
		}
		return int(n), nil
	case Float:
		var n float64
		switch x := v.(type) {
		case int:
			n = float64(x)
		case float64:
			n = x
		default:
			return nil, fmt.Errorf("want a number, got %T", v)
		}
		if math.IsNaN(n) || n < p.Min || n > p.Max {
			return nil, fmt.Errorf("%v is outside [%v, %v]", n, p.Min, p.Max)
		}
		return n, nil
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %T", v)
		}
		return b, nil
	case Categorical:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		for _, c := range p.Choices {
			if c == s {
				return s, nil
			}
		}
		return nil, fmt.Errorf("%q is not one of %v", s, p.Choices)
	}
	return nil, fmt.Errorf("unknown parameter kind %q", p.Kind)
}

// Risk holds the trade-management settings a strategy ships with, named as
// in Freqtrade. A backtest config overrides each of them.
type Risk struct {
	// MinimalROI maps trade age to the profit ratio at which the trade exits.
	MinimalROI ROITable `json:"minimal_roi"`
	// Stoploss is a negative ratio of the stake, e.g. -0.10.
	Stoploss                    float64 `json:"stoploss"`
	TrailingStop                bool    `json:"trailing_stop"`
	TrailingStopPositive        float64 `json:"trailing_stop_positive,omitempty"`
	TrailingStopPositiveOffset  float64 `json:"trailing_stop_positive_offset,omitempty"`
	TrailingOnlyOffsetIsReached bool    `json:"trailing_only_offset_is_reached,omitempty"`
}

// Validate checks the ranges of the risk settings.
func (r Risk) Validate() error {
	if r.Stoploss >= 0 || r.Stoploss < -1 || math.IsNaN(r.Stoploss) {
		return fmt.Errorf("stoploss %v must be in [-1, 0)", r.Stoploss)
	}
	if r.TrailingStopPositive < 0 || r.TrailingStopPositive >= 1 {
		return fmt.Errorf("trailing_stop_positive %v must be in [0, 1)", r.TrailingStopPositive)
	}
	if r.TrailingStopPositiveOffset < 0 {
		return fmt.Errorf("trailing_stop_positive_offset %v must not be negative", r.TrailingStopPositiveOffset)
	}
	if r.TrailingStopPositive > 0 && r.TrailingStopPositiveOffset > 0 && r.TrailingStopPositiveOffset <= r.TrailingStopPositive {
		return fmt.Errorf("trailing_stop_positive_offset %v must be greater than trailing_stop_positive %v", r.TrailingStopPositiveOffset, r.TrailingStopPositive)
	}
	return r.MinimalROI.Validate()
}

// ROIStep is one entry of a ROI table: from a trade age of Minutes on, the
// trade exits once its profit ratio exceeds Ratio. A Ratio of -1 forces an
// exit at that age.
type ROIStep struct {
	Minutes int64
	Ratio   float64
}

// ROITable is a ROI table sorted by age. Its JSON form is Freqtrade's:
// {"0": 0.04, "30": 0.02, "60": 0}.
type ROITable []ROIStep

// Validate checks that ages are non-negative and distinct and ratios are
// numbers no lower than -1.
func (t ROITable) Validate() error {
	for i, s := range t {
		if s.Minutes < 0 {
			return fmt.Errorf("minimal_roi: age %d minutes is negative", s.Minutes)
		}
		if math.IsNaN(s.Ratio) || s.Ratio < -1 {
			return fmt.Errorf("minimal_roi[%d]: ratio %v must be a number >= -1", s.Minutes, s.Ratio)
		}
		if i > 0 && t[i-1].Minutes >= s.Minutes {
			return fmt.Errorf("minimal_roi: ages must be distinct and sorted")
		}
	}
	return nil
}

// At returns the entry in force for a trade age of ageMinutes: the one with
// the largest age not above ageMinutes. ok is false when there is none.
func (t ROITable) At(ageMinutes int64) (step ROIStep, ok bool) {
	for i := len(t) - 1; i >= 0; i-- {
		if t[i].Minutes <= ageMinutes {
			return t[i], true
		}
	}
	return ROIStep{}, false
}

// MarshalJSON writes the table as Freqtrade's object of minutes to ratio.
func (t ROITable) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, s := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, strconv.FormatInt(s.Minutes, 10))
		b = append(b, ':')
		b = strconv.AppendFloat(b, s.Ratio, 'g', -1, 64)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads Freqtrade's object of minutes (as strings) to ratio.
func (t *ROITable) UnmarshalJSON(data []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("minimal_roi must be an object of minutes to ratio: %w", err)
	}
	out := make(ROITable, 0, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return fmt.Errorf("minimal_roi key %q is not a whole number of minutes", k)
		}
		out = append(out, ROIStep{Minutes: n, Ratio: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Minutes < out[j].Minutes })
	if err := out.Validate(); err != nil {
		return err
	}
	*t = out
	return nil
}
