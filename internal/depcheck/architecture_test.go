package depcheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// modulePath is the import path of the module's root.
const modulePath = "github.com/tradai/tradai"

// TestArchitectureImportsColumn keeps the package map in
// docs/ARCHITECTURE.md true: each row's "imports of ours" column names
// exactly the module packages the package's non-test files import
// directly. Names are the table's short ones ("trade" for internal/trade,
// "jobs/runkind", "sdk/ta"); a remark in parentheses is not read, nor is
// the command's "all of the above".
func TestArchitectureImportsColumn(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatalf("read the package map: %v", err)
	}
	pkgs := depcheck.Packages(t, module)
	byPath := map[string]depcheck.Package{}
	for _, p := range pkgs {
		byPath[strings.TrimPrefix(p.ImportPath, modulePath+"/")] = p
	}
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		pkg, imports, ok := mapRow(line)
		if !ok {
			continue
		}
		rows++
		p, ok := byPath[pkg]
		if !ok {
			t.Errorf("docs/ARCHITECTURE.md has a row for %s, which is not a package of the module", pkg)
			continue
		}
		if imports == "all of the above" {
			continue
		}
		var listed []string
		for _, name := range namesOf(imports) {
			full, err := resolve(name, byPath)
			if err != nil {
				t.Errorf("row %s: %v", pkg, err)
				continue
			}
			listed = append(listed, full)
		}
		var actual []string
		for _, imp := range p.Imports {
			if imp == modulePath || strings.HasPrefix(imp, modulePath+"/") {
				actual = append(actual, strings.TrimPrefix(strings.TrimPrefix(imp, modulePath), "/"))
			}
		}
		slices.Sort(listed)
		listed = slices.Compact(listed)
		slices.Sort(actual)
		if !slices.Equal(listed, actual) {
			t.Errorf("docs/ARCHITECTURE.md, row %s: imports of ours are listed as %v, the package imports %v", pkg, listed, actual)
		}
	}
	if rows < 10 {
		t.Fatalf("found %d rows in the package map of docs/ARCHITECTURE.md; has its table changed shape?", rows)
	}
}

// rowPattern is a row of the package map: | `package` | what | imports |.
var rowPattern = regexp.MustCompile("^\\| `([^`]+)` \\|.*\\|([^|]*)\\|\\s*$")

// mapRow splits a row of the package map into the package's path and its
// "imports of ours" cell.
func mapRow(line string) (pkg, imports string, ok bool) {
	m := rowPattern.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return m[1], strings.TrimSpace(m[2]), true
}

// parenthesised is a remark in parentheses in an imports cell.
var parenthesised = regexp.MustCompile(`\([^)]*\)`)

// namesOf returns the package names of an imports cell: the backquoted
// names outside parentheses; "none" has none.
func namesOf(cell string) []string {
	var names []string
	for _, part := range strings.Split(parenthesised.ReplaceAllString(cell, ""), ",") {
		name := strings.Trim(strings.TrimSpace(part), "`")
		if name != "" && name != "none" {
			names = append(names, name)
		}
	}
	return names
}

// resolve finds the one module package a short name stands for: its path
// without "internal/" is the name, or else ends in "/" + the name.
func resolve(name string, byPath map[string]depcheck.Package) (string, error) {
	var found []string
	for path := range byPath {
		short := strings.TrimPrefix(path, "internal/")
		if short == name { // "binance" is internal/binance, not exchange/binance
			return path, nil
		}
		if strings.HasSuffix(short, "/"+name) {
			found = append(found, path)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("`%s` names no package of the module", name)
	default:
		slices.Sort(found)
		return "", fmt.Errorf("`%s` is ambiguous: %s", name, strings.Join(found, ", "))
	}
}
