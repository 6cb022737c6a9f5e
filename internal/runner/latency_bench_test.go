package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/wasm"
	"github.com/tradai/tradai/sdk"
)

// smacrossWasm is the built-in sma_cross compiled to a wasm module
// (internal/wasm/testdata/smacross), built once per test binary.
var smacrossWasm = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "smacross-wasm")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "smacross.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../wasm/testdata/smacross")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("building the wasm module: " + err.Error() + "\n" + string(b))
	}
	return os.ReadFile(out)
})

// openRuntime is sma_cross in a strategy runtime (startRuntime), closed
// when tb ends; skipped without python3 for "python".
func openRuntime(tb testing.TB, name string, rt *wasm.Runtime) sdk.Strategy {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil && name == "python" {
		tb.Skip("no python3 on the PATH")
	}
	s, closeFn, err := startRuntime(context.Background(), name, rt, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { closeFn() })
	return s
}

// startRuntime is sma_cross in a strategy runtime: "builtin", "wasm" (in
// the wasm sandbox, on rt when given, else on a runtime of its own) or
// "python" (examples/strategies/python/sma_cross.py in its own process,
// the Python SDK unpacked in cache).
func startRuntime(ctx context.Context, name string, rt *wasm.Runtime, cache string) (sdk.Strategy, func() error, error) {
	switch name {
	case "builtin":
		s, err := strategy.Lookup("sma_cross")
		return s, func() error { return nil }, err
	case "wasm":
		code, err := smacrossWasm()
		if err != nil {
			return nil, nil, err
		}
		if rt != nil {
			return rt.Open(ctx, code)
		}
		if rt, err = wasm.New(ctx, wasm.Options{MaxInstances: 1}); err != nil {
			return nil, nil, err
		}
		s, closeFn, err := rt.Open(ctx, code)
		if err != nil {
			rt.Close(ctx)
			return nil, nil, err
		}
		return s, func() error { return errors.Join(closeFn(), rt.Close(ctx)) }, nil
	case "python":
		return strategyref.Open(ctx, "../../examples/strategies/python/sma_cross.py", strategyref.Options{CacheDir: cache})
	}
	return nil, nil, fmt.Errorf("no runtime %q", name)
}

// timedVenue notes when the first order of a tick was accepted.
type timedVenue struct {
	exchange.Exchange
	ks       exchange.KlineStreamer
	accepted time.Time // the first PlaceOrder of the tick that the venue took; reset by the benchmark between ticks
}

func (v *timedVenue) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	o, err := v.Exchange.PlaceOrder(ctx, req)
	if err == nil && v.accepted.IsZero() {
		v.accepted = time.Now()
	}
	return o, err
}

func (v *timedVenue) StreamKlines(ctx context.Context, symbols []string, tf sdk.Timeframe, fn func(string, exchange.Kline)) error {
	return v.ks.StreamKlines(ctx, symbols, tf, fn)
}

// signalStore tells when the runner started and when it recorded a tick.
type signalStore struct {
	runner.Store
	started chan struct{}
	ticked  chan time.Time
}

func (s *signalStore) MarkRunning(ctx context.Context, l deploy.Lease) error {
	err := s.Store.MarkRunning(ctx, l)
	if err == nil {
		s.started <- struct{}{}
	}
	return err
}

func (s *signalStore) RecordLater(ctx context.Context, l deploy.Lease, w deploy.Write) error {
	err := s.Store.RecordLater(ctx, l, w)
	if err == nil && !w.Tick.IsZero() {
		s.ticked <- time.Now()
	}
	return err
}

// closesPerOp is how many candle closes one iteration steps, so that a
// short -benchtime (make bench: 5x) still gives percentiles.
const closesPerOp = 60

// latencyDays is how many days of 5m candles b.N iterations replay: every
// close they step and a day to spare, whatever the -benchtime.
func latencyDays(n int) int { return n*closesPerOp/288 + 2 }

// BenchmarkTickLatency is the time from a candle's close appearing on the
// venue's kline stream (the in-process simulator, its replay stepped here)
// to the first order of the tick accepted by the simulator (order-*), and
// to the tick recorded (tick-*), for sma_cross as a built-in, in the wasm
// sandbox and in Python (its own process), trading three pairs: the
// runner's Run on its stream, its store on SQLite. One op is 60 closes;
// the world is made for b.N of them (the timer started after).
func BenchmarkTickLatency(b *testing.B) {
	for _, name := range []string{"builtin", "wasm", "python"} {
		b.Run(name, func(b *testing.B) {
			days := latencyDays(b.N)
			w := newWorldOf(b, openRuntime(b, name, nil), "", days)
			var tv *timedVenue
			p := newPaper(b, w, func(x exchange.Exchange) exchange.Exchange {
				tv = &timedVenue{Exchange: x, ks: x.(exchange.KlineStreamer)}
				return tv
			})
			ss := &signalStore{Store: p.store, started: make(chan struct{}, 1), ticked: make(chan time.Time, 1)}
			spec := w.strat.Spec()
			params, err := spec.Resolve(w.cfg.StrategyParams)
			if err != nil {
				b.Fatal(err)
			}
			rules, acct, err := w.cfg.Trading(spec)
			if err != nil {
				b.Fatal(err)
			}
			r, err := runner.New(runner.Config{Store: ss, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: tv, Strategy: w.strat, Params: params,
				Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: p.clk, StreamWait: time.Hour, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			select {
			case <-ss.started:
			case err := <-done:
				b.Fatal(err)
			}
			var ticks, orders []time.Duration
			now, last := start, start+int64(days)*86_400_000-dur
			b.ResetTimer()
			for range b.N {
				for range closesPerOp {
					if now += dur; now > last {
						b.Fatal("out of candles: latencyDays gives too few")
					}
					p.clk.Set(time.UnixMilli(now))
					tv.accepted = time.Time{}
					began := time.Now()
					if err := p.feed.AdvanceTo(now); err != nil {
						b.Fatal(err)
					}
					select {
					case at := <-ss.ticked:
						ticks = append(ticks, at.Sub(began))
					case err := <-done:
						b.Fatalf("the runner ended: %v", err)
					case <-time.After(time.Minute):
						b.Fatalf("no tick a minute after the close at %s", time.UnixMilli(now).UTC())
					}
					if !tv.accepted.IsZero() {
						orders = append(orders, tv.accepted.Sub(began))
					}
				}
			}
			b.StopTimer()
			reportPercentiles(b, "tick", ticks)
			reportPercentiles(b, "order", orders)
			b.ReportMetric(float64(len(orders)), "orders")
		})
	}
}

// reportPercentiles reports the p50 and p99 of ds in milliseconds.
func reportPercentiles(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[min(len(s)-1, int(q*float64(len(s))))]) / 1e6 }
	b.ReportMetric(at(0.50), what+"-p50-ms")
	b.ReportMetric(at(0.99), what+"-p99-ms")
}
