package datafile_test

import (
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// TestNoRPCInTheEngine keeps reading candle files from linking an RPC
// stack: neither this package nor the backtest engine nor the tradai
// binary depends on gRPC or Arrow Flight (pqarrow, Arrow's parquet-to-Arrow
// layer, imports both; the parquet reader uses arrow-go's parquet/file).
func TestNoRPCInTheEngine(t *testing.T) {
	for _, pkg := range []string{".", "../backtest", "../../cmd/tradai"} {
		for _, dep := range depcheck.Deps(t, pkg) {
			if strings.HasPrefix(dep, "google.golang.org/grpc") || strings.HasPrefix(dep, "github.com/apache/arrow-go/v18/arrow/flight") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
