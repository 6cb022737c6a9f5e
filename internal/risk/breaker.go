package risk

import (
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// BreakerState is a circuit breaker's state.
type BreakerState string

const (
	// Closed: orders go to the venue.
	Closed BreakerState = "closed"
	// Open: the venue failed Failures times in a row; new orders are not
	// sent (reads and exits go on) until the cool-down passed.
	Open BreakerState = "open"
	// HalfOpen: the cool-down passed; the next order is sent as a probe:
	// its success closes the breaker, its failure opens it again.
	HalfOpen BreakerState = "half_open"
)

// The breaker's defaults.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = time.Minute
)

// Breaker is the circuit breaker of one venue, shared by the deployments
// a runner process trades on it. It is safe for concurrent use.
type Breaker struct {
	failures int
	cooldown time.Duration
	clk      clock.Clock

	mu     sync.Mutex
	state  BreakerState
	fails  int
	opened time.Time
}

// NewBreaker returns a closed breaker that opens after failures
// consecutive venue failures (default 5) and half-opens cooldown after it
// opened (default a minute); clk nil is the system clock.
func NewBreaker(failures int, cooldown time.Duration, clk clock.Clock) *Breaker {
	if failures <= 0 {
		failures = DefaultBreakerFailures
	}
	if cooldown <= 0 {
		cooldown = DefaultBreakerCooldown
	}
	return &Breaker{failures: failures, cooldown: cooldown, clk: clock.Or(clk), state: Closed}
}

// Allow reports whether a new order may be sent now (an open breaker
// half-opens once its cool-down passed, allowing one probe).
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	return b.state != Open
}

// advance half-opens an open breaker whose cool-down passed.
func (b *Breaker) advance() {
	if b.state == Open && !b.clk.Now().Before(b.opened.Add(b.cooldown)) {
		b.state = HalfOpen
	}
}

// Success records a venue call that worked: the breaker closes.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state, b.fails = Closed, 0
}

// Failure records a venue failure (an answer lost, a 5xx, a timeout: not
// the venue refusing an order): the Failures-th in a row, or any while
// half-open, opens the breaker.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	b.fails++
	if b.state == HalfOpen || b.fails >= b.failures {
		b.state, b.opened = Open, b.clk.Now()
	}
}

// State is the breaker's state now, and since when it is open (zero
// while closed).
func (b *Breaker) State() (BreakerState, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if b.state == Closed {
		return Closed, time.Time{}
	}
	return b.state, b.opened
}
