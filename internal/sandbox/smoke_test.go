package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/sandbox"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

func TestGoStrategyInSandbox(t *testing.T) {
	prog := filepath.Join(bins, "sma_cross")
	cfg := (&sandbox.Config{}).With(prog)
	st, err := external.Start(context.Background(), []string{prog}, external.Options{Sandbox: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Transport(); got != "shm" {
		t.Errorf("transport %q in the sandbox, want shm", got)
	}
	f := frame(5000)
	p, _ := st.Spec().Resolve(nil)
	if err := st.Populate(f, p); err != nil {
		t.Fatal(err)
	}
	want := frame(5000)
	if err := (strategy.SMACross{}).Populate(want, p); err != nil {
		t.Fatal(err)
	}
	for i := range f.EnterLong {
		if f.EnterLong[i] != want.EnterLong[i] || f.ExitLong[i] != want.ExitLong[i] {
			t.Fatalf("candle %d: signals differ from the built-in's", i)
		}
	}
}

func frame(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m", Time: make([]int64, n), Open: make([]float64, n),
		High: make([]float64, n), Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	for i := range n {
		price *= 1 + 0.002*float64((i*7919)%13-6)/6
		f.Time[i] = 1_600_000_000_000 + int64(i)*60_000
		f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i] = price, price*1.001, price*0.999, price, 1
	}
	return f
}

// On a host that delegates a cgroup v2 to TradAI, a sandboxed strategy
// runs in a cgroup of its own, with its memory limit, removed at its end.
// (The cgroup's logic is tested against a fake hierarchy in
// cgroup_linux_test.go.)
func TestCgroupOnHost(t *testing.T) {
	if l := sandbox.Probe(); !strings.HasPrefix(l.Cgroup, "yes") {
		t.Skipf("the host delegates no cgroup v2 to this process (%s): the layer is tested against a fake hierarchy only", l.Cgroup)
	}
	prog := filepath.Join(bins, "sma_cross")
	before := children()
	st, err := external.Start(context.Background(), []string{prog}, external.Options{Sandbox: (&sandbox.Config{}).With(prog), MemoryLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var pid int
	for _, c := range children() {
		if !slices.Contains(before, c) {
			pid = c
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	rel, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "0::")
	if !ok || !strings.Contains(rel, "/sandbox-") {
		t.Fatalf("the strategy's cgroup: %q", b)
	}
	dir := filepath.Join("/sys/fs/cgroup", rel)
	if m, err := os.ReadFile(filepath.Join(dir, "memory.max")); err != nil || strings.TrimSpace(string(m)) != "1073741824" {
		t.Errorf("memory.max %q, %v", m, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cgroup %s outlived its sandbox: %v", dir, err)
	}
}

// children are this process's child processes.
func children() []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// A sandboxed strategy runs at external.Options.Nice below TradAI's
// priority: the sandbox's init, and so the program it executes, is
// forked at that priority.
func TestSandboxedStrategyRunsNiced(t *testing.T) {
	prog := filepath.Join(bins, "sma_cross")
	st, err := external.Start(context.Background(), []string{prog}, external.Options{Sandbox: (&sandbox.Config{}).With(prog), Nice: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	own := statField(t, "self", 19)
	found := false
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid := filepath.Base(d)
		b, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(b)) != "sma_cross" || statField(t, pid, 4) != os.Getpid() {
			continue
		}
		found = true
		if got, want := statField(t, pid, 19), min(own+10, 19); got != want {
			t.Errorf("the sandboxed program runs at nice %d, want %d", got, want)
		}
	}
	if !found {
		t.Fatal("no sma_cross process among this test's children")
	}
}

// statField is field n (from 1) of /proc/pid/stat, a number, for n ≥ 3.
func statField(t *testing.T, pid string, n int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	v, err := strconv.Atoi(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[n-3])
	if err != nil {
		t.Fatalf("/proc/%s/stat field %d: %v", pid, n, err)
	}
	return v
}
