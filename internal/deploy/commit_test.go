package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
)

// Runners' writes arriving together are committed together, each as if
// alone: a stale runner's writes (fenced) and a write that fails leave
// nothing and fail alone; the others are all recorded.
func TestConcurrentWritesEachAsIfAlone(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		const n = 12
		for range n {
			if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := b.store.Acquire(ctx, "r1", n, time.Hour)
		if err != nil || len(ls) != n {
			t.Fatalf("acquire: %d leases, %v", len(ls), err)
		}
		// The first runner's lease is stale (another token); every
		// writer's third write is an entry beyond its account's limit:
		// refused, after its tick was written in its transaction.
		if err := b.store.SetAccountLimits(ctx, b.alice, "sim", "paper-1", json.RawMessage(`{"max_position_notional_total": 100}`)); err != nil {
			t.Fatal(err)
		}
		stale := ls[0]
		stale.Token++
		var wg sync.WaitGroup
		errs := make([][]error, n)
		for i, l := range ls {
			if i == 0 {
				l = stale
			}
			errs[i] = make([]error, 5)
			wg.Go(func() {
				for k := range 5 {
					var err error
					switch k {
					case 0:
						err = b.store.Record(ctx, l, deploy.Write{Tick: time.UnixMilli(300_000),
							Orders: []deploy.Order{{ClientOrderID: "o1", Leg: deploy.Entry, Pair: "BTC/USDT", Side: exchange.Buy, Type: exchange.MarketOrder}}})
					case 2:
						w := entryWrite(l, 2, "ETH/USDT", 1000, deploy.RiskDay{Day: deploy.Day(b.clk.Now()), Positions: map[string]float64{}})
						w.Tick = time.UnixMilli(900_000)
						err = b.store.Record(ctx, l, w)
					case 1:
						err = b.store.Log(ctx, l, slog.LevelInfo, "line", nil)
					case 3:
						_, renewErrs := b.store.RenewAll(ctx, []deploy.Lease{l}, time.Hour)
						err = renewErrs[0]
					case 4:
						err = b.store.Record(ctx, l, deploy.Write{Cost: deploy.CostDelta{CPU: time.Second}})
					}
					errs[i][k] = err
				}
			})
		}
		wg.Wait()
		for i, l := range ls {
			for k, err := range errs[i] {
				if i == 0 && !errors.Is(err, deploy.ErrFenced) || i > 0 && k == 2 && refusedBy(err) == "" || i > 0 && k != 2 && err != nil {
					t.Errorf("runner %d write %d: %v", i, k, err)
				}
			}
			os, err := b.store.Orders(ctx, b.alice.Tenant, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			logs, err := b.store.Logs(ctx, b.alice.Tenant, l.Deployment, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.store.Get(ctx, b.alice, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			want, tick := map[bool]int{true: 0, false: 1}[i == 0], int64(0)
			if !got.LastTick.IsZero() {
				tick = got.LastTick.UnixMilli()
			}
			if len(os) != want || len(logs) != want || tick != int64(want*300_000) || got.Cost.CPU != time.Duration(want)*time.Second {
				t.Errorf("runner %d: %d orders, %d log lines, last tick %v", i, len(os), len(logs), got.LastTick)
			}
		}
	})
}

// RenewAll renews a runner's leases in one write and tells which were
// lost.
func TestRenewAll(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		for range 3 {
			if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := b.store.Acquire(ctx, "r1", 3, 30*time.Second)
		if err != nil || len(ls) != 3 {
			t.Fatalf("acquire: %+v %v", ls, err)
		}
		// The second is stopped meanwhile: its lease is released.
		if _, err := b.store.Stop(ctx, b.alice, ls[1].Deployment); err != nil {
			t.Fatal(err)
		}
		b.clk.Advance(10 * time.Second)
		renewed, errs := b.store.RenewAll(ctx, ls, time.Minute)
		want := b.clk.Now().Add(time.Minute)
		for i, l := range renewed {
			lost := i == 1
			if lost != errors.Is(errs[i], deploy.ErrFenced) || lost && errs[i] == nil || !lost && (errs[i] != nil || !l.Expires.Equal(want)) || lost && !l.Expires.Equal(ls[i].Expires) {
				t.Errorf("lease %d: %+v, %v", i, l, errs[i])
			}
			got, err := b.store.Get(ctx, b.alice, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			if got.Heartbeat.Equal(b.clk.Now()) == lost {
				t.Errorf("lease %d: heartbeat %v", i, got.Heartbeat)
			}
		}
	})
}

// A tick's bookkeeping recorded later (RecordLater) is committed with the
// writes in flight, or at once when there are none; a stale runner's is
// refused, at once or by its next write; Flush returns once what was
// queued is committed. Orders are never recorded later.
func TestRecordLater(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		const n = 8
		for range 2 * n {
			if _, err := b.store.Create(ctx, b.alice, spec()); err != nil {
				t.Fatal(err)
			}
		}
		ls, err := b.store.Acquire(ctx, "r1", 2*n, time.Hour)
		if err != nil || len(ls) != 2*n {
			t.Fatalf("acquire: %d leases, %v", len(ls), err)
		}
		order := deploy.Order{ClientOrderID: "o1", Leg: deploy.Entry, Pair: "BTC/USDT", Side: exchange.Buy, Type: exchange.MarketOrder}
		if err := b.store.RecordLater(ctx, ls[0], deploy.Write{Orders: []deploy.Order{order}}); err == nil {
			t.Fatal("an order was recorded later")
		}
		// The first n runners are stale; the others tick and place orders
		// meanwhile.
		var wg sync.WaitGroup
		var mu sync.Mutex
		later := 0 // stale writes refused by the next write
		for i, l := range ls {
			stale := i < n
			if stale {
				l.Token++
			}
			wg.Go(func() {
				for k := range 20 {
					tick := time.UnixMilli(int64(k+1) * 300_000)
					err := b.store.RecordLater(ctx, l, deploy.Write{Tick: tick, Cost: deploy.CostDelta{CPU: time.Millisecond}})
					switch {
					case !stale && err != nil:
						t.Errorf("runner %d tick %d: %v", i, k, err)
					case stale && err == nil:
						if err := b.store.Flush(ctx); err != nil {
							t.Error(err)
						}
						if err := b.store.Record(ctx, l, deploy.Write{}); !errors.Is(err, deploy.ErrFenced) {
							t.Errorf("stale runner %d: the write after a refused tick: %v", i, err)
						}
						mu.Lock()
						later++
						mu.Unlock()
					case stale && !errors.Is(err, deploy.ErrFenced):
						t.Errorf("stale runner %d tick %d: %v", i, k, err)
					}
					if !stale && k%4 == 0 {
						o := order
						o.ClientOrderID = fmt.Sprintf("o%d", k)
						if err := b.store.Record(ctx, l, deploy.Write{Orders: []deploy.Order{o}}); err != nil {
							t.Errorf("runner %d order %d: %v", i, k, err)
						}
					}
				}
			})
		}
		wg.Wait()
		if err := b.store.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d of %d stale ticks refused by the next write", later, n*20)
		for i, l := range ls {
			got, err := b.store.Get(ctx, b.alice, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			os, err := b.store.Orders(ctx, b.alice.Tenant, l.Deployment)
			if err != nil {
				t.Fatal(err)
			}
			if i < n && (!got.LastTick.IsZero() || got.Cost.CPU != 0 || len(os) != 0) || i >= n && (got.LastTick.UnixMilli() != 20*300_000 || got.Cost.CPU != 20*time.Millisecond || len(os) != 5) {
				t.Errorf("runner %d: last tick %v, CPU %v, %d orders", i, got.LastTick, got.Cost.CPU, len(os))
			}
		}
	})
}
