package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/gofrs/flock"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the schema up to date: our tables through goose (the
// embedded migrations/*.sql, one dialect-neutral set), then River's through
// rivermigrate. It is idempotent, and safe to run from several processes at
// once: the whole of it runs under one lock per database — a session
// advisory lock (pg_advisory_lock, keyed by the current schema) on
// PostgreSQL, an exclusive flock on `<file>.migrate.lock` next to the
// SQLite file — so a second migrator waits, then finds nothing to do.
func (d *DB) Migrate(ctx context.Context) error {
	unlock, err := d.migrateLock(ctx)
	if err != nil {
		return fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer unlock()

	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	dialect := goose.DialectSQLite3
	if d.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, d.sql, sub, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(dialectMigrations(d.dialect)...))
	if err != nil {
		return fmt.Errorf("migrate: load TradAI migrations: %w", err)
	}
	// A database migrated by a newer tradai is refused, not misread.
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read the schema version: %w", err)
	}
	if srcs := p.ListSources(); len(srcs) > 0 && cur > srcs[len(srcs)-1].Version {
		return fmt.Errorf("migrate: the database is at schema version %d, newer than this tradai knows (%d): upgrade tradai", cur, srcs[len(srcs)-1].Version)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: apply TradAI migrations: %w", err)
	}
	for _, r := range res {
		d.log.Debug("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	// River's migrator reports every step at INFO; the steps are ours to
	// report, at DEBUG, with one INFO line for the whole migration.
	riverLog := slog.New(atLeast{d.log.Handler(), slog.LevelWarn})

	var riverRes *rivermigrate.MigrateResult
	if d.dialect == Postgres {
		m, err := rivermigrate.New(riverpgxv5.New(d.pool), &rivermigrate.Config{Logger: riverLog})
		if err != nil {
			return fmt.Errorf("migrate: job queue migrator: %w", err)
		}
		riverRes, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return fmt.Errorf("migrate: apply job queue migrations: %w", err)
		}
	} else {
		m, err := rivermigrate.New(riversqlite.New(d.sql), &rivermigrate.Config{Logger: riverLog})
		if err != nil {
			return fmt.Errorf("migrate: job queue migrator: %w", err)
		}
		riverRes, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return fmt.Errorf("migrate: apply job queue migrations: %w", err)
		}
	}
	for _, v := range riverRes.Versions {
		d.log.Debug("job queue migration applied", "version", v.Version, "name", v.Name, "duration", v.Duration)
	}
	if len(res) > 0 || len(riverRes.Versions) > 0 {
		to := cur
		if len(res) > 0 {
			to = res[len(res)-1].Source.Version
		}
		d.log.Info("database migrated", "from_version", cur, "to_version", to, "tradai_migrations", len(res), "queue_migrations", len(riverRes.Versions))
	}
	return nil
}

// atLeast passes on the records of its handler at or above min.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}

// SchemaVersion is the version of our newest applied migration.
func (d *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func (d *DB) migrateLock(ctx context.Context) (func(), error) {
	if d.dialect == Postgres {
		conn, err := d.sql.Conn(ctx)
		if err != nil {
			return nil, err
		}
		const key = `hashtext('tradai.migrate.' || current_schema())`
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
			conn.Close()
			return nil, err
		}
		return func() {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
				// Discard the session rather than pool it: closing it is
				// what releases the lock then.
				d.log.Warn("release the migration lock; closing its connection", "err", err)
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		}, nil
	}
	fl := flock.New(d.path+".migrate.lock", flock.SetPermissions(0o600))
	// Poll a non-blocking lock so a cancelled context stops the wait.
	if _, err := fl.TryLockContext(ctx, 20*time.Millisecond); err != nil {
		_ = fl.Close()
		return nil, err
	}
	return func() { _ = fl.Unlock() }, nil
}

// dialectMigrations are the migrations of one dialect only: a Go migration
// numbered among the SQL files, which on the other dialect records its
// version and does nothing.
func dialectMigrations(d Dialect) []*goose.Migration {
	pgOnly := func(version int64, up, down string) *goose.Migration {
		if d != Postgres {
			return goose.NewGoMigration(version, nil, nil)
		}
		run := func(q string) *goose.GoFunc {
			return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q)
				return err
			}}
		}
		return goose.NewGoMigration(version, run(up), run(down))
	}
	return []*goose.Migration{
		// 00029: a study trial's daily returns (migration 00022; a few KB of
		// base64 of float bits, which compress little) are stored out of
		// line without PostgreSQL trying to compress them first (pglz on
		// every recorded trial: about a fifth of the database's CPU time a
		// trial). SQLite has no such setting.
		pgOnly(29, `ALTER TABLE study_trials ALTER COLUMN daily_returns SET STORAGE EXTERNAL`,
			`ALTER TABLE study_trials ALTER COLUMN daily_returns SET STORAGE EXTENDED`),
	}
}
