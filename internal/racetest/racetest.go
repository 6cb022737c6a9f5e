// Package racetest is test support for the tests the race detector would
// slow past what they prove: Enabled says whether the binary was built
// with -race, and Skip skips a test under it. It owns the one rule for
// such tests: each one says in its skip message why and where it runs,
// and make test's non-race step (the Makefile's RACE_SKIPPED list) runs
// it without the race detector, which this package's own test checks.
package racetest

import "testing"

// Skip skips the test when the race detector is on, with why it is too
// slow under it; make test runs it without (the Makefile's RACE_SKIPPED).
func Skip(t testing.TB, why string) {
	t.Helper()
	if Enabled {
		t.Skip(why + ": make test runs it without the race detector")
	}
}
