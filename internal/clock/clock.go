package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done, in which case it returns
	// ctx.Err() (also when ctx is done on entry). A d ≤ 0 returns at once.
	Sleep(ctx context.Context, d time.Duration) error
	// NewTimer returns a timer that sends the time on its channel once,
	// after d.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that sends the time on its channel every
	// d; d must be positive. A receiver that falls behind misses ticks (the
	// channel holds one), like time.Ticker.
	NewTicker(d time.Duration) Ticker
}

// Timer is a time.Timer behind an interface. As with time.Timer (Go 1.23
// and later), no stale time is received after Stop or Reset returns.
type Timer interface {
	// C is the channel the time is sent on.
	C() <-chan time.Time
	// Stop stops the timer; it reports whether the call stopped it (false:
	// it had fired or been stopped).
	Stop() bool
	// Reset makes the timer fire after d from now; it reports whether the
	// timer had been active.
	Reset(d time.Duration) bool
}

// Ticker is a time.Ticker behind an interface. As with time.Ticker (Go
// 1.23 and later), no stale tick is received after Stop or Reset returns.
type Ticker interface {
	// C is the channel the ticks are sent on.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
	// Reset stops the ticker and makes it tick every d from now.
	Reset(d time.Duration)
}

// Real returns the system clock.
func Real() Clock { return realClock{} }

// Or returns c, or the system clock when c is nil: constructors use it to
// default their clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Every calls f every d by c until ctx ends (it returns nil) or f returns
// an error (it returns that). The first call is d after Every starts; a
// call that outlasts d misses ticks, as a Ticker's receiver does.
func Every(ctx context.Context, c Clock, d time.Duration, f func(ctx context.Context) error) error {
	t := c.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		if err := f(ctx); err != nil {
			return err
		}
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time   { return t.t.C }
func (t realTicker) Stop()                 { t.t.Stop() }
func (t realTicker) Reset(d time.Duration) { t.t.Reset(d) }
