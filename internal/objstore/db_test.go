package objstore_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/objstore/objstoretest"
)

// The suite's tests use keys of their own, so they share one database.
func TestDBConformance(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		objstoretest.Run(t, func(t *testing.T) objstoretest.Backend {
			return objstoretest.Backend{Store: objstore.NewDB(d), Tamper: func(t *testing.T, key string, content []byte) {
				if _, err := d.Exec(t.Context(), `UPDATE objects SET content = ? WHERE object_key = ?`, content, key); err != nil {
					t.Fatal(err)
				}
			}}
		})
	})
}

var _ objstore.Store = (*objstore.DB)(nil)

// PutTx stores the object only when the caller's transaction commits.
func TestDBPutTx(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		s := objstore.NewDB(d)
		b := []byte("in the run's transaction")
		put := func(key string, fail error) error {
			return d.InTx(t.Context(), func(tx *db.Tx) error {
				if err := s.PutTx(t.Context(), tx, key, bytes.NewReader(b), int64(len(b)), objstore.SHA256(b)); err != nil {
					return err
				}
				return fail
			})
		}
		if err := put("tx/rolled-back", errors.New("the run did not complete")); err == nil {
			t.Fatal("the transaction's error was lost")
		}
		if _, err := s.Get(t.Context(), "tx/rolled-back"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Get after a rolled-back PutTx: %v, want ErrNotFound", err)
		}
		if err := put("tx/committed", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := objstore.ReadAll(t.Context(), s, "tx/committed", int64(len(b)), objstore.SHA256(b)); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("after a committed PutTx: %q, %v", got, err)
		}
	})
}
