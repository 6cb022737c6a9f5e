package objstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/tradai/tradai/internal/db"
)

// DB keeps objects in the database's objects table: the default store,
// for a team whose database can hold the artifacts.
type DB struct {
	db *db.DB
}

// NewDB returns the store on d (migrated).
func NewDB(d *db.DB) *DB { return &DB{db: d} }

// Location is "db:".
func (s *DB) Location() string { return "db:" }

// Put stores the object, replacing one of the same key.
func (s *DB) Put(ctx context.Context, key string, r io.Reader, size int64, sum string) error {
	return put(ctx, s.db, key, r, size, sum)
}

// PutTx is Put in the caller's transaction: the object is stored if and
// only if tx commits (the run store writes artifacts so, with the run's
// completion).
func (s *DB) PutTx(ctx context.Context, tx *db.Tx, key string, r io.Reader, size int64, sum string) error {
	return put(ctx, tx, key, r, size, sum)
}

// execer is a database or a transaction.
type execer interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func put(ctx context.Context, e execer, key string, r io.Reader, size int64, sum string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	b, err := readChecked(r, key, size, sum)
	if err != nil {
		return fmt.Errorf("store object %s in the database: %w", key, err)
	}
	if _, err := e.Exec(ctx, `INSERT INTO objects (object_key, size, sha256, content) VALUES (?, ?, ?, ?)
		ON CONFLICT (object_key) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, content = excluded.content`,
		key, size, SHA256(b), b); err != nil {
		return fmt.Errorf("store object %s in the database: %w", key, err)
	}
	return nil
}

// Get returns the object, checked against its size and SHA-256 as it is
// read.
func (s *DB) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if CheckKey(key) != nil {
		return nil, fmt.Errorf("object %q: %w", key, ErrNotFound)
	}
	var (
		size    int64
		sum     string
		content []byte
	)
	err := s.db.QueryRow(ctx, `SELECT size, sha256, content FROM objects WHERE object_key = ?`, key).Scan(&size, &sum, &content)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("object %s: %w", key, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("read object %s from the database: %w", key, err)
	}
	return Verify(io.NopCloser(bytes.NewReader(content)), key, size, sum), nil
}

// Delete removes the object (a missing one is no error).
func (s *DB) Delete(ctx context.Context, key string) error {
	if CheckKey(key) != nil {
		return nil
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM objects WHERE object_key = ?`, key); err != nil {
		return fmt.Errorf("delete object %s from the database: %w", key, err)
	}
	return nil
}
