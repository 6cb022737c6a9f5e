// Package sandbox runs a program that TradAI does not trust — a tenant's
// strategy — so that it cannot read, reach or harm anything that is not
// its own (docs/security.md).
//
// Go cannot run code between fork and exec, so the sandbox is set up by
// TradAI's own binary run again as the sandbox's init: Command returns a
// command that starts the current executable with a hidden first argument
// in new user, PID, mount, network, IPC and UTS namespaces. Main, called
// first thing in main (and in TestMain of tests that start sandboxes),
// recognises it and, in the child: builds a read-only root holding only
// the paths of Config.ReadOnly, a few devices and a size-limited scratch
// tmpfs at /tmp; pivots into it; sets the rlimits; drops every capability
// (and, when TradAI is root, becomes nobody); applies Landlock and a
// seccomp filter; then executes the program with exactly the environment
// given. The network namespace has only a loopback interface that is down:
// nothing, not even TradAI's API or database on the host's loopback, can
// be reached.
//
// A binary whose main does not call Main refuses the hidden argument as
// an unknown flag and exits: a sandbox is never silently skipped.
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultScratch   = 64 << 20
	DefaultCPUTime   = 30 * time.Minute
	DefaultProcesses = 64
	DefaultOpenFiles = 256
	DefaultCPUs      = 1
)

// Missing says what happens when an optional layer (Landlock, seccomp)
// is not available on the host, or a delegated cgroup v2 cannot be set
// up. A host that delegates no cgroup v2 at all is warned about in
// either mode: the rlimits still bound memory and processor time.
type Missing string

const (
	// Refuse: the program does not run; the error names the layer.
	Refuse Missing = "refuse"
	// Warn: the program runs without the layer and a warning is logged
	// each time a sandbox starts.
	Warn Missing = "warn"
)

// ParseMissing parses a --sandbox-missing value.
func ParseMissing(s string) (Missing, error) {
	switch m := Missing(s); m {
	case Refuse, Warn:
		return m, nil
	}
	return "", fmt.Errorf("sandbox-missing %q: want %q or %q", s, Refuse, Warn)
}

// Config is a sandbox. The zero value is usable: a sandbox that shows only
// the system's shared libraries, with the defaults below.
type Config struct {
	// ReadOnly are host paths (files or folders) shown read-only at the
	// same path inside, besides SystemPaths. A symbolic link is recreated
	// inside and its target shown too.
	ReadOnly []string
	// Scratch is the size of the writable tmpfs at /tmp, the program's
	// HOME and TMPDIR (default DefaultScratch). It also bounds the size of
	// any file the program writes (RLIMIT_FSIZE).
	Scratch int64
	// CPUTime is the processor time the program may use in all (RLIMIT_CPU;
	// default DefaultCPUTime): it is then killed by SIGXCPU, then SIGKILL.
	CPUTime time.Duration
	// Processes is how many processes and threads it may run at once
	// (RLIMIT_NPROC, counted per sandbox; default DefaultProcesses).
	Processes int
	// OpenFiles is how many files it may hold open (RLIMIT_NOFILE; default
	// DefaultOpenFiles).
	OpenFiles int
	// CPUs is the processor time the program may use, in processors
	// (cpu.max of its cgroup; default 1), where the host delegates a
	// cgroup v2.
	CPUs float64
	// Missing is what happens when Landlock or seccomp is not available,
	// or the delegated cgroup v2 fails (default Refuse). The other layers
	// (namespaces, the private root, rlimits, dropped privileges) are
	// always required.
	Missing Missing
}

func (c Config) withDefaults() Config {
	if c.Scratch <= 0 {
		c.Scratch = DefaultScratch
	}
	if c.CPUTime <= 0 {
		c.CPUTime = DefaultCPUTime
	}
	if c.Processes <= 0 {
		c.Processes = DefaultProcesses
	}
	if c.OpenFiles <= 0 {
		c.OpenFiles = DefaultOpenFiles
	}
	if c.CPUs <= 0 {
		c.CPUs = DefaultCPUs
	}
	if c.Missing == "" {
		c.Missing = Refuse
	}
	return c
}

// With returns a copy of c that also shows paths.
func (c *Config) With(paths ...string) *Config {
	d := *c
	d.ReadOnly = append(append([]string{}, c.ReadOnly...), paths...)
	return &d
}

// SystemPaths are shown read-only in every sandbox: the system's shared
// libraries and the loader's cache, which dynamically linked programs and
// interpreters need. Those that do not exist on the host are left out.
func SystemPaths() []string {
	return []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"}
}

// Scratch is the writable folder inside a sandbox: HOME and TMPDIR.
const Scratch = "/tmp"

// Path is the PATH inside a sandbox.
const Path = "/usr/bin:/bin"

// initArg is the hidden first argument that makes Main run the init.
const initArg = "-tradai-sandbox-init"

// exitInit is the exit status of an init that could not set the sandbox
// up; its standard error says why.
const exitInit = 125

// spec is what the init receives (as JSON in its second argument).
type spec struct {
	Root      string   // the empty folder the new root is mounted on
	ReadOnly  []string // absolute, cleaned
	Scratch   int64
	CPU       int64 // seconds
	Memory    int64 // RLIMIT_AS; 0 = none
	Processes int
	OpenFiles int
	Nobody    bool // become nobody (TradAI is root)
	Dir       string
	Argv      []string
	Env       []string
}

// Run is one program to run in a sandbox.
type Run struct {
	// Root is an empty folder the sandbox's root is mounted on (in the
	// sandbox's own mount namespace: outside, it stays empty).
	Root string
	Argv []string // Argv[0] must be an absolute path shown inside
	Env  []string // the whole environment
	Dir  string   // working directory inside ("" = Scratch)
	// Memory is the address space limit in bytes (RLIMIT_AS; 0 = none),
	// in place before the program's first instruction; with a cgroup v2,
	// also its memory.max, swap not allowed.
	Memory int64
}

// Command returns the command that runs r in the sandbox c, and done,
// which the caller calls once the command's process was reaped or did not
// start: it removes the sandbox's cgroup. The caller sets the command's
// standard streams and extra files (which the program inherits as they
// are: the shared-memory transport's file works inside) and must not
// replace its SysProcAttr.
//
// A missing optional layer is refused or logged on log as c.Missing says;
// a host without a delegated cgroup v2 is logged.
func (c *Config) Command(r Run, log *slog.Logger) (cmd *exec.Cmd, done func(), err error) {
	if err := supported(); err != nil {
		return nil, nil, err
	}
	if len(r.Argv) == 0 || !filepath.IsAbs(r.Argv[0]) {
		return nil, nil, errors.New("sandbox: the program must be given by its absolute path")
	}
	if r.Root == "" {
		return nil, nil, errors.New("sandbox: no folder to mount its root on")
	}
	cfg := c.withDefaults()
	layers := Probe()
	if missing := layers.missing(); len(missing) > 0 {
		if cfg.Missing == Refuse {
			return nil, nil, fmt.Errorf("sandbox: %s (the operator chose --sandbox-missing=refuse; see docs/security.md)", strings.Join(missing, "; "))
		}
		log.Warn("strategy sandbox runs without a layer the host lacks (--sandbox-missing=warn)", "missing", strings.Join(missing, "; "))
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: finding TradAI's own binary to start the sandbox with: %w", err)
	}
	s := spec{
		Root: r.Root, Scratch: cfg.Scratch, CPU: int64((cfg.CPUTime + time.Second - 1) / time.Second),
		Memory: r.Memory, Processes: cfg.Processes, OpenFiles: cfg.OpenFiles,
		Nobody: os.Geteuid() == 0, Dir: r.Dir, Argv: r.Argv, Env: r.Env,
	}
	if s.Dir == "" {
		s.Dir = Scratch
	}
	for _, p := range append(SystemPaths(), cfg.ReadOnly...) {
		if !filepath.IsAbs(p) {
			return nil, nil, fmt.Errorf("sandbox: the path %q to show inside is not absolute", p)
		}
		s.ReadOnly = append(s.ReadOnly, filepath.Clean(p))
	}
	arg, err := json.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	cg, err := cfg.newCgroup(layers, r, log)
	if err != nil {
		return nil, nil, err
	}
	return &exec.Cmd{
		Path:        self,
		Args:        []string{"tradai-sandbox", initArg, string(arg)},
		Env:         []string{},
		Dir:         "/",
		SysProcAttr: sysProcAttr(cg),
	}, func() { cg.remove(log) }, nil
}
