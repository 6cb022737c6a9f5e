package jobs_test

import (
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/jobs/backtestjob"
	"github.com/tradai/tradai/internal/runs"
)

// Steps started in the same millisecond are shown in their kind's order,
// then the webhook's notify step, then anything else.
func TestStepRankFollowsTheKindsSteps(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, fast(), false)
		order := []string{backtestjob.StepValidate, backtestjob.StepEnsureData, backtestjob.StepRun, backtestjob.StepRecord, jobs.StepNotify, "unknown"}
		for i := 1; i < len(order); i++ {
			if a, b := e.svc.StepRank(runs.KindBacktest, order[i-1]), e.svc.StepRank(runs.KindBacktest, order[i]); a >= b {
				t.Errorf("rank of %s (%d) not before %s (%d)", order[i-1], a, order[i], b)
			}
		}
		if a, b := e.svc.StepRank("no_such_kind", jobs.StepNotify), e.svc.StepRank("no_such_kind", backtestjob.StepValidate); a >= b {
			t.Errorf("of an unknown kind, notify (%d) not before other steps (%d)", a, b)
		}
	})
}
