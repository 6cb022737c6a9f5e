package runner_test

import (
	"testing"

	"github.com/tradai/tradai/internal/racetest"
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
	racetest.Skip(t, "replays 4 days of candles through a Python process and a wasm instance, compute-bound")
	for _, name := range []string{"python", "wasm"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorldOf(t, openRuntime(t, name, nil), "", runtimeDays)
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
