package external

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

func supported() error { return nil }

// sysProcAttr puts the child in a process group of its own, so that
// killing the group also kills what it started. With isolate, the child
// is also the first process (init) of a PID namespace of its own: when it
// dies, by itself or killed, the kernel kills every process in the
// namespace, including those that left its process group or session
// (setsid, double fork). As root that needs no more; otherwise the
// namespace lives in a user namespace of its own that maps our user and
// group onto themselves (no privilege is gained).
func sysProcAttr(isolate bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if !isolate {
		return a
	}
	a.Cloneflags = syscall.CLONE_NEWPID
	if uid := os.Geteuid(); uid != 0 {
		gid := os.Getegid()
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

// start starts cmd nice steps below TradAI's CPU priority (0: at it).
// The child inherits the priority of the thread that forks it, so it is
// forked from a thread of its own whose priority was lowered first: the
// program runs at its priority from its first instruction, and every
// thread or process it starts inherits it.
func start(cmd *exec.Cmd, nice int) error {
	if nice == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go startNiced(cmd, nice, errc)
	return <-errc
}

// startNiced is start's thread. It never unlocks a thread whose priority
// it lowered: the thread ends with the goroutine rather than running Go
// code at that priority (an unprivileged process cannot raise it back),
// and the Go runtime starts no thread from it (it starts new threads of
// a locked one from a template thread). The main thread, whose priority
// tools show as the process's, is not lowered: it stays locked to this
// goroutine while another thread does the work.
func startNiced(cmd *exec.Cmd, nice int, errc chan<- error) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	if tid == unix.Getpid() {
		other := make(chan error, 1)
		go startNiced(cmd, nice, other)
		errc <- <-other
		runtime.UnlockOSThread()
		return
	}
	// The system call returns 20 - nice (1..40).
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err == nil {
		err = unix.Setpriority(unix.PRIO_PROCESS, tid, min(20-raw+nice, 19))
	}
	if err != nil {
		errc <- fmt.Errorf("lower its CPU priority: %w", err)
		return
	}
	errc <- cmd.Start()
}

// limitMemory sets RLIMIT_AS (soft and hard) of the running process pid.
// A process that already exited is not an error.
func limitMemory(pid int, bytes int64) error {
	rl := unix.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &rl, nil); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// waitExited blocks until the child pid has exited, without reaping it: the
// zombie keeps the pid and its process group reserved, so killing the
// group stays safe until the caller reaps it with Wait.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// killGroup sends SIGKILL to the process group pid. Only call it before
// the group leader pid is reaped.
func killGroup(pid int) { _ = unix.Kill(-pid, unix.SIGKILL) }

// enlargePipe asks for a 1 MiB pipe buffer (the default unprivileged
// maximum) so that columns cross in fewer, larger chunks. Failure is
// harmless.
func enlargePipe(f *os.File) {
	if c, err := f.SyscallConn(); err == nil {
		_ = c.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
}

// unixSignalName is the name of sig ("SIGSEGV"), or "" when unknown.
func unixSignalName(sig syscall.Signal) string { return unix.SignalName(sig) }

// nearLimit reports whether the peak resident memory of the ended process
// reached 90% of limit.
func nearLimit(st *os.ProcessState, limit int64) bool {
	ru, ok := st.SysUsage().(*syscall.Rusage)
	return ok && ru.Maxrss*1024 >= limit/10*9 // Maxrss is in KiB on Linux
}
