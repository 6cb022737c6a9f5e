package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/lifecycle"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

var (
	alice = tenancy.Principal{Tenant: "ten_a", User: "usr_a"}
	bob   = tenancy.Principal{Tenant: "ten_b", User: "usr_b"}
)

// fakes stands for the platform around the lifecycle: deployments, the
// API's submissions, studies, runs and the registry, recording calls.
type fakes struct {
	mu          sync.Mutex
	deployments map[string]deploy.Deployment
	downloads   []apitype.DownloadRequest
	studies     map[string]*study.Study // by id
	studyReqs   []apitype.StudyRequest
	keys        map[string]string // idempotency key → id
	backtests   map[string]apitype.SubmitRequest
	runs        map[string]runs.Run
	overfitting optimize.Overfitting
	exported    int // the challenger version ExportVersion pushes
	promoted    []string
	submitErr   error
	params      []sdk.Param // what the deployment's version declares
}

func newFakes() *fakes {
	return &fakes{
		deployments: map[string]deploy.Deployment{"dep_1": {ID: "dep_1", Tenant: alice.Tenant, Spec: deploy.Spec{Strategy: "trend", Version: 3, Mode: deploy.Paper,
			Venue: "sim", Account: "main", Pairs: []string{"BTC/USDT"}, Timeframe: "1h", Config: json.RawMessage(`{"exchange":{"name":"binance"},"stake_currency":"USDT"}`)}}},
		studies: map[string]*study.Study{}, keys: map[string]string{}, backtests: map[string]apitype.SubmitRequest{}, runs: map[string]runs.Run{},
		overfitting: optimize.Overfitting{DSR: 0.97, PBO: 0.1, Verdict: "Likely genuine"}, exported: 4, params: trendParams,
	}
}

func (f *fakes) Get(_ context.Context, p tenancy.Principal, id string) (deploy.Deployment, error) {
	d, ok := f.deployments[id]
	if !ok || d.Tenant != p.Tenant {
		return deploy.Deployment{}, fmt.Errorf("deployment %s: %w", id, deploy.ErrNotFound)
	}
	return d, nil
}

func (f *fakes) Submit(_ context.Context, p tenancy.Principal, req apitype.SubmitRequest, key string) (runs.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return runs.Run{}, f.submitErr
	}
	if id, ok := f.keys[key]; ok {
		return f.runs[id], nil
	}
	id := fmt.Sprintf("run_%d", len(f.keys))
	f.keys[key], f.backtests[id] = id, req
	f.runs[id] = runs.Run{ID: id, Tenant: p.Tenant, Status: runs.Queued}
	return f.runs[id], nil
}

func (f *fakes) SubmitDownload(_ context.Context, _ tenancy.Principal, req apitype.DownloadRequest, key string) (runs.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[key]; !ok {
		f.keys[key] = "dl"
		f.downloads = append(f.downloads, req)
	}
	return runs.Run{}, nil
}

func (f *fakes) SubmitStudy(_ context.Context, p tenancy.Principal, req apitype.StudyRequest, key string) (*study.Study, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.keys[key]; ok {
		return f.studies[id], nil
	}
	id := fmt.Sprintf("study_%d", len(f.keys))
	f.keys[key] = id
	f.studyReqs = append(f.studyReqs, req)
	f.studies[id] = &study.Study{Run: runs.Run{ID: id, Tenant: p.Tenant, Status: runs.Queued}}
	return f.studies[id], nil
}

type fakeStudies struct{ *fakes }

func (f fakeStudies) Get(_ context.Context, p tenancy.Principal, id string) (*study.Study, error) {
	st, ok := f.studies[id]
	if !ok || st.Run.Tenant != p.Tenant {
		return nil, study.ErrNotFound
	}
	return st, nil
}

func (f fakeStudies) Overfitting(context.Context, tenancy.Principal, *study.Study) (optimize.Overfitting, error) {
	return f.overfitting, nil
}

func (f fakeStudies) ExportVersion(_ context.Context, _ tenancy.Principal, st *study.Study, _ study.Versions) (registry.Version, bool, error) {
	return registry.Version{Name: "trend", Number: f.exported}, true, nil
}

type fakeRuns struct{ *fakes }

func (f fakeRuns) Get(_ context.Context, p tenancy.Principal, id string) (runs.Run, error) {
	r, ok := f.runs[id]
	if !ok || r.Tenant != p.Tenant {
		return runs.Run{}, runs.ErrNotFound
	}
	return r, nil
}

type fakeRegistry struct{ *fakes }

func (f fakeRegistry) Files(context.Context, tenancy.Principal, string) (registry.Version, []registry.File, error) {
	return registry.Version{}, nil, errors.New("not used")
}

func (f fakeRegistry) Push(context.Context, tenancy.Principal, string, []registry.File, registry.PushOptions) (registry.Version, bool, error) {
	return registry.Version{}, false, errors.New("not used")
}

func (f fakeRegistry) Get(_ context.Context, p tenancy.Principal, ref string) (registry.Version, error) {
	if ref != "trend@3" || p.Tenant != alice.Tenant {
		return registry.Version{}, fmt.Errorf("%s: %w", ref, registry.ErrNotFound)
	}
	return registry.Version{Name: "trend", Number: 3, Spec: sdk.Spec{Name: "trend", Params: f.params}}, nil
}

func (f fakeRegistry) Promote(_ context.Context, p tenancy.Principal, ref string, stage registry.Stage, reason string) (registry.Version, error) {
	f.promoted = append(f.promoted, fmt.Sprintf("%s %s %s by %q", p.Tenant, ref, stage, p.User))
	return registry.Version{}, nil
}

// finish completes study id, or run id with metrics.
func (f *fakes) finishStudy(id string, status runs.Status) { f.studies[id].Run.Status = status }

func (f *fakes) finishRun(id string, status runs.Status, metrics string) {
	r := f.runs[id]
	r.Status, r.Metrics = status, json.RawMessage(metrics)
	f.runs[id] = r
}

type bundle struct {
	svc *lifecycle.Service
	f   *fakes
	clk *clock.Fake
	d   *db.DB
}

func setup(t *testing.T, d *db.DB) bundle {
	t.Helper()
	f := newFakes()
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
	svc, err := lifecycle.New(lifecycle.Config{DB: d, Deployments: f, Submitter: f, Studies: fakeStudies{f}, Registry: fakeRegistry{f}, Runs: fakeRuns{f}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return bundle{svc: svc, f: f, clk: clk, d: d}
}

func (b bundle) tick(t *testing.T) {
	t.Helper()
	if err := b.svc.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func TestSpecValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		spec  lifecycle.Spec
		field string
	}{
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "0 * * *"}, "cron"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "61 * * * *"}, "cron"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: ""}, "cron"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "CRON_TZ=Europe/Paris 0 * * * *"}, "cron"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "retrain", Cron: "@daily"}, "action"},
		{lifecycle.Spec{Action: "refresh", Cron: "@daily"}, "deployment"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "@daily", WindowDays: -1}, "window_days"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "@daily", Epochs: 5}, "action"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", Policy: lifecycle.Policy{Metric: "max_drawdown_account"}}, "metric"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", Policy: lifecycle.Policy{Margin: -0.1}}, "margin"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", Policy: lifecycle.Policy{Margin: math.NaN()}}, "margin"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", Policy: lifecycle.Policy{Approval: "sometimes"}}, "approval"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", Epochs: -3}, "epochs"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily", HoldoutDays: lifecycle.MaxDays + 1}, "holdout_days"},
		{lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "0 3 * * 1"}, ""},
		{lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "*/15 * * * *"}, ""},
	} {
		err := tc.spec.WithDefaults().Validate()
		var fe *lifecycle.FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.spec, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, lifecycle.ErrInvalid)):
			t.Errorf("%+v: %v, want a FieldError on %s", tc.spec, err, tc.field)
		}
	}
}

func FuzzSpecValidate(f *testing.F) {
	f.Add("dep_1", "refresh", "0 * * * *", 0, 0, "", 0.0)
	f.Add("dep_1", "reoptimise", "@every 1h", 10, 3, "sharpe", 0.5)
	f.Add("x", "reoptimise", "CRON_TZ=UTC * * * * *", -1, 99999, "cagr", -1.0)
	f.Fuzz(func(t *testing.T, dep, action, expr string, window, holdout int, metric string, margin float64) {
		s := lifecycle.Spec{Deployment: dep, Action: action, Cron: expr, WindowDays: window, HoldoutDays: holdout,
			Policy: lifecycle.Policy{Metric: metric, Margin: margin}}.WithDefaults()
		err := s.Validate()
		if err == nil {
			sched, perr := lifecycle.ParseCron(s.Cron)
			if perr != nil {
				t.Fatalf("valid spec %+v, but its cron: %v", s, perr)
			}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if next := sched.Next(start); !next.IsZero() && !next.After(start) {
				t.Fatalf("cron %q: next %v not after %v", s.Cron, next, start)
			}
			return
		}
		var fe *lifecycle.FieldError
		if !errors.As(err, &fe) || fe.Field == "" {
			t.Fatalf("%+v: %v is not a FieldError naming a field", s, err)
		}
	})
}

func ptr(v float64) *float64 { return &v }

func TestJudge(t *testing.T) {
	p := lifecycle.Policy{Metric: "profit_total", Margin: 0.02, Approval: lifecycle.ApprovalManual}
	for _, tc := range []struct {
		f    lifecycle.Figures
		wins bool
		why  string
	}{
		{lifecycle.Figures{Champion: 0.01, Challenger: 0.05, DSR: ptr(0.96), PBO: ptr(0.1)}, true, "pass"},
		{lifecycle.Figures{Champion: 0.01, Challenger: 0.03, DSR: ptr(0.96), PBO: ptr(0.1)}, false, "margin"},
		{lifecycle.Figures{Champion: 0.01, Challenger: 0.02, DSR: ptr(0.96), PBO: ptr(0.1)}, false, "margin"},
		{lifecycle.Figures{Champion: 0.01, Challenger: math.NaN(), DSR: ptr(0.96)}, false, "margin"},
		{lifecycle.Figures{Champion: -0.2, Challenger: 0.05}, false, "not measured"},
		{lifecycle.Figures{Champion: -0.2, Challenger: 0.05, DSR: ptr(0.3), PBO: ptr(0.1)}, false, "deflated Sharpe"},
		{lifecycle.Figures{Champion: -0.2, Challenger: 0.05, DSR: ptr(0.96), PBO: ptr(0.5)}, false, "probability of backtest overfitting"},
		{lifecycle.Figures{Champion: -0.2, Challenger: 0.05, PBO: ptr(0.3)}, true, "pass"},
		{lifecycle.Figures{Champion: -0.2, Challenger: 0.05, DSR: ptr(0.6)}, true, "pass"},
	} {
		wins, why := lifecycle.Judge(p, tc.f)
		if wins != tc.wins || !strings.Contains(why, tc.why) {
			t.Errorf("%+v: %v %q, want %v and %q", tc.f, wins, why, tc.wins, tc.why)
		}
	}
}

func TestSchedulesAreTenantScopedAndFireOnTheClock(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := context.Background()
		if _, err := b.svc.CreateSchedule(ctx, bob, lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "0 * * * *"}); !isField(err, "deployment") {
			t.Fatalf("another tenant's deployment: %v, want a FieldError on deployment", err)
		}
		if _, err := b.svc.CreateSchedule(ctx, alice, lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "0 * * *"}); !isField(err, "cron") {
			t.Fatalf("four fields: %v, want a FieldError on cron", err)
		}
		sc, err := b.svc.CreateSchedule(ctx, alice, lifecycle.Spec{Deployment: "dep_1", Action: "refresh", Cron: "0 * * * *", WindowDays: 3})
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC); !sc.Next.Equal(want) {
			t.Fatalf("next %v, want %v", sc.Next, want)
		}
		if l, _ := b.svc.Schedules(ctx, bob); len(l) != 0 {
			t.Fatalf("bob sees %d schedules", len(l))
		}
		if err := b.svc.DeleteSchedule(ctx, bob, sc.ID); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Fatalf("bob deletes alice's schedule: %v", err)
		}
		b.tick(t) // 10:30: not due
		if len(b.f.downloads) != 0 {
			t.Fatalf("fired before it was due: %+v", b.f.downloads)
		}
		b.clk.Set(time.Date(2026, 3, 2, 11, 0, 30, 0, time.UTC))
		b.tick(t)
		b.tick(t)
		want := apitype.DownloadRequest{Exchange: "binance", Pairs: []string{"BTC/USDT"}, Timeframes: []string{"1h"}, Timerange: "20260227-"}
		if len(b.f.downloads) != 1 || fmt.Sprint(b.f.downloads[0]) != fmt.Sprint(want) {
			t.Fatalf("downloads %+v, want one %+v", b.f.downloads, want)
		}
		l, err := b.svc.Schedules(ctx, alice)
		if err != nil || len(l) != 1 || !l[0].Next.Equal(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) || l[0].LastError != "" ||
			!l[0].Last.Equal(time.Date(2026, 3, 2, 11, 0, 30, 0, time.UTC)) {
			t.Fatalf("after firing: %+v, %v", l, err)
		}
		// Down for a day: it fires once, not 24 times.
		b.clk.Set(time.Date(2026, 3, 3, 12, 5, 0, 0, time.UTC))
		b.tick(t)
		if len(b.f.downloads) != 2 {
			t.Fatalf("%d downloads after a day down, want 2", len(b.f.downloads))
		}
		if err := b.svc.DeleteSchedule(ctx, alice, sc.ID); err != nil {
			t.Fatal(err)
		}
		if n := audits(t, d, "schedule.create", "schedule.delete"); n != 2 {
			t.Fatalf("%d audit rows, want 2", n)
		}
	})
}

func isField(err error, field string) bool {
	var fe *lifecycle.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

func audits(t *testing.T, d *db.DB, actions ...string) int {
	t.Helper()
	n := 0
	for _, a := range actions {
		var c int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = ?`, a).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

// reoptimise creates alice's weekly re-optimisation and fires it,
// returning the challenger in optimising.
func reoptimise(t *testing.T, b bundle, policy lifecycle.Policy) lifecycle.Challenger {
	t.Helper()
	ctx := context.Background()
	if _, err := b.svc.CreateSchedule(ctx, alice, lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "0 3 * * 1", WindowDays: 20, HoldoutDays: 5,
		Epochs: 50, Sampler: "tpe", Policy: policy}); err != nil {
		t.Fatal(err)
	}
	b.clk.Set(time.Date(2026, 3, 9, 3, 0, 10, 0, time.UTC)) // Monday 03:00
	b.tick(t)
	b.tick(t)
	if len(b.f.studyReqs) != 1 {
		t.Fatalf("%d studies, want 1", len(b.f.studyReqs))
	}
	req := b.f.studyReqs[0]
	// The study searches the strategy's parameters: the deployment's risk
	// settings (roi, stoploss) are its config's, the champion's and the
	// challenger's alike.
	if req.Strategy != "trend@3" || req.Timerange != "20260212-20260304" || req.Epochs != 50 || req.Sampler != "tpe" || req.Config["timeframe"] != "1h" ||
		fmt.Sprint(req.Spaces) != "[buy sell]" {
		t.Fatalf("study request %+v", req)
	}
	cs, err := b.svc.Challengers(ctx, alice)
	if err != nil || len(cs) != 1 || cs[0].State != lifecycle.StateOptimising || cs[0].Holdout != "20260304-20260309" || cs[0].Champion != 3 {
		t.Fatalf("challengers %+v, %v", cs, err)
	}
	return cs[0]
}

// backtested completes c's study and both backtests with the metric.
func backtested(t *testing.T, b bundle, c lifecycle.Challenger, champion, challenger float64) lifecycle.Challenger {
	t.Helper()
	b.tick(t) // the study still queued: nothing
	b.f.finishStudy(c.Study, runs.Completed)
	b.tick(t)
	c, err := b.svc.Challenger(context.Background(), alice, c.ID)
	if err != nil || c.State != lifecycle.StateBacktesting || c.Version != 4 {
		t.Fatalf("after the study: %+v, %v", c, err)
	}
	for run, want := range map[string]string{c.ChampionRun: "trend@3", c.ChallengerRun: "trend@4"} {
		if r := b.f.backtests[run]; r.Strategy != want || r.Timerange != c.Holdout || r.Pairs[0] != "BTC/USDT" {
			t.Fatalf("backtest %s: %+v, want %s over %s", run, r, want, c.Holdout)
		}
	}
	b.f.finishRun(c.ChampionRun, runs.Completed, fmt.Sprintf(`{"profit_total": %g}`, champion))
	b.tick(t) // the challenger's still queued
	b.f.finishRun(c.ChallengerRun, runs.Completed, fmt.Sprintf(`{"profit_total": %g}`, challenger))
	b.tick(t)
	if c, err = b.svc.Challenger(context.Background(), alice, c.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChallengerPromotedAfterApproval(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := context.Background()
		c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{Margin: 0.01}), 0.02, 0.08)
		if c.State != lifecycle.StatePending || c.Figures.Champion != 0.02 || c.Figures.Challenger != 0.08 || *c.Figures.DSR != 0.97 || len(b.f.promoted) != 0 {
			t.Fatalf("after the backtests: %+v, promoted %v", c, b.f.promoted)
		}
		if _, err := b.svc.Approve(ctx, bob, c.ID, ""); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Fatalf("bob approves alice's challenger: %v", err)
		}
		c, err := b.svc.Approve(ctx, alice, c.ID, "looks right")
		if err != nil || c.State != lifecycle.StatePromoted || c.DecidedBy != alice.User {
			t.Fatalf("approve: %+v, %v", c, err)
		}
		if want := `ten_a trend@4 production by "usr_a"`; len(b.f.promoted) != 1 || b.f.promoted[0] != want {
			t.Fatalf("promoted %v, want %s", b.f.promoted, want)
		}
		if _, err := b.svc.Approve(ctx, alice, c.ID, ""); !errors.Is(err, lifecycle.ErrConflict) {
			t.Fatalf("approved twice: %v", err)
		}
		if n := audits(t, d, "challenger.approve"); n != 1 {
			t.Fatalf("%d approvals audited", n)
		}
	})
}

func TestChallengerOutcomes(t *testing.T) {
	ctx := context.Background()
	run := func(name string, fn func(t *testing.T, b bundle)) {
		t.Run(name, func(t *testing.T) {
			dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) { fn(t, setup(t, d)) })
		})
	}
	{
		run("auto", func(t *testing.T, b bundle) {
			c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{Approval: lifecycle.ApprovalAuto}), 0.02, 0.03)
			if c.State != lifecycle.StatePromoted || len(b.f.promoted) != 1 || b.f.promoted[0] != `ten_a trend@4 production by ""` {
				t.Fatalf("auto: %+v, promoted %v", c, b.f.promoted)
			}
		})
		run("loses", func(t *testing.T, b bundle) {
			c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{Approval: lifecycle.ApprovalAuto, Margin: 0.05}), 0.02, 0.03)
			if c.State != lifecycle.StateRejected || !strings.Contains(c.Reason, "margin") || len(b.f.promoted) != 0 {
				t.Fatalf("a small win: %+v, promoted %v", c, b.f.promoted)
			}
		})
		run("overfit", func(t *testing.T, b bundle) {
			b.f.overfitting = optimize.Overfitting{DSR: 0.2, PBO: math.NaN()}
			c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{Approval: lifecycle.ApprovalAuto}), 0.02, 0.5)
			if c.State != lifecycle.StateRejected || !strings.Contains(c.Reason, "overfit") || c.Figures.PBO != nil || len(b.f.promoted) != 0 {
				t.Fatalf("overfit: %+v, promoted %v", c, b.f.promoted)
			}
		})
		run("rejected", func(t *testing.T, b bundle) {
			c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{}), 0.02, 0.5)
			c, err := b.svc.Reject(ctx, alice, c.ID, "not now")
			if err != nil || c.State != lifecycle.StateRejected || c.Reason != "rejected: not now" || len(b.f.promoted) != 0 {
				t.Fatalf("reject: %+v, %v", c, err)
			}
		})
		run("study fails", func(t *testing.T, b bundle) {
			c := reoptimise(t, b, lifecycle.Policy{})
			b.f.finishStudy(c.Study, runs.Failed)
			b.tick(t)
			if c, _ = b.svc.Challenger(ctx, alice, c.ID); c.State != lifecycle.StateFailed || !strings.Contains(c.Reason, "failed") {
				t.Fatalf("failed study: %+v", c)
			}
		})
	}
}

// A deployment whose config names no exchange (a paper deployment on the
// simulator, typically) is refreshed and re-optimised on the candles of
// the exchange the simulator replays (Config.Exchange).
func TestDeploymentWithoutExchangeUsesTheSimulatorsData(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := newFakes()
		dep := f.deployments["dep_1"]
		dep.Spec.Config = json.RawMessage(`{"stake_currency":"USDT"}`)
		f.deployments["dep_1"] = dep
		clk := clock.NewFake(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
		svc, err := lifecycle.New(lifecycle.Config{DB: d, Deployments: f, Submitter: f, Studies: fakeStudies{f}, Registry: fakeRegistry{f}, Runs: fakeRuns{f},
			Exchange: "okx", Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, action := range []string{lifecycle.ActionRefresh, lifecycle.ActionReoptimise} {
			if _, err := svc.CreateSchedule(ctx, alice, lifecycle.Spec{Deployment: "dep_1", Action: action, Cron: "@daily"}); err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(time.Date(2026, 3, 3, 0, 0, 10, 0, time.UTC))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if len(f.downloads) != 1 || f.downloads[0].Exchange != "okx" {
			t.Fatalf("downloads %+v, want one from okx", f.downloads)
		}
		if len(f.studyReqs) != 1 || fmt.Sprint(f.studyReqs[0].Config["exchange"]) != "map[name:okx]" {
			t.Fatalf("studies %+v, want one on okx's candles", f.studyReqs)
		}
	})
}

// A re-optimisation searches the spaces of the parameters the version
// declares (buy alone when it has no sell_ or exit_ parameter); a version
// declaring none makes no study, and the schedule says why.
func TestReoptimisationSearchesTheDeclaredParameters(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := context.Background()
		if _, err := b.svc.CreateSchedule(ctx, alice, lifecycle.Spec{Deployment: "dep_1", Action: "reoptimise", Cron: "@daily"}); err != nil {
			t.Fatal(err)
		}
		b.f.params = trendParams[:1]
		b.clk.Set(time.Date(2026, 3, 3, 0, 0, 10, 0, time.UTC))
		b.tick(t)
		if len(b.f.studyReqs) != 1 || fmt.Sprint(b.f.studyReqs[0].Spaces) != "[buy]" {
			t.Fatalf("studies %+v, want one searching buy", b.f.studyReqs)
		}
		b.f.params = nil
		b.clk.Set(time.Date(2026, 3, 4, 0, 0, 10, 0, time.UTC))
		b.tick(t)
		l, err := b.svc.Schedules(ctx, alice)
		if err != nil || len(b.f.studyReqs) != 1 || len(l) != 1 || !strings.Contains(l[0].LastError, "trend@3 declares no parameter to re-optimise") {
			t.Fatalf("no parameters: %d studies, schedules %+v, %v", len(b.f.studyReqs), l, err)
		}
		if cs, _ := b.svc.Challengers(ctx, alice); len(cs) != 1 {
			t.Fatalf("%d challengers, want the first fire's", len(cs))
		}
	})
}

// trendParams are what the versions of "trend" declare: a buy and a sell
// parameter.
var trendParams = []sdk.Param{{Name: "period", Kind: sdk.Int, Default: 20, Min: 5, Max: 50}, {Name: "exit_ratio", Kind: sdk.Float, Default: 1, Min: 0.5, Max: 2}}

// trendSpecs reads a pushed version's spec without running it.
type trendSpecs struct{}

func (trendSpecs) ReadSpec(context.Context, string, string, string) (sdk.Spec, error) {
	return sdk.Spec{Name: "trend", Timeframe: "1h", Params: trendParams, Risk: sdk.Risk{Stoploss: -0.1, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.1}}}}, nil
}

// An approved challenger is promoted by the strategy registry itself: the
// stage change names who approved it and why, the champion is archived.
func TestApprovalIsTheRegistrysStageChange(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "strategies")
		t.Cleanup(func() {
			filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					os.Chmod(p, 0o700)
				}
				return nil
			})
		})
		// alice's tenant and user, as tenancy.CreateUser stores them.
		for _, q := range []string{`INSERT INTO tenants (id, name, created_at) VALUES ('ten_a', 'acme', 0)`,
			`INSERT INTO users (id, tenant_id, name, created_at) VALUES ('usr_a', 'ten_a', 'alice', 0)`} {
			if _, err := d.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		reg, err := registry.New(registry.Config{DB: d, Dir: dir, Specs: trendSpecs{}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 4; i++ {
			if _, _, err := reg.Push(ctx, alice, "trend", []registry.File{{Name: "strategy.py", Data: fmt.Appendf(nil, "# %d\n", i)}}, registry.PushOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := reg.Promote(ctx, alice, "trend@3", registry.StageProduction, "deployed"); err != nil {
			t.Fatal(err)
		}
		f := newFakes()
		clk := clock.NewFake(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
		svc, err := lifecycle.New(lifecycle.Config{DB: d, Deployments: f, Submitter: f, Studies: fakeStudies{f}, Registry: reg, Runs: fakeRuns{f}, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		b := bundle{svc: svc, f: f, clk: clk, d: d}
		c := backtested(t, b, reoptimise(t, b, lifecycle.Policy{}), 0.01, 0.2)
		if c.State != lifecycle.StatePending {
			t.Fatalf("%+v, want pending", c)
		}
		if _, err := svc.Approve(ctx, alice, c.ID, "holdout checked"); err != nil {
			t.Fatal(err)
		}
		h, err := reg.History(ctx, alice, "trend")
		if err != nil {
			t.Fatal(err)
		}
		last := h[len(h)-1]
		if len(h) != 3 || last.Number != 4 || last.To != registry.StageProduction || last.By != alice.User || last.Reason != "holdout checked" ||
			h[1].Number != 3 || h[1].To != registry.StageArchived {
			t.Fatalf("stage history %+v", h)
		}
	})
}
