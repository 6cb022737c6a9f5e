package s3store_test

import (
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// TestOnlyTheServerCarriesMinio keeps minio-go out of the packages a
// runner, an API client, the run store or the market data store builds
// on: only the wiring in cmd/tradai opens an S3 store (internal/platform
// takes it as an objstore.Store, internal/market as a market.Remote).
func TestOnlyTheServerCarriesMinio(t *testing.T) {
	for _, pkg := range []string{"../../runner", "../../client", "../../runs", "../../api", "../../jobs", "../../objstore", "../../market"} {
		for _, dep := range depcheck.Deps(t, pkg) {
			if strings.HasPrefix(dep, "github.com/minio/") || dep == "github.com/tradai/tradai/internal/objstore/s3store" {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
