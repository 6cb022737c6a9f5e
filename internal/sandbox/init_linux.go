//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

func supported() error { return nil }

// nobody is the user and group a sandbox runs as when TradAI is root.
const nobody = 65534

// sysProcAttr creates the init in new user, PID, mount, network, IPC and
// UTS namespaces, in a process group of its own. The init is root of its
// user namespace, which owns the others, so that it can build the root.
// When TradAI is root, that root is the host's (so that it can show
// files only root may reach, such as an interpreter under /root) and
// nobody is mapped too, which the init becomes; otherwise it is TradAI's
// own user, whose privileges it has outside and keeps. With a cgroup, the
// init starts in it (CLONE_INTO_CGROUP): it never runs outside it.
func sysProcAttr(cg *cgroup) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setpgid: true,
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNS |
			syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
	}
	if cg != nil {
		a.UseCgroupFD, a.CgroupFD = true, cg.fd
	}
	if uid := os.Geteuid(); uid == 0 {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: nobody, HostID: nobody, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: nobody, HostID: nobody, Size: 1}}
		a.GidMappingsEnableSetgroups = true
	} else {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// Main runs the sandbox's init when this process was started as one by a
// Command, and then never returns: it executes the sandboxed program, or
// exits with status 125 after writing why it could not on standard error.
// Otherwise it returns at once. Call it first thing in main, and in
// TestMain of tests that start sandboxes.
func Main() {
	if len(os.Args) != 3 || os.Args[1] != initArg {
		return
	}
	// Capabilities, securebits and the thread's credentials are per
	// thread: set them up on the thread that executes the program.
	runtime.LockOSThread()
	var s spec
	err := json.Unmarshal([]byte(os.Args[2]), &s)
	if err == nil {
		err = s.enter()
	}
	if err == nil {
		err = s.exec()
	}
	fmt.Fprintf(os.Stderr, "tradai sandbox: %v\n", err)
	os.Exit(exitInit)
}

// enter sets every layer up, in the init, in order; seccomp last, as it
// forbids what the earlier steps do.
func (s *spec) enter() error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"building its root", s.buildRoot},
		{"naming its host", func() error { return unix.Sethostname([]byte("tradai-sandbox")) }},
		{"entering its working folder", func() error { return unix.Chdir(s.Dir) }},
		{"setting its limits", s.limit},
		{"dropping privileges", s.dropPrivileges},
		{"applying Landlock", s.landlock},
		{"applying the seccomp filter", applySeccomp},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
	}
	return nil
}

// devices are shown in every sandbox (read and write).
func devices() []string { return []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"} }

// buildRoot mounts a tmpfs on s.Root, shows the read-only paths, the
// devices and a scratch tmpfs in it, makes it the root and forgets the
// host's.
func (s *spec) buildRoot() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := s.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mounting its root: %w", err)
	}
	// The scratch space first: shown paths under /tmp go inside it.
	owner := 0
	if s.Nobody {
		owner = nobody
	}
	scratch := filepath.Join(root, Scratch)
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	opts := fmt.Sprintf("size=%d,mode=0700,uid=%d,gid=%d", s.Scratch, owner, owner)
	if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mounting its scratch space: %w", err)
	}
	paths, links, err := resolve(s.ReadOnly)
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(l[0])), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	for _, p := range paths {
		if err := bind(root, p, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV); err != nil {
			return err
		}
	}
	for _, d := range devices() {
		if err := bind(root, d, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC); err != nil {
			return err
		}
	}
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making its root read-only: %w", err)
	}
	return nil
}

// resolve returns the real paths to show (those that exist; none inside
// another) and the symbolic links to recreate ([path, target]).
func resolve(in []string) (paths []string, links [][2]string, err error) {
	for _, p := range in {
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return nil, nil, err
			}
			links = append(links, [2]string{p, target})
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // a dangling link
		}
		paths = append(paths, real)
	}
	slices.Sort(paths)
	var out []string
	for _, p := range paths {
		if n := len(out); n > 0 && (p == out[n-1] || strings.HasPrefix(p, out[n-1]+"/")) {
			continue
		}
		out = append(out, p)
	}
	return out, links, nil
}

// bind shows the host path p at the same path under root, with the mount
// attributes attr (recursively).
func bind(root, p string, attr uint64) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	at := filepath.Join(root, p)
	if fi.IsDir() {
		err = os.MkdirAll(at, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(at), 0o755); err == nil {
		var f *os.File
		if f, err = os.OpenFile(at, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("making the mount point of %s: %w", p, err)
	}
	if err := unix.Mount(p, at, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("showing %s: %w", p, err)
	}
	if err := unix.MountSetattr(-1, at, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: attr}); err != nil {
		return fmt.Errorf("making %s read-only: %w", p, err)
	}
	return nil
}

// exec limits the address space and executes the program. The limit
// comes last, with everything execve needs allocated before it: this
// Go runtime may fail to allocate under a limit meant for the program.
func (s *spec) exec() error {
	path, err := syscall.BytePtrFromString(s.Argv[0])
	if err != nil {
		return err
	}
	argv, err := syscall.SlicePtrFromStrings(s.Argv)
	if err != nil {
		return err
	}
	env, err := syscall.SlicePtrFromStrings(s.Env)
	if err != nil {
		return err
	}
	if s.Memory > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: uint64(s.Memory), Max: uint64(s.Memory)}); err != nil {
			return fmt.Errorf("setting its limits: memory: %w", err)
		}
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&env[0])))
	return fmt.Errorf("starting %s in the sandbox: %w", s.Argv[0], errno)
}

// limit sets the rlimits but the address space's (see exec): soft limits with the hard ones just above, so
// that a process over its CPU time gets SIGXCPU, then SIGKILL.
func (s *spec) limit() error {
	type rl struct {
		res      int
		name     string
		cur, max uint64
	}
	ls := []rl{
		{unix.RLIMIT_CPU, "CPU time", uint64(s.CPU), uint64(s.CPU) + 1},
		{unix.RLIMIT_NPROC, "processes", uint64(s.Processes), uint64(s.Processes)},
		{unix.RLIMIT_NOFILE, "open files", uint64(s.OpenFiles), uint64(s.OpenFiles)},
		{unix.RLIMIT_FSIZE, "file size", uint64(s.Scratch), uint64(s.Scratch)},
		{unix.RLIMIT_CORE, "core dumps", 0, 0},
		{unix.RLIMIT_MEMLOCK, "locked memory", 0, 0},
		{unix.RLIMIT_MSGQUEUE, "message queues", 0, 0},
	}
	for _, l := range ls {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.cur, Max: l.max}); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}
	return nil
}

// Securebits (linux/securebits.h): root gets no capabilities on exec,
// set-user-ID changes are not undone, capabilities are not kept across
// them, ambient capabilities cannot be raised; each locked.
const (
	secbitNoroot                  = 1 << 0
	secbitNorootLocked            = 1 << 1
	secbitNoSetuidFixupLocked     = 1 << 3
	secbitKeepCapsLocked          = 1 << 5
	secbitNoCapAmbientRaise       = 1 << 6
	secbitNoCapAmbientRaiseLocked = 1 << 7
)

// dropPrivileges empties the capability bounding and ambient sets, locks
// the securebits so that executing a program, set-user-ID root or not,
// never grants a capability, becomes nobody when TradAI is root, and
// clears this thread's capabilities.
func (s *spec) dropPrivileges() error {
	for c := 0; ; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the last capability
		}
		if err != nil {
			return fmt.Errorf("bounding set: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("ambient capabilities: %w", err)
	}
	bits := secbitNoroot | secbitNorootLocked | secbitNoSetuidFixupLocked | secbitKeepCapsLocked |
		secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("securebits: %w", err)
	}
	if s.Nobody {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		if err := syscall.Setresgid(nobody, nobody, nobody); err != nil {
			return fmt.Errorf("group: %w", err)
		}
		if err := syscall.Setresuid(nobody, nobody, nobody); err != nil {
			return fmt.Errorf("user: %w", err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	return nil
}

// landlock restricts the file system to reading (and executing) the shown
// paths and writing the scratch space and the devices, forbids TCP bind
// and connect, abstract Unix sockets and signals to processes outside the
// sandbox — as far as the kernel's Landlock ABI goes (Command refused or
// warned about a kernel without Landlock).
func (s *spec) landlock() error {
	paths, _, err := resolve(s.ReadOnly)
	if err != nil {
		return err
	}
	var dirs, files []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		} else if err == nil {
			files = append(files, p)
		}
	}
	fd, flags, err := landlock.V11.BestEffort().NewRulesetFD(
		landlock.RODirs(dirs...),
		landlock.ROFiles(files...),
		landlock.RWDirs(Scratch),
		landlock.RWFiles(devices()...),
	)
	if err != nil || fd < 0 { // fd < 0: no Landlock, which Command refused or warned about
		return err
	}
	defer unix.Close(fd)
	// On this thread only, the one that executes the program (the
	// others end with the execve): the library's all-threads variant
	// needs /proc, which the sandbox does not have.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return llsys.LandlockRestrictSelf(fd, flags)
}

// deniedSyscalls fail with EPERM ("Operation not permitted"), so that the
// program's error says what it was refused, rather than killing it:
// debugging and tracing other processes, mounting and namespaces, kernel
// keyrings, BPF, performance counters, kernel modules and kexec, system
// administration, file handles, userfaultfd, io_uring (which bypasses
// seccomp for the calls it makes) and the execution domain.
func deniedSyscalls() []string {
	names := []string{
		"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
		"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
		"fsmount", "fspick", "mount_setattr", "unshare", "setns",
		"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "fanotify_init",
		"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
		"settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname", "setdomainname",
		"open_by_handle_at", "name_to_handle_at", "userfaultfd", "personality",
		"io_uring_setup", "io_uring_enter", "io_uring_register",
	}
	if runtime.GOARCH == "amd64" {
		names = append(names, "iopl", "ioperm", "uselib")
	}
	return names
}

// namespaceFlags are the clone flags that make new namespaces.
const namespaceFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// applySeccomp loads the filter on every thread, with no_new_privs:
// denied calls fail with EPERM; clone with a namespace flag too; clone3,
// whose flags a filter cannot read, fails with ENOSYS, so that the C
// library falls back to clone.
func applySeccomp() error {
	return seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionErrno, Names: deniedSyscalls()},
				{Action: seccomp.ActionErrno, NamesWithCondtions: []seccomp.NameWithConditions{{
					Name:       "clone",
					Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsSet, Value: namespaceFlags}},
				}}},
				{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: []string{"clone3"}},
			},
		},
	})
}
