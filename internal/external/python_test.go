package external_test

// Python strategies through the host: the Python ports of the built-ins
// (examples/strategies/python) must give the built-ins' signals, their
// errors must come back as rejected requests, and the SDK must be found
// both from the checkout and through PYTHONPATH.

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

const pyRepo = "../.."

// pyStart runs a Python script (path relative to the repository root)
// through the host. It skips the test when python3 is not on PATH.
func pyStart(t testing.TB, script string, opts external.Options) *external.Strategy {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	return pyStartWith(t, py, script, opts)
}

// pyNumpy returns the first of python3 on the PATH and /usr/bin/python3
// (where CI installs Debian's python3-numpy) that has numpy, and skips the
// test when none has.
func pyNumpy(t testing.TB) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with numpy (apt install python3-numpy, or pip install numpy)")
	return ""
}

// pyStartWith is pyStart with the interpreter py.
func pyStartWith(t testing.TB, py, script string, opts external.Options) *external.Strategy {
	t.Helper()
	opts.Env = append(opts.Env, "PYTHONDONTWRITEBYTECODE=1")
	s, err := external.Start(context.Background(), []string{py, filepath.Join(pyRepo, script)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// The SDK takes the shared memory the host offers (on Linux).
	want := "pipe"
	if runtime.GOOS == "linux" && !opts.PipeOnly {
		want = "shm"
	}
	if got := s.Transport(); got != want {
		t.Fatalf("the Python SDK uses the %s transport, want %s", got, want)
	}
	return s
}

// pyWalk returns n 5m candles of a seeded geometric random walk with flat
// stretches (equal closes), which exercise ties and zero deviations.
func pyWalk(n int, seed uint64) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 11))
	f := &sdk.Frame{Pair: "GEN/USDT", Timeframe: "5m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price, flat := 100.0, 0
	for i := 0; i < n; i++ {
		o := price
		switch {
		case flat > 0:
			flat--
		case r.IntN(500) == 0:
			flat = 5 + r.IntN(40)
		default:
			price *= math.Exp(0.004 * r.NormFloat64())
		}
		f.Time[i] = 1_600_000_000_000 + int64(i)*300_000
		f.Open[i], f.Close[i] = o, price
		f.High[i] = math.Max(o, price) * (1 + 0.001*r.Float64())
		f.Low[i] = math.Min(o, price) * (1 - 0.001*r.Float64())
		f.Volume[i] = 1 + 10*r.Float64()
	}
	return f
}

func pyETHBTC(t testing.TB) *sdk.Frame {
	t.Helper()
	f, err := datafile.Load(filepath.Join(pyRepo, "examples", "data", "binance", "ETH_BTC-5m.feather"), "ETH/BTC", "5m")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pyCandles returns a copy of f's candle columns, without signals.
func pyCandles(f *sdk.Frame) *sdk.Frame {
	return &sdk.Frame{Pair: f.Pair, Timeframe: f.Timeframe,
		Time: slices.Clone(f.Time), Open: slices.Clone(f.Open), High: slices.Clone(f.High),
		Low: slices.Clone(f.Low), Close: slices.Clone(f.Close), Volume: slices.Clone(f.Volume)}
}

// pyCompare populates f with the built-in and with the Python strategy
// (same overrides) and fails on any difference. It returns the number of
// long entries.
func pyCompare(t *testing.T, ext *external.Strategy, builtin sdk.Strategy, f *sdk.Frame, overrides map[string]any) int {
	t.Helper()
	want, got := pyCandles(f), pyCandles(f)
	pb, err := builtin.Spec().Resolve(overrides)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := ext.Spec().Resolve(overrides)
	if err != nil {
		t.Fatal(err)
	}
	errB, errE := builtin.Populate(want, pb), ext.Populate(got, pe)
	if errB != nil || errE != nil {
		var rej *external.RejectedError
		if errB == nil || !errors.As(errE, &rej) {
			t.Fatalf("%s %v: built-in error %v, Python error %v", f.Pair, overrides, errB, errE)
		}
		return 0
	}
	cols := []struct {
		name string
		g, w []bool
	}{{"enter_long", got.EnterLong, want.EnterLong}, {"exit_long", got.ExitLong, want.ExitLong},
		{"enter_short", got.EnterShort, want.EnterShort}, {"exit_short", got.ExitShort, want.ExitShort}}
	entries := 0
	for _, c := range cols {
		if len(c.g) != len(c.w) {
			t.Fatalf("%s %v: %s has %d values, want %d", f.Pair, overrides, c.name, len(c.g), len(c.w))
		}
		for i := range c.g {
			if c.g[i] != c.w[i] {
				t.Fatalf("%s %v: %s differs first at candle %d: Python %v, built-in %v", f.Pair, overrides, c.name, i, c.g[i], c.w[i])
			}
			if c.w[i] && c.name == "enter_long" {
				entries++
			}
		}
	}
	if !slices.Equal(got.EnterTag, want.EnterTag) {
		t.Fatalf("%s %v: enter tags differ", f.Pair, overrides)
	}
	return entries
}

// TestPythonSMACrossMatchesBuiltin runs sma_cross.py with TradAI
// computing its indicators (the compute extension, over shared memory and
// over the pipes), and with the SDK computing them itself, with numpy and
// without (TRADAI_NO_NUMPY=1): the same trades as the built-in each time.
func TestPythonSMACrossMatchesBuiltin(t *testing.T) {
	const script = "examples/strategies/python/sma_cross.py"
	t.Run("computed", func(t *testing.T) {
		ext := pyStart(t, script, external.Options{})
		testPythonSMACrossMatchesBuiltin(t, ext)
		if external.Computed(ext) == 0 {
			t.Fatal("TradAI computed nothing: the strategy did not use the compute extension")
		}
	})
	t.Run("computed-pipes", func(t *testing.T) {
		ext := pyStart(t, script, external.Options{PipeOnly: true})
		testPythonSMACrossMatchesBuiltin(t, ext)
		if external.Computed(ext) == 0 {
			t.Fatal("TradAI computed nothing")
		}
	})
	t.Run("numpy", func(t *testing.T) {
		ext := pyStartWith(t, pyNumpy(t), script, external.Options{NoCompute: true})
		testPythonSMACrossMatchesBuiltin(t, ext)
		if external.Computed(ext) != 0 {
			t.Fatal("TradAI computed without offering to")
		}
	})
	t.Run("pure", func(t *testing.T) {
		opts := external.Options{Env: []string{"TRADAI_NO_NUMPY=1"}, NoCompute: true}
		testPythonSMACrossMatchesBuiltin(t, pyStart(t, script, opts))
	})
}

func testPythonSMACrossMatchesBuiltin(t *testing.T, ext *external.Strategy) {
	t.Helper()
	if s := ext.Spec(); s.Name != "sma_cross_py" || len(s.Params) != 2 || s.StartupCandles != (strategy.SMACross{}).Spec().StartupCandles {
		t.Fatalf("spec %+v", s)
	}
	for _, f := range []*sdk.Frame{pyETHBTC(t), pyWalk(100_000, 1)} {
		for _, o := range []map[string]any{nil, {"fast": 5, "slow": 20}, {"fast": 50, "slow": 200}} {
			if n := pyCompare(t, ext, strategy.SMACross{}, f, o); n == 0 {
				t.Errorf("%s %v: no entries: the comparison proves little", f.Pair, o)
			}
		}
		pyCompare(t, ext, strategy.SMACross{}, f, map[string]any{"fast": 30, "slow": 10}) // both refuse
	}
	if err := ext.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestPythonRSIBollingerMatchesBuiltin(t *testing.T) {
	ext := pyStart(t, "examples/strategies/python/rsi_bollinger.py", external.Options{})
	for _, f := range []*sdk.Frame{pyETHBTC(t), pyWalk(100_000, 2)} {
		for _, o := range []map[string]any{nil, {"rsi_period": 7, "bb_period": 10, "bb_std": 1.5, "rsi_buy": 40.0}} {
			if n := pyCompare(t, ext, strategy.RSIBollinger{}, f, o); n == 0 {
				t.Errorf("%s %v: no entries: the comparison proves little", f.Pair, o)
			}
		}
	}
	if err := ext.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestPythonMACDTrendMatchesBuiltin(t *testing.T) {
	ext := pyStart(t, "examples/strategies/python/macd_trend.py", external.Options{})
	for _, f := range []*sdk.Frame{pyETHBTC(t), pyWalk(100_000, 5)} {
		for _, o := range []map[string]any{nil, {"fast": 5, "slow": 13, "signal": 4, "trend": 50}} {
			want := pyCandles(f)
			if err := (strategy.MACDTrend{}).Populate(want, mustResolve(t, strategy.MACDTrend{}.Spec(), o)); err != nil {
				t.Fatal(err)
			}
			if want.EnterTag == nil {
				t.Fatalf("%s %v: the built-in tags nothing: the comparison proves little", f.Pair, o)
			}
			pyCompare(t, ext, strategy.MACDTrend{}, f, o)
		}
	}
	if err := ext.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func mustResolve(t *testing.T, s sdk.Spec, o map[string]any) sdk.Values {
	t.Helper()
	v, err := s.Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPythonSDKOnPYTHONPATH runs an example from a copy outside the
// checkout, so it can only find the SDK through PYTHONPATH.
func TestPythonSDKOnPYTHONPATH(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(pyRepo, "examples", "strategies", "python", "sma_cross.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "a", "b", "c", "sma_cross.py")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	sdkDir, err := filepath.Abs(filepath.Join(pyRepo, "sdk", "python"))
	if err != nil {
		t.Fatal(err)
	}
	opts := external.Options{Env: []string{"PYTHONDONTWRITEBYTECODE=1"}}
	if _, err := external.Start(context.Background(), []string{py, script}, opts); err == nil || !strings.Contains(err.Error(), "tradai_strategy") {
		t.Fatalf("start without the SDK: %v; want an error naming tradai_strategy", err)
	}
	opts.Env = append(opts.Env, "PYTHONPATH="+sdkDir)
	ext, err := external.Start(context.Background(), []string{py, script}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	pyCompare(t, ext, strategy.SMACross{}, pyWalk(20_000, 3), nil)
}

func TestPythonErrorsAreRejections(t *testing.T) {
	ext := pyStart(t, "sdk/python/testdata/misc.py", external.Options{})
	f := pyWalk(2_000, 4)
	for _, mode := range []string{"raise", "keyerror"} {
		p, err := ext.Spec().Resolve(map[string]any{"mode": mode})
		if err != nil {
			t.Fatal(err)
		}
		err = ext.Populate(pyCandles(f), p)
		var rej *external.RejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("mode %s: %v, want a RejectedError", mode, err)
		}
		if mode == "raise" && !strings.Contains(err.Error(), "RuntimeError: deliberate failure on GEN/USDT with 2000 candles") {
			t.Errorf("error %q lacks the exception text", err)
		}
	}
	// The same process then serves, with tags and print() output on stderr.
	p, _ := ext.Spec().Resolve(map[string]any{"mode": "tag", "every": 50})
	g := pyCandles(f)
	if err := ext.Populate(g, p); err != nil {
		t.Fatal(err)
	}
	tags := 0
	for i, tag := range g.EnterTag {
		if i%50 != 0 {
			if tag != "" {
				t.Fatalf("tag on candle %d", i)
			}
			continue
		}
		tags++
		if up := g.Close[i] > g.Open[i]; up != (tag == "up") || g.EnterLong[i] != up || g.EnterShort[i] == up {
			t.Fatalf("candle %d: tag %q, long %v, short %v", i, tag, g.EnterLong[i], g.EnterShort[i])
		}
	}
	if tags != 40 {
		t.Errorf("%d tags, want 40", tags)
	}
	p, _ = ext.Spec().Resolve(map[string]any{"mode": "print"})
	if err := ext.Populate(pyCandles(f), p); err != nil {
		t.Fatalf("a strategy that prints: %v", err)
	}
	if err := ext.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// A strategy that dies by a signal is reported with the signal's name; the
// memory limit is not blamed when nothing says it was reached.
func TestSegfaultNamesTheSignal(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	// A real fault (a C extension's bug), not a signal sent by kill.
	_, err = external.Start(context.Background(), []string{py, "-c", "import ctypes; ctypes.string_at(0)"}, external.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "the process was killed by signal SIGSEGV (segmentation fault)") {
		t.Errorf("the error does not name the signal: %s", msg)
	}
	if strings.Contains(msg, "memory") {
		t.Errorf("the error blames memory: %s", msg)
	}
}

// A Python strategy speaks protocol version 2: on the pipes (without the
// shared memory, where the host keeps no frames) each frame's columns
// cross once, later parameter sets reuse them, and the signals are those
// of the Go built-in every time.
func TestPythonKeptFrames(t *testing.T) {
	s := pyStart(t, "examples/strategies/python/sma_cross.py", external.Options{PipeOnly: true})
	builtin, _ := strategy.Lookup("sma_cross")
	a, b := pyWalk(3000, 1), pyWalk(2000, 2)
	b.Pair = "OTHER/USDT"
	for k, c := range []struct {
		f          *sdk.Frame
		fast, slow int
	}{{a, 10, 30}, {a, 5, 50}, {b, 10, 30}, {a, 20, 40}, {b, 3, 7}} {
		got, want := candlesOnly(c.f), candlesOnly(c.f)
		p := sdk.Values{"fast": c.fast, "slow": c.slow}
		if err := s.Populate(got, p); err != nil {
			t.Fatal(err)
		}
		if err := builtin.Populate(want, p); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.EnterLong, want.EnterLong) || !slices.Equal(got.ExitLong, want.ExitLong) {
			t.Fatalf("request %d (%s, %d/%d): signals differ from the built-in's", k, c.f.Pair, c.fast, c.slow)
		}
	}
	if held, sent := external.KeptFrames(s); held != 2 || sent != 2 {
		t.Fatalf("%d frames kept, %d sent; want 2 and 2", held, sent)
	}
}
