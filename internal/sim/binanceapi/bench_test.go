package binanceapi

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/fixed"
)

// BenchmarkRESTPlaceOrder measures signed order placements per second over
// HTTP on loopback: clients in parallel (4 per core) sign and send
// POST /api/v3/order (LIMIT, resting, FULL response) and read the answer.
func BenchmarkRESTPlaceOrder(b *testing.B) {
	e := setupBench(b, nil)
	benchPlace(b, e.srv.URL)
}

func setupBench(b *testing.B, mod func(*Config)) *env {
	e := setup(b, func(c *Config) {
		c.Clock = time.Now
		c.WeightLimit = -1
		if mod != nil {
			mod(c)
		}
	})
	e.eng.Fund(0, "acct1", "USDT", fixed.MustParse("90000000000"))
	b.Cleanup(e.srv.Close)
	return e
}

// benchPlace places b.N signed limit orders on base and reports orders/s.
func benchPlace(b *testing.B, base string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	var failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
				"quantity": {"0.1"}, "price": {"90"}, "timestamp": {strconv.FormatInt(time.Now().UnixMilli(), 10)}}
			q := v.Encode()
			req, _ := http.NewRequest("POST", base+"/api/v3/order?"+q+"&signature="+Sign(testSecret, q), nil)
			req.Header.Set("X-MBX-APIKEY", testKey)
			res, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
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
