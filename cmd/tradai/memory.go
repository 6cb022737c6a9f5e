package main

import (
	"context"
	"math"
	"runtime/debug"

	"github.com/tradai/tradai/internal/optimize"
)

// oneShotGC lets the collector of a `tradai backtest` process, which does
// one run and ends, run a quarter as often (GOGC 400): beside its candle
// files, which are mapped, not on the heap, its live heap is small and
// little garbage is made, and collecting cost about a tenth of its CPU.
// The peak memory stays that of GOGC 100 (20 pairs × 5M candles: 1.08×
// the candle columns either way, BenchmarkPortfolio20x5M with GOGC=400);
// a memory limit of half the machine's memory bounds the heap all the
// same. Nothing is changed when the environment (getenv) sets GOGC or
// GOMEMLIMIT, or where the machine's memory is not known.
func oneShotGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	total := physicalMemory()
	if total == 0 {
		return
	}
	debug.SetMemoryLimit(int64(min(total/2, math.MaxInt64)))
	debug.SetGCPercent(400)
}

// studyMemoryKey is the context key of the MemoryLimit of a process
// running studies (withStudyMemory).
type studyMemoryKey struct{}

// withStudyMemory gives the study commands (hyperopt, walkforward) run
// with ctx a MemoryLimit for this process (see optimize.MemoryLimit: nil,
// none, when getenv sets GOGC or GOMEMLIMIT). Only main does: the tests'
// runs of the commands leave the test process's memory limit alone.
func withStudyMemory(ctx context.Context, getenv func(string) string) context.Context {
	return context.WithValue(ctx, studyMemoryKey{}, optimize.NewMemoryLimit(getenv))
}

// studyMemory is ctx's MemoryLimit, nil when none.
func studyMemory(ctx context.Context) *optimize.MemoryLimit {
	m, _ := ctx.Value(studyMemoryKey{}).(*optimize.MemoryLimit)
	return m
}
