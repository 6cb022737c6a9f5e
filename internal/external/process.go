package external

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tradai/tradai/internal/sandbox"
)

// exitGrace is how long a process whose output ended gets to finish
// exiting (so that its own exit status is reported) before it is killed,
// and how long Close waits for a clean exit.
const exitGrace = 2 * time.Second

// stderrDrain bounds the wait for the end of standard error after the
// process group was killed (something outside the group may hold it).
const stderrDrain = 500 * time.Millisecond

// process is one running strategy program.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // our write end
	stdout *os.File // our read end
	br     *bufio.Reader
	errR   *os.File
	tail   *stderrTail
	// home is the process's HOME and TMPDIR, removed when it is stopped.
	home string
	// isolated is set when the process is the init of a PID namespace of
	// its own (see sysProcAttr): all it started dies with it.
	isolated bool
	// shm is the shared memory file offered to the child (nil when none);
	// useShm is set when the child declared the shm transport.
	shm    *shmFile
	useShm bool
	// useFetch is set when the child took the fetch transport (the
	// compute extension offered): it is sent no columns and fetches them.
	useFetch bool
	// frames are the frames the process keeps, when it speaks protocol
	// version 2 (nil for version 1: every request sends its columns).
	frames *frames
	// exited is closed once the process has exited (not yet reaped) and
	// its group has been killed.
	exited chan struct{}
	// reaped is called once the process was reaped: it removes a
	// sandbox's cgroup (nil when none).
	reaped func()

	stopped bool
	killed  bool // TradAI killed it (timeout, failure, Close)
	state   *os.ProcessState
}

// spawn starts argv with pipes on its standard streams, in its own process
// group and, when isolate and the host allows it, its own PID namespace
// (see sysProcAttr), with a minimal environment (see environment), at
// opts.Nice (see start), and applies the memory limit.
func spawn(argv []string, opts *Options, isolate bool, log *slog.Logger) (*process, error) {
	home, err := os.MkdirTemp("", "tradai-strategy-")
	if err != nil {
		return nil, fmt.Errorf("make its home folder: %w", err)
	}
	p, err := spawnIn(home, argv, opts, isolate, log)
	if err != nil {
		os.RemoveAll(home)
	}
	return p, err
}

func spawnIn(home string, argv []string, opts *Options, isolate bool, log *slog.Logger) (*process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	enlargePipe(inW)
	enlargePipe(outR)
	var shm *shmFile
	if !opts.PipeOnly {
		if shm, err = newShm(); err != nil {
			log.Debug("no shared memory transport", "err", err)
			shm = nil
		}
	}
	streams := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
		if shm != nil {
			cmd.ExtraFiles = []*os.File{shm.f} // fd 3 (shmChildFD) in the child
		}
		return cmd
	}
	newCmd := func(isolate bool) *exec.Cmd {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = opts.Dir
		cmd.Env = environment(home, opts.Env)
		cmd.SysProcAttr = sysProcAttr(isolate)
		return streams(cmd)
	}
	var cmd *exec.Cmd
	var reaped func()
	if opts.Sandbox != nil {
		// The sandbox's root is mounted on the (empty) home folder; the
		// program's HOME and TMPDIR are the sandbox's scratch space. Its
		// memory limit is set by the sandbox before the program starts.
		isolate = true
		var memory int64
		if opts.MemoryLimit > 0 {
			memory = opts.MemoryLimit
		}
		cmd, reaped, err = opts.Sandbox.Command(sandbox.Run{
			Root: home, Argv: argv, Env: sandboxEnvironment(opts.Env), Dir: opts.Dir, Memory: memory,
		}, log)
		if err == nil {
			if err = start(streams(cmd), opts.Nice); err != nil {
				reaped()
			}
		}
	} else {
		cmd = newCmd(isolate)
		err = start(cmd, opts.Nice)
	}
	if err != nil && isolate && opts.Sandbox == nil {
		// No namespaces here (a container without the privilege, user
		// namespaces disabled): run in a process group only, unless the
		// program does not start either way.
		plain := newCmd(false)
		if perr := start(plain, opts.Nice); perr != nil {
			err = perr
		} else {
			log.Warn("strategy process runs without a PID namespace of its own: a process it starts that leaves its process group (setsid) can outlive it", "err", err)
			cmd, err, isolate = plain, nil, false
		}
	}
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		shm.close()
		return nil, err
	}
	p := &process{
		cmd: cmd, pid: cmd.Process.Pid, shm: shm, home: home, isolated: isolate, reaped: reaped,
		stdin: inW, stdout: outR, br: bufio.NewReaderSize(outR, 64<<10), errR: errR,
		tail:   &stderrTail{max: opts.StderrTail, done: make(chan struct{})},
		exited: make(chan struct{}),
	}
	go p.tail.run(errR, log.With("pid", p.pid))
	go func() {
		_ = waitExited(p.pid)
		killGroup(p.pid) // what it started dies with it
		close(p.exited)
	}()
	// The child runs unlimited between its exec and this call: the
	// dynamic loader and runtime start-up, well before it reads a request.
	if opts.MemoryLimit > 0 && opts.Sandbox == nil {
		if err := limitMemory(p.pid, opts.MemoryLimit); err != nil {
			p.stop()
			return nil, fmt.Errorf("limit its memory: %w", err)
		}
	}
	return p, nil
}

// abort kills the process group and unblocks any read or write on the
// pipes. It is safe from any goroutine until stop reaps the process.
func (p *process) abort() {
	killGroup(p.pid)
	past := time.Unix(1, 0)
	_ = p.stdout.SetReadDeadline(past)
	_ = p.stdin.SetWriteDeadline(past)
}

// watch arms a watchdog for one exchange with the process: after d, or
// when ctx is done, the process is aborted. The returned function disarms
// it, waits for an abort in progress, and returns ErrTimeout (or the
// context's error) when the watchdog fired. It and the exit and stderr
// grace timers run on the system clock, not an injected one: they bound a
// real operating-system process.
func (p *process) watch(ctx context.Context, d time.Duration) func() error {
	var once sync.Once
	var cause error
	fire := func(c error) {
		once.Do(func() {
			cause = c
			p.killed = true
			p.abort()
		})
	}
	t := time.AfterFunc(d, func() { fire(ErrTimeout) })
	stopCtx := context.AfterFunc(ctx, func() { fire(context.Cause(ctx)) })
	return func() error {
		t.Stop()
		stopCtx()
		once.Do(func() {}) // waits for a fire in progress; later ones do nothing
		return cause
	}
}

// waitExit gives a process whose output ended a moment to exit by itself.
func (p *process) waitExit() {
	t := time.NewTimer(exitGrace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
	}
}

// stop kills the process group (if still alive), reaps the process,
// collects the rest of standard error and closes the pipes. Idempotent;
// not safe for concurrent use.
func (p *process) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	select {
	case <-p.exited:
	default:
		p.killed = true
		killGroup(p.pid) // not reaped yet, so the group is still ours
	}
	<-p.exited
	_ = p.cmd.Wait()
	p.state = p.cmd.ProcessState
	if p.reaped != nil {
		p.reaped()
	}
	p.stdin.Close()
	p.stdout.Close()
	p.shm.close()
	t := time.NewTimer(stderrDrain)
	select {
	case <-p.tail.done:
	case <-t.C:
		p.errR.Close() // something outside the group holds it open
		<-p.tail.done
	}
	t.Stop()
	p.errR.Close()
	os.RemoveAll(p.home)
}

// ending describes how the stopped process ended, with its standard error
// (its start and its end when it is long), as a suffix for error
// messages.
//
// The memory limit (memoryLimit > 0) is mentioned when the process was
// probably stopped by it: its standard error said it ran out of memory
// (see outOfMemory), or its peak resident memory reached 90% of the limit
// (resident memory is part of the address space the limit counts). A
// crash without either, a segmentation fault for instance, is reported
// by its signal only.
func (p *process) ending(memoryLimit int64) string {
	var b strings.Builder
	st := p.state
	switch {
	case st == nil:
	case st.Exited():
		fmt.Fprintf(&b, "; the process exited with status %d", st.ExitCode())
	case p.killed:
		b.WriteString("; TradAI killed the process")
	default:
		b.WriteString("; the process was killed by " + signalName(st))
	}
	if memoryLimit > 0 && st != nil && !p.killed && (p.tail.outOfMemory() || nearLimit(st, memoryLimit)) {
		fmt.Fprintf(&b, "; it probably ran out of memory: its memory is limited to %s", formatBytes(memoryLimit))
	}
	tail := p.tail.String()
	if tail == "" {
		b.WriteString("; it wrote nothing on standard error")
	} else {
		b.WriteString("; its standard error:\n")
		b.WriteString(tail)
	}
	return b.String()
}

// signalName names the signal that ended st: "signal SIGSEGV
// (segmentation fault)".
func signalName(st *os.ProcessState) string {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return st.String()
	}
	sig := ws.Signal()
	name := unixSignalName(sig)
	if name == "" {
		return fmt.Sprintf("signal %d (%v)", int(sig), sig)
	}
	return fmt.Sprintf("signal %s (%v)", name, sig)
}

// oomPhrases are what programs write when an allocation fails, lower case:
// Go's runtime, Python's MemoryError, glibc's ENOMEM, C++, NumPy, Rust.
var oomPhrases = []string{"out of memory", "memoryerror", "cannot allocate memory", "bad_alloc", "unable to allocate", "memory allocation of"}

func saysOutOfMemory(line []byte) bool {
	l := strings.ToLower(string(line))
	for _, w := range oomPhrases {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// stderrTail reads a process's standard error to its end, logs each line
// at debug level and keeps, of max bytes, the first quarter and the last
// three quarters (a Go panic says what happened first, a Python traceback
// last).
type stderrTail struct {
	max  int
	done chan struct{}

	mu   sync.Mutex
	head []byte // the first max/4 bytes
	buf  []byte // the end of what followed
	cut  bool   // bytes between head and buf were dropped
	oom  bool   // a line said the process ran out of memory
}

func (t *stderrTail) run(r *os.File, log *slog.Logger) {
	defer close(t.done)
	br := bufio.NewReaderSize(r, 4096)
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			t.add(line)
			if debug {
				log.Debug("strategy stderr", "line", string(bytes.TrimRight(line, "\r\n")))
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (t *stderrTail) add(b []byte) {
	oom := saysOutOfMemory(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.oom = t.oom || oom
	if n := min(len(b), t.max/4-len(t.head)); n > 0 {
		t.head = append(t.head, b[:n]...)
		b = b[n:]
	}
	keep := t.max - t.max/4
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*keep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-keep:]...)
		t.cut = true
	}
}

func (t *stderrTail) outOfMemory() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.oom
}

// bound returns the last max bytes of s (valid UTF-8, "…" in front when
// cut).
func bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return "…" + strings.ToValidUTF8(s[len(s)-max:], "")
}

// String returns the kept start and end of standard error, trimmed, with
// "…" where bytes were left out.
func (t *stderrTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, cut := t.buf, t.cut
	if keep := t.max - t.max/4; len(b) > keep {
		b, cut = b[len(b)-keep:], true
	}
	if !cut {
		return strings.TrimSpace(strings.ToValidUTF8(string(t.head)+string(b), "?"))
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(t.head), "?")) + "\n…\n" +
		strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
}
