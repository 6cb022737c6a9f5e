package racetest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSkippedRunInMakeTest keeps the rule of the package: every test
// that calls racetest.Skip is named in the Makefile's RACE_SKIPPED_TESTS
// and its package in RACE_SKIPPED_PKGS, the lists make test's non-race
// step runs, and every name listed there is such a test (or one that
// skips under the race detector by itself).
func TestSkippedRunInMakeTest(t *testing.T) {
	root := filepath.Join("..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	tests, pkgs := makeList(t, mk, "RACE_SKIPPED_TESTS"), makeList(t, mk, "RACE_SKIPPED_PKGS")
	skipping := map[string]string{} // test → its package's folder, ./-relative
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules" || n == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if ok && sel.Sel.Name == "Skip" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "racetest" {
						rel, _ := filepath.Rel(root, filepath.Dir(path))
						skipping[fn.Name.Name] = "./" + filepath.ToSlash(rel) + "/"
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipping) == 0 {
		t.Fatal("found no test calling racetest.Skip")
	}
	for name, dir := range skipping {
		if !slices.Contains(tests, name) {
			t.Errorf("%s (%s) skips under the race detector but is not in the Makefile's RACE_SKIPPED_TESTS: make test would never run it", name, dir)
		}
		if !slices.Contains(pkgs, dir) {
			t.Errorf("%s skips under the race detector but its package %s is not in the Makefile's RACE_SKIPPED_PKGS", name, dir)
		}
	}
	for _, name := range tests {
		if _, ok := skipping[name]; !ok {
			t.Errorf("the Makefile's RACE_SKIPPED_TESTS names %s, which no test calling racetest.Skip is", name)
		}
	}
}

// makeList is the words of a `NAME := …` variable of the Makefile, over
// continuation lines.
func makeList(t *testing.T, mk []byte, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*:?=((?:[^\n]*\\\n)*[^\n]*)`).FindSubmatch(mk)
	if m == nil {
		t.Fatalf("no %s in the Makefile", name)
	}
	return strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
}
