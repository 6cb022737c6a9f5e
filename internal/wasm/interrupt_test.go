package wasm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// spin is a module without globals exporting "spin": loop br 0 end.
var spin = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type () -> ()
	0x03, 0x02, 0x01, 0x00, // func 0: type 0
	0x07, 0x08, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00, // export "spin" func 0
	0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop br 0 end end
}

// An instrumented module traps at its next loop iteration once the host
// sets the interrupt global, also when the module had no global section.
func TestInterruptStopsALoop(t *testing.T) {
	code, err := instrument(spin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if err := instantiateYield(ctx, rt); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := mod.ExportedGlobal(interruptExport).(api.MutableGlobal)
	if !ok {
		t.Fatal("no mutable interrupt global")
	}
	time.AfterFunc(50*time.Millisecond, func() { g.Set(1) })
	start := time.Now()
	_, err = mod.ExportedFunction("spin").Call(ctx)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("want a trap, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopped after %s", d)
	}
}

// A module spinning in a loop is stopped at its deadline also while the
// host collects garbage: the goroutine running compiled wasm code cannot
// be preempted, so the module must leave it for Go now and then, or the
// collector's stop-the-world waits for it forever, the timer that would
// interrupt it stopped with the rest (the whole process froze).
func TestLoopStopsDuringGC(t *testing.T) {
	r := newRuntime(t, Options{CallTimeout: 200 * time.Millisecond})
	h := open(t, r, "hostile")
	frame := randomFrame(rand.New(rand.NewPCG(7, 8)), 100)
	done := make(chan struct{})
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	_, err := populate(t, h, frame, map[string]any{"attack": "loop"})
	close(done)
	<-collected
	if err == nil || !strings.Contains(err.Error(), "ran longer than the 200ms allowed per call") {
		t.Fatalf("want the deadline error, got %v", err)
	}
}

// count is a module exporting "count" (i32): a loop of that many
// iterations.
var count = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, // type (i32) -> ()
	0x03, 0x02, 0x01, 0x00, // func 0: type 0
	0x07, 0x09, 0x01, 0x05, 'c', 'o', 'u', 'n', 't', 0x00, 0x00, // export "count" func 0
	0x0a, 0x10, 0x01, 0x0e, 0x00, // code: one body of 14 bytes, no locals
	0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b, 0x0b, // loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end end
}

// A looping module lets the other goroutines run every yieldEvery
// iterations, not only when the Go runtime preempts it (after 10 ms):
// on one thread, another goroutine runs at about each of its exits to Go.
func TestLoopYields(t *testing.T) {
	code, err := instrument(count)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if err := instantiateYield(ctx, rt); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var turns, done atomic.Int64
	other := make(chan struct{})
	go func() {
		defer close(other)
		for done.Load() == 0 {
			turns.Add(1)
			runtime.Gosched()
		}
	}()
	const exits = 200
	_, err = mod.ExportedFunction("count").Call(ctx, exits*yieldEvery)
	done.Store(1)
	<-other
	if err != nil {
		t.Fatal(err)
	}
	if n := turns.Load(); n < exits/2 {
		t.Errorf("another goroutine ran %d times during a loop that left for Go %d times", n, exits)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	for name, code := range map[string][]byte{
		"empty":      nil,
		"header":     []byte("\x00asm\x02\x00\x00\x00"),
		"truncated":  spin[:len(spin)-3],
		"no exports": append(append([]byte{}, spin[:18]...), spin[28:]...),
		"unknown op": bytes.Replace(spin, []byte{0x0c, 0x00}, []byte{0x06, 0x40}, 1), // try
	} {
		if _, err := instrument(code); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Whatever the bytes, instrument does not panic, and what it accepts
// wazero either compiles or refuses, without panicking either, and
// refuses only when it refuses the module as it was.
func FuzzInstrument(f *testing.F) {
	f.Add(spin)
	f.Add(count)
	f.Add(modules["raw-ok"][:4096])
	f.Fuzz(func(t *testing.T, b []byte) {
		code, err := instrument(b)
		if err != nil {
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, code); err != nil {
			// What wazero compiles, it compiles instrumented: the
			// function indices moved everywhere.
			if _, orig := rt.CompileModule(ctx, b); orig == nil {
				t.Fatalf("wazero compiles the module but not instrumented: %v", err)
			}
		}
	})
}
