package objstore_test

import (
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
