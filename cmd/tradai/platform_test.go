package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/tenancy"
)

func TestMigrateUsersTokens(t *testing.T) {
	t.Setenv("TRADAI_DATABASE", "")
	home := t.TempDir()
	for range 2 {
		out, _, err := execute(t, "migrate", "--home", home)
		if err != nil || !strings.Contains(out, "schema version ") {
			t.Fatalf("migrate: %q, %v", out, err)
		}
	}
	if out, _, err := execute(t, "users", "create", "alice", "--tenant", "acme", "--home", home); err != nil || !strings.Contains(out, "user alice created in tenant acme") {
		t.Fatalf("users create: %q, %v", out, err)
	}
	if _, _, err := execute(t, "users", "create", "alice", "--home", home); err == nil {
		t.Fatal("duplicate user accepted")
	}
	out, errOut, err := execute(t, "tokens", "create", "--user", "alice", "--home", home)
	if err != nil || !strings.Contains(errOut, "cannot be shown again") {
		t.Fatalf("tokens create: %q %q, %v", out, errOut, err)
	}
	token := strings.TrimSpace(out)
	if _, _, err := execute(t, "tokens", "create", "--user", "nobody", "--home", home); err == nil {
		t.Fatal("token for a missing user")
	}

	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(home, "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := tenancy.New(d, nil, nil).Authenticate(ctx, token)
	if err != nil || p.User == "" {
		t.Fatalf("the printed token does not authenticate: %+v, %v", p, err)
	}

	// List shows the token by its first characters, never whole; revoke
	// makes it fail at once.
	out, _, err = execute(t, "tokens", "list", "--user", "alice", "--home", home)
	if err != nil || !strings.Contains(out, "PREFIX") || !strings.Contains(out, token[:8]) || strings.Contains(out, token) {
		t.Fatalf("tokens list: %q, %v", out, err)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out, _, err := execute(t, "tokens", "revoke", "--user", "alice", id, "--home", home); err != nil || out != "token "+id+" revoked\n" {
		t.Fatalf("tokens revoke: %q, %v", out, err)
	}
	if _, err := tenancy.New(d, nil, nil).Authenticate(ctx, token); err == nil {
		t.Fatal("a revoked token still authenticates")
	}
	if out, _, err := execute(t, "tokens", "list", "--user", "alice", "--home", home); err != nil || strings.HasSuffix(strings.TrimSpace(strings.Split(out, "\n")[1]), "-") {
		t.Fatalf("tokens list after revoke shows no revocation time: %q, %v", out, err)
	}
	if _, _, err := execute(t, "tokens", "revoke", "--user", "alice", "tok_nope", "--home", home); err == nil {
		t.Fatal("revoking a missing token succeeded")
	}
}
