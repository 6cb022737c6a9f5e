package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds the statements one SQLite connection keeps: the
// store's queries are a fixed set of strings, far fewer; a query built at
// run time (an IN list of some length) past the bound is prepared each
// time, as without the cache.
const maxCachedStmts = 256

// sqliteConnector opens SQLite connections that keep their prepared
// statements (stmtConn).
type sqliteConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("the SQLite driver's connection %T lacks a method the store uses", conn)
	}
	return &stmtConn{conn: sc, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what database/sql uses of an SQLite connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtConn is an SQLite connection that keeps the statement of every
// query with arguments it ran, so that running it again binds the new
// arguments to the statement SQLite compiled before instead of parsing and
// planning the SQL again (the store's ticks run the same few queries all
// the time). database/sql uses a connection from one goroutine at a time.
type stmtConn struct {
	conn  sqliteConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a kept statement; busy while rows of it are open (the
// same query run again meanwhile gets a statement of its own).
type cachedStmt struct {
	st   driver.Stmt
	busy bool
}

type stmtExecQuerier interface {
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmt returns the kept statement of query, prepared on first use; nil
// when the query is not to be kept or its statement is busy.
func (c *stmtConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(stmtExecQuerier); !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{st: st}
	c.stmts[query] = cs
	return cs, nil
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 { // DDL and scripts: as they are
		return c.conn.ExecContext(ctx, query, args)
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	return cs.st.(stmtExecQuerier).ExecContext(ctx, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.conn.QueryContext(ctx, query, args)
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	rows, err := cs.st.(stmtExecQuerier).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

// cachedRows are the rows of a kept statement: closing them frees it.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	r.cs.busy = false
	return r.Rows.Close()
}

// Close finalizes the kept statements and closes the connection.
func (c *stmtConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

func (c *stmtConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *stmtConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

//nolint:staticcheck // driver.Conn requires Begin; database/sql calls BeginTx.
func (c *stmtConn) Begin() (driver.Tx, error) { return c.conn.Begin() }

func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}

func (c *stmtConn) Ping(ctx context.Context) error         { return c.conn.Ping(ctx) }
func (c *stmtConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }
func (c *stmtConn) IsValid() bool                          { return c.conn.IsValid() }
