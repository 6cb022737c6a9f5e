package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// A run's parent shows in its view; a submission cannot set it.
func TestRunShowsItsParentReadOnly(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{})
		ctx := context.Background()
		parent := e.submit(e.token, submission(t))
		if r := e.wait(e.token, parent.StatusURL); r.Parent != "" {
			t.Fatalf("a submitted run has parent %q", r.Parent)
		}
		var tenant string
		if err := d.QueryRow(ctx, `SELECT tenant_id FROM runs WHERE id = ?`, parent.RunID).Scan(&tenant); err != nil {
			t.Fatal(err)
		}
		child, _, err := runs.New(d, nil, 3, nil).Create(ctx, tenancy.Principal{Tenant: tenant},
			runs.RunSpec{Strategy: "rsi_bollinger", Parent: parent.RunID}, "")
		if err != nil {
			t.Fatal(err)
		}
		var got apitype.Run
		e.do("GET", "/api/v1/backtests/"+child.ID, e.token, nil).decode(t, &got)
		if got.Parent != parent.RunID {
			t.Fatalf("child's parent = %q, want %s", got.Parent, parent.RunID)
		}

		var body map[string]any
		raw, _ := json.Marshal(submission(t))
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		body["parent"] = parent.RunID
		if r := e.do("POST", "/api/v1/backtests", e.token, body); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("submission naming a parent: %d %s", r.status, r.body)
		}
	})
}
