package wasm

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/racetest"
)

// cached returns the runtime's module of the test module name (nil when
// it is not compiled).
func cached(r *Runtime, name string) *module {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.modules[string(modules[name])]
}

// cachedNames lists the test modules the runtime keeps compiled.
func cachedNames(r *Runtime) []string {
	var out []string
	for _, n := range []string{"smacross", "hostile", "raw-ok"} {
		if cached(r, n) != nil {
			out = append(out, n)
		}
	}
	return out
}

func isClosed(r *Runtime, m *module) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.closed
}

func readSpec(t *testing.T, r *Runtime, name string) *module {
	t.Helper()
	if _, err := r.ReadSpec(context.Background(), modules[name]); err != nil {
		t.Fatalf("read the spec of %s: %v", name, err)
	}
	return cached(r, name)
}

// Over MaxModules, the least recently loaded module goes, and it is
// closed.
func TestEvictLeastRecentlyUsed(t *testing.T) {
	racetest.Skip(t, "compiles four modules, one goroutine, tenfold slower under the race detector (TestModuleInUseSurvives keeps the cache's locking under it)")
	r := newRuntime(t, Options{MaxModules: 2})
	sma := readSpec(t, r, "smacross")
	hostile := readSpec(t, r, "hostile")
	if got := cachedNames(r); !slices.Equal(got, []string{"smacross", "hostile"}) {
		t.Fatalf("compiled %v, want both", got)
	}
	if readSpec(t, r, "smacross") != sma { // now the most recent
		t.Fatal("smacross compiled again while cached")
	}
	readSpec(t, r, "raw-ok")
	if got := cachedNames(r); !slices.Equal(got, []string{"smacross", "raw-ok"}) {
		t.Fatalf("compiled %v, want smacross and raw-ok (hostile least recently used)", got)
	}
	if !isClosed(r, hostile) || isClosed(r, sma) {
		t.Fatalf("closed: hostile %v (want true), smacross %v (want false)", isClosed(r, hostile), isClosed(r, sma))
	}
}

// A module with an open strategy or a live instance is not closed; it is
// when the last of them goes and the runtime is over its bound. Opened
// again, it is compiled again and works.
func TestModuleInUseSurvives(t *testing.T) {
	r := newRuntime(t, Options{MaxModules: 1})
	ctx := context.Background()
	f := randomFrame(rand.New(rand.NewPCG(1, 2)), 500)
	s, closeS, err := r.Open(ctx, modules["smacross"])
	if err != nil {
		t.Fatal(err)
	}
	sma := cached(r, "smacross")
	readSpec(t, r, "raw-ok") // unused: it goes at once
	h := open(t, r, "hostile")
	if got := cachedNames(r); !slices.Equal(got, []string{"smacross", "hostile"}) {
		t.Fatalf("compiled %v, want the two in use", got)
	}
	want, err := populate(t, s, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An instance outlives its strategy's Close.
	in, err := s.(*Strategy).acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeS(); err != nil {
		t.Fatal(err)
	}
	if isClosed(r, sma) {
		t.Fatal("smacross closed under a live instance")
	}
	in.close(ctx)
	if !isClosed(r, sma) || cached(r, "smacross") != nil {
		t.Fatal("smacross still compiled after its last instance went, over MaxModules")
	}
	if _, err := r.instantiate(ctx, sma, "closed"); err == nil {
		t.Fatal("instantiated a closed module")
	}
	// hostile (in use) stayed; smacross opens again, compiled anew.
	if cached(r, "hostile") == nil || isClosed(r, h.(*Strategy).m) {
		t.Fatal("hostile, in use, was closed")
	}
	again := open(t, r, "smacross")
	if cached(r, "smacross") == sma {
		t.Fatal("the closed module was reused")
	}
	got, err := populate(t, again, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSignals(t, "reopened", want, got)
}

// Opening and closing many modules keeps at most MaxModules compiled and
// leaves every other one closed and unreferenced.
func TestEvictNoLeak(t *testing.T) {
	racetest.Skip(t, "compiles nine modules, one goroutine, tenfold slower under the race detector")
	r := newRuntime(t, Options{MaxModules: 1})
	ctx := context.Background()
	seen := map[*module]bool{}
	for range 3 {
		for _, name := range []string{"smacross", "hostile", "raw-ok"} {
			_, closeFn, err := r.Open(ctx, modules[name])
			if err != nil {
				t.Fatal(err)
			}
			seen[cached(r, name)] = true
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			if err := closeFn(); err != nil { // a second Close gives nothing back twice
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 9 {
		t.Fatalf("%d modules compiled for 9 opens of 3 modules with MaxModules 1, want 9", len(seen))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.modules) != 1 {
		t.Fatalf("%d modules compiled, want 1", len(r.modules))
	}
	for m := range seen {
		if m.refs != 0 {
			t.Errorf("module %s still has %d references", m.id, m.refs)
		}
		if kept := r.modules[m.code] == m; kept == m.closed {
			t.Errorf("module %s: kept %v, closed %v", m.id, kept, m.closed)
		}
	}
}
