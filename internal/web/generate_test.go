package web

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/a-h/templ/generator"
	parser "github.com/a-h/templ/parser/v2"
)

// TestGeneratedCodeIsCurrent fails when a .templ file was changed without
// running `make generate`: each committed *_templ.go must be what templ's
// generator makes of its .templ file now.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files: %v", err)
	}
	for _, f := range files {
		tf, err := parser.Parse(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var buf bytes.Buffer
		if _, err := generator.Generate(tf, &buf, generator.WithFileName(f), generator.WithVersion(templ.Version())); err != nil {
			t.Fatalf("%s: generate: %v", f, err)
		}
		want, err := format.Source(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: format the generated code: %v", f, err)
		}
		name := strings.TrimSuffix(f, ".templ") + "_templ.go"
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v (run make generate)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what %s generates now: run make generate and commit the result", name, f)
		}
	}
}
