// Package dbtest runs one test body against every database TradAI
// supports: SQLite always, PostgreSQL when TRADAI_TEST_POSTGRES holds a
// URL. Each PostgreSQL test gets a fresh schema, dropped afterwards.
// A migrated database is a copy of one migrated once per test process
// (SeedSQLite; on PostgreSQL MigratedDatabase, a database of its own).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		fn(t, Target{Dialect: db.Postgres, URL: FreshSchema(t, postgresBase(t))})
	})
}

// postgresBase is $TRADAI_TEST_POSTGRES; without it the test is skipped.
func postgresBase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL (e.g. postgres://tradai:tradai@127.0.0.1:5432/tradai_test?sslmode=disable) to run them", EnvPostgres)
	}
	return base
}

// EachMigrated is Each with the target opened and migrated. Each
// database is a copy of one migrated once per test process (SeedSQLite,
// MigratedDatabase): the same fresh database as migrating it, which
// takes seconds a test (under the race detector most of all); Migrate
// then finds it current.
func EachMigrated(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	migrated := func(t *testing.T, tg Target) {
		d := tg.Open(t)
		if err := d.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		fn(t, d)
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tradai.db")
		SeedSQLite(t, path)
		migrated(t, Target{Dialect: db.SQLite, URL: "sqlite://" + path})
	})
	t.Run("postgres", func(t *testing.T) {
		migrated(t, Target{Dialect: db.Postgres, URL: MigratedDatabase(t, postgresBase(t))})
	})
}

// MigratedDatabase makes a database on the server of base (a PostgreSQL
// URL) as a copy of a template database migrated once per test process
// (CREATE DATABASE … TEMPLATE) and returns base naming it; the database
// is dropped when the test ends. Where the role may not create databases
// it is FreshSchema, a fresh schema for the test to migrate.
func MigratedDatabase(t testing.TB, base string) string {
	t.Helper()
	tmpl, err := pgTemplate()
	if err == nil && base != os.Getenv(EnvPostgres) {
		err = fmt.Errorf("the template is on %s's server", EnvPostgres)
	}
	if err != nil {
		t.Logf("no migrated template database (%v): a fresh schema instead", err)
		return FreshSchema(t, base)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() { admin.Close() })
	var now int64
	if err := admin.QueryRow(`SELECT floor(extract(epoch FROM now()))::bigint`).Scan(&now); err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	name := randomName(fmt.Sprintf("tradai_t_%d_", now))
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + tmpl); err != nil {
		t.Fatalf("create test database on %s: %v", EnvPostgres, err)
	}
	// Cleanups run last-in first-out: handles opened on the database
	// later are closed before it is dropped.
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withDatabase is the URL base naming another database.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// staleAfter is how old (in seconds, by the server's clock) a template or
// test database left behind by an ended test process is when the next
// one drops it: a test process runs for minutes (go test stops it after
// 10 by default).
const staleAfter = 2 * 3600

// pgTemplate is the name of a database made and migrated once per test
// process, the template of MigratedDatabase's. Nothing drops it when the
// process ends: the next process to make one drops those (and test
// databases) older than staleAfter.
var pgTemplate = sync.OnceValues(func() (string, error) { return makeTemplate(os.Getenv(EnvPostgres)) })

func makeTemplate(base string) (string, error) {
	if base == "" {
		return "", fmt.Errorf("%s is not set", EnvPostgres)
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	var now int64
	if err := admin.QueryRowContext(ctx, `SELECT floor(extract(epoch FROM now()))::bigint`).Scan(&now); err != nil {
		return "", err
	}
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'tradai\_tmpl\_%' OR datname LIKE 'tradai\_t\_%'`)
	if err != nil {
		return "", err
	}
	var stale []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return "", err
		}
		var made int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(strings.TrimPrefix(name, "tradai_tmpl_"), "tradai_t_"), "%d_", &made); err == nil && now-made > staleAfter {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		_, _ = admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
	name := randomName(fmt.Sprintf("tradai_tmpl_%d_", now))
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", err
	}
	u, err := withDatabase(base, name)
	if err != nil {
		return "", err
	}
	if err := migrateAt(ctx, u); err != nil {
		return "", err
	}
	return name, nil
}

// migrateAt opens the database at u, migrates it and closes it.
func migrateAt(ctx context.Context, u string) error {
	d, err := db.Open(ctx, u, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// randomName is prefix and 12 random hexadecimal digits: a schema or
// database name no other test takes.
func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// SeedSQLite makes at path (no file yet) the freshly migrated SQLite
// database EachMigrated copies: a test that opens its own SQLite file
// and migrates it finds it current, without the seconds migrating takes
// under the race detector.
func SeedSQLite(t testing.TB, path string) {
	t.Helper()
	file, err := migratedSQLite()
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(file); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// migratedSQLite is the file of a SQLite database freshly migrated, made
// once per test process: the SQLite driver is C translated to Go, which
// the race detector instruments whole, so migrating takes seconds under
// it (about a tenth of a second without). The migrations themselves are
// tested by internal/db's tests, which migrate their databases.
var migratedSQLite = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "tradai-dbtest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tradai.db")
	if err := migrateAt(context.Background(), "sqlite://"+path); err != nil {
		return nil, err
	}
	// Closed, the database is the one file: the write-ahead log is
	// checkpointed into it and removed.
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return nil, fmt.Errorf("the migrated database's write-ahead log outlived its close (%d bytes)", wal.Size())
	}
	return os.ReadFile(path)
})

// FreshSchema creates a schema with a random name and returns base with
// search_path set to it; the schema is dropped when the test ends.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	schema := randomName("t_")
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

// FailWrites makes every INSERT, UPDATE and DELETE on the named tables of
// d fail, as a full disk fails them, while reads go on working; restore
// makes them work again (it runs at cleanup too). Tests of what a server
// does when its database cannot write use it on both databases.
func FailWrites(t testing.TB, d *db.DB, tables ...string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	const msg = "dbtest: injected write failure (database or disk is full)"
	var undo []string
	if d.Dialect() == db.Postgres {
		if _, err := d.Exec(ctx, `CREATE OR REPLACE FUNCTION dbtest_fail_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '`+msg+`'; END $$`); err != nil {
			t.Fatalf("inject write failures: %v", err)
		}
	}
	for _, table := range tables {
		name := "dbtest_fail_" + table
		stmts := []string{`CREATE TRIGGER ` + name + ` BEFORE INSERT OR UPDATE OR DELETE ON ` + table + ` FOR EACH STATEMENT EXECUTE FUNCTION dbtest_fail_write()`}
		drops := []string{`DROP TRIGGER IF EXISTS ` + name + ` ON ` + table}
		if d.Dialect() == db.SQLite {
			stmts, drops = nil, nil
			for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
				stmts = append(stmts, `CREATE TRIGGER `+name+`_`+op+` BEFORE `+op+` ON `+table+` BEGIN SELECT RAISE(ABORT, '`+msg+`'); END`)
				drops = append(drops, `DROP TRIGGER IF EXISTS `+name+`_`+op)
			}
		}
		for _, q := range stmts {
			if _, err := d.Exec(ctx, q); err != nil {
				t.Fatalf("inject write failures on %s: %v", table, err)
			}
		}
		undo = append(undo, drops...)
	}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		for _, q := range undo {
			if _, err := d.Exec(ctx, q); err != nil {
				t.Errorf("restore writes: %v", err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}
