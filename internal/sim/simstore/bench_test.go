package simstore

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
)

// BenchmarkRESTPlaceOrderDurable is signed order placements per second over
// HTTP on loopback with every answered order committed to SQLite first
// (group commit), as `tradai sim` runs, with 4 and 16 clients per core.
func BenchmarkRESTPlaceOrderDurable(b *testing.B) {
	for _, clients := range []int{4, 16} {
		b.Run(strconv.Itoa(clients)+"-clients-per-core", func(b *testing.B) { benchDurable(b, clients) })
	}
}

func benchDurable(b *testing.B, clients int) {
	ctx := context.Background()
	database, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { database.Close() })
	if err := database.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	s := New(database, time.Now, nil)
	k, err := s.CreateAccount(ctx, "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := engine(b, s)
	e.CreateAccount(k.Account)
	e.Fund(1, k.Account, "USDT", d("90000000000"))
	e.JumpTo("BTCUSDT", 1, d("100"))
	api, err := binanceapi.New(binanceapi.Config{Engine: e, Keys: s, History: s, Sync: s.Sync, WeightLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
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
			req, _ := http.NewRequest("POST", srv.URL+"/api/v3/order?"+q+"&signature="+binanceapi.Sign(k.Secret, q), nil)
			req.Header.Set("X-MBX-APIKEY", k.APIKey)
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
	var n int
	database.QueryRow(ctx, `SELECT COUNT(*) FROM sim_orders`).Scan(&n)
	if n != b.N {
		b.Fatalf("%d orders stored, %d placed", n, b.N)
	}
}

var _ sim.Journal = (*Store)(nil)
