// Package python_test checks the Python strategy SDK (tradai_strategy.py)
// and the Python example strategies by speaking the strategy protocol to
// them by hand, and compares their signals with the Go built-ins.
package python_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
	pysdk "github.com/tradai/tradai/sdk/python"
	"github.com/tradai/tradai/sdk/ta"
)

const repo = "../.."

var examples = filepath.Join(repo, "examples", "strategies", "python")

// python returns the interpreter to test with: $TRADAI_PYTHON, else python3
// from PATH. The test is skipped when there is none.
func python(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("TRADAI_PYTHON"); p != "" {
		return p
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		tb.Skip("python3 is not on PATH")
	}
	return p
}

// numpyPython returns an interpreter that has numpy and pandas — the
// first of $TRADAI_PYTHON, python3 on the PATH and /usr/bin/python3 (where
// CI installs Debian's python3-numpy and python3-pandas) — so the SDK's
// numpy paths are tested too. The test is skipped when there is none.
func numpyPython(tb testing.TB) string {
	tb.Helper()
	var candidates []string
	if p := os.Getenv("TRADAI_PYTHON"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	for _, p := range candidates {
		if exec.Command(p, "-c", "import numpy, pandas").Run() == nil {
			return p
		}
	}
	tb.Skip("no python3 with numpy and pandas (CI installs Debian's python3-numpy and python3-pandas)")
	return ""
}

// syncBuffer is a bytes.Buffer safe for the process's stderr copier.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a strategy process spoken to by hand.
type proc struct {
	tb      testing.TB
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	stderr  *syncBuffer
	spec    sdk.Spec
	columns []string
	nextID  int
}

type specMsg struct {
	Type     string   `json:"type"`
	Protocol int      `json:"protocol"`
	Columns  []string `json:"columns"`
	Spec     sdk.Spec `json:"spec"`
}

// start runs script (a path relative to the repository root), says hello
// and reads its spec.
func start(tb testing.TB, script string, env ...string) *proc {
	tb.Helper()
	return startWith(tb, python(tb), script, env...)
}

// startWith is start with the interpreter py.
func startWith(tb testing.TB, py, script string, env ...string) *proc {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, py, filepath.Join(repo, script))
	cmd.Env = append(os.Environ(), env...)
	p := &proc{tb: tb, cmd: cmd, cancel: cancel, stderr: &syncBuffer{}, nextID: 1}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.stdout = bufio.NewReaderSize(out, 1<<16)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cancel()
	})
	p.send(map[string]any{"type": "hello", "protocol": 1}, nil)
	var m specMsg
	line := p.readLine()
	if err := json.Unmarshal(line, &m); err != nil {
		tb.Fatalf("%s: spec %q: %v\nstderr:\n%s", script, line, err, p.stderr)
	}
	if m.Type != "spec" || m.Protocol != 1 {
		tb.Fatalf("%s: got %s, want a spec of protocol 1", script, line)
	}
	if err := m.Spec.Validate(); err != nil {
		tb.Fatalf("%s: invalid spec: %v", script, err)
	}
	p.spec, p.columns = m.Spec, m.Columns
	if p.columns == nil {
		p.columns = []string{"time", "open", "high", "low", "close", "volume"}
	}
	return p
}

func (p *proc) send(header map[string]any, payload []byte) {
	p.tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		p.tb.Fatal(err)
	}
	if _, err := p.stdin.Write(append(append(h, '\n'), payload...)); err != nil {
		p.tb.Fatalf("write: %v\nstderr:\n%s", err, p.stderr)
	}
}

func (p *proc) readLine() []byte {
	p.tb.Helper()
	line, err := p.stdout.ReadBytes('\n')
	if err != nil {
		p.tb.Fatalf("read header: %v (got %q)\nstderr:\n%s", err, line, p.stderr)
	}
	return line
}

// answer is a strategy's reply to a populate request.
type answer struct {
	Type      string            `json:"type"`
	ID        int               `json:"id"`
	N         int               `json:"n"`
	Columns   []string          `json:"columns"`
	EnterTags map[string]string `json:"enter_tags"`
	Bytes     int               `json:"bytes"`
	Message   string            `json:"message"`
	payload   []byte
}

// encode returns the payload of a populate request for f.
func encode(tb testing.TB, f *sdk.Frame, columns []string) []byte {
	n := f.Len()
	buf := make([]byte, 0, 8*n*len(columns))
	for _, c := range columns {
		if c == "time" {
			for _, v := range f.Time {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
			}
			continue
		}
		var col []float64
		switch c {
		case "open":
			col = f.Open
		case "high":
			col = f.High
		case "low":
			col = f.Low
		case "close":
			col = f.Close
		case "volume":
			col = f.Volume
		default:
			tb.Fatalf("unknown column %q", c)
		}
		for _, v := range col {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	return buf
}

// populate sends a request for f (its payload made by encode) and reads the
// answer.
func (p *proc) populate(f *sdk.Frame, params sdk.Values, payload []byte) answer {
	p.tb.Helper()
	id := p.nextID
	p.nextID++
	if params == nil {
		params = sdk.Values{}
	}
	p.send(map[string]any{
		"type": "populate", "id": id, "pair": f.Pair, "timeframe": string(f.Timeframe),
		"n": f.Len(), "params": params, "columns": p.columns, "bytes": len(payload),
	}, payload)
	var a answer
	line := p.readLine()
	if err := json.Unmarshal(line, &a); err != nil {
		p.tb.Fatalf("answer %q: %v", line, err)
	}
	if a.ID != id {
		p.tb.Fatalf("answer id %d, want %d", a.ID, id)
	}
	if a.Type == "signals" {
		if a.N != f.Len() || a.Bytes != len(a.Columns)*a.N {
			p.tb.Fatalf("answer n=%d bytes=%d for %d candles", a.N, a.Bytes, f.Len())
		}
		a.payload = make([]byte, a.Bytes)
		if _, err := io.ReadFull(p.stdout, a.payload); err != nil {
			p.tb.Fatalf("read payload: %v", err)
		}
	}
	return a
}

// signals returns the answer's signal columns by name (and fails on bytes
// other than 0 and 1).
func (a answer) signals(tb testing.TB) map[string][]byte {
	tb.Helper()
	if a.Type != "signals" {
		tb.Fatalf("answer %s %q, want signals", a.Type, a.Message)
	}
	out := map[string][]byte{}
	for k, name := range a.Columns {
		col := a.payload[k*a.N : (k+1)*a.N]
		for i, b := range col {
			if b > 1 {
				tb.Fatalf("%s[%d] = %d", name, i, b)
			}
		}
		out[name] = col
	}
	// Columns left out have no signal.
	for _, name := range []string{"enter_long", "exit_long", "enter_short", "exit_short"} {
		if out[name] == nil {
			out[name] = make([]byte, a.N)
		}
	}
	return out
}

// close closes stdin and returns the exit error.
func (p *proc) close() error {
	p.stdin.Close()
	return p.cmd.Wait()
}

// walkFrame is a geometric random walk of n 5m candles with flat stretches
// (equal closes) now and then, so ties and zero deviations are exercised.
func walkFrame(seed uint64, n int) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := &sdk.Frame{Pair: "GEN/USDT", Timeframe: "5m"}
	f.Time, f.Open, f.High, f.Low, f.Close, f.Volume = make([]int64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	price, flat := 100.0, 0
	for i := 0; i < n; i++ {
		o := price
		if flat > 0 {
			flat--
		} else if r.IntN(500) == 0 {
			flat = 5 + r.IntN(40)
		} else {
			price *= math.Exp(0.004 * r.NormFloat64())
		}
		f.Time[i] = 1_600_000_000_000 + int64(i)*300_000
		f.Open[i], f.Close[i] = o, price
		f.High[i] = math.Max(o, price) * (1 + 0.001*math.Abs(r.NormFloat64()))
		f.Low[i] = math.Min(o, price) * (1 - 0.001*math.Abs(r.NormFloat64()))
		f.Volume[i] = 1000 * math.Exp(0.5*r.NormFloat64())
	}
	return f
}

// realFrame loads the ETH/BTC example data.
func realFrame(tb testing.TB) *sdk.Frame {
	tb.Helper()
	f, err := datafile.Load(filepath.Join(repo, "examples", "data", "binance", "ETH_BTC-5m.feather"), "ETH/BTC", "5m")
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// compareWithBuiltin populates f with the built-in and through the process
// with the same parameters and reports every difference.
func compareWithBuiltin(t *testing.T, p *proc, builtin sdk.Strategy, f *sdk.Frame, overrides map[string]any) {
	t.Helper()
	vals, err := builtin.Spec().Resolve(overrides)
	if err != nil {
		t.Fatal(err)
	}
	g := *f
	g.EnterLong, g.ExitLong, g.EnterShort, g.ExitShort, g.EnterTag = nil, nil, nil, nil, nil
	goErr := builtin.Populate(&g, vals)
	a := p.populate(f, vals, encode(t, f, p.columns))
	if goErr != nil {
		if a.Type != "error" {
			t.Fatalf("%v: built-in fails (%v), Python answers %s", overrides, goErr, a.Type)
		}
		return
	}
	got := a.signals(t)
	entries := 0
	for name, want := range map[string][]bool{"enter_long": g.EnterLong, "exit_long": g.ExitLong, "enter_short": g.EnterShort, "exit_short": g.ExitShort} {
		bad := 0
		for i, w := range want {
			if (got[name][i] == 1) != w {
				if bad++; bad <= 5 {
					t.Errorf("%s %v: %s[%d] = %d, built-in %v", f.Pair, overrides, name, i, got[name][i], w)
				}
			}
			if w && name == "enter_long" {
				entries++
			}
		}
		if bad > 5 {
			t.Errorf("%s %v: %s: %d differences in all", f.Pair, overrides, name, bad)
		}
	}
	if f.Len() > 1000 && entries == 0 {
		t.Errorf("%s %v: no entries at all: the comparison proves little", f.Pair, overrides)
	}
	wantTags := map[string]string{}
	for i, tag := range g.EnterTag {
		if tag != "" {
			wantTags[fmt.Sprint(i)] = tag
		}
	}
	if len(a.EnterTags) != len(wantTags) {
		t.Errorf("%s %v: %d tags, built-in %d", f.Pair, overrides, len(a.EnterTags), len(wantTags))
	}
	for k, w := range wantTags {
		if a.EnterTags[k] != w {
			t.Errorf("%s %v: tag of candle %s = %q, built-in %q", f.Pair, overrides, k, a.EnterTags[k], w)
		}
	}
}

func checkSpecMatches(t *testing.T, got, want sdk.Spec) {
	t.Helper()
	if got.Timeframe != want.Timeframe || got.StartupCandles != want.StartupCandles || got.CanShort != want.CanShort {
		t.Errorf("spec %+v, built-in %+v", got, want)
	}
	if len(got.Params) != len(want.Params) {
		t.Fatalf("params %+v, built-in %+v", got.Params, want.Params)
	}
	for i, p := range got.Params {
		w := want.Params[i]
		if p.Name != w.Name || p.Kind != w.Kind || p.Min != w.Min || p.Max != w.Max || fmt.Sprint(p.Default) != fmt.Sprint(w.Default) {
			t.Errorf("param %+v, built-in %+v", p, w)
		}
	}
	gr, _ := json.Marshal(got.Risk)
	wr, _ := json.Marshal(want.Risk)
	if !bytes.Equal(gr, wr) {
		t.Errorf("risk %s, built-in %s", gr, wr)
	}
}

// TestSMACrossMatchesBuiltin checks both paths of sma_cross.py: numpy's
// (sma_np, whole columns) and the pure-Python loop (numpy hidden).
func TestSMACrossMatchesBuiltin(t *testing.T) {
	t.Run("numpy", func(t *testing.T) { testSMACrossMatchesBuiltin(t, numpyPython(t)) })
	t.Run("pure", func(t *testing.T) { testSMACrossMatchesBuiltin(t, python(t), "TRADAI_NO_NUMPY=1") })
}

func testSMACrossMatchesBuiltin(t *testing.T, py string, env ...string) {
	p := startWith(t, py, "examples/strategies/python/sma_cross.py", env...)
	checkSpecMatches(t, p.spec, strategy.SMACross{}.Spec())
	if fmt.Sprint(p.columns) != "[close]" {
		t.Errorf("columns %v", p.columns)
	}
	frames := []*sdk.Frame{walkFrame(1, 30_000), walkFrame(2, 5_000), realFrame(t), walkFrame(3, 15), walkFrame(4, 0)}
	for _, f := range frames {
		for _, o := range []map[string]any{nil, {"fast": 5, "slow": 20}, {"fast": 2, "slow": 5}, {"fast": 100, "slow": 200}, {"fast": 30, "slow": 10}} {
			compareWithBuiltin(t, p, strategy.SMACross{}, f, o)
		}
	}
	if err := p.close(); err != nil {
		t.Errorf("exit: %v\nstderr:\n%s", err, p.stderr)
	}
}

func TestRSIBollingerMatchesBuiltin(t *testing.T) {
	p := start(t, "examples/strategies/python/rsi_bollinger.py")
	checkSpecMatches(t, p.spec, strategy.RSIBollinger{}.Spec())
	frames := []*sdk.Frame{walkFrame(5, 30_000), realFrame(t), walkFrame(6, 10), walkFrame(7, 0)}
	for _, f := range frames {
		for _, o := range []map[string]any{nil, {"rsi_period": 2, "bb_period": 5, "bb_std": 0.5, "rsi_buy": 50.0, "rsi_sell": 50.0}, {"rsi_period": 50, "bb_period": 100, "bb_std": 1.0, "rsi_buy": 45.0}} {
			compareWithBuiltin(t, p, strategy.RSIBollinger{}, f, o)
		}
	}
	if err := p.close(); err != nil {
		t.Errorf("exit: %v\nstderr:\n%s", err, p.stderr)
	}
}

func TestMACDTrendMatchesBuiltin(t *testing.T) {
	p := start(t, "examples/strategies/python/macd_trend.py")
	checkSpecMatches(t, p.spec, strategy.MACDTrend{}.Spec())
	frames := []*sdk.Frame{walkFrame(15, 30_000), realFrame(t), walkFrame(16, 300), walkFrame(17, 0)}
	for _, f := range frames {
		for _, o := range []map[string]any{nil, {"fast": 5, "slow": 13, "signal": 4, "trend": 50}, {"fast": 26, "slow": 12}} {
			compareWithBuiltin(t, p, strategy.MACDTrend{}, f, o)
		}
	}
	if err := p.close(); err != nil {
		t.Errorf("exit: %v\nstderr:\n%s", err, p.stderr)
	}
}

func TestErrorAnswerKeepsServing(t *testing.T) {
	p := start(t, "examples/strategies/python/sma_cross.py")
	f := walkFrame(8, 500)
	payload := encode(t, f, p.columns)
	a := p.populate(f, sdk.Values{"fast": 30, "slow": 10}, payload)
	if a.Type != "error" || !strings.Contains(a.Message, "fast period 30 must be below slow period 10") {
		t.Fatalf("answer %+v, want an error with the exception text", a)
	}
	a = p.populate(f, sdk.Values{"fast": 10, "slow": 30}, payload)
	a.signals(t)
	// An out-of-range value is refused too (TradAI checks them first).
	if a = p.populate(f, sdk.Values{"fast": 1000}, payload); a.Type != "error" || !strings.Contains(a.Message, "outside") {
		t.Errorf("answer %+v, want an out-of-range error", a)
	}
	if err := p.close(); err != nil {
		t.Errorf("exit after an error: %v", err)
	}
	if !strings.Contains(p.stderr.String(), "Traceback") {
		t.Errorf("no traceback on stderr:\n%s", p.stderr)
	}
}

func TestMiscBehaviours(t *testing.T) {
	p := start(t, "sdk/python/testdata/misc.py")
	if fmt.Sprint(p.columns) != "[time open close]" || !p.spec.CanShort {
		t.Fatalf("columns %v, spec %+v", p.columns, p.spec)
	}
	f := walkFrame(9, 1000)
	payload := encode(t, f, p.columns)
	check := func(a answer, every int) {
		t.Helper()
		s := a.signals(t)
		for i := range f.Close {
			up := f.Close[i] > f.Open[i]
			on := i%every == 0
			if (s["enter_long"][i] == 1) != (on && up) || (s["enter_short"][i] == 1) != (on && !up) ||
				(s["exit_long"][i] == 1) != (on && !up) || (s["exit_short"][i] == 1) != (on && up) {
				t.Fatalf("candle %d: signals %d %d %d %d", i, s["enter_long"][i], s["exit_long"][i], s["enter_short"][i], s["exit_short"][i])
			}
		}
	}
	check(p.populate(f, sdk.Values{"mode": "ok", "every": 3}, payload), 3)

	a := p.populate(f, sdk.Values{"mode": "raise", "every": 3}, payload)
	if a.Type != "error" || a.Message != "RuntimeError: deliberate failure on GEN/USDT with 1000 candles" {
		t.Errorf("answer %+v", a)
	}
	a = p.populate(f, sdk.Values{"mode": "keyerror", "every": 3}, payload)
	if a.Type != "error" || a.Message != "KeyError: 'missing'" {
		t.Errorf("answer %+v", a)
	}
	// print() and writes to file descriptor 1 go to stderr.
	check(p.populate(f, sdk.Values{"mode": "print", "every": 7}, payload), 7)
	a = p.populate(f, sdk.Values{"mode": "tag", "every": 100}, payload)
	check(a, 100)
	if len(a.EnterTags) != 10 {
		t.Errorf("tags %v, want 10", a.EnterTags)
	}
	for k, tag := range a.EnterTags {
		var i int
		fmt.Sscan(k, &i)
		want := "up"
		if f.Close[i] <= f.Open[i] {
			want = fmt.Sprintf("down at %d", f.Time[i])
		}
		if tag != want {
			t.Errorf("tag %s = %q, want %q", k, tag, want)
		}
	}
	// An unknown request type is answered with an error.
	p.send(map[string]any{"type": "frobnicate", "id": 99}, nil)
	var e answer
	if err := json.Unmarshal(p.readLine(), &e); err != nil || e.Type != "error" || e.ID != 99 {
		t.Errorf("answer %+v (%v)", e, err)
	}
	if err := p.close(); err != nil {
		t.Errorf("exit: %v", err)
	}
	// Once the process is gone, its stderr has been copied whole.
	if !strings.Contains(p.stderr.String(), "this goes to stderr") || !strings.Contains(p.stderr.String(), "file descriptor 1") {
		t.Errorf("stdout writes missing from stderr:\n%s", p.stderr)
	}
}

func TestExitCodes(t *testing.T) {
	py := python(t)
	t.Run("eof before hello", func(t *testing.T) {
		cmd := exec.Command(py, filepath.Join(examples, "sma_cross.py"))
		cmd.Stdin = strings.NewReader("")
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Errorf("exit %v, output %q; want 0 and nothing", err, out)
		}
	})
	t.Run("eof after spec", func(t *testing.T) {
		p := start(t, "examples/strategies/python/rsi_bollinger.py")
		if err := p.close(); err != nil {
			t.Errorf("exit: %v", err)
		}
	})
	t.Run("bad declaration", func(t *testing.T) {
		cmd := exec.Command(py, filepath.Join("testdata", "bad_decl.py"))
		cmd.Stdin = strings.NewReader(`{"type":"hello","protocol":1}` + "\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("exit %v, want status 2", err)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "parameter 'fast' default: 500 is outside [2, 50]") {
			t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	})
	t.Run("garbage", func(t *testing.T) {
		cmd := exec.Command(py, filepath.Join(examples, "sma_cross.py"))
		cmd.Stdin = strings.NewReader("hello\n")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "protocol error") {
			t.Errorf("exit %v, output %q; want status 1 and a protocol error", err, out)
		}
	})
	t.Run("spec flag", func(t *testing.T) {
		for _, name := range []string{"sma_cross.py", "rsi_bollinger.py", "macd_trend.py", "zscore_revert.py", "lookahead_bad.py"} {
			cmd := exec.Command(py, filepath.Join(examples, name), "--spec")
			cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(repo, "sdk", "python"))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s --spec: %v", name, err)
			}
			var m specMsg
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("%s --spec: %v", name, err)
			}
			if err := m.Spec.Validate(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// TestLookahead shows what `tradai strategy check` relies on: the signals
// of a strategy that does not look ahead are the same on every prefix of a
// frame; lookahead_bad.py's are not.
func TestLookahead(t *testing.T) {
	f := walkFrame(10, 3000)
	for _, c := range []struct {
		script string
		peeks  bool
	}{
		{"examples/strategies/python/sma_cross.py", false},
		{"examples/strategies/python/rsi_bollinger.py", false},
		{"examples/strategies/python/zscore_revert.py", false},
		{"examples/strategies/python/macd_trend.py", false},
		{"examples/strategies/python/lookahead_bad.py", true},
	} {
		p := start(t, c.script)
		full := p.populate(f, nil, encode(t, f, p.columns)).signals(t)
		changed := 0
		for _, k := range []int{400, 1111, 2500} {
			g := f.Slice(0, k)
			part := p.populate(g, nil, encode(t, g, p.columns)).signals(t)
			for name, col := range part {
				if !bytes.Equal(col, full[name][:k]) {
					changed++
				}
			}
		}
		if peeks := changed > 0; peeks != c.peeks {
			t.Errorf("%s: signals changed on %d prefix columns; want look-ahead %v", c.script, changed, c.peeks)
		}
		p.close()
	}
}

// TestZScoreEngines checks the numpy and pure-Python paths of
// zscore_revert.py agree (they are the same path without numpy).
func TestZScoreEngines(t *testing.T) {
	t.Run("default", func(t *testing.T) { testZScoreEngines(t, python(t)) })
	t.Run("numpy", func(t *testing.T) { testZScoreEngines(t, numpyPython(t)) })
}

func testZScoreEngines(t *testing.T, py string) {
	p := startWith(t, py, "examples/strategies/python/zscore_revert.py")
	f := walkFrame(11, 20_000)
	payload := encode(t, f, p.columns)
	auto := p.populate(f, sdk.Values{"engine": "auto"}, payload).signals(t)
	pure := p.populate(f, sdk.Values{"engine": "python"}, payload).signals(t)
	entries := 0
	for name := range auto {
		diff := 0
		for i := range auto[name] {
			if auto[name][i] != pure[name][i] {
				diff++
			}
			if name == "enter_long" && pure[name][i] == 1 {
				entries++
			}
		}
		if diff > 2 {
			t.Errorf("%s: engines differ on %d candles", name, diff)
		}
	}
	if entries == 0 {
		t.Error("no entries")
	}
	p.close()
}

// TestIndicatorsMatchGo checks the SDK's indicators against sdk/ta bit for
// bit, on series with leading NaNs, flat stretches and short lengths.
func TestIndicatorsMatchGo(t *testing.T) {
	py := python(t)
	type args struct {
		period, fast, slow, signal int
		k                          float64
	}
	series := map[string][]float64{
		"walk":  walkFrame(12, 5000).Close,
		"short": walkFrame(13, 7).Close,
		"empty": {},
		"nans":  append([]float64{math.NaN(), math.NaN(), math.NaN()}, walkFrame(14, 500).Close...),
	}
	for name, x := range series {
		for _, a := range []args{{14, 12, 26, 9, 2}, {2, 2, 3, 2, 0.5}, {50, 5, 50, 20, 3}, {1, 1, 1, 1, 0}} {
			var in bytes.Buffer
			for _, v := range x {
				binary.Write(&in, binary.LittleEndian, v)
			}
			cmd := exec.Command(py, filepath.Join("testdata", "indicators.py"),
				fmt.Sprint(a.period), fmt.Sprint(a.k), fmt.Sprint(a.fast), fmt.Sprint(a.slow), fmt.Sprint(a.signal))
			cmd.Stdin = &in
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %+v: %v\n%s", name, a, err, stderr.String())
			}
			sma, ema := ta.SMA(x, a.period), ta.EMA(x, a.period)
			up, mid, lo := ta.BollingerBands(x, a.period, a.k)
			line, sig, hist := ta.MACD(x, a.fast, a.slow, a.signal)
			above, below := make([]float64, len(x)), make([]float64, len(x))
			for i := range x {
				if ta.CrossedAbove(sma, ema, i) {
					above[i] = 1
				}
				if ta.CrossedBelow(sma, ema, i) {
					below[i] = 1
				}
			}
			want := [][]float64{sma, ema, ta.RSI(x, a.period), ta.StdDev(x, a.period), up, mid, lo, line, sig, hist, above, below}
			names := []string{"sma", "ema", "rsi", "stdev", "bb_upper", "bb_middle", "bb_lower", "macd", "macd_signal", "macd_hist", "crossed_above", "crossed_below"}
			if len(out) != 8*len(x)*len(want) {
				t.Fatalf("%s %+v: %d bytes of output", name, a, len(out))
			}
			for k, w := range want {
				bad := 0
				for i, wv := range w {
					gv := math.Float64frombits(binary.LittleEndian.Uint64(out[8*(k*len(x)+i):]))
					same := math.Float64bits(gv) == math.Float64bits(wv) || (math.IsNaN(gv) && math.IsNaN(wv))
					if !same {
						if bad++; bad <= 3 {
							t.Errorf("%s %+v: %s[%d] = %v, Go %v", name, a, names[k], i, gv, wv)
						}
					}
				}
			}
		}
	}
}

// TestPythonUnitTests runs the SDK's own unittest suite.
func TestPythonUnitTests(t *testing.T) {
	run := func(t *testing.T, py string) {
		cmd := exec.Command(py, "-m", "unittest", "discover", "-s", ".", "-p", "test_*.py")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python unittest: %v\n%s", err, out)
		}
		if !bytes.Contains(out, []byte("OK")) {
			t.Fatalf("python unittest:\n%s", out)
		}
	}
	t.Run("default", func(t *testing.T) { run(t, python(t)) })
	t.Run("numpy", func(t *testing.T) { run(t, numpyPython(t)) })
}

// benchPopulate keeps one process and sends it a 1M-candle frame per
// iteration, reporting candles per second.
func benchPopulate(b *testing.B, script string, params sdk.Values) {
	p := start(b, script)
	f := walkFrame(42, 1_000_000)
	payload := encode(b, f, p.columns)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for b.Loop() {
		if a := p.populate(f, params, payload); a.Type != "signals" {
			b.Fatalf("answer %+v", a)
		}
	}
	b.ReportMetric(float64(f.Len())*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
	p.close()
}

func BenchmarkPythonSMACross1M(b *testing.B) {
	benchPopulate(b, "examples/strategies/python/sma_cross.py", nil)
}

func BenchmarkPythonMACDTrend1M(b *testing.B) {
	benchPopulate(b, "examples/strategies/python/macd_trend.py", nil)
}

func BenchmarkPythonRSIBollinger1M(b *testing.B) {
	benchPopulate(b, "examples/strategies/python/rsi_bollinger.py", nil)
}

// BenchmarkPythonZScore1M uses numpy when the interpreter has it (set
// TRADAI_PYTHON to choose one), pure Python otherwise.
func BenchmarkPythonZScore1M(b *testing.B) {
	benchPopulate(b, "examples/strategies/python/zscore_revert.py", nil)
}

func BenchmarkPythonZScorePure1M(b *testing.B) {
	benchPopulate(b, "examples/strategies/python/zscore_revert.py", sdk.Values{"engine": "python"})
}

func TestEmbeddedSource(t *testing.T) {
	disk, err := os.ReadFile(pysdk.FileName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pysdk.Source(), disk) {
		t.Error("embedded source differs from the file")
	}
}

func TestMain(m *testing.M) {
	// Keep __pycache__ folders out of the source tree.
	os.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	os.Exit(m.Run())
}
