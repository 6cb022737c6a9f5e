package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/sdk"
)

// meteredStrategy is a strategy runtime that reports its cost: 2 ms of
// CPU and 1 MiB more peak memory per call.
type meteredStrategy struct {
	sdk.Strategy
	calls int64
}

func (m *meteredStrategy) Populate(f *sdk.Frame, p sdk.Values) error {
	m.calls++
	return m.Strategy.Populate(f, p)
}

func (m *meteredStrategy) Usage() (time.Duration, int64) {
	return time.Duration(m.calls) * 2 * time.Millisecond, m.calls << 20
}

// weighingVenue counts a weight of 2 per candle request, and reports the
// minute's count as the calls modulo 7.
type weighingVenue struct {
	exchange.Exchange
	sent int64
}

func (v *weighingVenue) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	v.sent += 2
	return v.Exchange.Klines(ctx, symbol, tf, limit)
}

func (v *weighingVenue) Weight() (int64, int) { return v.sent, int(v.sent/2%7) + 1 }

// The runner records its deployment's cost with each tick: the strategy
// runtime's CPU time (its own and the calls' on the runner's thread) and
// peak memory, the venue weight it sent and the venue's last count.
func TestRunnerRecordsCost(t *testing.T) {
	w := newWorld(t, 1)
	ms := &meteredStrategy{Strategy: w.strat}
	w.strat = ms
	var venue *weighingVenue
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange {
		venue = &weighingVenue{Exchange: x}
		return venue
	})
	p.run(t, p.runner(t, w), start, start+6*3_600_000)
	d, err := p.store.Deployment(context.Background(), p.lease)
	if err != nil {
		t.Fatal(err)
	}
	c := d.Cost
	if ms.calls < 72*3 || c.CPU < time.Duration(ms.calls)*2*time.Millisecond || c.PeakMemory != ms.calls<<20 {
		t.Fatalf("after %d strategy calls: cost %+v", ms.calls, c)
	}
	if sent, minute := venue.Weight(); c.VenueWeight != sent || c.VenueWeight1m != int64(minute) || sent == 0 {
		t.Fatalf("venue weight %d sent, %d last reported: cost %+v", sent, minute, c)
	}
}
