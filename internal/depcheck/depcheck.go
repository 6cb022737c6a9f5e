// Package depcheck is a test helper for tests that keep a package's
// dependency graph small: it lists what a package depends on, as the go
// command sees it.
package depcheck

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// Deps lists the import paths of the packages outside the standard
// library that pkg depends on, directly or not, pkg itself included. pkg
// is as the go command takes it ("./x", "../x" from the test's folder, or
// an import path). The test is skipped when the go command is not on PATH,
// and fails when it cannot list pkg.
func Deps(t testing.TB, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("list the dependencies of %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}
