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
