package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
)

// tradai deploy promote: refused before the paper deployment's minimum,
// then shows the plan and asks; only "yes" (or --yes) creates the live
// deployment.
func TestDeployPromote(t *testing.T) {
	remoteEnv(t)
	kek, err := secrets.ParseKEK(secrets.GenerateKEK())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC)
	p, clk, home, simURL := deployServer(t, t0, func(c *platform.Config) {
		c.KEK = kek
		c.Runner = nil // nothing trades: the hand-off only
		c.API.Promote = deploy.PromoteRules{MinAge: time.Hour, MinTrades: -1}
	})
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(append(args, "--remote", p.URL(), "--home", home))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := cli(stdin, args...)
		if err != nil {
			t.Fatalf("tradai %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var acct struct{ Account, APIKey, SecretKey string }
	if st := (simClient{t: t, base: simURL}).call("POST", "/sim/v1/accounts", url.Values{"name": {"desk"}}, &acct); st != 200 {
		t.Fatalf("create the simulator account: %d", st)
	}
	must(acct.APIKey+"\n"+acct.SecretKey+"\n", "accounts", "add", "--venue", "sim", "--name", "live1")
	out := must("", "deploy", "create", "--strategy", "sma_cross", "--mode", "paper", "--venue", "sim", "--account", "paper1",
		"--pairs", "ETH/BTC", "--timeframe", "5m")
	id := strings.Fields(out)[1]
	if !strings.HasPrefix(id, "dep_") {
		t.Fatalf("deploy create: %s", out)
	}
	if _, err := cli("", "deploy", "promote", id, "--account", "live1", "--yes"); err == nil || !strings.Contains(err.Error(), "promotion needs 1h0m0s") {
		t.Fatalf("promoting a new paper deployment: %v", err)
	}
	clk.Advance(2 * time.Hour)
	out, err = cli("no\n", "deploy", "promote", id, "--account", "live1")
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(out, "ran 2h0m0s (minimum 1h0m0s)") ||
		!strings.Contains(out, "max_orders_per_minute: 60") || !strings.Contains(out, "Type yes") {
		t.Fatalf("not confirmed: %v\n%s", err, out)
	}
	if out := must("", "deploy", "list"); strings.Contains(out, "live") {
		t.Fatalf("a live deployment without confirmation:\n%s", out)
	}
	out = must("yes\n", "deploy", "promote", id, "--account", "live1")
	if !strings.Contains(out, "live on sim account live1, promoted from "+id) {
		t.Fatalf("confirmed: %s", out)
	}
	if out := must("", "deploy", "promote", id, "--account", "live1", "--yes"); !strings.Contains(out, "promoted from "+id) || strings.Contains(out, "Type yes") {
		t.Fatalf("--yes: %s", out)
	}
}
