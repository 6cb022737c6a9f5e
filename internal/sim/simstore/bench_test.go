package simstore

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/binanceapi/apitest"
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
	s := New(database, nil, nil)
	k, err := s.CreateAccount(ctx, "bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := engine(b, s)
	e.CreateAccount(k.Account)
	e.Fund(1, k.Account, "USDT", d("90000000000"))
	e.JumpTo("BTCUSDT", 1, d("100"))
	api, err := binanceapi.New(binanceapi.Config{Engine: e, Keys: s, History: s, Sync: s.Sync, WeightLimit: -1, OrderLimits: binanceapi.OrderLimits{PerTenSeconds: -1, PerDay: -1}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	apitest.PlaceOrders(b, srv.URL, k.APIKey, k.Secret, clients)
	var n int
	database.QueryRow(ctx, `SELECT COUNT(*) FROM sim_orders`).Scan(&n)
	if n != b.N {
		b.Fatalf("%d orders stored, %d placed", n, b.N)
	}
}

var _ sim.Journal = (*Store)(nil)
