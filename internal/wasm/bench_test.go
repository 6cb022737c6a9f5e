package wasm

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// BenchmarkSMACross1M compares sma_cross on 1M candles, native and as wasm
// (one instance, warm: its memory already grown to the frame).
func BenchmarkSMACross1M(b *testing.B) {
	f := randomFrame(rand.New(rand.NewPCG(9, 9)), 1_000_000)
	r := newRuntime(b, Options{})
	for _, s := range []struct {
		name string
		st   sdk.Strategy
	}{{"native", strategy.SMACross{}}, {"wasm", open(b, r, "smacross")}} {
		b.Run(s.name, func(b *testing.B) {
			p, _ := s.st.Spec().Resolve(nil)
			if err := s.st.Populate(f, p); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := s.st.Populate(f, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstantiate is one new instance of a compiled (cached) module,
// its Go runtime initialised, ready for Populate.
func BenchmarkInstantiate(b *testing.B) {
	r := newRuntime(b, Options{})
	ctx := context.Background()
	m, inst, err := r.load(ctx, modules["smacross"])
	if err != nil {
		b.Fatal(err)
	}
	inst.close(ctx)
	b.ResetTimer()
	for range b.N {
		in, err := r.instantiate(ctx, m, "bench")
		if err != nil {
			b.Fatal(err)
		}
		in.close(ctx)
	}
}

// TestDensity runs 200 instances of sma_cross in one process, each having
// served a populate of 10,000 candles, and checks they fit in 2 GB.
func TestDensity(t *testing.T) {
	if testing.Short() || racetest.Enabled {
		t.Skip("200 instances: a density measurement, not run short or under the race detector")
	}
	const instances, candles = 200, 10_000
	r := newRuntime(t, Options{})
	ctx := context.Background()
	m, first, err := r.load(ctx, modules["smacross"])
	if err != nil {
		t.Fatal(err)
	}
	first.close(ctx)
	f := randomFrame(rand.New(rand.NewPCG(1, 3)), candles)
	req := []byte(`{"pair":"BTC/USDT","timeframe":"5m","params":{"fast":10,"slow":30}}`)
	runtime.GC()
	before := rss(t)
	var heapBefore runtime.MemStats
	runtime.ReadMemStats(&heapBefore)
	var all []*instance
	var guest int64
	for range instances {
		in, err := r.instantiate(ctx, m, "density")
		if err != nil {
			t.Fatal(err)
		}
		if err := in.populate(ctx, f, req); err != nil {
			t.Fatal(err)
		}
		guest += int64(in.mem.Size())
		all = append(all, in)
	}
	runtime.GC()
	after := rss(t)
	var heapAfter runtime.MemStats
	runtime.ReadMemStats(&heapAfter)
	t.Logf("%d instances: process RSS +%d MiB (%d MiB total), Go heap in use +%d MiB, guest linear memory %d MiB (%.1f MiB each)",
		instances, (after-before)>>20, after>>20, (int64(heapAfter.HeapInuse)-int64(heapBefore.HeapInuse))>>20, guest>>20, float64(guest)/instances/(1<<20))
	if after > 2<<30 {
		t.Fatalf("%d instances take %d MiB, more than 2 GB", instances, after>>20)
	}
	for _, in := range all {
		in.close(ctx)
	}
}

// rss is the process's resident set size in bytes (Linux; 0 elsewhere).
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	return 0
}

// BenchmarkOpenCached opens and closes a strategy whose module the runtime
// holds compiled, from a fresh copy of its bytes each time (as a runner
// reading the version's file does).
func BenchmarkOpenCached(b *testing.B) {
	r := newRuntime(b, Options{})
	ctx := context.Background()
	if _, err := r.ReadSpec(ctx, modules["smacross"]); err != nil {
		b.Fatal(err)
	}
	code := make([]byte, len(modules["smacross"]))
	b.SetBytes(int64(len(code)))
	b.ResetTimer()
	for range b.N {
		copy(code, modules["smacross"])
		_, closeFn, err := r.Open(ctx, code)
		if err != nil {
			b.Fatal(err)
		}
		if err := closeFn(); err != nil {
			b.Fatal(err)
		}
	}
}
