package db_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/db"
)

// The SQLite database holds secrets (token hashes, the simulator's API
// secrets): the file, its WAL and shared-memory files and a folder it
// creates (and the migration lock beside them) are readable by the
// server's user alone, and an existing file
// left readable by others is tightened on open.
func TestSQLiteFilesPrivate(t *testing.T) {
	ctx := context.Background()
	for _, existing := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "home")
		path := filepath.Join(dir, "tradai.db")
		if existing {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		d, err := db.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		want := map[string]fs.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, path + ".migrate.lock": 0o600}
		if !existing {
			want[dir] = fs.ModeDir | 0o700
		}
		for f, mode := range want {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != mode {
				t.Errorf("existing %v: %s has mode %s, want %s", existing, filepath.Base(f), fi.Mode(), mode)
			}
		}
		d.Close()
	}
}
