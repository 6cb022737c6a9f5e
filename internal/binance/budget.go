package binance

import (
	"context"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// weightBudget keeps the request weight used in the current clock minute
// below a budget, as Binance counts it (per IP, per calendar minute).
type weightBudget struct {
	budget int

	mu     sync.Mutex
	minute int64 // Unix minute that used refers to
	used   int
	// sent is the weight of every request sent; reported the exchange's
	// last count of the weight used in its minute (0 before one).
	sent     int64
	reported int
}

// Weight is the request weight of every request the client sent (retries
// included), and the weight the exchange last reported used in its
// current minute (X-MBX-USED-WEIGHT-1M: counted per IP, so it includes
// other clients on the same address; 0 when it reported none).
func (c *Client) Weight() (sent int64, minute int) {
	c.budget.mu.Lock()
	defer c.budget.mu.Unlock()
	return c.budget.sent, c.budget.reported
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// reserve waits until cost more weight fits into the current minute's
// budget (sleeping to the next minute boundary when it does not), then
// counts it. It returns the time waited. A single request costing more than
// the whole budget is let through at the start of a minute.
func (b *weightBudget) reserve(ctx context.Context, clk clock.Clock, cost int) (time.Duration, error) {
	var waited time.Duration
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for {
		b.mu.Lock()
		now := clk.Now()
		if m := minuteOf(now); m != b.minute {
			b.minute, b.used = m, 0
		}
		if b.used == 0 || b.used+cost <= b.budget {
			b.used += cost
			b.sent += int64(cost)
			b.mu.Unlock()
			return waited, nil
		}
		wait := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		b.mu.Unlock()
		if err := clk.Sleep(ctx, wait); err != nil {
			return waited, err
		}
		waited += wait
	}
}

// observe records the weight the exchange reports as used in the minute of
// now. The larger of the reported and the locally counted weight is kept:
// the exchange also counts other clients on the same IP, the local count
// also requests still in flight.
func (b *weightBudget) observe(now time.Time, used int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reported = used
	if m := minuteOf(now); m != b.minute {
		b.minute, b.used = m, used
		return
	}
	b.used = max(b.used, used)
}
