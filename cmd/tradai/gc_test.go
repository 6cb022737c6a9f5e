package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// A backtest process collects at GOGC 400 under a memory limit of half
// the machine's memory (on Linux, where it is known), unless GOGC or
// GOMEMLIMIT is set in its environment.
func TestOneShotGC(t *testing.T) {
	restore := func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
	restore()
	t.Cleanup(restore)
	for _, env := range []map[string]string{{"GOGC": "100"}, {"GOMEMLIMIT": "1GiB"}} {
		oneShotGC(func(k string) string { return env[k] })
		if gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); gc != 100 || limit != math.MaxInt64 {
			t.Errorf("with %v: GOGC %d, limit %d; want them left alone", env, gc, limit)
		}
	}
	oneShotGC(func(string) string { return "" })
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
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
