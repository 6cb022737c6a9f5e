package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// The lifecycle's routes are served, tenant-scoped, and name the bad field.
func TestSchedulesRoutes(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{NoWorkers: true})
	for _, tc := range []struct {
		req apitype.ScheduleRequest
		loc string
	}{
		{apitype.ScheduleRequest{Deployment: "dep_x", Action: "refresh", Cron: "0 * * *"}, "body.cron"},
		{apitype.ScheduleRequest{Deployment: "dep_x", Action: "refresh", Cron: "@fortnightly"}, "body.cron"},
		{apitype.ScheduleRequest{Deployment: "dep_x", Action: "reoptimise", Cron: "@daily", Metric: "max_drawdown_account"}, "body.metric"},
		{apitype.ScheduleRequest{Deployment: "dep_x", Action: "refresh", Cron: "@daily"}, "body.deployment"},
	} {
		r := e.do(http.MethodPost, "/api/v1/schedules", e.token, tc.req)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%+v: %d %s, want 422", tc.req, r.status, r.body)
		}
		if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Location != tc.loc {
			t.Errorf("%+v: %+v, want the location %s", tc.req, p, tc.loc)
		}
	}
	r := e.do(http.MethodGet, "/api/v1/schedules", e.token, nil)
	var l apitype.ScheduleList
	if r.decode(t, &l); r.status != http.StatusOK || len(l.Schedules) != 0 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/api/v1/challengers/chl_none/approve", e.token, apitype.ChallengerDecision{}); r.status != http.StatusNotFound {
		t.Fatalf("approve an unknown challenger: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/api/v1/schedules/sch_none", e.other, nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "not found") {
		t.Fatalf("delete an unknown schedule: %d %s", r.status, r.body)
	}
}
