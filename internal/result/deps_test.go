package result_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestReadersDoNotImportTheBacktester keeps results independent of how the
// trades were made: this package and the metrics and reports that read it
// import neither the backtester nor what it runs on (the store, the
// configuration, the database), so a paper or live deployment's trades feed
// them as they are.
func TestReadersDoNotImportTheBacktester(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	const mod = "github.com/tradai/tradai/internal/"
	forbidden := []string{mod + "backtest", mod + "market", mod + "config", mod + "db"}
	for _, pkg := range []string{"result", "metrics", "report"} {
		out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "../"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if slices.Contains(forbidden, dep) {
				t.Errorf("internal/%s imports %s", pkg, dep)
			}
		}
	}
}
