package strategyref

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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
