package deploy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
)

// BenchmarkRecordTick is a runner's write at a candle close on SQLite,
// its lease checked: the tick and its cost ("tick"), with the day's risk
// figures changed ("risk", what a deployment holding a trade writes at
// each close), and the control read each tick and stop poll make first
// ("control").
func BenchmarkRecordTick(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	bd := setup(b, d)
	if _, err := bd.store.Create(ctx, bd.alice, spec()); err != nil {
		b.Fatal(err)
	}
	ls, err := bd.store.Acquire(ctx, "r1", 1, time.Hour)
	if err != nil || len(ls) != 1 {
		b.Fatal(ls, err)
	}
	l := ls[0]
	tick := time.UnixMilli(1_700_000_000_000)
	for _, name := range []string{"tick", "risk", "control"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				tick = tick.Add(time.Minute)
				w := deploy.Write{Tick: tick, Cost: deploy.CostDelta{CPU: time.Millisecond, VenueWeight: 2}}
				var err error
				switch name {
				case "risk":
					w.Risk = &deploy.RiskDay{Day: deploy.Day(tick), DayStart: 1000, DayHigh: 1010, High: 1010, Equity: 1000 + float64(tick.Minute()),
						Positions: map[string]float64{"BTC/USDT": 100}, OpenOrders: 1, Orders: 1}
					fallthrough
				case "tick":
					err = bd.store.Record(ctx, l, w)
				case "control":
					_, err = bd.store.Control(ctx, l)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
