package strategyref

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
	pysdk "github.com/tradai/tradai/sdk/python"
)

// signalsOf populates a copy of f with s's default parameters.
func signalsOf(t *testing.T, s sdk.Strategy, f *sdk.Frame) *sdk.Frame {
	t.Helper()
	c := f.Slice(0, f.Len())
	c.EnterLong, c.ExitLong, c.EnterShort, c.ExitShort, c.EnterTag = nil, nil, nil, nil, nil
	params, err := s.Spec().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Populate(c, params); err != nil {
		t.Fatal(err)
	}
	return c
}

func ethBTC(t *testing.T) *sdk.Frame {
	t.Helper()
	f, err := datafile.Load("../../examples/data/binance/ETH_BTC-5m.feather", "ETH/BTC", "5m")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sameSignals(t *testing.T, got, want *sdk.Frame) {
	t.Helper()
	for i := range want.Time {
		if got.EnterLong[i] != want.EnterLong[i] || got.ExitLong[i] != want.ExitLong[i] ||
			got.EnterShort[i] != want.EnterShort[i] || got.ExitShort[i] != want.ExitShort[i] {
			t.Fatalf("signals differ at candle %d", i)
		}
	}
}

func TestOpenForms(t *testing.T) {
	racetest.Skip(t, "compiles a wasm module and runs each form over the candles in this process, sixfold slower under the race detector")
	ctx := context.Background()
	f := ethBTC(t)
	builtin, err := strategy.Lookup("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	want := signalsOf(t, builtin, f)

	// A built-in name.
	s, closeFn, err := Open(ctx, "sma_cross", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec().Name != "sma_cross" || closeFn() != nil {
		t.Errorf("built-in: %v", s.Spec().Name)
	}

	// A Python file, with the SDK unpacked from the binary (not the
	// repository's copy: PYTHONPATH points at the cache).
	cache := t.TempDir()
	s, closeFn, err = Open(ctx, "../../examples/strategies/python/sma_cross.py", Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	sameSignals(t, signalsOf(t, s, f), want)
	// On Linux the SDK takes the shared memory TradAI offers: the columns
	// are not copied through the pipes.
	tr, ok := s.(interface{ Transport() string })
	if !ok {
		t.Fatalf("%T has no Transport", s)
	}
	if got := tr.Transport(); runtime.GOOS == "linux" && got != "shm" {
		t.Errorf("the Python strategy's transport is %q, want shm", got)
	}
	if err := closeFn(); err != nil {
		t.Errorf("close: %v", err)
	}

	// An executable: the Go example built with sdk/serve.
	bin := filepath.Join(t.TempDir(), "sma_cross")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/strategies/go/sma_cross").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s, closeFn, err = Open(ctx, "exec:"+bin, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	sameSignals(t, signalsOf(t, s, f), want)

	// A wasm module: the built-in's code built with sdk/wasm.
	mod := filepath.Join(t.TempDir(), "sma_cross.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", mod, "../wasm/testdata/smacross")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s, closeWasm, err := Open(ctx, mod, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameSignals(t, signalsOf(t, s, f), want)
	if err := closeWasm(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !IsExternal("sma_cross.wasm") {
		t.Error("a wasm file is not external")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "strat")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	os.WriteFile(notExec+".wasm", []byte("#!/bin/sh\n"), 0o644)
	cases := []struct{ ref, want string }{
		{"", "no strategy"},
		{"nope", `unknown strategy "nope"`},
		{"exec:", `no program after "exec:"`},
		{"exec:" + filepath.Join(dir, "missing"), "no such program"},
		{"exec:" + notExec, "not executable"},
		{"exec:" + dir, "not a program file"},
		{filepath.Join(dir, "missing.py"), "no such Python file"},
		{filepath.Join(dir, "missing.wasm"), "reading the wasm module"},
		{notExec + ".wasm", "is not WebAssembly that TradAI can run"},
		{"./strategies/mystrat", "exec:./strategies/mystrat"},
	}
	for _, c := range cases {
		_, _, err := Open(context.Background(), c.ref, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %v; want an error mentioning %q", c.ref, err, c.want)
		}
	}
	py := filepath.Join(dir, "x.py")
	os.WriteFile(py, []byte("print('hi')\n"), 0o644)
	if _, _, err := Open(context.Background(), py, Options{Python: "no-such-python"}); err == nil || !strings.Contains(err.Error(), "TRADAI_PYTHON") {
		t.Errorf("missing interpreter: %v", err)
	}
	// A Python file that is not a strategy: the handshake fails with its
	// output named.
	if _, _, err := Open(context.Background(), py, Options{CacheDir: dir}); err == nil {
		t.Error("a Python file that does not speak the protocol was accepted")
	}
	// A syntax error is told by the file, not by the interpreter that ran it.
	broken := filepath.Join(dir, "broken.py")
	os.WriteFile(broken, []byte("def broken(:\n    pass\n"), 0o644)
	_, _, err := Open(context.Background(), broken, Options{CacheDir: dir})
	if err == nil || !strings.Contains(err.Error(), "external strategy broken.py (run by python3)") || !strings.Contains(err.Error(), "SyntaxError") {
		t.Errorf("a Python file with a syntax error: %v", err)
	}
}

// A Python strategy runs with numpy's BLAS and OpenMP on one thread, and
// the caller's environment for the strategy overrides that.
func TestPythonThreads(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "threads.py")
	src := `import os
from tradai_strategy import Strategy, run


class Threads(Strategy):
    name = "threads_%s_%s" % (os.environ.get("OPENBLAS_NUM_THREADS", "unset"), os.environ.get("OMP_NUM_THREADS", "unset"))
    timeframe = "5m"
    stoploss = -0.10

    def populate(self, candles, params, signals):
        pass


run(Threads())
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{nil, "threads_1_1"},
		{[]string{"OMP_NUM_THREADS=2"}, "threads_1_2"},
	} {
		opts := Options{CacheDir: dir}
		opts.External.Env = c.env
		s, closeFn, err := Open(context.Background(), script, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Spec().Name; got != c.want {
			t.Errorf("environment %q: the strategy saw %s, want %s", c.env, got, c.want)
		}
		if err := closeFn(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

func TestUnpackPythonSDK(t *testing.T) {
	cache := t.TempDir()
	dir, err := unpackPythonSDK(cache)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, pysdk.FileName))
	if err != nil || !bytes.Equal(got, pysdk.Source()) {
		t.Fatalf("unpacked SDK differs from the bundled one: %v", err)
	}
	// A damaged copy is replaced; the folder name follows the content.
	os.WriteFile(filepath.Join(dir, pysdk.FileName), []byte("broken"), 0o644)
	dir2, err := unpackPythonSDK(cache)
	if err != nil || dir2 != dir {
		t.Fatalf("second unpack: %s, %v", dir2, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, pysdk.FileName)); !bytes.Equal(got, pysdk.Source()) {
		t.Error("damaged SDK copy not replaced")
	}
}

// The SDK's bytecode is written beside it once, for sandboxed strategies,
// which cannot write it themselves.
func TestCompileSDK(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	dir, err := unpackPythonSDK(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	compileSDK(context.Background(), py, dir)
	pyc, _ := filepath.Glob(filepath.Join(dir, "__pycache__", "tradai_strategy.*.pyc"))
	if len(pyc) != 1 {
		t.Fatalf("bytecode after compiling: %q", pyc)
	}
	st, _ := os.Stat(pyc[0])
	compileSDK(context.Background(), py, dir) // there already: not written again
	if again, err := os.Stat(pyc[0]); err != nil || !again.ModTime().Equal(st.ModTime()) {
		t.Errorf("the bytecode was written again (%v)", err)
	}
}

type fakeResolver map[string]Version

func (f fakeResolver) Resolve(_ context.Context, ref string) (Version, error) {
	v, ok := f[ref]
	if !ok {
		return Version{}, os.ErrNotExist
	}
	return v, nil
}

// Registry references go to Options.Registry: NAME@…, and a bare name
// that is no built-in; a built-in name stays the built-in.
func TestOpenRegistryRefs(t *testing.T) {
	ctx := context.Background()
	if !IsExternal("mystrat@3") || IsExternal("sma_cross") {
		t.Error("IsExternal: a registry version is external, a built-in is not")
	}
	if _, _, err := Open(ctx, "mystrat@3", Options{}); err == nil || !strings.Contains(err.Error(), "no strategy registry here") {
		t.Errorf("a registry ref without a registry: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "strategy.py"), []byte("import sys\n"), 0o444)
	reg := fakeResolver{
		"w@1":       {Name: "w", Number: 1, Runtime: "wasm", Dir: dir, Entry: "strategy.wasm"},
		"sma_cross": {Name: "sma_cross", Number: 1, Runtime: "wasm"},
	}
	// A wasm version opens its entry file as a wasm module.
	os.WriteFile(filepath.Join(dir, "strategy.wasm"), []byte("not wasm"), 0o444)
	if _, _, err := Open(ctx, "w@1", Options{Registry: reg}); err == nil || !strings.Contains(err.Error(), "strategy w@1") || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Errorf("a wasm version: %v", err)
	}
	if _, _, err := Open(ctx, "nope@2", Options{Registry: reg}); err == nil || !strings.Contains(err.Error(), `strategy "nope@2"`) {
		t.Errorf("an unknown version: %v", err)
	}
	if s, _, err := Open(ctx, "sma_cross", Options{Registry: reg}); err != nil || s.Spec().Name != "sma_cross" {
		t.Errorf("a built-in name with a registry: %v", err)
	}
	if _, _, err := Open(ctx, "nope", Options{Registry: reg}); err == nil || !strings.Contains(err.Error(), `strategy "nope"`) {
		t.Errorf("a bare unknown name goes to the registry: %v", err)
	}
}

// The API, the CLI and Open tell a file from a registry version the same
// way: a reference that names a file wins over an "@" in it.
func TestReferenceKinds(t *testing.T) {
	for _, c := range []struct {
		ref            string
		file, registry bool
	}{
		{"sma_cross", false, false},
		{"mysma@3", false, true},
		{"mysma@production", false, true},
		{"exec:./prog", true, false},
		{"exec:./prog@1", true, false},
		{"my@1.py", true, false},
		{"my@1.wasm", true, false},
		{"dir@x/strat", true, false},
	} {
		if IsFile(c.ref) != c.file || IsRegistry(c.ref) != c.registry || IsExternal(c.ref) != (c.file || c.registry) {
			t.Errorf("%q: IsFile %v, IsRegistry %v; want %v, %v", c.ref, IsFile(c.ref), IsRegistry(c.ref), c.file, c.registry)
		}
	}
}

// A version with Freqtrade's parameter file beside its code declares the
// file's values as its defaults; a file that does not fit is an error
// naming it.
func TestVersionBakesItsParameterFile(t *testing.T) {
	ctx := context.Background()
	code, err := os.ReadFile("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "strategy.py"), code, 0o444)
	v := Version{Name: "sma", Number: 2, Runtime: "python", Dir: dir, Entry: "strategy.py"}
	opts := Options{CacheDir: t.TempDir()}
	plain, closeFn, err := OpenVersion(ctx, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	closeFn()
	if ParamsFileName("strategy.py") != "strategy.json" || ParamsFileName("sub/x.wasm") != "sub/x.json" {
		t.Fatalf("ParamsFileName: %s", ParamsFileName("strategy.py"))
	}
	os.WriteFile(filepath.Join(dir, "strategy.json"), []byte(`{"strategy_name": "sma_cross_py", "params": {"buy": {"fast": 7, "slow": 44},
		"stoploss": {"stoploss": -0.05}, "roi": {"0": 0.2}}, "ft_stratparam_v": 1, "export_time": "2026-01-02 00:00:00.000000+00:00"}`), 0o644)
	s, closeFn, err := OpenVersion(ctx, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	got, err := s.Spec().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["fast"]) != "7" || fmt.Sprint(got["slow"]) != "44" || s.Spec().Risk.Stoploss != -0.05 || len(s.Spec().Risk.MinimalROI) != 1 {
		t.Fatalf("baked defaults %v, risk %+v", got, s.Spec().Risk)
	}
	if was, _ := plain.Spec().Resolve(nil); fmt.Sprint(was["fast"]) != "10" {
		t.Fatalf("without the file: %v", was)
	}
	os.WriteFile(filepath.Join(dir, "strategy.json"), []byte(`{"strategy_name": "sma_cross_py", "params": {"buy": {"fast": 1000}}, "ft_stratparam_v": 1}`), 0o644)
	if _, _, err := OpenVersion(ctx, v, opts); err == nil || !strings.Contains(err.Error(), "strategy.json") || !strings.Contains(err.Error(), "fast") {
		t.Fatalf("a value out of range: %v", err)
	}
}

// A Python interpreter that is a script (a pyenv shim, a wrapper) costs
// its own start at every strategy start: the log says so, and how to name
// the interpreter itself; the interpreter itself gets no such line.
func TestPythonLauncherHint(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	real := strings.TrimSpace(string(out))
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "python-wrapper")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+real+` "$@"`+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		python string
		hint   bool
	}{{wrapper, true}, {real, false}} {
		var logged bytes.Buffer
		opts := Options{CacheDir: dir, Python: c.python}
		opts.External.Log = slog.New(slog.NewTextHandler(&logged, nil))
		_, closeFn, err := Open(context.Background(), "../../examples/strategies/python/sma_cross.py", opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := closeFn(); err != nil {
			t.Error(err)
		}
		if got := strings.Contains(logged.String(), "TRADAI_PYTHON to the interpreter it runs"); got != c.hint {
			t.Errorf("%s: hint logged %v, want %v; log:\n%s", c.python, got, c.hint, logged.String())
		}
	}
}
