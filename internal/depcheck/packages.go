package depcheck

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// Package is what the go command says of one package.
type Package struct {
	ImportPath string
	Doc        string   // the first sentence of the package comment
	Imports    []string // direct imports of the non-test files
}

// Packages lists the packages matching pattern (an import path, "./x" from
// the test's folder, or a pattern such as "github.com/tradai/tradai/...").
// The test is skipped when the go command is not on PATH, and fails when it
// cannot list pattern.
func Packages(t testing.TB, pattern string) []Package {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-json=ImportPath,Doc,Imports", pattern).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("list the packages %s: %v\n%s", pattern, err, stderr)
	}
	var pkgs []Package
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatalf("read the go command's list of %s: %v", pattern, err)
		}
		pkgs = append(pkgs, p)
	}
}
