package clock

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Fake is a [Clock] for tests: it stands still until the test moves it with
// [Fake.Advance] or [Fake.Set], which fire the timers, tickers and sleeps
// that fall due, in time order. [Fake.BlockUntil] waits until the code under
// test waits on the clock, so a test never sleeps. Safe for concurrent use.
type Fake struct{ sched }

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	f := &Fake{}
	f.now = start
	return f
}

// Advance moves the clock d on (d ≥ 0), firing what falls due.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("clock: Fake.Advance(%s): negative", d))
	}
	_ = f.move(func(now time.Time) (time.Time, error) { return now.Add(d), nil })
}

// Set sets the clock to t, firing what falls due. A t before the clock's
// time sets it back (a clock that jumps, as a system clock can) and fires
// nothing.
func (f *Fake) Set(t time.Time) {
	_ = f.move(func(time.Time) (time.Time, error) { return t, nil })
}

// Replay is a [Clock] the data drives: a runner replaying history calls
// [Replay.AdvanceTo] with each candle's time, and the timers, tickers and
// sleeps fire when the data's time passes them, in time order. It never goes
// back. Safe for concurrent use.
type Replay struct{ sched }

// NewReplay returns a replay clock reading start.
func NewReplay(start time.Time) *Replay {
	r := &Replay{}
	r.now = start
	return r
}

// AdvanceTo moves the clock to t, firing what falls due. A t equal to the
// clock's time does nothing; a t before it is an error (history played out
// of order) and leaves the clock where it was.
func (r *Replay) AdvanceTo(t time.Time) error {
	return r.move(func(now time.Time) (time.Time, error) {
		if t.Before(now) {
			return now, fmt.Errorf("replay clock at %s: %s is in its past (history out of order)", now.Format(time.RFC3339Nano), t.Format(time.RFC3339Nano))
		}
		return t, nil
	})
}

// Skipping is a [Fake] whose Sleep returns at once, moving the clock on by
// the wait (firing what falls due) and recording it: for tests of code that
// waits between attempts (back-off, rate limits), which check the waits
// without waiting. Its timers and tickers are the Fake's.
type Skipping struct {
	*Fake
	mu     sync.Mutex
	sleeps []time.Duration
}

// NewSkipping returns a skipping clock reading start.
func NewSkipping(start time.Time) *Skipping { return &Skipping{Fake: NewFake(start)} }

// Sleep records d and moves the clock on by it, or returns ctx.Err() when
// ctx is done.
func (c *Skipping) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	if d > 0 {
		c.Advance(d)
	}
	return nil
}

// Sleeps returns the waits asked of Sleep so far, in order.
func (c *Skipping) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}
