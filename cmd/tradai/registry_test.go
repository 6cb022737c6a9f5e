package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/racetest"
)

// makeRemovable lets the test's cleanup remove the read-only version
// folders under home.
func makeRemovable(t *testing.T, home string) {
	t.Cleanup(func() {
		filepath.WalkDir(filepath.Join(home, "strategies"), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
}

// The strategy registry from the command line, locally: push a file and a
// folder, list, show, diff, promote, roll back, and backtest a version by
// its stage.
func TestStrategyRegistryLocal(t *testing.T) {
	remoteEnv(t)
	t.Chdir("../..")
	home := t.TempDir()
	makeRemovable(t, home)
	t.Setenv("TRADAI_HOME", home)
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := execute(t, args...)
		if err != nil {
			t.Fatalf("tradai %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	py := "examples/strategies/python/sma_cross.py"
	if out := run("strategy", "push", py, "--name", "mysma", "--message", "first cut"); !strings.HasPrefix(out, "pushed mysma@1 (sha256 ") || !strings.Contains(out, "spec sma_cross_py 5m, 2 parameters") {
		t.Fatalf("push: %s", out)
	}
	if out := run("strategy", "push", py, "--name", "mysma"); !strings.HasPrefix(out, "unchanged: the same code is already mysma@1") {
		t.Fatalf("identical push: %s", out)
	}
	dir := filepath.Join(t.TempDir(), "mysma")
	os.MkdirAll(filepath.Join(dir, "__pycache__"), 0o755)
	b, _ := os.ReadFile(py)
	os.WriteFile(filepath.Join(dir, "strategy.py"), append(b, "# tuned\n"...), 0o644)
	os.WriteFile(filepath.Join(dir, "__pycache__", "x.pyc"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("junk"), 0o644)
	if out := run("strategy", "push", dir, "--name", "mysma", "--message", "tuned", "--tag", "team=quant"); !strings.Contains(out, "pushed mysma@2") || !strings.Contains(out, "1 files") {
		t.Fatalf("push of a folder: %s", out)
	}
	out := run("strategy", "versions", "mysma")
	if !strings.Contains(out, "1        none") || !strings.Contains(out, "first cut") || !strings.Contains(out, "tuned") {
		t.Fatalf("versions:\n%s", out)
	}
	out = run("strategy", "show", "mysma@2")
	for _, want := range []string{"Version  mysma@2", "Stage    none", "Runtime  python (strategy.py)", "Tags     team=quant", "fast       int   10       2 … 100"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out = run("strategy", "diff", "mysma@1", "mysma@2")
	if !strings.Contains(out, "renamed sma_cross.py → strategy.py\n--- a/sma_cross.py\n+++ b/strategy.py\n") || !strings.Contains(out, "+# tuned\n") || !strings.Contains(out, "same spec") {
		t.Fatalf("diff:\n%s", out)
	}
	run("strategy", "promote", "mysma@1", "--stage", "production", "--reason", "first release")
	if out := run("strategy", "promote", "mysma@2", "--stage", "production", "--reason", "tuned"); out != "mysma@2 is now in production\n" {
		t.Fatalf("promote: %q", out)
	}
	if out := run("strategy", "rollback", "mysma", "--reason", "worse"); out != "mysma@1 is in production again\n" {
		t.Fatalf("rollback: %q", out)
	}
	if out := run("strategy", "show", "mysma@production"); !strings.Contains(out, "Version  mysma@1") {
		t.Fatalf("show @production:\n%s", out)
	}
	// A local backtest of the production version: the same trades as the
	// Python file itself.
	want := run("backtest", "--config", "examples/backtest.json", "--strategy", py)
	if got := run("backtest", "--config", "examples/backtest.json", "--strategy", "mysma@production"); got != want {
		t.Errorf("backtest of mysma@production differs from the file's:\n%s\nwant:\n%s", got, want)
	}
	if _, _, err := execute(t, "strategy", "show", "mysma@7"); err == nil || !strings.Contains(err.Error(), "mysma@7: not found") {
		t.Errorf("show of a missing version: %v", err)
	}
	if _, _, err := execute(t, "strategy", "promote", "mysma@1", "--stage", "live"); err == nil || !strings.Contains(err.Error(), `unknown stage "live"`) {
		t.Errorf("unknown stage: %v", err)
	}
}

// The same through a server: push with --remote, backtest NAME@production
// there, and runs show the version and code hash it ran.
func TestStrategyRegistryRemote(t *testing.T) {
	remoteEnv(t)
	t.Chdir("../..")
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	out, errOut, err := execute(t, "strategy", "push", "examples/strategies/python/sma_cross.py", "--name", "mysma", "--remote", s.URL, "--home", s.Home)
	if err != nil || !strings.HasPrefix(out, "pushed mysma@1") {
		t.Fatalf("push --remote: %v\n%s%s", err, out, errOut)
	}
	if _, _, err := execute(t, "strategy", "promote", "mysma@1", "--stage", "production", "--reason", "ship", "--remote", s.URL, "--home", s.Home); err != nil {
		t.Fatal(err)
	}
	id, _, err := execute(t, "backtest", "--remote", s.URL, "--home", s.Home, "--config", "examples/backtest.json", "--strategy", "mysma@production", "--no-wait")
	id = strings.TrimSpace(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := execute(t, "runs", "wait", id, "--remote", s.URL, "--home", s.Home); err != nil {
		t.Fatal(err)
	}
	out, _, err = execute(t, "runs", "show", id, "--remote", s.URL, "--home", s.Home)
	if err != nil || !strings.Contains(out, "Strategy          mysma@1\n") || !strings.Contains(out, "Code              sha256 ") {
		t.Fatalf("runs show: %v\n%s", err, out)
	}
	out, _, err = execute(t, "runs", "list", "--strategy", "mysma", "--version", "1", "--remote", s.URL, "--home", s.Home)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "mysma@1") {
		t.Fatalf("runs list --version: %v\n%s", err, out)
	}
	if out, _, err = execute(t, "runs", "list", "--strategy", "mysma", "--version", "2", "--remote", s.URL, "--home", s.Home); err != nil || strings.Contains(out, id) {
		t.Fatalf("runs list --version 2: %v\n%s", err, out)
	}
}

// A wasm module pushed to the registry runs as NAME@1 and trades exactly as
// the same code built in (the module is the built-in sma_cross built with
// sdk/wasm).
func TestStrategyRegistryWasm(t *testing.T) {
	racetest.Skip(t, "compiles a wasm module for each of its backtests in this process, eightfold slower under the race detector")
	if testing.Short() {
		t.Skip("builds a wasm module")
	}
	remoteEnv(t)
	module := filepath.Join(t.TempDir(), "smacross.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", module, "../../internal/wasm/testdata/smacross")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the wasm module: %v\n%s", err, b)
	}
	t.Chdir("../..")
	home := t.TempDir()
	makeRemovable(t, home)
	t.Setenv("TRADAI_HOME", home)
	out, errOut, err := execute(t, "strategy", "push", module, "--name", "wsma")
	if err != nil || !strings.HasPrefix(out, "pushed wsma@1") {
		t.Fatalf("push of a wasm module: %v\n%s%s", err, out, errOut)
	}
	trades := func(strategy string) string {
		t.Helper()
		js := filepath.Join(t.TempDir(), "r.json")
		if _, errOut, err := execute(t, "backtest", "-c", "examples/backtest.json", "-s", strategy, "--timerange", "20180115-20180125", "--export-json", js); err != nil {
			t.Fatalf("backtest -s %s: %v\n%s", strategy, err, errOut)
		}
		var doc struct {
			Trades json.RawMessage `json:"trades"`
		}
		b, err := os.ReadFile(js)
		if err != nil || json.Unmarshal(b, &doc) != nil {
			t.Fatalf("export of %s: %v", strategy, err)
		}
		return string(doc.Trades)
	}
	if got, want := trades("wsma@1"), trades("sma_cross"); got != want || len(want) < 10 {
		t.Fatalf("wsma@1 traded differently from the built-in sma_cross:\n%.300s\nwant\n%.300s", got, want)
	}
}
