// Package strategy holds TradAI's built-in strategies and resolves a
// strategy reference (a name) to an implementation of sdk.Strategy.
package strategy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tradai/tradai/sdk"
)

// Builtins returns a fresh instance of every built-in strategy, by name.
func Builtins() map[string]sdk.Strategy {
	list := []sdk.Strategy{SMACross{}, RSIBollinger{}, MACDTrend{}, Signals{}}
	m := make(map[string]sdk.Strategy, len(list))
	for _, s := range list {
		m[s.Spec().Name] = s
	}
	return m
}

// Names lists the built-in strategies in alphabetical order.
func Names() []string {
	var out []string
	for n := range Builtins() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the built-in strategy called name.
func Lookup(name string) (sdk.Strategy, error) {
	if s, ok := Builtins()[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (built-in strategies: %s)", name, strings.Join(Names(), ", "))
}
