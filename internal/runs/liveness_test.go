package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// A worker's heartbeat keeps its run off the orphan list; a run whose
// heartbeat and start are older than the stale age is listed, for every
// tenant; Status answers for the tenant's runs only.
func TestHeartbeatStatusAndOrphans(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.UnixMilli(1700000000000))
		ten := tenancy.New(d, clk, nil)
		u, err := ten.CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		other, err := ten.CreateUser(ctx, "bob", "globex")
		if err != nil {
			t.Fatal(err)
		}
		alice, bob := tenancy.Principal{Tenant: u.Tenant, User: u.ID}, tenancy.Principal{Tenant: other.Tenant, User: other.ID}
		s := runs.New(d, clk, 4, nil)
		if got := s.MaxAttempts(); got != 4 {
			t.Fatalf("MaxAttempts = %d, want 4", got)
		}

		start := func(p tenancy.Principal) runs.Run {
			t.Helper()
			r, _, err := s.Create(ctx, p, spec("sma"), "")
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Millisecond) // distinct ids
			if _, err := s.MarkRunning(ctx, p, r.ID, ""); err != nil {
				t.Fatal(err)
			}
			return r
		}
		beating, dead := start(alice), start(bob)
		queued, _, err := s.Create(ctx, alice, spec("sma"), "")
		if err != nil {
			t.Fatal(err)
		}
		orphans := func() []runs.Ref {
			t.Helper()
			got, err := s.Orphans(ctx, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := orphans(); len(got) != 0 {
			t.Fatalf("fresh runs are orphans: %v", got)
		}
		clk.Advance(20 * time.Second)
		if err := s.Heartbeat(ctx, alice, beating.ID); err != nil {
			t.Fatal(err)
		}
		// Another tenant's heartbeat stamps nothing.
		if err := s.Heartbeat(ctx, alice, dead.ID); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * time.Second)
		got := orphans()
		if len(got) != 1 || got[0] != (runs.Ref{ID: dead.ID, Tenant: bob.Tenant, Kind: runs.KindBacktest}) {
			t.Fatalf("orphans = %v, want only %s of %s", got, dead.ID, bob.Tenant)
		}

		for _, c := range []struct {
			p    tenancy.Principal
			id   string
			want runs.Status
		}{{alice, beating.ID, runs.Running}, {alice, queued.ID, runs.Queued}, {bob, dead.ID, runs.Running}} {
			if st, err := s.Status(ctx, c.p, c.id); err != nil || st != c.want {
				t.Errorf("Status(%s) = %q, %v; want %q", c.id, st, err, c.want)
			}
		}
		for _, id := range []string{dead.ID, "no-such-run", "bad\x00id"} {
			if _, err := s.Status(ctx, alice, id); !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("Status(%q) for alice = %v, want ErrNotFound", id, err)
			}
		}

		// A heartbeat after the run left running changes nothing.
		if _, err := s.Cancel(ctx, bob, dead.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Heartbeat(ctx, bob, dead.ID); err != nil {
			t.Fatal(err)
		}
		if got := orphans(); len(got) != 0 {
			t.Fatalf("orphans after cancel = %v", got)
		}
	})
}

func TestCountByStatus(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, bob := setup(t, d)
		for _, p := range []tenancy.Principal{alice, alice, bob} {
			if _, _, err := s.Create(ctx, p, spec("sma"), ""); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.List(ctx, alice, runs.Filter{}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cancel(ctx, alice, page.Runs[0].ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.CountByStatus(ctx)
		if err != nil || len(got) != 2 || got["queued"] != 2 || got["cancelled"] != 1 {
			t.Fatalf("counts = %v, %v; want 2 queued and 1 cancelled over both tenants", got, err)
		}
	})
}

// SetProgress moves a running run's progress (clamped), and leaves a
// queued run and another tenant's run as they are.
func TestSetProgress(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.UnixMilli(1700000000000))
		ten := tenancy.New(d, clk, nil)
		u, err := ten.CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		other, err := ten.CreateUser(ctx, "bob", "globex")
		if err != nil {
			t.Fatal(err)
		}
		alice, bob := tenancy.Principal{Tenant: u.Tenant, User: u.ID}, tenancy.Principal{Tenant: other.Tenant, User: other.ID}
		s := runs.New(d, clk, 4, nil)
		spec := runs.RunSpec{Kind: runs.KindWalkForward, Strategy: "sma", Fingerprint: "{}"}
		running, _, err := s.Create(ctx, alice, spec, "")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
		queued, _, err := s.Create(ctx, alice, spec, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkRunning(ctx, alice, running.ID, ""); err != nil {
			t.Fatal(err)
		}
		progress := func(id string) float64 {
			t.Helper()
			r, err := s.Get(ctx, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			return r.Progress
		}
		for _, c := range []struct {
			p    tenancy.Principal
			id   string
			set  float64
			want float64
		}{{alice, running.ID, 0.5, 0.5}, {bob, running.ID, 0.9, 0.5}, {alice, running.ID, 7, 1}, {alice, queued.ID, 0.3, 0}} {
			if err := s.SetProgress(ctx, c.p, c.id, c.set); err != nil {
				t.Fatal(err)
			}
			if got := progress(c.id); got != c.want {
				t.Fatalf("SetProgress(%v, %s, %v): progress %v, want %v", c.p.Tenant, c.id, c.set, got, c.want)
			}
		}
	})
}
