// Package db opens TradAI's database — an SQLite file (the embedded
// default) or PostgreSQL — and applies its schema migrations: ours through
// goose, River's (the job queue) through River's own migrator.
//
// Connections. On PostgreSQL our store uses database/sql over pgx
// (pgx/v5/stdlib) and River gets its own *pgxpool.Pool on the same URL. On
// SQLite the two do not share a *sql.DB either: River's driver wants a pool
// of exactly one connection (SetMaxOpenConns(1)), which would serialize every
// store query behind the queue's polling, so the store has its own small
// pool on the same file. Both pools open the file in WAL mode with a
// busy_timeout and foreign keys on, and the store's pool begins every
// transaction with BEGIN IMMEDIATE, so a writer takes the file's write lock
// up front and waits (busy_timeout) instead of failing halfway through.
// Each SQLite connection keeps the compiled statement of every query with
// arguments it ran (stmtcache.go): the store runs the same few queries all
// the time, and parsing them again cost a quarter of a runner's CPU.
//
// SQL dialects. Queries are written once with `?` placeholders; Tx rebinds
// them to `$1…` on PostgreSQL. Ids are made in Go, times are Unix
// milliseconds in BIGINT columns and JSON is stored as TEXT, so the same
// schema file serves both databases.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"modernc.org/sqlite"
)

// Dialect is the kind of database behind a DB.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open TradAI database.
type DB struct {
	dialect Dialect
	sql     *sql.DB       // our store's pool; on SQLite the one writing connection, shared with River
	read    *sql.DB       // reads outside transactions: on SQLite a read-only pool, else sql
	pool    *pgxpool.Pool // PostgreSQL: River's pool
	path    string        // SQLite: the database file
	log     *slog.Logger
}

// busyTimeoutMS is how long an SQLite connection waits for another
// connection's write lock before giving up.
const busyTimeoutMS = 10000

// IsPostgres reports whether rawURL names a PostgreSQL database.
func IsPostgres(rawURL string) bool {
	return strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://")
}

// Open opens the database at rawURL: `postgres://…` (or `postgresql://…`)
// for PostgreSQL, `sqlite:///path/to/file.db` or a plain file path for
// SQLite. The SQLite file and its folder are created when missing.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case IsPostgres(rawURL):
		return openPostgres(ctx, rawURL, log)
	case strings.HasPrefix(rawURL, "sqlite://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("open database: bad SQLite URL %q: %w", rawURL, err)
		}
		if u.Host != "" {
			return nil, fmt.Errorf("open database: SQLite URL %q has a host; write sqlite:///path/to/file.db", rawURL)
		}
		return openSQLite(ctx, u.Path, log)
	case strings.Contains(rawURL, "://"):
		return nil, fmt.Errorf("open database %q: want postgres://…, sqlite:///path or a file path", rawURL)
	case rawURL == "":
		return nil, errors.New("open database: no database URL or path given")
	default:
		return openSQLite(ctx, rawURL, log)
	}
}

func sqliteDSN(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(busyTimeoutMS)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: empty SQLite file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: create its folder: %w", path, err)
	}
	if err := private(path, log); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// SQLite has one writer at a time. Writers on several connections
	// would wait for each other in SQLite's busy handler, which sleeps in
	// steps of milliseconds; on one connection they queue in the pool
	// instead and hand over at once. So the store and River share one
	// writing connection, and reads outside transactions go to a
	// read-only pool (WAL lets them run beside the writer).
	// Every connection keeps the statements it ran (stmtConn).
	drv := &sqlite.Driver{}
	writer := sql.OpenDB(sqliteConnector{dsn: sqliteDSN(path, true), drv: drv})
	writer.SetMaxOpenConns(1)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	read := sql.OpenDB(sqliteConnector{dsn: sqliteDSN(path, false), drv: drv})
	read.SetMaxOpenConns(4)
	log.Debug("database opened", "dialect", "sqlite", "path", path)
	return &DB{dialect: SQLite, sql: writer, read: read, path: path, log: log}, nil
}

// private creates the SQLite file at path readable by this user alone
// (0600) when it is missing, and tightens it and its WAL and shared-memory
// files when they are readable by others. SQLite gives the -wal and -shm
// files it creates the database file's mode, so they are 0600 too. A file
// that cannot be tightened (owned by another user) is logged, not refused.
func private(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create the database file: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			log.Warn("database file is readable by other users and cannot be made private", "path", p, "mode", fi.Mode().Perm().String(), "err", err)
		}
	}
	return nil
}

func openPostgres(ctx context.Context, rawURL string, log *slog.Logger) (*DB, error) {
	store, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL database: %w", err)
	}
	// Keep connections: database/sql keeps 2 idle by default, so a busy
	// process would close and reopen connections all the time, each
	// paying PostgreSQL's authentication (SCRAM's PBKDF2 costs ms of CPU).
	store.SetMaxOpenConns(16)
	store.SetMaxIdleConns(16)
	store.SetConnMaxIdleTime(5 * time.Minute)
	if err := store.PingContext(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open PostgreSQL pool for the job queue: %w", err)
	}
	log.Debug("database opened", "dialect", "postgres")
	return &DB{dialect: Postgres, sql: store, read: store, pool: pool, log: log}, nil
}

// Close closes every pool.
func (d *DB) Close() error {
	err := d.sql.Close()
	if d.read != d.sql {
		err = errors.Join(err, d.read.Close())
	}
	if d.pool != nil {
		d.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Dialect says which database this is.
func (d *DB) Dialect() Dialect { return d.dialect }

// SQL is the store's connection pool (for tests and read-only tools; store
// code goes through InTx or Query).
func (d *DB) SQL() *sql.DB { return d.sql }

// RiverPool is River's pgx pool on PostgreSQL (nil on SQLite).
func (d *DB) RiverPool() *pgxpool.Pool { return d.pool }

// RiverSQLite is River's pool on SQLite: the one writing connection the
// store uses too (nil on PostgreSQL). Never use the pool while holding one
// of its transactions: with a single connection that waits forever.
func (d *DB) RiverSQLite() *sql.DB {
	if d.dialect != SQLite {
		return nil
	}
	return d.sql
}

// Rebind turns `?` placeholders into the dialect's own.
func (d *DB) Rebind(q string) string {
	if d.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QueryRow runs a one-row read-only query outside a transaction.
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return d.read.QueryRowContext(ctx, d.Rebind(q), args...)
}

// Exec runs a statement outside a transaction.
func (d *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.sql.ExecContext(ctx, d.Rebind(q), args...)
}

// Query runs a read-only query outside a transaction.
func (d *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.read.QueryContext(ctx, d.Rebind(q), args...)
}

// Counts runs a query whose rows are (key, count) pairs, such as
// `SELECT status, COUNT(*) FROM runs GROUP BY status`, into a map (keys
// without rows are absent).
func (d *DB) Counts(ctx context.Context, q string, args ...any) (map[string]int, error) {
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// Scanner is what a row is read from: *sql.Rows, *sql.Row. An alias, so
// a store's scan function taking the literal interface fits Collect.
type Scanner = interface{ Scan(dest ...any) error }

// Querier runs a query with `?` placeholders: a *DB or a *Tx.
type Querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Collect runs query q on qr and reads each of its rows with scan, in
// order (nil when there are none). The rows are closed when it returns.
func Collect[T any](ctx context.Context, qr Querier, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := qr.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Tx is a transaction whose methods take `?` placeholders.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// SQL is the underlying transaction, for code that writes in it through
// another library (the job queue's InsertTx). Queries through it take the
// dialect's own placeholders.
func (t *Tx) SQL() *sql.Tx { return t.tx }

func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.Rebind(q), args...)
}

func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.Rebind(q), args...)
}

func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.Rebind(q), args...)
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. fn's error is returned as it is.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return d.inTx(ctx, false, fn)
}

// InTxNoWait is InTx for writes that a database crash may lose without
// harm (progress, step records): on PostgreSQL the commit does not wait for
// the write-ahead log to reach the disk (synchronous_commit off). Such
// transactions still apply in commit order, and a later InTx commit makes
// them durable with it. On SQLite it is InTx.
func (d *DB) InTxNoWait(ctx context.Context, fn func(tx *Tx) error) error {
	return d.inTx(ctx, d.dialect == Postgres, fn)
}

func (d *DB) inTx(ctx context.Context, noWait bool, fn func(tx *Tx) error) error {
	sqlTx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if noWait {
		if _, err := sqlTx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			sqlTx.Rollback()
			return fmt.Errorf("begin transaction: %w", err)
		}
	}
	if err := fn(&Tx{tx: sqlTx, db: d}); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}
