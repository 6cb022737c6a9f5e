//go:build race

package racetest

// Enabled: the binary was built with the race detector.
const Enabled = true
