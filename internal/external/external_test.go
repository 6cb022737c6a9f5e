//go:build linux

package external_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// bins holds the programs built once for all tests: the Go examples and
// the misbehaving fake strategy (built without the race detector, so that
// they run under a memory limit).
var bins string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("external strategies need Linux; skipping")
		return 0
	}
	dir, err := os.MkdirTemp("", "tradai-external-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// go test puts its own toolchain first on PATH.
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/tradai/tradai/examples/strategies/go/sma_cross",
		"github.com/tradai/tradai/examples/strategies/go/bollinger_ls",
		"github.com/tradai/tradai/internal/external/testdata/fake")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test strategies: %v\n%s", err, out)
		return 1
	}
	bins = dir
	code := m.Run()
	if code == 0 {
		// No goroutine outlives the tests.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return code
}

// synthetic returns n one-minute candles of a seeded random walk (as in
// internal/backtest's benchmarks).
func synthetic(pair string, n int, seed uint64) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := &sdk.Frame{Pair: pair, Timeframe: "1m",
		Time: make([]int64, n), Open: make([]float64, n), High: make([]float64, n),
		Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	t0 := int64(1_600_000_000_000)
	for i := 0; i < n; i++ {
		o := price
		price *= math.Exp(r.NormFloat64() * 0.0015)
		hi := math.Max(o, price) * (1 + r.Float64()*0.001)
		lo := math.Min(o, price) * (1 - r.Float64()*0.001)
		f.Time[i] = t0 + int64(i)*60_000
		f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i] = o, hi, lo, price, 1+r.Float64()*10
	}
	return f
}

// candlesOnly returns a copy of f's candle columns without signals.
func candlesOnly(f *sdk.Frame) *sdk.Frame {
	return &sdk.Frame{Pair: f.Pair, Timeframe: f.Timeframe,
		Time: slices.Clone(f.Time), Open: slices.Clone(f.Open), High: slices.Clone(f.High),
		Low: slices.Clone(f.Low), Close: slices.Clone(f.Close), Volume: slices.Clone(f.Volume)}
}

// startProgram starts a Go example, which takes the shm transport unless
// opts keep it to the pipes.
func startProgram(t testing.TB, name string, opts external.Options) *external.Strategy {
	t.Helper()
	s, err := external.Start(context.Background(), []string{filepath.Join(bins, name)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Transport(), wantTransport(opts); got != want {
		s.Close()
		t.Fatalf("%s uses the %s transport, want %s", name, got, want)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantTransport is the transport a Go-SDK strategy uses with opts.
func wantTransport(opts external.Options) string {
	if opts.PipeOnly {
		return "pipe"
	}
	return "shm"
}

// forTransports runs a good-path test over both transports: the columns
// through the shared memory file (what a Go-SDK strategy takes when it is
// offered) and through the pipes.
func forTransports(t *testing.T, test func(*testing.T, external.Options)) {
	t.Run("shm", func(t *testing.T) { test(t, external.Options{}) })
	t.Run("pipe", func(t *testing.T) { test(t, external.Options{PipeOnly: true}) })
}

func sameSignals(t *testing.T, what string, got, want *sdk.Frame) {
	t.Helper()
	cols := []struct {
		name string
		g, w []bool
	}{{"enter_long", got.EnterLong, want.EnterLong}, {"exit_long", got.ExitLong, want.ExitLong},
		{"enter_short", got.EnterShort, want.EnterShort}, {"exit_short", got.ExitShort, want.ExitShort}}
	for _, c := range cols {
		if len(c.g) != len(c.w) {
			t.Fatalf("%s: %s has %d values, want %d", what, c.name, len(c.g), len(c.w))
		}
		for i := range c.g {
			if c.g[i] != c.w[i] {
				t.Fatalf("%s: %s differs first at candle %d: %v, want %v", what, c.name, i, c.g[i], c.w[i])
			}
		}
	}
	if !slices.Equal(got.EnterTag, want.EnterTag) {
		t.Fatalf("%s: enter tags differ", what)
	}
}

func count(b []bool) (n int) {
	for _, x := range b {
		if x {
			n++
		}
	}
	return n
}

// compareSMA populates copies of f with the built-in sma_cross and the
// external one with the same overrides and checks the signals are equal.
func compareSMA(t *testing.T, ext *external.Strategy, f *sdk.Frame, overrides map[string]any) *sdk.Frame {
	t.Helper()
	builtin := strategy.SMACross{}
	want, got := candlesOnly(f), candlesOnly(f)
	pb, err := builtin.Spec().Resolve(overrides)
	if err != nil {
		t.Fatal(err)
	}
	if err := builtin.Populate(want, pb); err != nil {
		t.Fatal(err)
	}
	pe, err := ext.Spec().Resolve(overrides)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Populate(got, pe); err != nil {
		t.Fatal(err)
	}
	sameSignals(t, fmt.Sprintf("%s %v", f.Pair, overrides), got, want)
	if count(got.EnterLong) == 0 {
		t.Fatalf("%s: no entries at all; the comparison proves little", f.Pair)
	}
	return got
}

func TestSMACrossMatchesBuiltin(t *testing.T) { forTransports(t, testSMACrossMatchesBuiltin) }

func testSMACrossMatchesBuiltin(t *testing.T, o external.Options) {
	ext := startProgram(t, "sma_cross", o)
	spec, want := ext.Spec(), strategy.SMACross{}.Spec()
	if fmt.Sprint(spec) != fmt.Sprint(want) {
		t.Fatalf("spec over the protocol\n%+v\nwant\n%+v", spec, want)
	}
	f := synthetic("BTC/USDT", 100_000, 1)
	def := compareSMA(t, ext, f, nil)
	other := compareSMA(t, ext, f, map[string]any{"fast": 5, "slow": 50})
	if slices.Equal(def.EnterLong, other.EnterLong) {
		t.Fatal("parameters fast=5 slow=50 gave the default signals: they were not passed through")
	}
	real, err := datafile.Load("../../examples/data/binance/ETH_BTC-5m.feather", "ETH/BTC", "5m")
	if err != nil {
		t.Fatal(err)
	}
	compareSMA(t, ext, real, nil)
	compareSMA(t, ext, real, map[string]any{"fast": 20, "slow": 100})
	// An empty frame is a valid request.
	empty := &sdk.Frame{Pair: "NONE/BTC", Timeframe: "5m"}
	if err := ext.Populate(empty, sdk.Values{"fast": 10, "slow": 30}); err != nil {
		t.Fatal(err)
	}
}

func TestRejectedRequestKeepsProcess(t *testing.T) { forTransports(t, testRejectedRequestKeepsProcess) }

func testRejectedRequestKeepsProcess(t *testing.T, o external.Options) {
	ext := startProgram(t, "sma_cross", o)
	f := synthetic("BTC/USDT", 1000, 2)
	err := ext.Populate(f, sdk.Values{"fast": 40, "slow": 30})
	var rej *external.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("error %v is not a RejectedError", err)
	}
	for _, s := range []string{"sma_cross", "BTC/USDT", "fast period 40 must be below slow period 30"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	compareSMA(t, ext, f, nil)

	fk := newFake(t, "good")
	s := fk.start(t, o)
	if err := s.Populate(candlesOnly(f), sdk.Values{"fail": true, "min_body": 0.0}); !errors.As(err, &rej) || !strings.Contains(err.Error(), "asked to fail on BTC/USDT") {
		t.Fatalf("got %v, want the strategy's error message", err)
	}
	if err := s.Populate(candlesOnly(f), sdk.Values{"fail": false, "min_body": 0.0}); err != nil {
		t.Fatal(err)
	}
	if pids := fk.pids(t); len(pids) != 1 {
		t.Fatalf("the error message restarted the process: pids %v", pids)
	}
}

func TestEnterTagsRoundTrip(t *testing.T) { forTransports(t, testEnterTagsRoundTrip) }

func testEnterTagsRoundTrip(t *testing.T, o external.Options) {
	fk := newFake(t, "good")
	s := fk.start(t, o)
	if got, want := s.Transport(), wantTransport(o); got != want {
		t.Fatalf("the fake uses the %s transport, want %s", got, want)
	}
	f := synthetic("ETH/USDT", 5000, 3)
	f.EnterTag = []string{"stale"} // replaced by the answer
	if err := s.Populate(f, sdk.Values{"fail": false, "min_body": 0.05}); err != nil {
		t.Fatal(err)
	}
	var up, down int
	for i := range f.Close {
		body := f.Close[i] - f.Open[i]
		want := ""
		switch {
		case body > 0.05:
			want = "up"
			up++
		case -body > 0.05:
			want = "down"
			down++
		}
		if f.EnterTag[i] != want || f.EnterLong[i] != (want == "up") || f.EnterShort[i] != (want == "down") ||
			f.ExitShort[i] != (want == "up") || f.ExitLong[i] != (want == "down") {
			t.Fatalf("candle %d: tag %q long %v short %v, want tag %q", i, f.EnterTag[i], f.EnterLong[i], f.EnterShort[i], want)
		}
	}
	if up == 0 || down == 0 {
		t.Fatalf("too few tags to test: %d up, %d down", up, down)
	}

	// The long/short example tags exactly its entries.
	bl := startProgram(t, "bollinger_ls", o)
	g := synthetic("XRP/USDT", 50_000, 4)
	p, err := bl.Spec().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bl.Populate(g, p); err != nil {
		t.Fatal(err)
	}
	var long, short int
	for i := range g.Close {
		switch {
		case g.EnterLong[i]:
			long++
			if g.EnterTag[i] != "bb_low" {
				t.Fatalf("long entry %d tagged %q", i, g.EnterTag[i])
			}
		case g.EnterShort[i]:
			short++
			if g.EnterTag[i] != "bb_high" {
				t.Fatalf("short entry %d tagged %q", i, g.EnterTag[i])
			}
		case g.EnterTag != nil && g.EnterTag[i] != "":
			t.Fatalf("candle %d tagged %q without an entry", i, g.EnterTag[i])
		}
	}
	if long == 0 || short == 0 {
		t.Fatalf("bollinger_ls: %d long and %d short entries", long, short)
	}
}

func TestConcurrentPopulate(t *testing.T) { forTransports(t, testConcurrentPopulate) }

func testConcurrentPopulate(t *testing.T, o external.Options) {
	ext := startProgram(t, "sma_cross", o)
	builtin := strategy.SMACross{}
	p, _ := builtin.Spec().Resolve(nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for k := range 8 {
		wg.Go(func() {
			f := synthetic(fmt.Sprintf("P%d/USDT", k), 20_000, uint64(10+k))
			want := candlesOnly(f)
			if err := builtin.Populate(want, p); err != nil {
				errs <- err
				return
			}
			for range 3 {
				f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = nil, nil, nil, nil
				if err := ext.Populate(f, p); err != nil {
					errs <- err
					return
				}
				if !slices.Equal(f.EnterLong, want.EnterLong) || !slices.Equal(f.ExitLong, want.ExitLong) {
					errs <- fmt.Errorf("%s: signals differ from the built-in", f.Pair)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// fake drives testdata/fake: its mode is read from a file when a process
// starts, and each process records its pid.
type fake struct {
	modeFile, pidFile string
}

func newFake(t *testing.T, mode string) *fake {
	dir := t.TempDir()
	fk := &fake{modeFile: filepath.Join(dir, "mode"), pidFile: filepath.Join(dir, "pids")}
	fk.set(t, mode)
	return fk
}

func (fk *fake) set(t *testing.T, mode string) {
	t.Helper()
	if err := os.WriteFile(fk.modeFile, []byte(mode), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fk *fake) options(o external.Options) external.Options {
	o.Env = append(o.Env, "TRADAI_FAKE_MODE_FILE="+fk.modeFile, "TRADAI_FAKE_PID_FILE="+fk.pidFile)
	return o
}

func (fk *fake) start(t *testing.T, o external.Options) *external.Strategy {
	t.Helper()
	s, err := external.Start(context.Background(), []string{filepath.Join(bins, "fake")}, fk.options(o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pids returns the pids of the fake's processes, in start order;
// grandchildren are listed by grandchildren.
func (fk *fake) pids(t *testing.T) []int {
	ps, _ := fk.read(t)
	return ps
}

func (fk *fake) grandchildren(t *testing.T) []int {
	_, gs := fk.read(t)
	return gs
}

func (fk *fake) read(t *testing.T) (pids, grand []int) {
	t.Helper()
	b, err := os.ReadFile(fk.pidFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Fields(string(b)) {
		g := strings.HasPrefix(l, "g")
		n, err := strconv.Atoi(strings.TrimPrefix(l, "g"))
		if err != nil {
			t.Fatal(err)
		}
		if g {
			grand = append(grand, n)
		} else {
			pids = append(pids, n)
		}
	}
	return pids, grand
}

// reaped checks that our child pid is gone: killed and reaped, not a
// zombie.
func reaped(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after the failure (kill 0: %v)", pid, err)
	}
}

// gone waits (on a pidfd, up to 10 s) for a process that is not our child
// to die; it may linger as a zombie of whichever process adopted it.
func gone(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 10_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("process %d outlived its strategy", pid)
		}
		return
	}
}

func TestBrokenStrategies(t *testing.T) {
	cases := []struct {
		mode string
		opts external.Options
		want []string // in the error message
	}{
		{"crash", external.Options{}, []string{"exited with status 3", "the database is on fire", "ended its output without answering"}},
		{"panic", external.Options{}, []string{"exited with status 2", "index out of range on purpose"}},
		{"hang", external.Options{RequestTimeout: 200 * time.Millisecond}, []string{"no answer in time: the request timeout is 200ms", "killed"}},
		{"exit0", external.Options{}, []string{"exited with status 0", "ended its output without answering"}},
		{"garbage", external.Options{}, []string{"not a protocol message", "Traceback"}},
		{"wrongid", external.Options{}, []string{"answered request 1 with id 2"}},
		{"wrongn", external.Options{}, []string{"answered with 99 candles for a frame of 100"}},
		{"badlen", external.Options{}, []string{"payload of 404 bytes instead of 4 × 100 = 400"}},
		{"short", external.Options{}, []string{"payload ended after 10 of 400 bytes", "giving up after 10 bytes"}},
		{"badbyte", external.Options{}, []string{"signal byte 2 on candle 5 of exit_long"}},
		{"badtag", external.Options{}, []string{"enter tag for \"100\""}},
		{"bighead", external.Options{}, []string{"header line longer than 1 MiB"}},
		{"oom", external.Options{MemoryLimit: 2 << 30}, []string{"out of memory", "memory is limited to 2 GiB"}},
		{"grandchild", external.Options{}, []string{"exited with status 3", "leaving a grandchild behind"}},
		{"setsidchild", external.Options{}, []string{"exited with status 3", "in a session of its own"}},
		{"shmoffset", external.Options{}, []string{"shared memory region of 400 bytes at offset 1099511627776 is outside the 1048576-byte shared file"}},
		{"shmlen", external.Options{}, []string{"announced 401 bytes of shared memory instead of 4 × 100 = 400"}},
		{"shmundeclared", external.Options{}, []string{"answered through shared memory without using the shm transport"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			fk := newFake(t, c.mode)
			s := fk.start(t, c.opts)
			f := synthetic("BAD/USDT", 100, 5)
			err := s.Populate(f, sdk.Values{"fail": false, "min_body": 0.0})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, w := range append([]string{"strategy fake on BAD/USDT", "fake: starting in mode " + c.mode}, c.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not mention %q:\n%s", w, msg)
				}
			}
			if c.mode == "hang" && !errors.Is(err, external.ErrTimeout) {
				t.Errorf("error %v does not wrap ErrTimeout", err)
			}
			pids := fk.pids(t)
			reaped(t, pids[0])
			for _, g := range fk.grandchildren(t) {
				gone(t, g)
			}

			// The next request starts a fresh, good process.
			fk.set(t, "good")
			if err := s.Populate(f, sdk.Values{"fail": false, "min_body": 0.0}); err != nil {
				t.Fatalf("after the failure: %v", err)
			}
			if pids := fk.pids(t); len(pids) != 2 {
				t.Fatalf("pids %v, want a second process", pids)
			}
			if !f.HasSignals() || f.EnterTag == nil {
				t.Fatal("no signals from the fresh process")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			reaped(t, fk.pids(t)[1])
		})
	}
}

func TestBrokenHandshake(t *testing.T) {
	cases := []struct {
		mode    string
		timeout time.Duration
		want    []string
	}{
		{"hanghello", 200 * time.Millisecond, []string{"no answer in time: the start timeout is 200ms"}},
		{"exitstart", 0, []string{"exited with status 0", "ended its output before it declared its spec"}},
		{"filesignals", 0, []string{"file_signals"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			fk := newFake(t, c.mode)
			s, err := external.Start(context.Background(), []string{filepath.Join(bins, "fake")},
				fk.options(external.Options{StartTimeout: c.timeout}))
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			for _, w := range append([]string{"fake", "handshake", "fake: starting in mode " + c.mode}, c.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			reaped(t, fk.pids(t)[0])
		})
	}
}

func TestStartCancelled(t *testing.T) {
	fk := newFake(t, "hanghello")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := external.Start(ctx, []string{filepath.Join(bins, "fake")}, fk.options(external.Options{}))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestStartFailures(t *testing.T) {
	if _, err := external.Start(context.Background(), []string{filepath.Join(bins, "no-such-program")}, external.Options{}); err == nil || !strings.Contains(err.Error(), "no-such-program") {
		t.Fatalf("got %v", err)
	}
	if _, err := external.Start(context.Background(), nil, external.Options{}); err == nil {
		t.Fatal("no error for an empty argv")
	}
}

func TestRestartWithChangedSpec(t *testing.T) {
	fk := newFake(t, "crash")
	s := fk.start(t, external.Options{})
	f := synthetic("BAD/USDT", 100, 5)
	if err := s.Populate(f, nil); err == nil {
		t.Fatal("no error")
	}
	fk.set(t, "renamed")
	err := s.Populate(f, nil)
	if err == nil || !strings.Contains(err.Error(), "different spec") {
		t.Fatalf("got %v, want a changed-spec error", err)
	}
	reaped(t, fk.pids(t)[1])
}

// Close kills everything the strategy started, also a process that left
// the strategy's process group and session (setsid).
func TestCloseKillsGrandchildren(t *testing.T) {
	for _, mode := range []string{"detached", "setsid"} {
		t.Run(mode, func(t *testing.T) { testCloseKillsGrandchildren(t, mode) })
	}
}

func testCloseKillsGrandchildren(t *testing.T, mode string) {
	fk := newFake(t, mode)
	s := fk.start(t, external.Options{})
	if err := s.Populate(synthetic("A/B", 10, 1), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	reaped(t, fk.pids(t)[0])
	gs := fk.grandchildren(t)
	if len(gs) != 1 {
		t.Fatalf("grandchildren %v", gs)
	}
	gone(t, gs[0])
	if err := s.Populate(synthetic("A/B", 10, 1), nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Populate after Close: %v", err)
	}
}

// openFDs counts this process's open file descriptors and its mappings of
// strategy shared memory files.
func openFDs(t *testing.T) (fds, maps int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents), strings.Count(string(b), "memfd:tradai-strategy")
}

// The shared memory file grows with the frames, TradAI never maps it
// (it writes and reads it with pwrite and pread), and it is closed when
// the process ends: on Close and when a failed process is torn down.
func TestShmReleased(t *testing.T) {
	fds0, maps0 := openFDs(t)
	s, err := external.Start(context.Background(), []string{filepath.Join(bins, "sma_cross")}, external.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Transport() != "shm" {
		t.Fatalf("transport %q", s.Transport())
	}
	// 1,000 candles, then 300,000 (2.4 MB of closes: the file grows),
	// then 1,000 again.
	for _, n := range []int{1000, 300_000, 1000} {
		compareSMA(t, s, synthetic("BTC/USDT", n, uint64(n)), nil)
	}
	if _, maps := openFDs(t); maps != maps0 {
		t.Fatalf("%d mappings of the shared file, want none", maps-maps0)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fds, maps := openFDs(t); fds != fds0 || maps != maps0 {
		t.Fatalf("after Close: %d open files and %d shared mappings, were %d and %d", fds, maps, fds0, maps0)
	}

	fk := newFake(t, "crash")
	s = fk.start(t, external.Options{})
	if err := s.Populate(synthetic("BAD/USDT", 100, 5), nil); err == nil {
		t.Fatal("no error")
	}
	if fds, maps := openFDs(t); fds != fds0 || maps != maps0 {
		t.Fatalf("after a crash: %d open files and %d shared mappings, were %d and %d", fds, maps, fds0, maps0)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A strategy process gets a minimal environment, never TradAI's own: a
// strategy that prints its environment gets no secret into the error.
func TestStrategyGetsNoServerEnvironment(t *testing.T) {
	secrets := map[string]string{
		"TRADAI_WEBHOOK_SECRET":  "whsec-0123456789abcdef",
		"TRADAI_SIM_ADMIN_TOKEN": "simadmin-fedcba9876543210",
		"DATABASE_URL":           "postgres://tradai:hunter2-secret@db/tradai",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	fk := newFake(t, "env")
	s := fk.start(t, external.Options{})
	err := s.Populate(synthetic("ENV/USDT", 10, 1), nil)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	for k, v := range secrets {
		if strings.Contains(msg, k) || strings.Contains(msg, v) {
			t.Errorf("the error shows %s", k)
		}
	}
	var names []string
	for _, l := range strings.Split(msg, "\n") {
		if kv, ok := strings.CutPrefix(l, "fake env: "); ok {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
	}
	slices.Sort(names)
	want := []string{"HOME", "LANG", "LC_ALL", "PATH", "TMPDIR", "TRADAI_FAKE_MODE_FILE", "TRADAI_FAKE_PID_FILE"}
	if !slices.Equal(names, want) {
		t.Errorf("the strategy's environment has %v, want %v", names, want)
	}
}

// An error quotes only the end of a long standard error.
func TestStderrTailIsBounded(t *testing.T) {
	fk := newFake(t, "chatty")
	s := fk.start(t, external.Options{})
	err := s.Populate(synthetic("LONG/USDT", 10, 1), nil)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if n := len(msg); n > 4<<10+512 {
		t.Errorf("error of %d bytes", n)
	}
	if !strings.Contains(msg, "line 9999 of a long story") {
		t.Errorf("the error does not end with the end of standard error: %s", msg)
	}
}

// Usage counts the strategy process's CPU time and peak memory while it
// runs, and keeps them once it was stopped.
func TestUsageCountsTheProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process usage is read on Linux")
	}
	s, err := external.Start(context.Background(), []string{filepath.Join(bins, "sma_cross")}, external.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cpu, peak := s.Usage(); peak < 1<<20 || cpu < 0 {
		t.Fatalf("a started process used %v and %d bytes at most", cpu, peak)
	}
	f := synthetic("BTC/USDT", 1_000_000, 1)
	for range 3 {
		if err := s.Populate(candlesOnly(f), nil); err != nil {
			t.Fatal(err)
		}
	}
	cpu, peak := s.Usage()
	if cpu < 10*time.Millisecond || peak < 8<<20 {
		t.Fatalf("after three populates of a million candles: %v CPU and %d bytes at most", cpu, peak)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reaped, its rusage counts (the peak as the kernel's maxrss, which
	// differs from /proc's VmHWM by some pages).
	if c, p := s.Usage(); c < cpu || p < peak/10*9 {
		t.Fatalf("after Close: %v and %d bytes, less than %v and %d before", c, p, cpu, peak)
	}
}

// fakeSignals is what the fake strategy answers for f with min_body.
func fakeSignals(f *sdk.Frame, minBody float64) (enterLong, exitLong []bool) {
	enterLong, exitLong = make([]bool, f.Len()), make([]bool, f.Len())
	for i := range f.Close {
		body := f.Close[i] - f.Open[i]
		enterLong[i], exitLong[i] = body > minBody, -body > minBody
	}
	return enterLong, exitLong
}

// Protocol version 2 on the pipes: a frame's columns cross once per
// process; later requests of the same frame (by content) send the
// parameters only, and the frames beyond the byte budget are forgotten
// and sent again when needed. The answers are those of fresh columns
// every time.
func TestKeptFrames(t *testing.T) {
	{
		a, b := synthetic("A/USDT", 500, 1), synthetic("B/USDT", 500, 2)
		o := external.Options{PipeOnly: true, FrameBytes: 500 * 8 * 2} // one frame of open and close
		s := newFake(t, "good").start(t, o)
		check := func(f *sdk.Frame, minBody float64, held int, sent int64) {
			t.Helper()
			g := candlesOnly(f)
			if err := s.Populate(g, sdk.Values{"fail": false, "min_body": minBody}); err != nil {
				t.Fatal(err)
			}
			el, xl := fakeSignals(f, minBody)
			if !slices.Equal(g.EnterLong, el) || !slices.Equal(g.ExitLong, xl) {
				t.Fatalf("%s, min_body %v: signals differ from the fake's", f.Pair, minBody)
			}
			if h, n := external.KeptFrames(s); h != held || n != sent {
				t.Fatalf("%s, min_body %v: %d frames kept, %d sent; want %d, %d", f.Pair, minBody, h, n, held, sent)
			}
		}
		check(a, 0, 1, 1)
		check(a, 0.05, 1, 1) // kept: parameters only
		check(a, 0.1, 1, 1)
		check(b, 0.05, 1, 2) // a is forgotten: over the budget
		check(b, 0, 1, 2)
		check(a, 0.05, 1, 3) // sent again
		changed := candlesOnly(a)
		changed.Close[250] *= 1.5 // same pair and length, other content
		check(changed, 0.05, 1, 4)
	}
	// With the shared-memory transport, the columns are copied into the
	// file with every request (cheaper than recognising a kept frame).
	s := newFake(t, "good").start(t, external.Options{})
	a := synthetic("A/USDT", 500, 1)
	for _, mb := range []float64{0, 0.05} {
		g := candlesOnly(a)
		if err := s.Populate(g, sdk.Values{"fail": false, "min_body": mb}); err != nil {
			t.Fatal(err)
		}
		if el, _ := fakeSignals(a, mb); !slices.Equal(g.EnterLong, el) {
			t.Fatalf("min_body %v: signals differ from the fake's", mb)
		}
	}
	if h, n := external.KeptFrames(s); s.Transport() != "shm" || h != 0 || n != 0 {
		t.Fatalf("transport %s: %d frames kept, %d sent", s.Transport(), h, n)
	}
}

// A strategy that answers the hello with protocol version 1 (built before
// version 2) is sent the columns with every request, and works as before.
func TestProtocolVersion1Strategy(t *testing.T) {
	s := newFake(t, "v1").start(t, external.Options{})
	a := synthetic("A/USDT", 300, 1)
	for _, mb := range []float64{0, 0.05, 0} {
		g := candlesOnly(a)
		if err := s.Populate(g, sdk.Values{"fail": false, "min_body": mb}); err != nil {
			t.Fatal(err)
		}
		el, xl := fakeSignals(a, mb)
		if !slices.Equal(g.EnterLong, el) || !slices.Equal(g.ExitLong, xl) {
			t.Fatalf("min_body %v: signals differ from the fake's", mb)
		}
	}
	if h, n := external.KeptFrames(s); h != 0 || n != 0 {
		t.Fatalf("a version 1 process keeps %d frames (%d sent)", h, n)
	}
}

// niceOf is the nice value of process pid: field 19 of /proc/pid/stat
// (the fields after the command, which is in parentheses, from the 3rd).
func niceOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, err := strconv.Atoi(fields[19-3])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return n
}

// A strategy's process runs Options.Nice steps below TradAI's priority
// (capped at 19); TradAI's own priority is unchanged.
func TestNiceLowersTheProcessPriority(t *testing.T) {
	own := niceOf(t, os.Getpid())
	for _, nice := range []int{0, 10, 19} {
		s := startProgram(t, "sma_cross", external.Options{Nice: nice})
		if got, want := niceOf(t, external.PID(s)), min(own+nice, 19); got != want {
			t.Errorf("with Nice %d the process runs at nice %d, want %d", nice, got, want)
		}
		s.Close()
	}
	if got := niceOf(t, os.Getpid()); got != own {
		t.Errorf("TradAI's own nice value changed from %d to %d", own, got)
	}
	for _, nice := range []int{-1, 20} {
		if _, err := external.Start(context.Background(), []string{filepath.Join(bins, "sma_cross")}, external.Options{Nice: nice}); err == nil || !strings.Contains(err.Error(), "outside 0..19") {
			t.Errorf("Nice %d: err %v, want the range refused", nice, err)
		}
	}
}
