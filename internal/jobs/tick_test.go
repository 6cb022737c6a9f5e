package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
)

// The River periodic job calls Options.Tick once the queue runs.
func TestPeriodicTickCallsTick(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ticked := make(chan struct{}, 16)
		newEnv(t, d, jobs.Options{Tick: func(context.Context) error {
			ticked <- struct{}{}
			return nil
		}}, true)
		select {
		case <-ticked:
		case <-time.After(60 * time.Second):
			t.Fatal("no tick within 60 s of the queue's start")
		}
	})
}

// A process that inserts ticks but does not work them (a worker, when
// only the API's process has the lifecycle) keeps one waiting, not one
// per period.
func TestUnworkedTicksDoNotPileUp(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, jobs.Options{TickEvery: 50 * time.Millisecond}, true)
		deadline := time.Now().Add(60 * time.Second)
		for {
			var n int
			if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = ?`, jobs.KindTick).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 1 {
				t.Fatalf("%d tick jobs waiting, want at most 1", n)
			}
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no tick inserted within 60 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Several periods later, still one.
		time.Sleep(300 * time.Millisecond)
		var n int
		if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = ?`, jobs.KindTick).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d tick jobs after several periods (%v), want 1", n, err)
		}
	})
}
