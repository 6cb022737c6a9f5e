// Package dbtest runs one test body against every database TradAI
// supports: SQLite always, PostgreSQL when TRADAI_TEST_POSTGRES holds a
// URL. Each PostgreSQL test gets a fresh schema, dropped afterwards.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL test URL.
const EnvPostgres = "TRADAI_TEST_POSTGRES"

// Target is one database to test on; Open opens another handle on it (for
// concurrency tests). Handles are closed when the test ends.
type Target struct {
	Dialect db.Dialect
	URL     string
}

// Open opens (without migrating) a handle on the target, closed at cleanup.
func (tg Target) Open(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), tg.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open %s: %v", tg.Dialect, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Each runs fn as subtests "sqlite" and "postgres" on fresh, empty
// databases. The postgres subtest is skipped, saying why, when
// TRADAI_TEST_POSTGRES is not set.
func Each(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, Target{Dialect: db.SQLite, URL: "sqlite://" + filepath.Join(t.TempDir(), "tradai.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv(EnvPostgres)
		if base == "" {
			t.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL (e.g. postgres://tradai:tradai@127.0.0.1:5432/tradai_test?sslmode=disable) to run them", EnvPostgres)
		}
		fn(t, Target{Dialect: db.Postgres, URL: FreshSchema(t, base)})
	})
}

// EachMigrated is Each with the target opened and migrated.
func EachMigrated(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	Each(t, func(t *testing.T, tg Target) {
		d := tg.Open(t)
		if err := d.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		fn(t, d)
	})
}

// FreshSchema creates a schema with a random name and returns base with
// search_path set to it; the schema is dropped when the test ends.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create test schema on %s: %v", EnvPostgres, err)
	}
	// Cleanups run last-in first-out: handles opened on the schema later
	// are closed before it is dropped.
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
