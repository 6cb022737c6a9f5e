package platform_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/tenancy"
)

// A runner process (tradai runner) takes the deployments of its database;
// one it can never trade — here the venue "sim" where no simulator is
// named, a live one, a strategy that does not exist — fails with the
// reason, instead of being restarted forever, and the process stops
// cleanly, leases released.
func TestRunnerFailsWhatCannotTrade(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := t.Context()
	home := filepath.Join(t.TempDir(), "home")
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tradai.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	store, err := deploy.New(deploy.Config{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(change func(*deploy.Spec)) deploy.Spec {
		s := deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim", Account: "a", Pairs: []string{"ETH/BTC"}, Timeframe: "5m"}
		change(&s)
		return s
	}
	// Account b's limits were recorded bad (as no API would take them).
	if err := store.SetAccountLimits(ctx, tenancy.Principal{Tenant: u.Tenant, User: u.ID}, "sim", "b", []byte(`{"max_daily_loss": 5}`)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for why, change := range map[string]func(*deploy.Spec){
		"runs no simulator":                      func(*deploy.Spec) {},
		"paper trading happens on the simulator": func(s *deploy.Spec) { s.Venue = "binance" },
		"operator allows":                        func(s *deploy.Spec) { s.Venue = "http://169.254.169.254" },
		"nosuch":                                 func(s *deploy.Spec) { s.Strategy = "nosuch" },
		"risk_limits.price_collar":               func(s *deploy.Spec) { s.Config = []byte(`{"risk_limits": {"price_collar": 2}}`) },
		"account b: risk_limits.max_daily_loss":  func(s *deploy.Spec) { s.Account = "b" },
	} {
		dep, err := store.Create(ctx, tenancy.Principal{Tenant: u.Tenant, User: u.ID}, spec(change))
		if err != nil {
			t.Fatal(err)
		}
		want[dep.ID] = why
	}
	p, err := platform.New(platform.Config{Home: home, DataDir: clienttest.ExampleData(), DB: d,
		Runner: &platform.RunnerConfig{Name: "r1", Heartbeat: 20 * time.Millisecond, TTL: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for id, why := range want {
		for {
			dep, err := store.Get(ctx, tenancy.Principal{Tenant: u.Tenant}, id)
			if err != nil {
				t.Fatal(err)
			}
			if dep.State == deploy.Failed {
				if !strings.Contains(dep.Error, why) || dep.Runner != "" {
					t.Errorf("%s failed with %q (runner %q), want %q", id, dep.Error, dep.Runner, why)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is still %s", id, dep.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}
