// Package strategyref resolves a strategy reference — what a user writes
// after --strategy or in a config's "strategy" key — to a runnable
// strategy:
//
//   - "sma_cross": a built-in strategy;
//   - "./strategies/my.py" (any path ending in .py): a Python strategy, run
//     with python3 and the bundled Python SDK on its path;
//   - "exec:./bin/mystrat": any executable speaking the strategy protocol
//     (docs/strategy-protocol.md), e.g. a Go strategy built with sdk/serve;
//   - "mystrat@3", "mystrat@production", "mystrat@staging": a version in
//     the strategy registry, and a bare name that is not a built-in is the
//     registry's latest version of that name (Options.Registry resolves
//     them to files on disk; docs/strategies.md).
//   - "./strategies/my.wasm" (any path ending in .wasm): a WebAssembly
//     module speaking the wasm ABI (docs/wasm-abi.md), e.g. a Go strategy
//     built with sdk/wasm, run in-process in the wasm sandbox.
package strategyref

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/sandbox"
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
	// Registry resolves registry references (NAME@3, NAME@production, a
	// name that is no built-in) of one tenant; nil: there is no registry.
	Registry Resolver
	// Wasm runs wasm modules (one per process, so each module version is
	// compiled once); nil: each wasm strategy gets a runtime of its own.
	Wasm *wasm.Runtime
}

// Resolver turns a registry reference into a version whose files are on
// disk (internal/registry implements it per tenant).
type Resolver interface {
	Resolve(ctx context.Context, ref string) (Version, error)
}

// Version is a registry version ready to run: its files, read-only, in
// Dir; Entry the file that is the strategy.
type Version struct {
	Name    string
	Number  int
	SHA256  string
	Runtime string // "python" or "wasm"
	Dir     string
	Entry   string
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
		ext := opts.External
		if ext.Sandbox != nil {
			ext.Sandbox = ext.Sandbox.With(filepath.Dir(abs)) // the program's folder, read-only
		}
		return start(ctx, ref, []string{abs}, ext)
	case strings.HasSuffix(strings.ToLower(ref), ".py"):
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("strategy %q: no such Python file", ref)
		}
		return startPython(ctx, ref, abs, "", opts)
	case strings.HasSuffix(strings.ToLower(ref), ".wasm"):
		code, err := os.ReadFile(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: reading the wasm module: %w", ref, err)
		}
		st, err := openWasmCode(ctx, code, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		return st, st.Close, nil
	case strings.ContainsAny(ref, `/\`):
		return nil, nil, fmt.Errorf("strategy %q: a path must be a Python file (.py), a wasm module (.wasm) or an executable written as exec:%s", ref, ref)
	case strings.Contains(ref, "@"):
		return openRegistry(ctx, ref, opts)
	}
	s, err = strategy.Lookup(ref)
	if err != nil {
		if opts.Registry != nil {
			s, closeFn, rerr := openRegistry(ctx, ref, opts)
			if rerr != nil {
				return nil, nil, fmt.Errorf("%w; in the strategy registry: %w", err, rerr)
			}
			return s, closeFn, nil
		}
		return nil, nil, fmt.Errorf("%w; or give a Python file (./my.py), a wasm module (./my.wasm), exec:./program or a registry version (NAME@1)", err)
	}
	return s, noop, nil
}

// openRegistry resolves a registry reference and starts its version.
func openRegistry(ctx context.Context, ref string, opts Options) (sdk.Strategy, func() error, error) {
	if opts.Registry == nil {
		return nil, nil, fmt.Errorf("strategy %q: a registry version, but no strategy registry here (push it with tradai strategy push, or give a built-in name, a .py file or exec:program)", ref)
	}
	v, err := opts.Registry.Resolve(ctx, ref)
	if err != nil {
		return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
	}
	return OpenVersion(ctx, v, opts)
}

// OpenVersion starts a registry version from its files: a Python version
// runs exactly as a .py file does, with opts.External (the caller's limits
// and sandbox) and the version's folder as its working directory. Code
// not yet a version (Number 0, read at push) is named by its Name alone.
func OpenVersion(ctx context.Context, v Version, opts Options) (sdk.Strategy, func() error, error) {
	ref := v.Name
	if v.Number > 0 {
		ref = fmt.Sprintf("%s@%d", v.Name, v.Number)
	}
	var st sdk.Strategy
	var closeFn func() error
	switch v.Runtime {
	case "python":
		var err error
		if st, closeFn, err = startPython(ctx, ref, filepath.Join(v.Dir, filepath.FromSlash(v.Entry)), v.Dir, opts); err != nil {
			return nil, nil, err
		}
	case "wasm":
		s, err := openWasm(ctx, v, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %s: %w", ref, err)
		}
		st, closeFn = s, s.Close
	default:
		return nil, nil, fmt.Errorf("strategy %s: unknown runtime %q", ref, v.Runtime)
	}
	baked, err := bakeParams(v, st)
	if err != nil {
		_ = closeFn()
		return nil, nil, fmt.Errorf("strategy %s: %w", ref, err)
	}
	return baked, closeFn, nil
}

// ParamsFileName is the strategy parameter file Freqtrade keeps beside a
// strategy's file: the entry's name with .json for its extension. A
// version holding one declares its values as its defaults.
func ParamsFileName(entry string) string {
	return strings.TrimSuffix(entry, path.Ext(entry)) + ".json"
}

// bakeParams is st declaring the values of the parameter file beside v's
// entry as its defaults (optimize.ParamsFile.Bake), or st itself when v
// has none.
func bakeParams(v Version, st sdk.Strategy) (sdk.Strategy, error) {
	name := ParamsFileName(v.Entry)
	raw, err := os.ReadFile(filepath.Join(v.Dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("its parameter file: %w", err)
	}
	f, err := optimize.ParseParams(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	spec, err := f.Bake(st.Spec())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return bakedStrategy{Strategy: st, spec: spec}, nil
}

// bakedStrategy is a strategy declaring the defaults of its parameter
// file; it passes on the cost it measures (Usage) when it has one.
type bakedStrategy struct {
	sdk.Strategy
	spec sdk.Spec
}

func (b bakedStrategy) Spec() sdk.Spec { return b.spec }

// Usage is the strategy's (see wasmStrategy.Usage), none when it measures
// none.
func (b bakedStrategy) Usage() (cpu time.Duration, peak int64) {
	if m, ok := b.Strategy.(interface {
		Usage() (time.Duration, int64)
	}); ok {
		return m.Usage()
	}
	return 0, 0
}

// closingStrategy is a strategy holding resources until Close.
type closingStrategy interface {
	sdk.Strategy
	Close() error
}

// openWasm starts a WebAssembly version: its entry file is the module.
func openWasm(ctx context.Context, v Version, opts Options) (closingStrategy, error) {
	code, err := os.ReadFile(filepath.Join(v.Dir, filepath.FromSlash(v.Entry)))
	if err != nil {
		return nil, fmt.Errorf("reading the wasm module: %w", err)
	}
	return openWasmCode(ctx, code, opts)
}

// openWasmCode runs a wasm module on opts.Wasm, or on a runtime of its own
// closed with the strategy when opts.Wasm is nil.
func openWasmCode(ctx context.Context, code []byte, opts Options) (closingStrategy, error) {
	rt, own := opts.Wasm, false
	if rt == nil {
		var err error
		if rt, err = wasm.New(ctx, wasm.Options{}); err != nil {
			return nil, err
		}
		own = true
	}
	st, closeS, err := rt.Open(ctx, code)
	if err != nil {
		if own {
			_ = rt.Close(ctx)
		}
		return nil, err
	}
	closeAll := closeS
	if own {
		closeAll = func() error { return errors.Join(closeS(), rt.Close(context.Background())) }
	}
	return wasmStrategy{st, closeAll}, nil
}

// wasmStrategy is a wasm strategy with what closes it.
type wasmStrategy struct {
	sdk.Strategy
	close func() error
}

func (w wasmStrategy) Close() error { return w.close() }

// Usage is the wasm strategy's (wasm.Strategy.Usage): what a runner counts
// of its cost.
func (w wasmStrategy) Usage() (cpu time.Duration, peak int64) {
	if s, ok := w.Strategy.(*wasm.Strategy); ok {
		return s.Usage()
	}
	return 0, 0
}

// Specs reads the spec a version's code declares by starting it once
// (registry.SpecReader).
type Specs struct{ Options Options }

// ReadSpec starts the version in dir and returns the spec of its handshake.
func (s Specs) ReadSpec(ctx context.Context, runtime, dir, entry string) (sdk.Spec, error) {
	st, closeFn, err := OpenVersion(ctx, Version{Name: "pushed " + entry, Runtime: runtime, Dir: dir, Entry: entry}, s.Options)
	if err != nil {
		return sdk.Spec{}, err
	}
	defer closeFn()
	return st.Spec(), nil
}

// startPython runs the Python file abs (ref in errors) with the bundled
// SDK on its path, in folder dir ("" = the current one).
func startPython(ctx context.Context, ref, abs, dir string, opts Options) (sdk.Strategy, func() error, error) {
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
	if isScript(pyPath) && opts.External.Log != nil {
		opts.External.Log.Info("the Python interpreter is a script (a launcher such as a pyenv shim), which adds tens of milliseconds to every start of a strategy: set TRADAI_PYTHON to the interpreter it runs, which python3 -c 'import sys; print(sys.executable)' prints", "python", pyPath)
	}
	sdkDir, err := unpackPythonSDK(opts.CacheDir)
	if err != nil {
		return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
	}
	ext := opts.External
	pp := sdkDir
	if old := os.Getenv("PYTHONPATH"); old != "" && ext.Sandbox == nil {
		pp += string(os.PathListSeparator) + old
	}
	// One thread for numpy's BLAS and OpenMP unless ext.Env says
	// otherwise: a strategy's populate is element-wise
	// work, and OpenBLAS otherwise starts a thread per core and allocates
	// their buffers while numpy is imported (about 40 ms of system CPU,
	// taken from the backtest running beside it).
	env := append([]string{"OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1"}, ext.Env...)
	ext.Env = append(env, "PYTHONPATH="+pp, "PYTHONUNBUFFERED=1")
	ext.Name = filepath.Base(abs) + " (run by " + filepath.Base(pyPath) + ")"
	if dir != "" {
		ext.Dir = dir
	}
	if ext.Sandbox != nil {
		// The sandbox shows the interpreter's installation, the SDK and
		// the strategy's folder, read-only.
		exe, paths, err := sandbox.Python(ctx, pyPath)
		if err != nil {
			return nil, nil, fmt.Errorf("strategy %q: %w", ref, err)
		}
		shown := append(paths, sdkDir, filepath.Dir(abs))
		if dir != "" {
			shown = append(shown, dir)
		}
		ext.Sandbox = ext.Sandbox.With(shown...)
		ext.Env = append(ext.Env, "PYTHONDONTWRITEBYTECODE=1")
		pyPath = exe
		compileSDK(ctx, exe, sdkDir)
	}
	return start(ctx, ref, []string{pyPath, abs}, ext)
}

// isScript reports whether the program at path is a script (it starts
// with "#!") rather than an executable binary.
func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [2]byte
	_, err = io.ReadFull(f, head[:])
	return err == nil && string(head[:]) == "#!"
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

// IsFile reports whether ref names a file or a program (exec:program, a
// .py or .wasm file, any path) rather than a built-in or a registry
// version, as Open reads it.
func IsFile(ref string) bool {
	ref = strings.TrimSpace(ref)
	lower := strings.ToLower(ref)
	return strings.HasPrefix(ref, "exec:") || strings.HasSuffix(lower, ".py") || strings.HasSuffix(lower, ".wasm") || strings.ContainsAny(ref, `/\`)
}

// IsRegistry reports whether ref names a registry version written
// NAME@VERSION (NAME@3, NAME@production), as Open reads it.
func IsRegistry(ref string) bool {
	return !IsFile(ref) && strings.Contains(ref, "@")
}

// IsExternal reports whether ref names a strategy that is not a built-in:
// a file or program (IsFile) or a registry version written NAME@…
// (IsRegistry). A bare name is a built-in or the registry's latest version:
// ask strategy.Lookup.
func IsExternal(ref string) bool { return IsFile(ref) || IsRegistry(ref) }

// ForRun is what a worker opens for a run's strategy: its reference — the
// registry version the run recorded, exactly (NAME@N), else the name it
// was given — and o with the run's tenant's registry (registry's, when
// set). A registry version needs the process sandbox, and a file or a
// program allowExternal, else the error says what the worker lacks.
func ForRun(name string, version int, tenant string, o Options, registry func(tenant string) Resolver, allowExternal bool) (string, Options, error) {
	ref := name
	if version > 0 {
		ref = fmt.Sprintf("%s@%d", name, version)
	}
	if registry != nil {
		o.Registry = registry(tenant)
	}
	switch {
	case version > 0 && o.External.Sandbox == nil && !allowExternal:
		return "", o, fmt.Errorf("strategy %q: this worker has no process sandbox to run tenant code in", ref)
	case version == 0 && IsExternal(ref) && !allowExternal:
		return "", o, fmt.Errorf("strategy %q: this worker runs built-in strategies and registry versions only (start it with --allow-external-strategies to run programs named by a path, each in the process sandbox)", ref)
	}
	return ref, o, nil
}
