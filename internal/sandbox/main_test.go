package sandbox_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tradai/tradai/internal/sandbox"
)

// bins holds the programs built once for all tests (world-readable: a
// sandbox runs as nobody when the tests run as root).
var bins string

func TestMain(m *testing.M) {
	sandbox.Main() // this test binary is also the sandboxes' init
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("the sandbox needs Linux; skipping")
		return 0
	}
	if dir := os.Getenv("TRADAI_SANDBOX_TEST_BINS"); dir != "" {
		// Built beforehand: a run as another user than the one with Go
		// (the suite as an unprivileged user, in a user namespace).
		bins = dir
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tradai-sandbox-test")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/tradai/tradai/examples/strategies/go/sma_cross",
		"github.com/tradai/tradai/internal/sandbox/testdata/setuidprobe")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test programs: %v\n%s", err, out)
		return 1
	}
	bins = dir
	return m.Run()
}
