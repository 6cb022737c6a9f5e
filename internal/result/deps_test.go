package result_test

import (
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/depcheck"
)

// TestReadersDoNotImportTheBacktester keeps results independent of how the
// trades were made: this package and the metrics and reports that read it
// import neither the backtester nor what it runs on (the store, the
// configuration, the database), so a paper or live deployment's trades feed
// them as they are.
func TestReadersDoNotImportTheBacktester(t *testing.T) {
	const mod = "github.com/tradai/tradai/internal/"
	forbidden := []string{mod + "backtest", mod + "market", mod + "config", mod + "db"}
	for _, pkg := range []string{"result", "metrics", "report"} {
		for _, dep := range depcheck.Deps(t, "../"+pkg) {
			if slices.Contains(forbidden, dep) {
				t.Errorf("internal/%s imports %s", pkg, dep)
			}
		}
	}
}
