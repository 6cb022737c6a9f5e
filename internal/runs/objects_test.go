package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/runs"
)

// memStore is an object store in memory whose puts fail from failAt on
// (0: never).
type memStore struct {
	mu     sync.Mutex
	objs   map[string][]byte
	sums   map[string]string
	puts   int
	failAt int
}

func newMem() *memStore { return &memStore{objs: map[string][]byte{}, sums: map[string]string{}} }

func (m *memStore) Location() string { return "mem://bucket/" }

func (m *memStore) Put(_ context.Context, key string, r io.Reader, size int64, sum string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.failAt > 0 && m.puts >= m.failAt {
		return errors.New("connection refused")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.objs[key], m.sums[key] = b, sum
	return nil
}

func (m *memStore) Get(_ context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, objstore.ErrNotFound
	}
	return objstore.Verify(io.NopCloser(bytes.NewReader(b)), key, int64(len(b)), m.sums[key]), nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

func (m *memStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.objs))
}

func objectRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM objects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var twoArtifacts = []runs.Artifact{
	{Name: "result.json", MediaType: "application/json", Content: []byte(`{"profit":1}`)},
	{Name: "report.html", MediaType: "text/html", Content: []byte("<p>report</p>")},
}

func TestArtifactsGoToTheArtifactStore(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		plain, alice, _ := setup(t, d)
		mem := newMem()
		s := plain.WithArtifactStore(mem)
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if _, err := s.MarkRunning(ctx, alice, r.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Metrics: json.RawMessage(`{}`), Artifacts: twoArtifacts}); err != nil {
			t.Fatal(err)
		}
		if k := mem.keys(); len(k) != 2 || !strings.HasPrefix(k[0], "runs/"+r.ID+"/") {
			t.Fatalf("objects in the store: %v", k)
		}
		if n := objectRows(t, d); n != 0 {
			t.Fatalf("%d objects in the database, want none", n)
		}
		var ref string
		var content []byte
		if err := d.QueryRow(ctx, `SELECT ref, content FROM artifacts WHERE run_id = ? AND name = 'report.html'`, r.ID).Scan(&ref, &content); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ref, "mem://bucket/runs/"+r.ID+"/") || content != nil {
			t.Fatalf("artifact row: ref %q, content %q; want a ref into the store and no content", ref, content)
		}
		for _, a := range twoArtifacts {
			got, err := s.ArtifactContent(ctx, alice, r.ID, a.Name)
			if err != nil || !bytes.Equal(got.Content, a.Content) {
				t.Fatalf("ArtifactContent %s = %q, %v", a.Name, got.Content, err)
			}
		}
		// A process configured without this store names the store it lacks.
		if _, err := plain.ArtifactContent(ctx, alice, r.ID, "report.html"); !errors.Is(err, runs.ErrArtifactUnreadable) || !strings.Contains(err.Error(), "--artifact-store") {
			t.Fatalf("read without the store: %v", err)
		}
		// A row from before the object store (content in the row, no ref) still reads.
		if _, err := d.Exec(ctx, `INSERT INTO artifacts (run_id, name, media_type, size, sha256, content) VALUES (?, 'old.json', 'application/json', 2, ?, ?)`,
			r.ID, objstore.SHA256([]byte("{}")), []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ArtifactContent(ctx, alice, r.ID, "old.json"); err != nil || string(got.Content) != "{}" {
			t.Fatalf("ArtifactContent of an old row = %q, %v", got.Content, err)
		}
		// A corrupted or truncated object is an error naming the run and the artifact, never content.
		key := strings.TrimPrefix(ref, mem.Location())
		for _, bad := range [][]byte{[]byte("<p>REPORT</p>"), []byte("<p>rep")} {
			mem.objs[key] = bad
			mem.sums[key] = objstore.SHA256(bad) // the store itself is fooled; the run's record is not
			got, err := s.ArtifactContent(ctx, alice, r.ID, "report.html")
			if !errors.Is(err, runs.ErrArtifactUnreadable) || !errors.Is(err, objstore.ErrCorrupt) || got.Content != nil ||
				!strings.Contains(err.Error(), fmt.Sprintf(`artifact "report.html" of run %s`, r.ID)) {
				t.Fatalf("ArtifactContent of a corrupt object = %q, %v", got.Content, err)
			}
		}
		// Deleting the run deletes its objects.
		if err := s.Delete(ctx, alice, r.ID); err != nil {
			t.Fatal(err)
		}
		if k := mem.keys(); len(k) != 0 {
			t.Fatalf("objects left after the run was deleted: %v", k)
		}
	})
}

func TestArtifactsInTheDatabaseStore(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, alice, _ := setup(t, d)
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if _, err := s.MarkRunning(ctx, alice, r.ID, ""); err != nil {
			t.Fatal(err)
		}
		// The objects are written in the completing transaction: one that
		// fails keeps none of them.
		restore := dbtest.FailWrites(t, d, "artifacts")
		if _, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Artifacts: twoArtifacts}); err == nil {
			t.Fatal("Complete succeeded with the artifacts table failing")
		}
		restore()
		if n := objectRows(t, d); n != 0 {
			t.Fatalf("%d objects in the database after a failed Complete, want none", n)
		}
		if _, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Artifacts: twoArtifacts}); err != nil {
			t.Fatal(err)
		}
		if n := objectRows(t, d); n != 2 {
			t.Fatalf("%d objects in the database, want 2", n)
		}
		if got, err := s.ArtifactContent(ctx, alice, r.ID, "result.json"); err != nil || !bytes.Equal(got.Content, twoArtifacts[0].Content) {
			t.Fatalf("ArtifactContent = %q, %v", got.Content, err)
		}
		if err := s.Delete(ctx, alice, r.ID); err != nil {
			t.Fatal(err)
		}
		if n := objectRows(t, d); n != 0 {
			t.Fatalf("%d objects left after the run was deleted", n)
		}
	})
}

func TestArtifactStoreFailureLeavesNothing(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		plain, alice, _ := setup(t, d)
		mem := newMem()
		mem.failAt = 2 // the first artifact is stored, the second is not
		s := plain.WithArtifactStore(mem)
		r, _, _ := s.Create(ctx, alice, spec("sma"), "")
		if _, err := s.MarkRunning(ctx, alice, r.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Artifacts: twoArtifacts})
		if err == nil || !strings.Contains(err.Error(), `store artifact "report.html" in the artifact store mem://bucket/`) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("Complete with the store failing = %v", err)
		}
		if k := mem.keys(); len(k) != 0 {
			t.Fatalf("objects left by the failed Complete: %v", k)
		}
		if st, _ := s.Status(ctx, alice, r.ID); st != runs.Running {
			t.Fatalf("run is %s after the failed Complete, want running", st)
		}
		if a, err := s.Artifacts(ctx, alice, r.ID); err != nil || len(a) != 0 {
			t.Fatalf("artifacts recorded by the failed Complete: %v, %v", a, err)
		}
		// A Complete that loses to another keeps the winner's objects.
		mem.failAt = 0
		if _, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Artifacts: twoArtifacts}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Complete(ctx, alice, r.ID, runs.Outcome{Artifacts: twoArtifacts}); !errors.Is(err, runs.ErrIllegalTransition) {
			t.Fatalf("second Complete = %v", err)
		}
		if got, err := s.ArtifactContent(ctx, alice, r.ID, "report.html"); err != nil || !bytes.Equal(got.Content, twoArtifacts[1].Content) {
			t.Fatalf("the first Complete's artifact after a second: %q, %v", got.Content, err)
		}
	})
}
