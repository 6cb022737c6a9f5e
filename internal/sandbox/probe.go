package sandbox

import "fmt"

// Layers is what the host offers the sandbox beyond what every supported
// Linux has (namespaces, pivot_root, rlimits, capabilities).
type Layers struct {
	// Landlock is the kernel's Landlock ABI version (0 = none: not built
	// in, or not in the boot's lsm= list).
	Landlock int
	// Seccomp is set when the kernel filters system calls with seccomp.
	Seccomp bool
	// Cgroup says whether TradAI's cgroup v2, delegated with the memory
	// and cpu controllers, is there for the sandboxes' cgroups ("yes: "
	// and its folder), else why not ("no: …"); without one, memory and
	// processor time are bounded by rlimits only (docs/security.md).
	Cgroup string

	cgroup *cgroupParent // nil when none
}

// missing lists the layers a sandbox needs that the host lacks.
func (l Layers) missing() []string {
	var m []string
	if l.Landlock == 0 {
		m = append(m, "the kernel has no Landlock (Linux 5.13+ with landlock in its lsm= boot list)")
	}
	if !l.Seccomp {
		m = append(m, "the kernel has no seccomp filter")
	}
	return m
}

// String summarises the layers for logs and `tradai serve`'s start-up.
func (l Layers) String() string {
	ll := "none"
	if l.Landlock > 0 {
		ll = fmt.Sprintf("ABI %d", l.Landlock)
	}
	return fmt.Sprintf("Landlock %s; seccomp %v; cgroup v2 %s", ll, l.Seccomp, l.Cgroup)
}
