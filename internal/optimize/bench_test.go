package optimize

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far: on a shared
// machine, trials per CPU-second say more than trials per wall second.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHyperoptSMACross100k is one study of sma_cross on 1 pair ×
// 100,000 5m candles searching its 2 parameters (buy) plus roi and
// stoploss with random search: one op is 200 trials, GOMAXPROCS at a
// time. Target: ≥ 500 trials/s on 2 cores. cpu-ms/trial is the CPU time
// a trial costs (2000 / cpu-ms/trial is the rate on two idle cores).
func BenchmarkHyperoptSMACross100k(b *testing.B) {
	const epochs = 200
	fx := setup(b, 1, 100_000, []string{"buy", "roi", "stoploss"}, 1)
	fx.opts.Epochs, fx.opts.Jobs = epochs, 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var failed int
	for range b.N {
		st, err := Run(context.Background(), fx.opts)
		if err != nil {
			b.Fatal(err)
		}
		failed = st.Failed
	}
	b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "trials/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(epochs*b.N), "cpu-ms/trial")
	b.ReportMetric(float64(failed), "failed")
}
