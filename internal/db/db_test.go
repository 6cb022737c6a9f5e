package db_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
)

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		// Several processes' worth of handles migrating a fresh database at once.
		const n = 4
		handles := make([]*db.DB, n)
		for i := range handles {
			handles[i] = tg.Open(t)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, d := range handles {
			wg.Go(func() { errs[i] = d.Migrate(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent migrate %d: %v", i, err)
			}
		}
		d := handles[0]
		if err := d.Migrate(ctx); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
		v, err := d.SchemaVersion(ctx)
		if want := newestMigration(t); err != nil || v != want {
			t.Fatalf("schema version = %d, %v; want %d", v, err, want)
		}
		// Our tables and River's exist.
		for _, table := range []string{"tenants", "users", "api_tokens", "runs", "run_steps", "artifacts", "audit_log", "webhook_deliveries", "river_job", "river_migration"} {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
		if d.Dialect() != tg.Dialect {
			t.Errorf("dialect = %v, want %v", d.Dialect(), tg.Dialect)
		}
	})
}

// A migration tells the operator one line, not one per step (ours and
// River's), and a database already up to date tells nothing.
func TestMigrateLogsOneLine(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		var buf bytes.Buffer
		d, err := db.Open(ctx, tg.URL, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `msg="database migrated"`) || !strings.Contains(lines[0], "to_version="+strconv.FormatInt(newestMigration(t), 10)) {
			t.Fatalf("a fresh migration logged %d lines:\n%s\nwant one \"database migrated\" line", len(lines), buf.String())
		}
		buf.Reset()
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 0 {
			t.Fatalf("migrating an up-to-date database logged:\n%s", buf.String())
		}
	})
}

// A database migrated by a newer tradai (a schema version this binary has
// no migration for) is refused with a message saying so.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`, 9999, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := d.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "schema version 9999, newer than this tradai knows") {
			t.Fatalf("migrate on a newer schema: %v", err)
		}
	})
}

func TestInTxRollsBack(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.UnixMilli(1700000000000)
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, "t1", "acme", now.UnixMilli()); err != nil {
				return err
			}
			return context.Canceled
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("tenants after rollback = %d, %v", n, err)
		}
	})
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, u := range []string{dir + "/plain.db", "sqlite://" + dir + "/sub/url.db"} {
		d, err := db.Open(ctx, u, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if d.Dialect() != db.SQLite {
			t.Errorf("Open(%q) dialect %v", u, d.Dialect())
		}
		d.Close()
	}
	for _, u := range []string{"", "mysql://x", "sqlite://host/x.db"} {
		if _, err := db.Open(ctx, u, nil); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	a := db.NewID("run", time.UnixMilli(1000))
	b := db.NewID("run", time.UnixMilli(1001))
	if !(a < b) || len(a) != len("run_")+26 {
		t.Fatalf("ids %q %q", a, b)
	}
}

// newestMigration is the version of the newest migration: the files in
// migrations/ and the migrations of one dialect.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, m := range db.DialectMigrations(db.Postgres) {
		newest = max(newest, m.Version)
	}
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(f.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: no version prefix", f.Name())
		}
		newest = max(newest, v)
	}
	return newest
}

// Collect reads every row in order through a DB and a Tx, answers nil for
// no rows, and passes a scan's error on.
func TestCollect(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i, name := range []string{"b", "a", "c"} {
			if _, err := d.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, "tn_"+name, name, i); err != nil {
				t.Fatal(err)
			}
		}
		name := func(s db.Scanner) (string, error) {
			var n string
			err := s.Scan(&n)
			return n, err
		}
		got, err := db.Collect(ctx, d, name, `SELECT name FROM tenants WHERE created_at >= ? ORDER BY name`, 0)
		if err != nil || strings.Join(got, ",") != "a,b,c" {
			t.Fatalf("Collect = %q, %v; want a,b,c", got, err)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			got, err = db.Collect(ctx, tx, name, `SELECT name FROM tenants WHERE created_at > ? ORDER BY created_at`, 0)
			return err
		}); err != nil || strings.Join(got, ",") != "a,c" {
			t.Fatalf("Collect in a transaction = %q, %v; want a,c", got, err)
		}
		got, err = db.Collect(ctx, d, name, `SELECT name FROM tenants WHERE name = ?`, "none")
		if err != nil || got != nil {
			t.Fatalf("Collect of no rows = %#v, %v; want nil, nil", got, err)
		}
		bad := errors.New("bad row")
		n := 0
		_, err = db.Collect(ctx, d, func(s db.Scanner) (string, error) {
			if n++; n == 2 {
				return "", bad
			}
			return name(s)
		}, `SELECT name FROM tenants ORDER BY name`)
		if !errors.Is(err, bad) {
			t.Fatalf("Collect with a failing scan: %v; want %v", err, bad)
		}
		if _, err := db.Collect(ctx, d, name, `SELECT nope FROM tenants`); err == nil {
			t.Fatal("Collect of a bad query: no error")
		}
	})
}

// On PostgreSQL a study trial's daily returns are stored out of line
// without compression (migration 00029); SQLite records the version.
func TestStudyReturnsNotCompressed(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			return
		}
		var storage string
		if err := d.QueryRow(context.Background(), `SELECT attstorage::text FROM pg_attribute
			WHERE attrelid = 'study_trials'::regclass AND attname = 'daily_returns'`).Scan(&storage); err != nil {
			t.Fatal(err)
		}
		if storage != "e" {
			t.Fatalf("daily_returns' storage is %q, want e (external)", storage)
		}
	})
}
