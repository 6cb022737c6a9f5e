package client_test

import (
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// TestClientImportsOnlyTheWireTypes keeps the API client light: besides
// the standard library it depends on the API's wire types, sdk and the
// clock (standard library only, as a lint rule keeps it) only,
// so a program that talks to a server does not carry the server (River,
// pgx, SQLite, huma, Arrow, gRPC, the store, the job queue).
func TestClientImportsOnlyTheWireTypes(t *testing.T) {
	const mod = "github.com/tradai/tradai/"
	allowed := []string{mod + "internal/client", mod + "internal/api/apitype", mod + "internal/clock", mod + "sdk"}
	for _, dep := range depcheck.Deps(t, ".") {
		if !slices.Contains(allowed, dep) {
			t.Errorf("internal/client depends on %s", dep)
		}
	}
}
