// Package strategyref resolves a strategy reference — what a user writes
// after --strategy or in a config's "strategy" key — to a runnable
// strategy:
//
//   - "sma_cross": a built-in strategy;
//   - "./strategies/my.py" (any path ending in .py): a Python strategy, run
//     with python3 and the bundled Python SDK on its path;
//   - "exec:./bin/mystrat": any executable speaking the strategy protocol
//     (docs/strategy-protocol.md), e.g. a Go strategy built with sdk/serve;
//   - "./strategies/my.wasm" (any path ending in .wasm): a WebAssembly
//     module speaking the wasm ABI (docs/wasm-abi.md), e.g. a Go strategy
//     built with sdk/wasm, run in-process in the wasm sandbox.
package strategyref

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/wasm"
	"github.com/tradai/tradai/sdk"
)

// Options configures process-backed strategies.
type Options struct {
	// External are the limits and logger of a strategy process.
	External external.Options
	// Python is the interpreter for .py strategies ("" = $TRADAI_PYTHON,
	// else python3 on the PATH).
	Python string
	// CacheDir is where the bundled Python SDK is unpacked ("" = the user
	// cache directory).
	CacheDir string
}

// Open resolves ref. close releases a process-backed strategy (stops its
// process) and is a no-op for built-ins; call it when done.
func Open(ctx context.Context, ref string, opts Options) (s sdk.Strategy, close func() error, err error) {
	noop := func() error { return nil }
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return nil, nil, errors.New("no strategy given")
	case strings.HasPrefix(ref, "exec:"):
		path := strings.TrimPrefix(ref, "exec:")
		if path == "" {
			return nil, nil, fmt.Errorf("strategy %q: no program after \"exec:\"", ref)
		}
		abs, err := executable(path)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		return start(ctx, ref, []string{abs}, opts.External)
	case strings.HasSuffix(strings.ToLower(ref), ".py"):
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("strategy %q: no such Python file", ref)
		}
		py := opts.Python
		if py == "" {
			py = os.Getenv("TRADAI_PYTHON")
		}
		if py == "" {
			py = "python3"
		}
		pyPath, err := exec.LookPath(py)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: Python interpreter %q not found (install python3 or set TRADAI_PYTHON): %w", ref, py, err)
		}
		sdkDir, err := unpackPythonSDK(opts.CacheDir)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		ext := opts.External
		pp := sdkDir
		if old := os.Getenv("PYTHONPATH"); old != "" {
			pp += string(os.PathListSeparator) + old
		}
		ext.Env = append(append([]string{}, ext.Env...), "PYTHONPATH="+pp, "PYTHONUNBUFFERED=1")
		ext.Name = filepath.Base(abs) + " (run by " + filepath.Base(pyPath) + ")"
		return start(ctx, ref, []string{pyPath, abs}, ext)
	case strings.HasSuffix(strings.ToLower(ref), ".wasm"):
		code, err := os.ReadFile(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: reading the wasm module: %w", ref, err)
		}
		rt, err := wasm.New(ctx, wasm.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		s, closeS, err := rt.Open(ctx, code)
		if err != nil {
			_ = rt.Close(ctx)
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		return s, func() error { return errors.Join(closeS(), rt.Close(context.Background())) }, nil
	case strings.ContainsAny(ref, `/\`):
		return nil, nil, fmt.Errorf("strategy %q: a path must be a Python file (.py), a wasm module (.wasm) or an executable written as exec:%s", ref, ref)
	}
	s, err = strategy.Lookup(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("%w; or give a Python file (./my.py) or exec:./program", err)
	}
	return s, noop, nil
}

func start(ctx context.Context, ref string, argv []string, opts external.Options) (sdk.Strategy, func() error, error) {
	st, err := external.Start(ctx, argv, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("strategy %s: %w", ref, err)
	}
	return st, st.Close, nil
}

// executable returns the absolute path of an executable file.
func executable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", fmt.Errorf("no such program %s", path)
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a program file", path)
	case st.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable (chmod +x it)", path)
	}
	return abs, nil
}

// IsExternal reports whether ref names a strategy that is not a built-in:
// a program (a Python file or exec:) or a wasm module file.
func IsExternal(ref string) bool {
	ref = strings.TrimSpace(ref)
	lower := strings.ToLower(ref)
	return strings.HasPrefix(ref, "exec:") || strings.HasSuffix(lower, ".py") || strings.HasSuffix(lower, ".wasm") || strings.ContainsAny(ref, `/\`)
}
