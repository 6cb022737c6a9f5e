package api_test

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestOpenAPIDocumentIsUnchanged keeps the API's contract from changing by
// accident: /openapi.json is compared byte for byte with
// testdata/openapi.json. A deliberate change to the API rewrites it with
// go test -run TestOpenAPIDocumentIsUnchanged -update, and the diff is
// reviewed with the change.
func TestOpenAPIDocumentIsUnchanged(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{NoWorkers: true})
	r := e.do("GET", "/openapi.json", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", r.status, r.body)
	}
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		if err := os.WriteFile(golden, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("/openapi.json differs from %s: review the difference, and rewrite the file with -update if it is meant", golden)
	}
}
