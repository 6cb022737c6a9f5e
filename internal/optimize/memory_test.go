package optimize

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// The user's GOGC or GOMEMLIMIT wins: no MemoryLimit, and a nil one does
// nothing.
func TestMemoryLimitEnvironment(t *testing.T) {
	for _, env := range []map[string]string{{"GOGC": "200"}, {"GOMEMLIMIT": "1GiB"}} {
		m := NewMemoryLimit(func(k string) string { return env[k] })
		if m != nil {
			t.Fatalf("with %v: a MemoryLimit; want none", env)
		}
		m.Settle()
		if m.Limit() != 0 {
			t.Errorf("with %v: limit %d", env, m.Limit())
		}
	}
}

// A study with a MemoryLimit sets the runtime's limit to the live heap
// and its headroom, and a larger live heap raises it; it is never
// lowered.
func TestMemoryLimitSettles(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	m := NewMemoryLimit(func(string) string { return "" })
	fx := setup(t, 2, 3000, []string{"buy", "roi", "stoploss"}, 1)
	fx.opts.Memory = m
	if _, err := Run(context.Background(), fx.opts); err != nil {
		t.Fatal(err)
	}
	first := m.Limit()
	if got := debug.SetMemoryLimit(-1); first == 0 || uint64(got) != first {
		t.Fatalf("after a study: limit %d, runtime's %d; want them equal and set", first, got)
	}
	live := heapAfterGC()
	m.Settle()
	if first = m.Limit(); first < live+minHeadroom {
		t.Errorf("limit %d under the live heap %d and %d of headroom", first, live, minHeadroom)
	}
	raised := func() uint64 {
		ballast := make([]byte, 3*first) // held: the live heap grows past the limit
		runtime.GC()
		m.Settle()
		if m.Limit() < uint64(len(ballast)) || uint64(debug.SetMemoryLimit(-1)) != m.Limit() {
			t.Errorf("after the live heap grew to %d: limit %d; want it raised", len(ballast), m.Limit())
		}
		runtime.KeepAlive(ballast)
		return m.Limit()
	}()
	runtime.GC()
	m.Settle()
	if m.Limit() != raised {
		t.Errorf("limit lowered from %d to %d", raised, m.Limit())
	}
}
