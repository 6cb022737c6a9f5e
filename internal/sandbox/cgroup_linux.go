//go:build linux

package sandbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupFS is where the sandbox looks for a cgroup v2: the host's
// (hostCgroups) or, in tests, a fake hierarchy in a folder.
type cgroupFS struct {
	mount  string                           // the cgroup2 mount point
	self   string                           // the process's /proc/self/cgroup
	statfs func(path string) (int64, error) // the file system type (magic) of path
	mkdir  func(path string) error          // makes a cgroup (the kernel adds its files)
	rmdir  func(path string) error
}

func hostCgroups() cgroupFS {
	return cgroupFS{
		mount: "/sys/fs/cgroup",
		self:  "/proc/self/cgroup",
		statfs: func(p string) (int64, error) {
			var st unix.Statfs_t
			err := unix.Statfs(p, &st)
			return int64(st.Type), err
		},
		mkdir: func(p string) error { return os.Mkdir(p, 0o755) },
		rmdir: os.Remove,
	}
}

// cgroupParent is a delegated cgroup v2 the sandboxes' cgroups are made
// in.
type cgroupParent struct {
	fs          cgroupFS
	dir         string
	root        bool     // the hierarchy's root (its namespace's, in a container)
	controllers []string // memory and cpu, and pids when available
}

// delegated finds TradAI's own cgroup v2 and checks that TradAI may make
// cgroups with the memory and cpu controllers under it: the mount is a
// cgroup2 file system, /proc/self/cgroup names TradAI's cgroup in it, the
// cgroup offers the controllers, and TradAI may write its
// cgroup.subtree_control and cgroup.procs and make folders in it.
func (fs cgroupFS) delegated() (*cgroupParent, error) {
	magic, err := fs.statfs(fs.mount)
	if err != nil {
		return nil, fmt.Errorf("statfs %s: %w", fs.mount, err)
	}
	if magic != unix.CGROUP2_SUPER_MAGIC {
		return nil, fmt.Errorf("%s is not a cgroup v2 file system (the host runs cgroup v1 or hybrid)", fs.mount)
	}
	b, err := os.ReadFile(fs.self)
	if err != nil {
		return nil, fmt.Errorf("finding TradAI's cgroup: %w", err)
	}
	rel, found := "", false
	for _, line := range strings.Split(string(b), "\n") {
		if r, ok := strings.CutPrefix(line, "0::"); ok {
			rel, found = r, true
		}
	}
	if !found || !strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("%s names no cgroup v2 (no 0::/path line)", fs.self)
	}
	dir := filepath.Join(fs.mount, filepath.Clean(rel))
	ctrlFile := filepath.Join(dir, "cgroup.controllers")
	b, err = os.ReadFile(ctrlFile)
	if err != nil {
		return nil, fmt.Errorf("TradAI's cgroup: %w", err)
	}
	have := strings.Fields(string(b))
	p := &cgroupParent{fs: fs, dir: dir, root: filepath.Clean(rel) == "/"}
	for _, c := range []string{"memory", "cpu", "pids"} {
		switch {
		case slices.Contains(have, c):
			p.controllers = append(p.controllers, c)
		case c != "pids":
			return nil, fmt.Errorf("%s lacks the %s controller: the host did not delegate it to TradAI's cgroup", ctrlFile, c)
		}
	}
	for _, w := range []string{dir, filepath.Join(dir, "cgroup.subtree_control"), filepath.Join(dir, "cgroup.procs")} {
		if err := unix.Access(w, unix.W_OK); err != nil {
			return nil, fmt.Errorf("%s is not writable by TradAI (%w): the host did not delegate TradAI's cgroup", w, err)
		}
	}
	return p, nil
}

// leafName is the cgroup TradAI's own processes move to, under the
// delegated one, so that it can enable controllers for its children (a
// cgroup v2 with processes cannot).
const leafName = "tradai"

// enable enables the controllers for the delegated cgroup's children,
// first moving the processes in it (TradAI's) into its leaf cgroup —
// unless it is the root of the hierarchy as TradAI sees it: the host's
// root cgroup may have processes and children both, and all of the
// host's processes are not TradAI's to move; in a container's root the
// write then fails (busy) and names the file. Nothing is done when they
// are enabled already.
func (p *cgroupParent) enable() error {
	ctl := filepath.Join(p.dir, "cgroup.subtree_control")
	b, err := os.ReadFile(ctl)
	if err != nil {
		return err
	}
	on := strings.Fields(string(b))
	var want []string
	for _, c := range p.controllers {
		if !slices.Contains(on, c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if p.root {
		return writeCgroup(ctl, strings.Join(want, " "))
	}
	leaf := filepath.Join(p.dir, leafName)
	if err := p.fs.mkdir(leaf); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("making TradAI's own cgroup: %w", err)
	}
	procs, err := os.ReadFile(filepath.Join(p.dir, "cgroup.procs"))
	if err != nil {
		return err
	}
	for _, pid := range strings.Fields(string(procs)) {
		if err := writeCgroup(filepath.Join(leaf, "cgroup.procs"), pid); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("moving TradAI's process %s into its own cgroup: %w", pid, err)
		}
	}
	return writeCgroup(ctl, strings.Join(want, " "))
}

// newCgroup makes the cgroup of one sandbox where the host delegates a
// cgroup v2 (nil otherwise, logged); a failure to make it is refused or
// logged as cfg.Missing says.
func (cfg Config) newCgroup(l Layers, r Run, log *slog.Logger) (*cgroup, error) {
	if l.cgroup == nil {
		log.Warn("strategy sandbox runs without a cgroup v2: its memory and processor time are bounded by its rlimits only (docs/security.md)", "cgroup_v2", l.Cgroup)
		return nil, nil
	}
	cg, err := l.cgroup.create(cgroupLimits{memory: r.Memory, cpus: cfg.CPUs, processes: cfg.Processes})
	if err == nil {
		return cg, nil
	}
	if cfg.Missing == Refuse {
		return nil, fmt.Errorf("sandbox: its cgroup v2: %w (the operator chose --sandbox-missing=refuse; see docs/security.md)", err)
	}
	log.Warn("strategy sandbox runs without its cgroup v2 (--sandbox-missing=warn)", "err", err)
	return nil, nil
}

// cgroupLimits are what a sandbox's cgroup bounds.
type cgroupLimits struct {
	memory    int64   // memory.max in bytes (0 = none); no swap
	cpus      float64 // cpu.max: this many processors' time per period
	processes int     // pids.max
}

// cpuPeriod is cpu.max's period in microseconds (the kernel's default).
const cpuPeriod = 100_000

// cgroup is one sandbox's cgroup.
type cgroup struct {
	fs   cgroupFS
	dir  string
	fd   int // open on dir, for CLONE_INTO_CGROUP
	done bool
}

// create makes a cgroup for one sandbox under p with the limits l.
func (p *cgroupParent) create(l cgroupLimits) (*cgroup, error) {
	if err := p.enable(); err != nil {
		return nil, err
	}
	dir := filepath.Join(p.dir, "sandbox-"+strings.ToLower(rand.Text()[:13]))
	if err := p.fs.mkdir(dir); err != nil {
		return nil, fmt.Errorf("making the sandbox's cgroup: %w", err)
	}
	mem := "max"
	if l.memory > 0 {
		mem = strconv.FormatInt(l.memory, 10)
	}
	writes := [][2]string{
		{"memory.max", mem},
		{"memory.swap.max", "0"},
		{"cpu.max", fmt.Sprintf("%d %d", max(int64(l.cpus*cpuPeriod), 1000), cpuPeriod)},
	}
	if slices.Contains(p.controllers, "pids") {
		writes = append(writes, [2]string{"pids.max", strconv.Itoa(l.processes)})
	}
	fail := func(err error) (*cgroup, error) {
		_ = p.fs.rmdir(dir)
		return nil, err
	}
	for _, w := range writes {
		err := writeCgroup(filepath.Join(dir, w[0]), w[1])
		if w[0] == "memory.swap.max" && errors.Is(err, os.ErrNotExist) {
			continue // no swap accounting: no swap to bound
		}
		if err != nil {
			return fail(err)
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("opening the sandbox's cgroup %s: %w", dir, err))
	}
	return &cgroup{fs: p.fs, dir: dir, fd: fd}, nil
}

// writeCgroup writes v to the cgroup file path; the error names the file.
func writeCgroup(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err // names the file
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", v, path, err)
	}
	return nil
}

// remove logs what the sandbox used (peak memory, processor time) at
// debug level, kills anything left in the cgroup and removes it. Call it
// once the sandbox's init was reaped. Idempotent.
func (c *cgroup) remove(log *slog.Logger) {
	if c == nil || c.done {
		return
	}
	c.done = true
	_ = unix.Close(c.fd)
	attrs := []any{"cgroup", c.dir}
	if b, err := os.ReadFile(filepath.Join(c.dir, "memory.peak")); err == nil {
		attrs = append(attrs, "memory_peak_bytes", string(bytes.TrimSpace(b)))
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				attrs = append(attrs, "cpu_usec", v)
			}
		}
	}
	log.Debug("strategy sandbox's cgroup at its end", attrs...)
	if err := writeCgroup(filepath.Join(c.dir, "cgroup.kill"), "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("killing what is left in a strategy sandbox's cgroup", "err", err)
	}
	if err := c.fs.rmdir(c.dir); err != nil {
		log.Warn("removing a strategy sandbox's cgroup", "err", err)
	}
}
