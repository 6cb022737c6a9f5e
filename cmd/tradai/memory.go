package main

import (
	"context"
	"math"
	"runtime/debug"

	"github.com/tradai/tradai/internal/hugepage"
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
//
// It returns ctx marked as that of such a process (see oneShot) when it
// changed the collector's settings.
func oneShotGC(ctx context.Context, getenv func(string) string) context.Context {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return ctx
	}
	total := physicalMemory()
	if total == 0 {
		return ctx
	}
	debug.SetMemoryLimit(int64(min(total/2, math.MaxInt64)))
	debug.SetGCPercent(400)
	return context.WithValue(ctx, oneShotKey{}, true)
}

// oneShotKey is the context key of a process whose collector oneShotGC set.
type oneShotKey struct{}

// oneShot reports whether ctx is that of a process that does one backtest
// and ends, whose collector oneShotGC set: the backtest command then also
// readies the heap for its files (readyFilesHeap) and leaves them
// uncollected (keepFilesUncollected).
func oneShot(ctx context.Context) bool {
	v, _ := ctx.Value(oneShotKey{}).(bool)
	return v
}

// readyFilesHeap readies the heap of a one-shot backtest (oneShot) that
// writes --export-json or --report for its files, as soon as it starts:
// writing the files of a million-candle backtest allocates about 10 MB in
// small pieces, which took a page fault per 4 KB (3.1k faults a run with
// both files against 2.1k without; a page fault costs 10-20 µs on the
// virtual machines we measure on). hugepage.Prime makes filesHeap of the
// heap huge-page backed; it allocates with the collector off, and the
// collection that starts at the next allocation, beside the loading,
// frees the block for reuse.
func readyFilesHeap(ctx context.Context) {
	if !oneShot(ctx) {
		return
	}
	old := debug.SetGCPercent(-1)
	hugepage.Prime(filesHeap)
	debug.SetGCPercent(old)
}

// filesHeap is how much of the heap readyFilesHeap readies: the files of
// a million candles and 19k trades with room to spare.
const filesHeap = 32 << 20

// keepFilesUncollected stops the collector while a one-shot backtest
// writes its files: they are the process's last work, and a collection
// in their middle (the heap passes its goal, 16 MB, there) stops both
// cores for up to a few milliseconds and makes them help mark. Their
// allocations, about 10 MB for a million candles and growing with the
// trades, are bounded, and the memory limit oneShotGC set still holds.
func keepFilesUncollected(ctx context.Context) {
	if oneShot(ctx) {
		debug.SetGCPercent(-1)
	}
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
