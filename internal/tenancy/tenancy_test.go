package tenancy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/tenancy"
)

// ticking is a fake clock that moves one second on at each reading.
type ticking struct{ *clock.Fake }

func (c ticking) Now() time.Time {
	c.Advance(time.Second)
	return c.Fake.Now()
}

func auditActions(t *testing.T, d *db.DB) []string {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT action FROM audit_log ORDER BY at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

func TestUsersAndTokens(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := tenancy.New(d, ticking{clock.NewFake(time.UnixMilli(1700000000000))}, nil)
		alice, err := s.CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.CreateUser(ctx, "bob", "acme")
		if err != nil {
			t.Fatal(err)
		}
		if alice.Tenant != bob.Tenant {
			t.Fatalf("same tenant name, different tenants: %s %s", alice.Tenant, bob.Tenant)
		}
		if _, err := s.CreateUser(ctx, "alice", "other"); !errors.Is(err, tenancy.ErrExists) {
			t.Fatalf("duplicate user: %v, want ErrExists", err)
		}
		if got, err := s.UserByName(ctx, "alice"); err != nil || got.ID != alice.ID {
			t.Fatalf("UserByName = %+v, %v", got, err)
		}

		plain, tok, err := s.CreateToken(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, "tdi_") || len(plain) != 4+43 || !strings.HasPrefix(plain, tok.Prefix) {
			t.Fatalf("token %q prefix %q", plain, tok.Prefix)
		}
		// The plaintext is nowhere in the database; its hash is.
		for _, table := range []string{"api_tokens", "audit_log", "users", "tenants"} {
			rows, err := d.Query(ctx, `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					var s string
					switch v := v.(type) {
					case string:
						s = v
					case []byte:
						s = string(v)
					}
					if strings.Contains(s, plain[len(tok.Prefix):]) {
						t.Errorf("%s.%s holds the token's secret", table, cols[i])
					}
				}
			}
			rows.Close()
		}
		var stored string
		if err := d.QueryRow(ctx, `SELECT token_hash FROM api_tokens WHERE id = ?`, tok.ID).Scan(&stored); err != nil || len(stored) != 64 {
			t.Fatalf("stored hash %q, %v", stored, err)
		}

		p, err := s.Authenticate(ctx, plain)
		if err != nil || p != (tenancy.Principal{Tenant: alice.Tenant, User: alice.ID}) {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
		toks, err := s.Tokens(ctx, alice.ID)
		if err != nil || len(toks) != 1 || toks[0].LastUse.IsZero() || !toks[0].Revoked.IsZero() {
			t.Fatalf("Tokens = %+v, %v", toks, err)
		}

		for _, bad := range []string{"", "tdi_", plain + "x", "tdi_" + strings.Repeat("A", 43), plain[4:]} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, tenancy.ErrUnauthenticated) {
				t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
			}
		}

		// Another tenant cannot revoke alice's token.
		carol, _ := s.CreateUser(ctx, "carol", "globex")
		if err := s.RevokeToken(ctx, tenancy.Principal{Tenant: carol.Tenant, User: carol.ID}, tok.ID); !errors.Is(err, tenancy.ErrNotFound) {
			t.Fatalf("cross-tenant revoke = %v, want ErrNotFound", err)
		}
		if err := s.RevokeToken(ctx, p, tok.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, p, tok.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if _, err := s.Authenticate(ctx, plain); !errors.Is(err, tenancy.ErrUnauthenticated) {
			t.Fatalf("revoked token: %v, want ErrUnauthenticated", err)
		}

		// Rows written in one transaction share a time, so compare as sets.
		want := []string{"tenant.create", "tenant.create", "token.create", "token.revoke", "user.create", "user.create", "user.create"}
		got := auditActions(t, d)
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("audit = %v\nwant %v", got, want)
		}
	})
}
