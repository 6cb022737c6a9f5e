package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// modules are the test modules TestMain builds, by name.
var modules = map[string][]byte{}

// sharedCache is the compilation cache folder the tests' runtimes share
// (set by TestMain), so each test module is compiled once per test run
// rather than once per runtime: compiling is most of the tests' time,
// tenfold so under the race detector.
var sharedCache string

// rawModes are the link-time modes of testdata/raw built as modules
// "raw-MODE".
var rawModes = []string{"ok", "badjson", "unknownfield", "filesignals", "noname", "nospec", "specoutside", "abi2"}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tradai-wasm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = buildModules(dir)
	sharedCache = filepath.Join(dir, "compiled")
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildModules builds the test modules with the Go toolchain running the
// tests: the reactors smacross and hostile, smacross as a command, and
// testdata/raw in each of its modes.
func buildModules(dir string) error {
	build := func(out string, args ...string) error {
		cmd := exec.Command("go", append([]string{"build", "-o", filepath.Join(dir, out+".wasm")}, args...)...)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building test module %s: %w\n%s", out, err, b)
		}
		b, err := os.ReadFile(filepath.Join(dir, out+".wasm"))
		modules[out] = b
		return err
	}
	steps := [][]string{
		{"smacross", "-buildmode=c-shared", "./testdata/smacross"},
		{"hostile", "-buildmode=c-shared", "./testdata/hostile"},
		{"command", "./testdata/smacross"},
	}
	for _, mode := range rawModes {
		steps = append(steps, []string{"raw-" + mode, "-buildmode=c-shared", "-ldflags=-X main.mode=" + mode, "./testdata/raw"})
	}
	for _, s := range steps {
		if err := build(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func newRuntime(t testing.TB, opts Options) *Runtime {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = sharedCache
	}
	r, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func open(t testing.TB, r *Runtime, name string) sdk.Strategy {
	t.Helper()
	s, closeFn, err := r.Open(context.Background(), modules[name])
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { closeFn() })
	return s
}

// randomFrame is n candles of a random walk.
func randomFrame(rng *rand.Rand, n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "5m"}
	price := 100.0
	for i := range n {
		price *= 1 + (rng.Float64()-0.5)*0.02
		f.Time = append(f.Time, int64(i)*300_000)
		f.Open = append(f.Open, price)
		f.High = append(f.High, price*1.01)
		f.Low = append(f.Low, price*0.99)
		f.Close = append(f.Close, price*(1+(rng.Float64()-0.5)*0.01))
		f.Volume = append(f.Volume, rng.Float64()*1000)
	}
	return f
}

func sameSignals(t *testing.T, what string, a, b *sdk.Frame) {
	t.Helper()
	for k, pair := range [][2][]bool{{a.EnterLong, b.EnterLong}, {a.ExitLong, b.ExitLong}, {a.EnterShort, b.EnterShort}, {a.ExitShort, b.ExitShort}} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Fatalf("%s: signal column %d differs between native and wasm", what, k)
		}
	}
	if !slices.Equal(a.EnterTag, b.EnterTag) {
		t.Fatalf("%s: enter tags differ", what)
	}
}

func populate(t *testing.T, s sdk.Strategy, f *sdk.Frame, over map[string]any) (*sdk.Frame, error) {
	t.Helper()
	p, err := s.Spec().Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	c := *f
	c.EnterLong, c.ExitLong, c.EnterShort, c.ExitShort, c.EnterTag = nil, nil, nil, nil, nil
	return &c, s.Populate(&c, p)
}

// The built-in sma_cross and the same code built as a wasm module give
// the same signals on the example data and on random frames, with several
// parameter sets, and the same spec.
func TestSMACrossMatchesNative(t *testing.T) {
	r := newRuntime(t, Options{})
	w := open(t, r, "smacross")
	native := strategy.SMACross{}
	if got, want := fmt.Sprint(w.Spec()), fmt.Sprint(native.Spec()); got != want {
		t.Fatalf("spec differs:\nwasm   %s\nnative %s", got, want)
	}
	var frames []*sdk.Frame
	files, _ := filepath.Glob("../../examples/data/binance/*-5m.feather")
	if len(files) == 0 {
		t.Fatal("no example data")
	}
	for _, path := range files {
		f, err := datafile.Load(path, strings.TrimSuffix(filepath.Base(path), "-5m.feather"), "5m")
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 31, 500, 20_000} {
		frames = append(frames, randomFrame(rng, n))
	}
	signals := 0
	for _, f := range frames {
		for _, over := range []map[string]any{nil, {"fast": 5, "slow": 50}, {"fast": 20.0, "slow": 21}} {
			a, errA := populate(t, native, f, over)
			b, errB := populate(t, w, f, over)
			if errA != nil || errB != nil {
				t.Fatalf("%s %v: native %v, wasm %v", f.Pair, over, errA, errB)
			}
			sameSignals(t, fmt.Sprintf("%s (%d candles) %v", f.Pair, f.Len(), over), a, b)
			for _, v := range a.EnterLong {
				if v {
					signals++
				}
			}
		}
	}
	if signals == 0 {
		t.Fatal("no entry signals at all: the comparison proves nothing")
	}
	// The strategy's own error comes back, naming it, and the instance
	// stays usable.
	_, err := populate(t, w, frames[0], map[string]any{"fast": 40, "slow": 30})
	if err == nil || !strings.Contains(err.Error(), "fast period 40 must be below slow period 30") || !strings.Contains(err.Error(), "strategy sma_cross (wasm ") {
		t.Fatalf("want the strategy's error naming it, got %v", err)
	}
	if _, err := populate(t, w, frames[0], nil); err != nil {
		t.Fatal(err)
	}
}

// Concurrent Populate calls run on several instances and agree.
func TestConcurrentPopulate(t *testing.T) {
	r := newRuntime(t, Options{MaxInstances: 3})
	w := open(t, r, "smacross")
	f := randomFrame(rand.New(rand.NewPCG(3, 4)), 5000)
	want, err := populate(t, strategy.SMACross{}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := populate(t, w, f, nil)
			if err == nil && !slices.Equal(got.EnterLong, want.EnterLong) {
				err = fmt.Errorf("signals differ")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.(*Strategy).slots); n > 3 {
		t.Fatalf("%d instances, more than MaxInstances 3", n)
	}
}

// Tags travel from the module to the frame.
func TestEnterTags(t *testing.T) {
	r := newRuntime(t, Options{})
	h := open(t, r, "hostile")
	f, err := populate(t, h, randomFrame(rand.New(rand.NewPCG(5, 6)), 10), map[string]any{"attack": "tags"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.EnterTag) != 10 || f.EnterTag[4] != "tag1" || f.EnterTag[9] != "tag0" {
		t.Fatalf("enter tags %q", f.EnterTag)
	}
}

// Every hostile module is stopped with a clear error naming the strategy,
// and the strategy still works afterwards on a fresh instance.
func TestHostile(t *testing.T) {
	r := newRuntime(t, Options{CallTimeout: 2 * time.Second, MemoryLimit: 256 << 20})
	h := open(t, r, "hostile")
	frame := randomFrame(rand.New(rand.NewPCG(7, 8)), 100)
	for _, tc := range []struct{ attack, want string }{
		{"loop", "ran longer than the 2s allowed per call and was stopped"},
		{"sleep", "deadlock"},
		{"nap", "ran longer than the 2s allowed per call"},
		{"grow", "of the 256 MiB limit"},
		{"panic", "assignment to entry in nil map"},
		{"file", "open /etc/passwd"},
		{"write", "open /tmp/tradai-wasm-escape"},
		{"net", "dial tcp 127.0.0.1:"},
		{"env", "no environment, no arguments"},
		{"output", "wrote 128 MiB"},
	} {
		t.Run(tc.attack, func(t *testing.T) {
			f := frame
			var ln net.Listener
			if tc.attack == "net" {
				// A listener on the host the module is told to dial.
				var err error
				if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				c := *frame
				c.Pair = ln.Addr().String()
				f = &c
			}
			start := time.Now()
			_, err := populate(t, h, f, map[string]any{"attack": tc.attack})
			if ln != nil {
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
				if c, err := ln.Accept(); err == nil {
					c.Close()
					t.Fatal("the module connected to a listener of the host")
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("%v (%s)", err, time.Since(start).Round(time.Millisecond))
			msg := err.Error()
			if strings.Contains(msg, "ESCAPED") || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "strategy hostile (wasm ") || len(msg) > 10_000 {
				t.Fatalf("want a bounded error naming the strategy with %q, got %.2000s", tc.want, msg)
			}
			if _, err := populate(t, h, frame, nil); err != nil {
				t.Fatalf("the strategy does not work after the attack: %v", err)
			}
		})
	}
	if _, err := os.Stat("/tmp/tradai-wasm-escape"); err == nil {
		t.Fatal("a module wrote /tmp/tradai-wasm-escape")
	}
}

// Modules that break the ABI are refused with errors saying how.
func TestMalformedModules(t *testing.T) {
	racetest.Skip(t, "compiles nine modules, one goroutine, tenfold slower under the race detector")
	r := newRuntime(t, Options{})
	for name, want := range map[string]string{
		"raw-badjson":      "its spec is not valid spec JSON",
		"raw-unknownfield": `unknown field "colour"`,
		"raw-filesignals":  "declares file_signals",
		"raw-noname":       "strategy has no name",
		"raw-nospec":       "it declared no spec: raw cannot say what it is",
		"raw-specoutside":  "lies outside its",
		"raw-abi2":         "speaks wasm ABI version 2",
		"command":          "it is a WASI command",
	} {
		_, _, err := r.Open(context.Background(), modules[name])
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "wasm module ") {
			t.Errorf("%s: want an error with %q, got %v", name, want, err)
		}
	}
	envImport := []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type () -> ()
		0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00, // import env.f
		0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00, // export it
	}
	if _, _, err := r.Open(context.Background(), envImport); err == nil || !strings.Contains(err.Error(), "it imports env.f; a strategy may import only wasi_snapshot_preview1 functions") {
		t.Errorf("an env import: %v", err)
	}
	if _, _, err := r.Open(context.Background(), []byte("\x00asm garbage")); err == nil || !strings.Contains(err.Error(), "is not WebAssembly that TradAI can run") {
		t.Errorf("garbage: %v", err)
	}
	raw := open(t, r, "raw-ok")
	for pair, want := range map[string]string{
		"refuse":      "raw refuses this frame",
		"sigbyte":     "signal byte 2 on candle 9 of enter_long",
		"tagsjson":    "not a JSON object of strings",
		"tagsindex":   `enter tag for "999999"`,
		"tagsoutside": "enter tags region (64 bytes at 4294967040) lies outside",
	} {
		f := randomFrame(rand.New(rand.NewPCG(1, 1)), 10)
		f.Pair = pair
		_, err := populate(t, raw, f, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "strategy raw (wasm ") {
			t.Errorf("%s: want an error with %q, got %v", pair, want, err)
		}
	}
	for n, want := range map[int]string{7: "close region (56 bytes at 4294967040) lies outside", 8: "frame layout at 4294967280 lies outside"} {
		_, err := populate(t, raw, randomFrame(rand.New(rand.NewPCG(1, 1)), n), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d candles: want an error with %q, got %v", n, want, err)
		}
	}
	f, err := populate(t, raw, randomFrame(rand.New(rand.NewPCG(1, 1)), 10), nil)
	if err != nil || !f.EnterLong[9] || slices.Contains(f.EnterLong[:9], true) {
		t.Fatalf("a correct answer after the broken ones: %v", err)
	}
	f.Pair = "tags"
	g, err := populate(t, raw, f, nil)
	if err != nil || len(g.EnterTag) != 10 || g.EnterTag[0] != "first" {
		t.Fatalf("tags: %v %q", err, g.EnterTag)
	}
}

// ReadSpec reads a module's spec; the module is compiled once per runtime.
func TestReadSpecCompilesOnce(t *testing.T) {
	r := newRuntime(t, Options{})
	ctx := context.Background()
	start := time.Now()
	spec, err := r.ReadSpec(ctx, modules["smacross"])
	if err != nil || spec.Name != "sma_cross" {
		t.Fatalf("%v %v", spec.Name, err)
	}
	first := time.Since(start)
	start = time.Now()
	if _, err := r.ReadSpec(ctx, modules["smacross"]); err != nil {
		t.Fatal(err)
	}
	if again := time.Since(start); again > first/10 {
		t.Fatalf("second ReadSpec took %s after %s: not cached", again, first)
	}
}

// A directory cache lets a second runtime skip compiling.
func TestCacheDir(t *testing.T) {
	racetest.Skip(t, "compares compile times, one goroutine, tenfold slower under the race detector")
	dir := t.TempDir()
	ctx := context.Background()
	var took [2]time.Duration
	for i := range took {
		r := newRuntime(t, Options{CacheDir: dir})
		start := time.Now()
		if _, err := r.ReadSpec(ctx, modules["smacross"]); err != nil {
			t.Fatal(err)
		}
		took[i] = time.Since(start)
	}
	t.Logf("compile %s, from the folder cache %s", took[0], took[1])
	if took[1] > took[0]/2 {
		t.Fatalf("the folder cache did not help: %s then %s", took[0], took[1])
	}
}

func TestOptions(t *testing.T) {
	for _, limit := range []int64{1, 5 << 30} {
		if _, err := New(context.Background(), Options{MemoryLimit: limit}); err == nil {
			t.Errorf("memory limit %d accepted", limit)
		}
	}
}

func TestDecodeSpecRoundTrip(t *testing.T) {
	b, _ := jsonMarshal(strategy.SMACross{}.Spec())
	spec, err := DecodeSpec(b)
	if err != nil || fmt.Sprint(spec) != fmt.Sprint(strategy.SMACross{}.Spec()) {
		t.Fatalf("%v %v", spec, err)
	}
	if _, err := DecodeSpec(append(b, "{}"...)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func FuzzDecodeSpec(f *testing.F) {
	b, _ := jsonMarshal(strategy.SMACross{}.Spec())
	f.Add(b)
	f.Add([]byte(`{"name":"x","timeframe":"5m","risk":{}}`))
	f.Add([]byte(`{"name":"x","timeframe":"5m","file_signals":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := DecodeSpec(b)
		if err != nil {
			return
		}
		if spec.Validate() != nil || spec.FileSignals {
			t.Fatalf("accepted an invalid spec: %+v", spec)
		}
	})
}

func FuzzDecodeTags(f *testing.F) {
	f.Add([]byte(`{"0":"a","3":"b"}`), 5)
	f.Add([]byte(`{"01":"a"}`), 5)
	f.Add([]byte(`{"-1":"a"}`), 5)
	f.Add([]byte(`{"4":"\ud800"}`), 5)
	f.Add([]byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		tags, err := DecodeTags(b, n)
		if err != nil || tags == nil {
			return
		}
		if len(tags) != n {
			t.Fatalf("%d tags for %d candles", len(tags), n)
		}
		for _, tag := range tags {
			if math.MaxInt32 < len(tag) {
				t.Fatal("huge tag")
			}
		}
	})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// The Go-slice memory (no mmap) grows by copying and keeps new bytes zero.
func TestSliceMemory(t *testing.T) {
	m := &sliceMemory{max: 1 << 20}
	b := m.Reallocate(64 << 10)
	b[100] = 7
	b = m.Reallocate(128 << 10)
	if len(b) != 128<<10 || b[100] != 7 || b[70_000] != 0 {
		t.Fatalf("grown memory: len %d, b[100] %d", len(b), b[100])
	}
	if m.Reallocate(2<<20) != nil {
		t.Fatal("grew beyond its maximum")
	}
}

// Usage reports the largest linear memory an instance had after a call:
// it grows with the frame the strategy was given.
func TestUsageReportsPeakMemory(t *testing.T) {
	r := newRuntime(t, Options{})
	s := open(t, r, "smacross").(*Strategy)
	if _, peak := s.Usage(); peak != 0 {
		t.Fatalf("peak %d before any call", peak)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := populate(t, s, randomFrame(rng, 100), nil); err != nil {
		t.Fatal(err)
	}
	_, small := s.Usage()
	if _, err := populate(t, s, randomFrame(rng, 200_000), nil); err != nil {
		t.Fatal(err)
	}
	cpu, big := s.Usage()
	if small <= 0 || big < small+200_000*8*5 || cpu != 0 {
		t.Fatalf("peak %d after 100 candles, %d after 200,000 (cpu %v)", small, big, cpu)
	}
}
