package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
)

func auditCount(t *testing.T, d *db.DB, action, target string) (n int) {
	t.Helper()
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = ? AND target = ?`, action, target).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The kill switch asks the deployments a runner holds to stop (their
// runner cancels, flattens and stops them), stops the unheld ones at
// once, leaves other tenants' alone unless platform-wide, and audits each
// with who.
func TestStopAll(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		held, err := b.store.Create(ctx, b.alice, spec())
		if err != nil {
			t.Fatal(err)
		}
		ls, err := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if err != nil || len(ls) != 1 {
			t.Fatal(ls, err)
		}
		unheld, _ := b.store.Create(ctx, b.alice, spec())
		live := spec()
		live.Mode = deploy.Live
		liveDep, _ := b.store.Create(ctx, b.alice, live)
		theirs, _ := b.store.Create(ctx, b.bob, spec())

		res, err := b.store.StopAll(ctx, b.alice, deploy.StopAllRequest{Modes: []deploy.Mode{deploy.Paper}})
		if err != nil || len(res.Asked) != 1 || res.Asked[0] != held.ID || len(res.Stopped) != 1 || res.Stopped[0] != unheld.ID {
			t.Fatalf("stop-all paper: %+v %v", res, err)
		}
		got, _ := b.store.Get(ctx, b.alice, held.ID)
		if !got.StopAsked || got.Flatten || got.State != deploy.Running && got.State != deploy.Starting {
			t.Fatalf("the held one: %+v", got)
		}
		if got, _ := b.store.Get(ctx, b.alice, liveDep.ID); got.State != deploy.Starting || got.StopAsked {
			t.Fatalf("the live one, not asked: %+v", got)
		}
		if got, _ := b.store.Get(ctx, b.bob, theirs.ID); got.State != deploy.Starting || got.StopAsked {
			t.Fatalf("another tenant's: %+v", got)
		}
		if err := b.store.MarkStopped(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		res, err = b.store.StopAll(ctx, b.alice, deploy.StopAllRequest{Platform: true, Flatten: true})
		if err != nil || len(res.Asked) != 2 || len(res.Stopped) != 0 {
			// Unheld with flatten: asked, for the next runner to flatten.
			t.Fatalf("stop-all platform --flatten: %+v %v", res, err)
		}
		if got, _ := b.store.Get(ctx, b.bob, theirs.ID); !got.StopAsked || !got.Flatten {
			t.Fatalf("another tenant's, platform-wide: %+v", got)
		}
		var user string
		if err := d.QueryRow(ctx, `SELECT user_id FROM audit_log WHERE action = 'deployment.stop_all' AND target = ?`, theirs.ID).Scan(&user); err != nil || user != b.alice.User {
			t.Fatalf("audited as %q, %v; want alice", user, err)
		}
		if n := auditCount(t, d, "deployments.stop_all", b.alice.Tenant); n != 2 {
			t.Fatalf("%d stop-all calls audited", n)
		}
	})
}

// A breach pauses a running deployment and records why, fenced and
// audited; the risk state and an account's limits are kept.
func TestHaltRiskStateAndAccountLimits(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		dep, _ := b.store.Create(ctx, b.alice, spec())
		ls, _ := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if err := b.store.MarkRunning(ctx, ls[0]); err != nil {
			t.Fatal(err)
		}
		rs := deploy.RiskState{Breaker: "open", BreakerSince: time.UnixMilli(1_700_000_000_000), Halted: "risk_limits.max_daily_loss: …", HaltedAt: time.UnixMilli(1_700_000_060_000)}
		if err := b.store.Halt(ctx, ls[0], "max_daily_loss", rs); err != nil {
			t.Fatal(err)
		}
		got, _ := b.store.Get(ctx, b.alice, dep.ID)
		if got.State != deploy.Paused || !got.Risk.BreakerSince.Equal(rs.BreakerSince) || got.Risk.Halted != rs.Halted || got.Risk.Breaker != "open" {
			t.Fatalf("after the halt: %s %+v", got.State, got.Risk)
		}
		if n := auditCount(t, d, "deployment.risk_breach", dep.ID); n != 1 {
			t.Fatalf("%d breaches audited", n)
		}
		stale := ls[0]
		stale.Token--
		if err := b.store.SetRisk(ctx, stale, deploy.RiskState{}); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("a stale lease's risk state: %v", err)
		}
		if err := b.store.Audit(ctx, stale, "deployment.order_refused", nil); !errors.Is(err, deploy.ErrFenced) {
			t.Fatalf("a stale lease's audit: %v", err)
		}
		if err := b.store.SetRisk(ctx, ls[0], deploy.RiskState{Breaker: "closed"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.store.Get(ctx, b.alice, dep.ID); got.Risk != (deploy.RiskState{Breaker: "closed"}) {
			t.Fatalf("risk state %+v", got.Risk)
		}
		if l, err := b.store.AccountLimits(ctx, b.alice.Tenant, "sim", "paper-1"); err != nil || l != nil {
			t.Fatalf("no limits yet: %s %v", l, err)
		}
		if err := b.store.SetAccountLimits(ctx, b.alice, "sim", "paper-1", json.RawMessage(`{"max_order_notional": 5}`)); err != nil {
			t.Fatal(err)
		}
		if l, err := b.store.AccountLimits(ctx, b.alice.Tenant, "sim", "paper-1"); err != nil || string(l) != `{"max_order_notional": 5}` {
			t.Fatalf("limits %s %v", l, err)
		}
		if l, _ := b.store.AccountLimits(ctx, b.bob.Tenant, "sim", "paper-1"); l != nil {
			t.Fatalf("another tenant sees the limits: %s", l)
		}
	})
}
