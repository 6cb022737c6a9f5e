package binanceapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkStreamFanout measures kline events delivered per second to N
// websocket clients of one stream: each op closes one candle, which every
// client receives (in-process clients over loopback, sharing the cores).
func BenchmarkStreamFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			e := setupN(b, b.N+20, func(c *Config) { c.Streams.SendBuffer = 1 << 16 })
			u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/btcusdt@kline_1m"
			var got atomic.Int64
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range n {
				c, _, err := websocket.Dial(ctx, u, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseNow()
				wg.Go(func() {
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
						got.Add(1)
					}
				})
			}
			for e.topicSubs("btcusdt@kline_1m") != n {
				time.Sleep(time.Millisecond)
			}
			want := int64(n * b.N)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := e.feed.Step(1); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(time.Minute)
			for got.Load() < want {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d events delivered", got.Load(), want)
				}
				time.Sleep(100 * time.Microsecond)
			}
			b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
			cancel()
			wg.Wait()
		})
	}
}
