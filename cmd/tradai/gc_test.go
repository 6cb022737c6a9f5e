package main

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// A backtest process collects at GOGC 400 under a memory limit of half
// the machine's memory (on Linux, where it is known), unless GOGC or
// GOMEMLIMIT is set in its environment; only then is its context marked
// one-shot (the backtest then readies the heap for its files and leaves
// them uncollected).
func TestOneShotGC(t *testing.T) {
	restore := func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
	restore()
	t.Cleanup(restore)
	for _, env := range []map[string]string{{"GOGC": "100"}, {"GOMEMLIMIT": "1GiB"}} {
		if oneShot(oneShotGC(context.Background(), func(k string) string { return env[k] })) {
			t.Errorf("with %v: marked one-shot", env)
		}
		if gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); gc != 100 || limit != math.MaxInt64 {
			t.Errorf("with %v: GOGC %d, limit %d; want them left alone", env, gc, limit)
		}
	}
	ctx := oneShotGC(context.Background(), func(string) string { return "" })
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	if oneShot(ctx) != (runtime.GOOS == "linux") {
		t.Errorf("marked one-shot: %v, want it where the memory is known", oneShot(ctx))
	}
	if oneShot(context.Background()) {
		t.Error("a context of its own is one-shot")
	}
	if runtime.GOOS != "linux" {
		if gc != 100 || limit != math.MaxInt64 {
			t.Errorf("GOGC %d, limit %d; want them left alone where the memory is not known", gc, limit)
		}
		return
	}
	if total := physicalMemory(); gc != 400 || total == 0 || uint64(limit) != total/2 {
		t.Errorf("GOGC %d, limit %d (memory %d); want 400 and half the memory", gc, limit, total)
	}
}
