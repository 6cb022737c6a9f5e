//go:build linux

package sandbox

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeCgroups is a cgroup v2 hierarchy in a folder, with the files the
// kernel would show: TradAI in /tradai.service (processes 4242 and 4243),
// offering the controllers given. Every cgroup made gets the interface
// files in files (a name → its content).
type fakeCgroups struct {
	cgroupFS
	dir   string // TradAI's cgroup
	files map[string]string
}

func newFakeCgroups(t *testing.T, controllers string) *fakeCgroups {
	t.Helper()
	root := t.TempDir()
	f := &fakeCgroups{
		dir: filepath.Join(root, "cgroup", "tradai.service"),
		files: map[string]string{
			"cgroup.procs": "", "cgroup.kill": "", "memory.max": "max\n", "memory.swap.max": "max\n",
			"cpu.max": "max 100000\n", "pids.max": "max\n",
			"memory.peak": "31457280\n", "cpu.stat": "usage_usec 1500000\nuser_usec 1400000\nsystem_usec 100000\n",
		},
	}
	f.cgroupFS = cgroupFS{
		mount:  filepath.Join(root, "cgroup"),
		self:   filepath.Join(root, "self-cgroup"),
		statfs: func(string) (int64, error) { return unix.CGROUP2_SUPER_MAGIC, nil },
		mkdir: func(p string) error {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			for name, content := range f.files {
				if err := os.WriteFile(filepath.Join(p, name), []byte(content), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		rmdir: os.RemoveAll,
	}
	must(t, os.MkdirAll(f.dir, 0o755))
	must(t, os.WriteFile(f.self, []byte("0::/tradai.service\n"), 0o644))
	f.write(t, "cgroup.controllers", controllers+"\n")
	f.write(t, "cgroup.subtree_control", "\n")
	f.write(t, "cgroup.procs", "4242\n4243\n")
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fakeCgroups) write(t *testing.T, rel, content string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(f.dir, rel), []byte(content), 0o644))
}

func (f *fakeCgroups) read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

// Detection: a cgroup2 mount, TradAI's cgroup from its 0:: line, the
// memory and cpu controllers offered; each refusal names what is missing.
func TestCgroupDelegated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*fakeCgroups)
		want   string // in the error; "" = delegated
	}{
		{"delegated", func(*fakeCgroups) {}, ""},
		{"cgroup v1", func(f *fakeCgroups) {
			f.statfs = func(string) (int64, error) { return unix.TMPFS_MAGIC, nil }
		}, "is not a cgroup v2 file system"},
		{"statfs fails", func(f *fakeCgroups) {
			f.statfs = func(string) (int64, error) { return 0, unix.ENOENT }
		}, "statfs " + "MOUNT"},
		{"no 0:: line", func(f *fakeCgroups) {
			must(t, os.WriteFile(f.self, []byte("4:memory:/x\n1:cpu:/\n"), 0o644))
		}, "self-cgroup names no cgroup v2"},
		{"no memory controller", func(f *fakeCgroups) { f.write(t, "cgroup.controllers", "cpu io pids\n") },
			"tradai.service/cgroup.controllers lacks the memory controller"},
		{"no cpu controller", func(f *fakeCgroups) { f.write(t, "cgroup.controllers", "memory pids\n") },
			"lacks the cpu controller"},
		{"its cgroup is gone", func(f *fakeCgroups) { must(t, os.RemoveAll(f.dir)) },
			"tradai.service/cgroup.controllers: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCgroups(t, "cpuset cpu io memory pids")
			tc.break_(f)
			p, err := f.delegated()
			want := strings.ReplaceAll(tc.want, "MOUNT", f.mount)
			if want == "" {
				if err != nil || p.dir != f.dir || !slices.Equal(p.controllers, []string{"memory", "cpu", "pids"}) {
					t.Fatalf("got %+v, %v; want %s with memory, cpu, pids", p, err, f.dir)
				}
				if l := probe(f.cgroupFS); l.Cgroup != "yes: "+f.dir || l.cgroup == nil {
					t.Fatalf("probe says %q", l.Cgroup)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %q", err, want)
			}
			if l := probe(f.cgroupFS); !strings.HasPrefix(l.Cgroup, "no: ") || l.cgroup != nil {
				t.Fatalf("probe says %q", l.Cgroup)
			}
		})
	}
}

// Without write access to its cgroup TradAI has no delegation (root may
// write anything: run as another user).
func TestCgroupNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes read-only files: this case needs an unprivileged user")
	}
	f := newFakeCgroups(t, "cpu memory")
	must(t, os.Chmod(filepath.Join(f.dir, "cgroup.subtree_control"), 0o444))
	if _, err := f.delegated(); err == nil || !strings.Contains(err.Error(), "cgroup.subtree_control is not writable") {
		t.Fatalf("error %v", err)
	}
}

// A sandbox's cgroup: TradAI's processes moved to its leaf, the
// controllers enabled, the limits written; at its end, its usage logged,
// what is left killed, the cgroup removed.
func TestCgroupCreateRemove(t *testing.T) {
	f := newFakeCgroups(t, "cpuset cpu io memory pids")
	p, err := f.delegated()
	must(t, err)
	cg, err := p.create(cgroupLimits{memory: 512 << 20, cpus: 1.5, processes: 64})
	must(t, err)
	if got := f.read(t, filepath.Join(f.dir, "cgroup.subtree_control")); got != "+memory +cpu +pids" {
		t.Errorf("subtree_control %q", got)
	}
	if got := f.read(t, filepath.Join(f.dir, leafName, "cgroup.procs")); got != "4243" { // each write moves one; the last stays in the fake
		t.Errorf("leaf cgroup.procs %q, want the processes written one by one", got)
	}
	if filepath.Dir(cg.dir) != f.dir || !strings.HasPrefix(filepath.Base(cg.dir), "sandbox-") {
		t.Fatalf("cgroup %s", cg.dir)
	}
	for file, want := range map[string]string{"memory.max": "536870912", "memory.swap.max": "0", "cpu.max": "150000 100000", "pids.max": "64"} {
		if got := f.read(t, filepath.Join(cg.dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kill := filepath.Join(cg.dir, "cgroup.kill")
	f.rmdir = func(d string) error {
		if d == cg.dir && f.read(t, kill) != "1" {
			t.Error("removed before cgroup.kill")
		}
		return os.RemoveAll(d)
	}
	cg.fs = f.cgroupFS
	cg.remove(log)
	cg.remove(log) // idempotent
	if _, err := os.Stat(cg.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cgroup is still there: %v", err)
	}
	if s := logs.String(); !strings.Contains(s, "memory_peak_bytes=31457280") || !strings.Contains(s, "cpu_usec=1500000") || strings.Count(s, "at its end") != 1 {
		t.Errorf("log %q", s)
	}

	// Enabled already (as the kernel shows it): nothing moved again; no
	// pids controller: no pids.max; no memory limit: max.
	f.write(t, "cgroup.subtree_control", "cpu memory\n")
	must(t, os.RemoveAll(filepath.Join(f.dir, leafName)))
	p.controllers = []string{"memory", "cpu"}
	cg, err = p.create(cgroupLimits{cpus: 1, processes: 64})
	must(t, err)
	if _, err := os.Stat(filepath.Join(f.dir, leafName)); !errors.Is(err, os.ErrNotExist) {
		t.Error("processes moved although the controllers were enabled")
	}
	if got := f.read(t, filepath.Join(cg.dir, "memory.max")); got != "max" {
		t.Errorf("memory.max %q", got)
	}
	if got := f.read(t, filepath.Join(cg.dir, "pids.max")); got != "max\n" {
		t.Errorf("pids.max written without the pids controller: %q", got)
	}
	cg.remove(slog.New(slog.DiscardHandler))
}

// In the hierarchy's root cgroup, the controllers are enabled without
// moving any process (they are the whole host's).
func TestCgroupRoot(t *testing.T) {
	f := newFakeCgroups(t, "cpu memory pids")
	must(t, os.WriteFile(f.self, []byte("0::/\n"), 0o644))
	f.dir = f.mount
	f.write(t, "cgroup.controllers", "cpu memory pids\n")
	f.write(t, "cgroup.subtree_control", "\n")
	f.write(t, "cgroup.procs", "1\n2\n")
	p, err := f.delegated()
	must(t, err)
	if !p.root || p.dir != f.mount {
		t.Fatalf("%+v", p)
	}
	cg, err := p.create(cgroupLimits{cpus: 1, processes: 64})
	must(t, err)
	defer cg.remove(slog.New(slog.DiscardHandler))
	if _, err := os.Stat(filepath.Join(f.mount, leafName)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the root cgroup's processes were moved")
	}
	if got := f.read(t, filepath.Join(f.mount, "cgroup.subtree_control")); got != "+memory +cpu +pids" {
		t.Errorf("subtree_control %q", got)
	}
}

// A failed write names the file and leaves no cgroup behind; the operator's
// choice decides between refusing the sandbox and running it without.
func TestCgroupFailure(t *testing.T) {
	f := newFakeCgroups(t, "cpu memory pids")
	delete(f.files, "cpu.max") // a kernel without the cpu controller's files
	p, err := f.delegated()
	must(t, err)
	_, err = p.create(cgroupLimits{cpus: 1, processes: 64})
	if err == nil || !strings.Contains(err.Error(), "cpu.max") {
		t.Fatalf("error %v, want one naming cpu.max", err)
	}
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sandbox-") {
			t.Errorf("%s left behind", e.Name())
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	l := Layers{Cgroup: "yes: " + f.dir, cgroup: p}
	if _, err := (Config{Missing: Refuse}).newCgroup(l, Run{}, log); err == nil || !strings.Contains(err.Error(), "cpu.max") || !strings.Contains(err.Error(), "--sandbox-missing=refuse") {
		t.Errorf("refuse: %v", err)
	}
	if cg, err := (Config{Missing: Warn}).newCgroup(l, Run{}, log); cg != nil || err != nil || !strings.Contains(logs.String(), "cpu.max") {
		t.Errorf("warn: %v %v, log %q", cg, err, logs.String())
	}
	// No delegated cgroup at all: a warning in either mode.
	logs.Reset()
	for _, m := range []Missing{Refuse, Warn} {
		if cg, err := (Config{Missing: m}).newCgroup(Layers{Cgroup: "no: v1"}, Run{}, log); cg != nil || err != nil {
			t.Errorf("%s without a cgroup: %v %v", m, cg, err)
		}
	}
	if strings.Count(logs.String(), "without a cgroup v2") != 2 {
		t.Errorf("log %q", logs.String())
	}
}
