// Package apitest has load helpers for tests and benchmarks of the
// simulator's Binance API.
package apitest

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/binance"
)

// PlaceOrders sends b.N signed LIMIT BUY BTCUSDT 0.1 @ 90 placements to the
// API at base, clients goroutines per core at once, fails the benchmark if
// any is not answered 200, and reports orders/s.
func PlaceOrders(b *testing.B, base, key, secret string, clients int) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	var failed atomic.Int64
	b.SetParallelism(clients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "quantity": {"0.1"},
				"price": {"90"}, "timestamp": {strconv.FormatInt(time.Now().UnixMilli(), 10)}}.Encode()
			req, _ := http.NewRequest("POST", base+"/api/v3/order?"+q+"&signature="+binance.Sign(secret, q), nil)
			req.Header.Set("X-MBX-APIKEY", key)
			res, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d placements failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
