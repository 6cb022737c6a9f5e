package binance

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// DefaultBan is how long requests stop after an HTTP 418 that does not say
// until when (Binance's shortest ban).
const DefaultBan = 2 * time.Minute

// Quota is what Binance counts per IP and API: the request weight used in
// the current minute, a pause an HTTP 429 asked for, and a ban (HTTP 418).
// Clients that send from the same IP to the same API share one
// ([Config.Quota]), so that one client's 429 or ban holds back the others.
// It is safe for concurrent use.
type Quota struct {
	budget int

	mu          sync.Mutex
	minute      int64 // Unix minute that used refers to
	used        int
	pausedUntil time.Time // an HTTP 429's Retry-After: requests wait
	bannedUntil time.Time // an HTTP 418: requests are refused
	// reported is the exchange's last count of the weight used in its
	// minute (0 before one).
	reported int
}

// Weight is the request weight of every request the client sent (retries
// included), and the weight the exchange last reported used in its
// current minute (X-MBX-USED-WEIGHT-1M: counted per IP, so it includes
// other clients on the same address; 0 when it reported none).
func (c *Client) Weight() (sent int64, minute int) {
	c.budget.mu.Lock()
	defer c.budget.mu.Unlock()
	return c.sent.Load(), c.budget.reported
}

// NewQuota returns the quota of an API whose request-weight limit per
// minute is limit (DefaultSpotWeightLimit when not positive), of which
// the share margin in (0, 1] is used (DefaultWeightMargin otherwise).
func NewQuota(limit int, margin float64) *Quota {
	if limit <= 0 {
		limit = DefaultSpotWeightLimit
	}
	if margin <= 0 || margin > 1 {
		margin = DefaultWeightMargin
	}
	return &Quota{budget: max(1, int(math.Floor(float64(limit)*margin)))}
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// reserve waits until cost more weight fits into the current minute's
// budget (sleeping to the next minute boundary when it does not) and any
// pause is over, then counts it. It returns the time waited. A single
// request costing more than the whole budget is let through at the start
// of a minute. While the IP is banned it returns at once with the ban's
// end.
func (b *Quota) reserve(ctx context.Context, clk clock.Clock, cost int) (time.Duration, time.Time, error) {
	var waited time.Duration
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	for {
		b.mu.Lock()
		now := clk.Now()
		if now.Before(b.bannedUntil) {
			until := b.bannedUntil
			b.mu.Unlock()
			return waited, until, nil
		}
		if m := minuteOf(now); m != b.minute {
			b.minute, b.used = m, 0
		}
		var wait time.Duration
		switch {
		case now.Before(b.pausedUntil):
			wait = b.pausedUntil.Sub(now)
		case b.used == 0 || b.used+cost <= b.budget:
			b.used += cost
			b.mu.Unlock()
			return waited, time.Time{}, nil
		default:
			wait = now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		}
		b.mu.Unlock()
		if err := clk.Sleep(ctx, wait); err != nil {
			return waited, time.Time{}, err
		}
		waited += wait
	}
}

// observe records the weight the exchange reports as used in the minute of
// now. The larger of the reported and the locally counted weight is kept:
// the exchange also counts other clients on the same IP, the local count
// also requests still in flight.
func (b *Quota) observe(now time.Time, used int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reported = used
	if m := minuteOf(now); m != b.minute {
		b.minute, b.used = m, used
		return
	}
	b.used = max(b.used, used)
}

// pause holds every request back until until (an HTTP 429's Retry-After).
func (b *Quota) pause(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// ban refuses every request until until (an HTTP 418).
func (b *Quota) ban(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.bannedUntil) {
		b.bannedUntil = until
	}
}
