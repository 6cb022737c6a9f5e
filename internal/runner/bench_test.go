package runner_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStep is one candle close of a three-pair sma_cross deployment
// on the in-process simulator with its store on SQLite: candles read from
// the venue, the strategy run on each pair's window, the decisions, the
// orders they place (about one in seventeen closes) and the tick recorded.
func BenchmarkStep(b *testing.B) {
	w := newWorld(b, days)
	p := newPaper(b, w, nil)
	r := p.runner(b, w)
	ctx := context.Background()
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		b.Fatal(err)
	}
	now := start
	last := start + days*86_400_000 - dur
	b.ResetTimer()
	for b.Loop() {
		now += dur
		if now > last {
			b.Fatal("out of candles: run with a smaller -benchtime")
		}
		if err := p.feed.AdvanceTo(now); err != nil {
			b.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			b.Fatal(err)
		}
	}
}
