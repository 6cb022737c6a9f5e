//go:build race

package hugepage

const raceOn = true
