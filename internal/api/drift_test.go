package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/tenancy"
)

// fakeDrift answers rep, or err.
type fakeDrift struct {
	rep   drift.Report
	at    time.Time
	err   error
	calls int
}

func (f *fakeDrift) Drift(context.Context, deploy.Deployment) (drift.Report, time.Time, error) {
	f.calls++
	return f.rep, f.at, f.err
}

// A deployment's GET carries the drift computed for it (score, verdict,
// each feature's figures, when); the list does not compute it; a failed
// computation leaves the field out.
func TestDeploymentDrift(t *testing.T) {
	d := sqliteDB(t)
	ctx := t.Context()
	store, err := deploy.New(deploy.Config{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	fd := &fakeDrift{at: at, rep: drift.Report{Score: 2.5, Enough: true, Drifted: true, Verdict: "drift: the live returns no longer match the backtest (score 2.50)",
		Features: []drift.Feature{{Name: drift.Returns, Live: 30, Reference: 90, PSI: 0.6, KS: 0.5, KSP: 1e-6, Score: 2.5, Drifted: true}}}}
	ops, err := api.NewDeployments(api.DeploymentsConfig{Store: store, Venues: fakeVenues{}, Drift: fd})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := ops.Create(ctx, p, deploymentRequest())
	if err != nil {
		t.Fatal(err)
	}
	if dep.Drift != nil {
		t.Errorf("create: drift %+v", dep.Drift)
	}
	l, err := ops.List(ctx, p)
	if err != nil || len(l.Deployments) != 1 || l.Deployments[0].Drift != nil || fd.calls != 0 {
		t.Fatalf("list: %+v, %v; %d drift computations", l, err, fd.calls)
	}
	got, err := ops.Get(ctx, p, dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	dr := got.Drift
	if dr == nil || dr.Score != 2.5 || !dr.Drifted || !dr.Enough || dr.Verdict != fd.rep.Verdict || !dr.ComputedAt.Equal(at) || dr.ComputedAt.Location() != time.UTC ||
		len(dr.Features) != 1 || dr.Features[0].Name != "returns" || dr.Features[0].KSP != 1e-6 || dr.Features[0].Live != 30 || !dr.Features[0].Drifted {
		t.Errorf("drift %+v", dr)
	}
	fd.err = errors.New("no candles")
	if got, err := ops.Get(ctx, p, dep.ID); err != nil || got.Drift != nil {
		t.Errorf("failed drift: %+v, %v", got.Drift, err)
	}
}
