package checks

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/tradai/tradai/sdk"
)

// checkSchema is the schema check: sdk.Spec.Validate (name, timeframe,
// startup count, parameter names and defaults, risk settings), plus what it
// does not cover: every parameter default resolves (not just the first bad
// one), names are identifiers, numeric bounds are numbers with min <= max
// (whole numbers for int parameters), categorical choices are present and
// distinct, and Spec returns the same value on every call.
func checkSchema(s sdk.Strategy) Result {
	r := Result{Name: Schema}
	spec := s.Spec()
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	verr := spec.Validate()
	if verr != nil {
		problems = append(problems, verr.Error())
	}
	for i, p := range spec.Params {
		if !isIdentifier(p.Name) {
			add("parameter %d name %q is not an identifier (letters, digits and _, not starting with a digit)", i+1, p.Name)
		}
		switch p.Kind {
		case sdk.Int, sdk.Float:
			if bad(p.Min) || bad(p.Max) {
				add("parameter %q bounds [%v, %v] must be finite numbers", p.Name, p.Min, p.Max)
			} else if p.Min > p.Max {
				add("parameter %q min %v is above max %v", p.Name, p.Min, p.Max)
			}
			if p.Kind == sdk.Int && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)) {
				add("int parameter %q bounds [%v, %v] must be whole numbers", p.Name, p.Min, p.Max)
			}
		case sdk.Categorical:
			if len(p.Choices) == 0 {
				add("categorical parameter %q has no choices", p.Name)
			}
			seen := map[string]bool{}
			for _, c := range p.Choices {
				if seen[c] {
					add("categorical parameter %q lists choice %q twice", p.Name, c)
				}
				seen[c] = true
			}
		}
		// Validate stops at the first bad default; Resolve checks each one
		// the same way.
		if verr != nil && strings.Contains(verr.Error(), strconv.Quote(p.Name)) {
			continue
		}
		if _, err := spec.Resolve(map[string]any{p.Name: p.Default}); err != nil {
			add("default: %v", err)
		}
	}
	if again := s.Spec(); !reflect.DeepEqual(spec, again) {
		add("Spec returns a different value on a second call; it must be constant")
	}
	if len(problems) == 0 {
		r.Status = Pass
		r.Summary = fmt.Sprintf("spec valid: timeframe %s, startup %d, %s", spec.Timeframe, spec.StartupCandles, plural(len(spec.Params), "parameter", "parameters"))
		return r
	}
	r.Status = Fail
	r.Summary = strings.Join(problems, "; ")
	return r
}

func bad(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
