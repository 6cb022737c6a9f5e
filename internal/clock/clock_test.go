package clock_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// received returns what c holds without waiting: the time, or false.
func received(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimersFireWhenDue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f := clock.NewFake(t0)
		type tm struct {
			when  time.Time
			timer clock.Timer
			fired bool
		}
		var ts []*tm
		for range 20 {
			d := time.Duration(rng.IntN(100)) * time.Second
			ts = append(ts, &tm{when: t0.Add(d), timer: f.NewTimer(d)})
		}
		for f.Now().Before(t0.Add(101 * time.Second)) {
			f.Advance(time.Duration(rng.IntN(20)) * time.Second)
			for _, x := range ts {
				got, ok := received(x.timer.C())
				due := !x.when.After(f.Now())
				switch {
				case ok && x.fired:
					t.Fatalf("timer due %s fired twice", x.when)
				case ok && !got.Equal(x.when):
					t.Fatalf("timer due %s sent %s", x.when, got)
				case ok != (due && !x.fired):
					t.Fatalf("at %s: timer due %s fired=%v, want %v", f.Now(), x.when, ok, due && !x.fired)
				}
				x.fired = x.fired || ok
			}
		}
		if n := f.Waiters(); n != 0 {
			t.Fatalf("%d waiters left after every timer fired", n)
		}
	}
}

func TestFakeSleepers(t *testing.T) {
	// Goroutines sleep different times; each step of the clock wakes the
	// one whose time it reaches, and it reads at least its own time.
	f := clock.NewFake(t0)
	const n = 10
	var wg sync.WaitGroup
	ends := make(chan time.Duration, n)
	for i := range n {
		d := time.Duration(n-i) * time.Second
		wg.Go(func() {
			if err := f.Sleep(context.Background(), d); err != nil {
				t.Error(err)
			}
			if now := f.Now(); now.Before(t0.Add(d)) {
				t.Errorf("woken at %s before its time %s", now, t0.Add(d))
			}
			ends <- d
		})
	}
	if err := f.BlockUntil(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	// Move one second at a time, waiting for each sleeper: the wake order
	// is the time order.
	for i := 1; i <= n; i++ {
		f.Advance(time.Second)
		if d := <-ends; d != time.Duration(i)*time.Second {
			t.Fatalf("step %d woke the %s sleeper", i, d)
		}
	}
	wg.Wait()
}

func TestFakeTicker(t *testing.T) {
	f := clock.NewFake(t0)
	tk := f.NewTicker(time.Minute)
	defer tk.Stop()
	// Once per period.
	for i := 1; i <= 3; i++ {
		if _, ok := received(tk.C()); ok {
			t.Fatalf("tick %d before its time", i)
		}
		f.Advance(59 * time.Second)
		if _, ok := received(tk.C()); ok {
			t.Fatalf("tick %d a second early", i)
		}
		f.Advance(time.Second)
		got, ok := received(tk.C())
		if want := t0.Add(time.Duration(i) * time.Minute); !ok || !got.Equal(want) {
			t.Fatalf("tick %d = %s, %v; want %s", i, got, ok, want)
		}
	}
	// A move over several periods ticks once, at the last boundary passed;
	// the missed ticks are dropped and the period stays on its grid.
	f.Advance(3*time.Minute + 30*time.Second) // to 6m30s
	if got, ok := received(tk.C()); !ok || !got.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("after a jump: %s, %v; want one tick at 6m", got, ok)
	}
	if _, ok := received(tk.C()); ok {
		t.Fatal("a jump over three periods ticked more than once")
	}
	f.Advance(30 * time.Second)
	if got, ok := received(tk.C()); !ok || !got.Equal(t0.Add(7*time.Minute)) {
		t.Fatalf("after the jump the ticker left its grid: %s, %v", got, ok)
	}
	// A receiver that does not take its ticks misses them (one is held).
	f.Advance(time.Minute)
	f.Advance(time.Minute)
	if got, ok := received(tk.C()); !ok || !got.Equal(t0.Add(8*time.Minute)) {
		t.Fatalf("held tick %s, %v; want the 8m one", got, ok)
	}
	if _, ok := received(tk.C()); ok {
		t.Fatal("the ticker held two ticks")
	}
	// Reset: a new period from now; Stop: no more ticks, none stale.
	f.Advance(time.Minute) // 10m, held
	tk.Reset(time.Hour)
	if _, ok := received(tk.C()); ok {
		t.Fatal("a stale tick after Reset")
	}
	f.Advance(59 * time.Minute)
	if _, ok := received(tk.C()); ok {
		t.Fatal("reset ticker ticked early")
	}
	f.Advance(time.Minute)
	if _, ok := received(tk.C()); !ok {
		t.Fatal("reset ticker did not tick after its new period")
	}
	f.Advance(time.Hour)
	tk.Stop()
	if _, ok := received(tk.C()); ok {
		t.Fatal("a stale tick after Stop")
	}
	f.Advance(10 * time.Hour)
	if _, ok := received(tk.C()); ok {
		t.Fatal("a stopped ticker ticked")
	}
	if n := f.Waiters(); n != 0 {
		t.Fatalf("a stopped ticker still waits (%d waiters)", n)
	}
}

func TestFakeTimerStopReset(t *testing.T) {
	f := clock.NewFake(t0)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of a waiting timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
	f.Advance(time.Hour)
	if _, ok := received(tm.C()); ok {
		t.Fatal("a stopped timer fired")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer reported it active")
	}
	f.Advance(time.Second)
	// Fired and not received: Stop reports false and leaves nothing stale.
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported true")
	}
	if _, ok := received(tm.C()); ok {
		t.Fatal("a stale time after Stop")
	}
	if tm.Reset(time.Minute) {
		t.Fatal("Reset of a fired timer reported it active")
	}
	if !tm.Reset(2 * time.Minute) {
		t.Fatal("Reset of a waiting timer reported it inactive")
	}
	f.Advance(time.Minute)
	if _, ok := received(tm.C()); ok {
		t.Fatal("Reset did not replace the earlier time")
	}
	f.Advance(time.Minute)
	if got, ok := received(tm.C()); !ok || !got.Equal(f.Now()) {
		t.Fatalf("reset timer: %s, %v; want %s", got, ok, f.Now())
	}
	// d ≤ 0 fires at once.
	if got, ok := received(f.NewTimer(0).C()); !ok || !got.Equal(f.Now()) {
		t.Fatalf("NewTimer(0): %s, %v", got, ok)
	}
}

func TestSleepCancelled(t *testing.T) {
	for name, c := range map[string]clock.Clock{"real": clock.Real(), "fake": clock.NewFake(t0), "replay": clock.NewReplay(t0)} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- c.Sleep(ctx, time.Hour) }()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Sleep after cancel = %v, want context.Canceled", err)
			}
			if err := c.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
				t.Fatalf("Sleep on a done context = %v, want context.Canceled", err)
			}
			if err := c.Sleep(context.Background(), 0); err != nil {
				t.Fatalf("Sleep(0) = %v", err)
			}
			if f, ok := c.(interface{ Waiters() int }); ok && f.Waiters() != 0 {
				t.Fatalf("a cancelled sleep left %d waiters", f.Waiters())
			}
		})
	}
}

func TestReal(t *testing.T) {
	c := clock.Real()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Real().Now() is %s off", d)
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Reset(time.Hour)
	tk.Stop()
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported true")
	}
	if err := c.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if clock.Or(nil) != clock.Real() {
		t.Fatal("Or(nil) is not the real clock")
	}
	f := clock.NewFake(t0)
	if clock.Or(f) != clock.Clock(f) {
		t.Fatal("Or(c) is not c")
	}
}

func TestReplay(t *testing.T) {
	r := clock.NewReplay(t0)
	tm := r.NewTimer(90 * time.Second)
	tk := r.NewTicker(time.Minute)
	defer tk.Stop()
	if err := r.AdvanceTo(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := received(tm.C()); ok {
		t.Fatal("timer fired before the data passed it")
	}
	if _, ok := received(tk.C()); !ok {
		t.Fatal("ticker did not tick at the candle's time")
	}
	if err := r.AdvanceTo(t0.Add(time.Minute)); err != nil {
		t.Fatalf("AdvanceTo the same time = %v, want nil", err)
	}
	if err := r.AdvanceTo(t0); err == nil {
		t.Fatal("AdvanceTo into the past: no error")
	}
	if got := r.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a refused step back moved the clock to %s", got)
	}
	if err := r.AdvanceTo(t0.Add(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, ok := received(tm.C()); !ok || !got.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("timer: %s, %v", got, ok)
	}
}

func TestFakeSetBack(t *testing.T) {
	f := clock.NewFake(t0)
	tm := f.NewTimer(time.Minute)
	f.Set(t0.Add(-time.Hour))
	if _, ok := received(tm.C()); ok || !f.Now().Equal(t0.Add(-time.Hour)) {
		t.Fatal("setting the clock back fired a timer or did not move it")
	}
	f.Set(t0.Add(time.Minute))
	if _, ok := received(tm.C()); !ok {
		t.Fatal("Set past a timer did not fire it")
	}
}

func TestBlockUntilCancelled(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.BlockUntil(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil = %v, want context.Canceled", err)
	}
}

// TestFakeConcurrent runs sleepers, timers and tickers against a clock moved
// by two goroutines at once; run with -race.
func TestFakeConcurrent(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tk := f.NewTicker(time.Duration(i+1) * time.Millisecond)
			defer tk.Stop()
			for ctx.Err() == nil {
				_ = f.Sleep(ctx, time.Duration(i)*time.Millisecond)
				tm := f.NewTimer(time.Millisecond)
				select {
				case <-tm.C():
				case <-tk.C():
				case <-ctx.Done():
				}
				tm.Reset(time.Second)
				tm.Stop()
				tk.Reset(time.Duration(i+2) * time.Millisecond)
				_ = f.Now()
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 2000 {
				f.Advance(time.Millisecond)
				_ = f.Waiters()
			}
		})
	}
	wg.Go(func() { _ = f.BlockUntil(ctx, 1000) }) // returns when ctx ends
	for f.Now().Before(t0.Add(4 * time.Second)) {
		f.Advance(time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := f.Waiters(); n != 0 {
		t.Fatalf("%d waiters after everything stopped", n)
	}
}

// A skipping clock's Sleep returns at once, moved on by the wait, fires the
// timers the wait passes, and records the waits.
func TestSkipping(t *testing.T) {
	c := clock.NewSkipping(t0)
	tm := c.NewTimer(3 * time.Second)
	if err := c.Sleep(context.Background(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tm.C():
		t.Fatal("a timer fired before its time")
	default:
	}
	_ = c.Sleep(context.Background(), 2*time.Second)
	select {
	case <-tm.C():
	default:
		t.Fatal("a timer the sleeps passed did not fire")
	}
	if got := c.Now(); !got.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("now = %s, want 4 s on", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on a done context: %v", err)
	}
	if got := c.Sleeps(); !slices.Equal(got, []time.Duration{2 * time.Second, 2 * time.Second}) {
		t.Errorf("sleeps = %v", got)
	}
}

// Every calls f once a period, the first a period after it starts, until
// f fails (its error) or the context ends (nil).
func TestEvery(t *testing.T) {
	f := clock.NewFake(t0)
	calls := make(chan time.Time)
	stop := errors.New("stop")
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- clock.Every(t.Context(), f, time.Minute, func(context.Context) error {
			calls <- f.Now()
			if n++; n == 3 {
				return stop
			}
			return nil
		})
	}()
	for i := 1; i <= 3; i++ {
		if err := f.BlockUntil(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Minute)
		if got, want := <-calls, t0.Add(time.Duration(i)*time.Minute); !got.Equal(want) {
			t.Fatalf("call %d at %s, want %s", i, got, want)
		}
	}
	if err := <-done; !errors.Is(err, stop) {
		t.Fatalf("Every = %v, want f's error", err)
	}
	if w := f.Waiters(); w != 0 {
		t.Fatalf("%d waiters left: the ticker was not stopped", w)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		done <- clock.Every(ctx, f, time.Minute, func(context.Context) error {
			t.Error("f called before a period passed")
			return nil
		})
	}()
	if err := f.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute - time.Nanosecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Every after its context ended = %v, want nil", err)
	}
}
