package depcheck_test

import (
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// module is the pattern of all the module's packages.
const module = "github.com/tradai/tradai/..."

// TestEveryPackageHasADocComment keeps every package of the module, the
// command included, introduced by a package comment: the package map in
// docs/ARCHITECTURE.md summarises them, godoc shows them.
func TestEveryPackageHasADocComment(t *testing.T) {
	pkgs := depcheck.Packages(t, module)
	if len(pkgs) == 0 {
		t.Fatalf("go list %s listed no packages", module)
	}
	var missing []string
	for _, p := range pkgs {
		if strings.TrimSpace(p.Doc) == "" {
			missing = append(missing, p.ImportPath)
		}
	}
	if len(missing) > 0 {
		t.Errorf("packages without a package doc comment (write one, \"// Package x …\", above a package clause):\n  %s",
			strings.Join(missing, "\n  "))
	}
}
