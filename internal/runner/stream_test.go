package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/sdk"
)

// flakyStream is a venue whose kline stream the test drops, restores and
// loses single candles of, and whose klines requests (REST) it counts.
type flakyStream struct {
	exchange.Exchange
	ks        exchange.KlineStreamer
	klines    atomic.Int64
	passed    atomic.Int64  // candles the stream delivered
	connected chan struct{} // told of each connection made

	mu   sync.Mutex
	down bool
	cut  context.CancelFunc // ends the connection of now
	gone chan struct{}      // closed when that connection ended
	lose map[string]int64   // per symbol, the open time of a candle the stream loses
}

func (v *flakyStream) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	v.klines.Add(1)
	return v.Exchange.Klines(ctx, symbol, tf, limit)
}

func (v *flakyStream) StreamKlines(ctx context.Context, symbols []string, tf sdk.Timeframe, fn func(string, exchange.Kline)) error {
	v.mu.Lock()
	if v.down {
		v.mu.Unlock()
		return errors.New("dial: connection refused")
	}
	ctx, cancel := context.WithCancel(ctx)
	gone := make(chan struct{})
	v.cut, v.gone = cancel, gone
	v.mu.Unlock()
	defer close(gone)
	defer cancel()
	v.connected <- struct{}{}
	err := v.ks.StreamKlines(ctx, symbols, tf, func(sym string, k exchange.Kline) {
		v.mu.Lock()
		lost := v.lose[sym] == k.Time.UnixMilli()
		v.mu.Unlock()
		if !lost {
			// Counted before the runner has it: the candle that
			// completes a close makes the tick, so a count read after
			// the tick must hold it already.
			v.passed.Add(1)
			fn(sym, k)
		}
	})
	return fmt.Errorf("connection closed: %w", err)
}

// drop ends the connection and refuses new ones until restore; it returns
// once the connection delivers nothing more.
func (v *flakyStream) drop() {
	v.mu.Lock()
	v.down = true
	v.cut()
	gone := v.gone
	v.mu.Unlock()
	<-gone
}

func (v *flakyStream) restore() {
	v.mu.Lock()
	v.down = false
	v.mu.Unlock()
}

// retryLog keeps the waits before the kline stream's reconnections that
// the runner logs (retry_in).
type retryLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (h *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryLog) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			h.mu.Lock()
			h.waits = append(h.waits, a.Value.Duration())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

// logged is the waits logged so far.
func (h *retryLog) logged() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.waits)
}

func (h *retryLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *retryLog) WithGroup(string) slog.Handler      { return h }

// closesSeen is a runner.Observer keeping every close Run ticked at.
type closesSeen struct {
	mu     sync.Mutex
	closes []int64
}

func (o *closesSeen) Ticked(closed, _ time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil {
		o.closes = append(o.closes, closed.UnixMilli())
	}
}
func (o *closesSeen) Breaker(string, bool) {}

// On the venue's kline stream a deployment takes the closed candles from
// the stream: no klines request per tick. When the stream drops, the
// runner polls the venue's klines at each close and reconnects with
// backoff (doubling from RetryWait); once reconnected it ticks on the
// stream again, a close the stream delivers again is not acted on twice,
// and a candle the stream lost is read from the venue. Every close is
// ticked once and the trades are those of the deployment stepped on the
// venue's klines.
func TestKlineStreamFeedsTheTicks(t *testing.T) {
	const (
		streamed = 100 // closes on the stream
		dropped  = 10  // closes polled while the stream is down
		after    = 100 // closes on the stream once reconnected
		more     = 50  // closes after one with a lost candle
	)
	last := start + (streamed+dropped+after+1+more+1)*dur
	w := newWorld(t, 1)
	clean := newPaper(t, w, nil)
	clean.run(t, clean.runner(t, w), start, last)
	want := clean.trades(t)
	if len(want) == 0 {
		t.Fatal("no trades to compare")
	}

	v := &flakyStream{connected: make(chan struct{}, 1), lose: map[string]int64{}}
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange {
		v.Exchange, v.ks = x, x.(exchange.KlineStreamer)
		return v
	})
	clk := clock.NewFake(time.UnixMilli(start))
	ts := &tickStore{Store: p.store, ticks: make(chan int64, 1)}
	rules, acct, err := w.cfg.Trading(w.strat.Spec())
	if err != nil {
		t.Fatal(err)
	}
	params, _ := w.strat.Spec().Resolve(w.cfg.StrategyParams)
	limits := risk.Default()
	limits.MaxOrdersPerMinute = 0 // the clock mostly stands still
	logs, seen := &retryLog{}, &closesSeen{}
	r, err := runner.New(runner.Config{Store: ts, Lease: p.lease, Pairs: pairs, Timeframe: tf5m, Exchange: v, Strategy: w.strat, Params: params,
		Rules: rules, Account: acct, Orders: w.cfg.Orders(), Clock: clk, Limits: &limits, Log: slog.New(logs), Observe: seen,
		RetryWait: time.Second, StopPoll: 24 * time.Hour}) // no stop poll: a tick's timing is the stream's or the fallback's
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	<-v.connected
	if err := clk.BlockUntil(ctx, 1); err != nil { // started, waiting for the first close
		t.Fatal(err)
	}
	warm := v.klines.Load()
	if warm == 0 {
		t.Fatal("no warm-up candles read from the venue")
	}
	now := start
	tick := func(how string) {
		t.Helper()
		if got := <-ts.ticks; got != now {
			t.Fatalf("%s: ticked at %v, want the close at %v", how, time.UnixMilli(got).UTC(), time.UnixMilli(now).UTC())
		}
	}
	advance := func() {
		t.Helper()
		now += dur
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
	}
	requests := func(what string, want int64) {
		t.Helper()
		if got := v.klines.Load() - warm; got != want {
			t.Fatalf("%s: %d klines requests since the start, want %d", what, got, want)
		}
	}

	// Steady state: the stream alone (the clock never moves).
	for range streamed {
		advance()
		tick("streamed")
	}
	requests("on the stream", 0)

	// Dropped: polled at each close plus StreamWait; a reconnection
	// tried at each move of the clock, once the runner waits for both (its
	// next close and its stop poll) and for the reconnection.
	sleeping := func() {
		t.Helper()
		if err := clk.BlockUntil(ctx, 3); err != nil {
			t.Fatal(err)
		}
	}
	v.drop()
	for range dropped {
		sleeping()
		advance()
		clk.Set(time.UnixMilli(now).Add(2 * time.Second))
		tick("polled")
	}
	sleeping()
	polled := int64(dropped * len(pairs))
	requests("polled", polled)

	// Back: the reconnected stream delivers the candle polled last again,
	// which is not acted on twice.
	v.restore()
	clk.Set(time.UnixMilli(now).Add(2 * time.Minute)) // the reconnection's wait (at most a minute) is over, the next close not due
	<-v.connected
	// Each failed reconnection doubled the wait, up to a minute.
	down := logs.logged()
	for i, d := range down {
		if want := min(time.Second<<i, time.Minute); d != want {
			t.Fatalf("reconnection waits %v, want 1s doubling up to a minute", down)
		}
	}
	if len(down) != dropped+1 {
		t.Fatalf("reconnection waits %v: want one at the drop and one per failed reconnection (%d)", down, dropped)
	}
	for range after {
		advance()
		tick("streamed after the reconnection")
	}
	requests("on the reconnected stream", polled)

	// A candle lost on the stream: that pair's is read from the venue
	// at the close plus StreamWait; the next close is the stream's again.
	v.mu.Lock()
	v.lose["BBBUSDT"] = now
	v.mu.Unlock()
	passed := v.passed.Load()
	advance()
	waitFor(t, "the other pairs' candles on the stream", func() bool { return v.passed.Load() == passed+int64(len(pairs)-1) })
	clk.Set(time.UnixMilli(now).Add(2 * time.Second))
	tick("a lost candle")
	requests("a lost candle", polled+1)
	for range more {
		advance()
		tick("streamed after a lost candle")
	}
	requests("on the stream after a lost candle", polled+1)

	// Dropped again: the backoff starts again from RetryWait.
	v.drop()
	sleeping()
	if w := logs.logged()[len(down)]; w != time.Second {
		t.Fatalf("after the stream came back and dropped again: wait %v, want 1s", w)
	}
	advance()
	clk.Set(time.UnixMilli(now).Add(2 * time.Second))
	tick("polled again")
	if now != last {
		t.Fatalf("stepped to %v, the clean run to %v", now, last)
	}

	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	sameTrades(t, p.trades(t), want)
	var closes []int64
	for c := start + dur; c <= last; c += dur {
		closes = append(closes, c)
	}
	if !slices.Equal(seen.closes, closes) {
		t.Errorf("ticked at %d closes, want each of the %d once", len(seen.closes), len(closes))
	}
	t.Logf("reconnection waits %v; %d klines requests over %d closes (%d polled)", logs.logged(), v.klines.Load()-warm, len(closes), dropped+2)
}
