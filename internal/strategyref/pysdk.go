package strategyref

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tradai/tradai/internal/atomicfile"
	pysdk "github.com/tradai/tradai/sdk/python"
)

// unpackPythonSDK writes the Python SDK bundled in this binary into a
// folder named after its content under cacheDir ("" = the user cache
// directory) and returns the folder, for PYTHONPATH. Each version of the
// SDK gets its own folder, so binaries of different versions never see
// each other's file.
func unpackPythonSDK(cacheDir string) (string, error) {
	src := pysdk.Source()
	sum := sha256.Sum256(src)
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cacheDir = filepath.Join(base, "tradai")
	}
	dir := filepath.Join(cacheDir, "python-sdk-"+hex.EncodeToString(sum[:6]))
	path := filepath.Join(dir, pysdk.FileName)
	if have, err := os.ReadFile(path); err == nil && sha256.Sum256(have) == sum {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("unpacking the Python SDK: %w", err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(src); return err }); err != nil {
		return "", fmt.Errorf("unpacking the Python SDK: %w", err)
	}
	return dir, nil
}

// compileSDK writes the bytecode of the SDK unpacked in dir, compiled by
// the interpreter exe, unless bytecode of it is there already. A
// sandboxed strategy sees dir read-only and cannot write it, so without
// this every sandboxed start compiles the SDK again (6–9 ms of CPU). It is
// best effort: when compiling fails, each start compiles, as before.
func compileSDK(ctx context.Context, exe, dir string) {
	if have, _ := filepath.Glob(filepath.Join(dir, "__pycache__", "tradai_strategy.*.pyc")); len(have) > 0 {
		return
	}
	cmd := exec.CommandContext(ctx, exe, "-I", "-m", "py_compile", filepath.Join(dir, pysdk.FileName))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	_ = cmd.Run()
}
