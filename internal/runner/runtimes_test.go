package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/wasm"
	"github.com/tradai/tradai/sdk"
)

// runtimeDays is how many days the Python and wasm parity runs replay:
// their strategies run in a process or a wasm instance, called once per
// pair and candle close.
const runtimeDays = 4

// The parity proof for the strategy runtimes: sma_cross written in Python
// (examples/strategies/python/sma_cross.py, its own process) and the
// built-in compiled to a wasm module (run in the wasm sandbox) make the
// backtest's trades as a deployment, as the built-in does.
func TestRuntimeDeploymentsMakeTheBacktestsTrades(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(t *testing.T) sdk.Strategy{
		"python": func(t *testing.T) sdk.Strategy {
			if _, err := exec.LookPath("python3"); err != nil {
				t.Skip("no python3 on the PATH")
			}
			s, closeFn, err := strategyref.Open(ctx, "../../examples/strategies/python/sma_cross.py", strategyref.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeFn() })
			return s
		},
		"wasm": func(t *testing.T) sdk.Strategy {
			out := filepath.Join(t.TempDir(), "smacross.wasm")
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../wasm/testdata/smacross")
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("building the wasm module: %v\n%s", err, b)
			}
			code, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := wasm.New(ctx, wasm.Options{MaxInstances: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close(ctx) })
			s, closeFn, err := rt.Open(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeFn() })
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorldOf(t, open(t), "", runtimeDays)
			p := newPaper(t, w, nil)
			p.run(t, p.runner(t, w), start, start+runtimeDays*86_400_000-dur)
			got := p.trades(t)
			exact, named, why := compare(t, w, got)
			t.Logf("%s: %d trades: %d the same, %d differing as named: %v", w.strat.Spec().Name, len(got), exact, named, why)
			if len(got) < 30 || float64(exact) < 0.95*float64(len(got)) {
				t.Fatalf("too few trades compared exactly: %d of %d", exact, len(got))
			}
		})
	}
}
