package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Stage is where a version is in its life, as in MLflow's model registry.
type Stage string

// The stages. A new version is in StageNone; at most one version of a name
// is in StageProduction.
const (
	StageNone       Stage = "none"
	StageStaging    Stage = "staging"
	StageProduction Stage = "production"
	StageArchived   Stage = "archived"
)

// ParseStage checks a stage name.
func ParseStage(s string) (Stage, error) {
	switch st := Stage(s); st {
	case StageNone, StageStaging, StageProduction, StageArchived:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown stage %q (want none, staging, production or archived)", ErrInvalid, s)
}

// Runtime is what runs a version's code.
type Runtime string

// The runtimes of registry versions.
const (
	Python Runtime = "python"
	Wasm   Runtime = "wasm"
)

// ParseRuntime checks a runtime name.
func ParseRuntime(s string) (Runtime, error) {
	switch r := Runtime(s); r {
	case Python, Wasm:
		return r, nil
	}
	return "", fmt.Errorf("%w: unknown runtime %q (want python or wasm)", ErrInvalid, s)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckName checks a strategy name: 1–64 letters, digits, _ and -,
// starting with a letter or digit.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: strategy name %s: want 1–64 letters, digits, _ or -, starting with a letter or digit", ErrInvalid, quote(name))
	}
	return nil
}

// Ref names a version: NAME (the latest), NAME@3, NAME@production,
// NAME@staging or NAME@latest.
type Ref struct {
	Name   string
	Number int   // > 0 for NAME@3
	Stage  Stage // production or staging for NAME@stage
}

// String writes the ref back.
func (r Ref) String() string {
	switch {
	case r.Number > 0:
		return r.Name + "@" + strconv.Itoa(r.Number)
	case r.Stage != "":
		return r.Name + "@" + string(r.Stage)
	}
	return r.Name
}

// ParseRef reads NAME, NAME@N, NAME@production, NAME@staging or
// NAME@latest.
func ParseRef(s string) (Ref, error) {
	name, sel, has := strings.Cut(strings.TrimSpace(s), "@")
	if err := CheckName(name); err != nil {
		return Ref{}, err
	}
	r := Ref{Name: name}
	if !has || sel == "latest" {
		return r, nil
	}
	switch Stage(sel) {
	case StageProduction, StageStaging:
		r.Stage = Stage(sel)
		return r, nil
	}
	n, err := strconv.Atoi(sel)
	if err != nil || n <= 0 || strconv.Itoa(n) != sel {
		return Ref{}, fmt.Errorf("%w: version %s of %s: want a number, production, staging or latest", ErrInvalid, quote(sel), name)
	}
	r.Number = n
	return r, nil
}
