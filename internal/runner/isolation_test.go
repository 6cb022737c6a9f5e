package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/wasm"
	"github.com/tradai/tradai/sdk"
)

// hostileWasm builds internal/wasm's hostile strategy (a wasm module
// that attacks its sandbox as its "attack" parameter says) and opens it
// in a runtime that stops a call after timeout and caps an instance's
// memory at 64 MiB.
func hostileWasm(tb testing.TB, timeout time.Duration) func(ctx context.Context) (sdk.Strategy, func() error, error) {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "hostile.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../wasm/testdata/hostile")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the wasm module: %v\n%s", err, b)
	}
	code, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.New(ctx, wasm.Options{CallTimeout: timeout, MemoryLimit: 64 << 20, MaxInstances: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	return func(ctx context.Context) (sdk.Strategy, func() error, error) { return rt.Open(ctx, code) }
}

func builtin(context.Context) (sdk.Strategy, func() error, error) {
	s, err := strategy.Lookup("sma_cross")
	return s, func() error { return nil }, err
}

// spinPython is a Python strategy whose populate never returns, in a
// process the runtime kills after timeout without an answer.
func spinPython(tb testing.TB, timeout time.Duration) func(ctx context.Context) (sdk.Strategy, func() error, error) {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Skip("no python3 on the PATH")
	}
	src := filepath.Join(tb.TempDir(), "spin.py")
	if err := os.WriteFile(src, []byte(`from tradai_strategy import Strategy, run


class Spin(Strategy):
    name = "spin"
    timeframe = "5m"
    columns = ["close"]
    minimal_roi = {"0": 0.1}
    stoploss = -0.1

    def populate(self, candles, params, signals):
        while True:
            pass


if __name__ == "__main__":
    run(Spin())
`), 0o644); err != nil {
		tb.Fatal(err)
	}
	opts := strategyref.Options{CacheDir: tb.TempDir()}
	opts.External.RequestTimeout = timeout
	opts.External.Nice = 10 // as the runner tier starts a deployment's strategy
	return func(ctx context.Context) (sdk.Strategy, func() error, error) { return strategyref.Open(ctx, src, opts) }
}

// The hostile deployments of the isolation proofs: a strategy that spins
// in its own process (Python), and wasm modules in the runner's process
// that spin, allocate without bound or crash (a Go panic).
var attacks = []string{"spin", "loop", "grow", "panic"}

// isolated is a fleet of good deployments (the built-in sma_cross) and
// one hostile deployment per attack given (of attacks), on one host; a
// spinning strategy's call is stopped after timeout.
func isolated(tb testing.TB, w *world, timeout time.Duration, good int, hostile ...string) (f *fleet, isGood map[string]bool) {
	tb.Helper()
	bad := len(hostile)
	var wasmHostile, spin func(context.Context) (sdk.Strategy, func() error, error)
	for _, a := range hostile {
		switch {
		case a == "spin" && spin == nil:
			spin = spinPython(tb, timeout)
		case a != "spin" && wasmHostile == nil:
			wasmHostile = hostileWasm(tb, timeout)
		}
	}
	f = newFleet(tb, w, builtin, good-1+bad, func(i int) (func(context.Context) (sdk.Strategy, func() error, error), map[string]any) {
		switch {
		case i >= bad:
			return builtin, nil
		case hostile[i] == "spin":
			return spin, nil
		}
		return wasmHostile, map[string]any{"attack": hostile[i]}
	})
	isGood = map[string]bool{}
	for id, d := range f.deps {
		if d.n == 0 || d.n > bad {
			isGood[id] = true
		}
	}
	return f, isGood
}

// closes steps the fleet through n candle closes and returns, for the good
// deployments, how long after each close was published their tick was
// recorded. Each good deployment must tick at every close before the next
// one is published: none is delayed by a whole candle.
func (f *fleet) closes(tb testing.TB, isGood map[string]bool, n int) []time.Duration {
	tb.Helper()
	var delays []time.Duration
	for now := start + dur; now <= start+int64(n)*dur; now += dur {
		published := time.Now()
		f.closeAt(tb, now)
		ticked := map[string]bool{}
		for len(ticked) < len(isGood) {
			tk := f.tick(tb)
			if !isGood[tk.deployment] {
				continue // a hostile deployment's tick (of a close its restart caught up)
			}
			if tk.close != now || ticked[tk.deployment] {
				tb.Fatalf("deployment %s ticked at %v at the close of %v", tk.deployment, time.UnixMilli(tk.close).UTC(), time.UnixMilli(now).UTC())
			}
			ticked[tk.deployment] = true
			delays = append(delays, tk.wall.Sub(published))
		}
	}
	return delays
}

// quantile is the q-quantile of ds (sorted in place).
func quantile(ds []time.Duration, q float64) time.Duration {
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// Isolation: in one host, deployments whose strategy spins (in its own
// process or as wasm in the runner's), one whose strategy allocates
// without bound and one whose strategy crashes do not hold up the others:
// each good deployment ticks at every close, before the next, and the
// hostile ones are failed and restarted (each tick of theirs fails: they
// trade nothing). BenchmarkIsolation measures the delays. The spinning
// calls are stopped after half a second here (two in the benchmark): how
// long they spin changes nothing of what the others must do, and the
// spinning burns a core per spinner meanwhile.
func TestHostileDeploymentsDelayNoOther(t *testing.T) {
	racetest.Skip(t, "measures the good deployments' delays beside hostile ones, which the race detector slows eightfold (the other hostile-strategy tests keep the runner's isolation under it)")
	w := newWorld(t, 1)
	f, isGood := isolated(t, w, 500*time.Millisecond, 6, attacks...)
	f.run(t)
	delays := f.closes(t, isGood, 24)
	f.stop()
	t.Logf("good deployments' tick delays after the close: p50 %v, p99 %v, max %v", quantile(delays, 0.5), quantile(delays, 0.99), quantile(delays, 1))
	failed := map[string]bool{}
	for len(f.failed) > 0 {
		failed[<-f.failed] = true
	}
	for id, d := range f.deps {
		// The spinning ones may still be in their first call (stopped
		// after half a second); the others fail at every tick.
		spins := !isGood[id] && (attacks[d.n-1] == "spin" || attacks[d.n-1] == "loop")
		if isGood[id] && failed[id] || !isGood[id] && !spins && !failed[id] {
			t.Errorf("deployment %d %s (good: %v) failed: %v", d.n, id, isGood[id], failed[id])
		}
	}
	orders, err := f.p.store.Orders(context.Background(), f.p.lease.Tenant, f.p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the first good deployment placed %d orders", len(orders))
}

// BenchmarkIsolation: 20 good deployments in one host, alone, with each
// hostile one and with the three, stepped through b.N candle closes (at
// most a day's): the good deployments' delays from a close's publication
// on the venue's stream to its tick recorded, p50 and p99 (ms). The
// difference to "alone" is what the hostile ones cost the others.
func BenchmarkIsolation(b *testing.B) {
	cases := map[string][]string{"alone": nil, "all": attacks}
	for _, a := range attacks {
		cases[a] = []string{a}
	}
	for _, name := range []string{"alone", "spin", "loop", "grow", "panic", "all"} {
		b.Run(name, func(b *testing.B) {
			n := min(b.N, 287)
			w := newWorld(b, 1)
			f, isGood := isolated(b, w, 2*time.Second, 20, cases[name]...)
			f.run(b)
			b.ResetTimer()
			delays := f.closes(b, isGood, n)
			b.StopTimer()
			f.stop()
			b.ReportMetric(float64(quantile(delays, 0.5).Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(quantile(delays, 0.99).Microseconds())/1000, "p99_ms")
		})
	}
}
