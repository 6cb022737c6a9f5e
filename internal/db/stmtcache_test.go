package db

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// keptStmts is how many statements the writing connection keeps.
func keptStmts(t *testing.T, d *DB) int {
	t.Helper()
	c, err := d.sql.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := -1
	if err := c.Raw(func(dc any) error {
		if sc, ok := dc.(*stmtConn); ok {
			n = len(sc.stmts)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// An SQLite connection keeps the statement of a query with arguments and
// runs it again from it (in and outside transactions); the same query run
// while rows of it are open gets a statement of its own, and both read
// their own rows; past the bound, queries run unkept, still right.
func TestSQLiteKeepsStatements(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if n := keptStmts(t, d); n != 0 {
		t.Fatalf("kept statements after DDL: %d, want 0 (a statement without arguments is not kept)", n)
	}
	const ins = `INSERT INTO kv (k, v) VALUES (?, ?)`
	for i := range 5 {
		if err := d.InTx(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, ins, i, fmt.Sprint("v", i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n := keptStmts(t, d); n != 1 {
		t.Fatalf("kept statements after one insert run 5 times: %d, want 1", n)
	}
	// Nested: the same query while its rows are open.
	const sel = `SELECT k, v FROM kv WHERE k >= ? ORDER BY k`
	err = d.InTx(ctx, func(tx *Tx) error {
		outer, err := tx.Query(ctx, sel, 3)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []string
		for outer.Next() {
			var k int
			var v string
			if err := outer.Scan(&k, &v); err != nil {
				return err
			}
			inner, err := tx.Query(ctx, sel, 0)
			if err != nil {
				return err
			}
			m := 0
			for inner.Next() {
				m++
			}
			if err := inner.Close(); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d=%s/%d", k, v, m))
		}
		if err := outer.Err(); err != nil {
			return err
		}
		if fmt.Sprint(got) != "[3=v3/5 4=v4/5]" {
			return fmt.Errorf("nested reads: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Past the bound: still right, the kept ones stay.
	for i := range maxCachedStmts + 10 {
		var v string
		if err := d.InTx(ctx, func(tx *Tx) error {
			return tx.QueryRow(ctx, fmt.Sprintf(`SELECT v FROM kv WHERE k = ? AND %d = %d`, i, i), 2).Scan(&v)
		}); err != nil || v != "v2" {
			t.Fatalf("query %d past the bound: %q, %v", i, v, err)
		}
	}
	if n := keptStmts(t, d); n != maxCachedStmts {
		t.Fatalf("kept statements: %d, want the bound %d", n, maxCachedStmts)
	}
	// A failing statement leaves the kept one usable.
	if _, err := d.Exec(ctx, ins, 1, "dup"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if _, err := d.Exec(ctx, ins, 9, "v9"); err != nil {
		t.Fatalf("the kept insert after a failed run: %v", err)
	}
}
