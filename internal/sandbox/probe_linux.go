//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"strings"

	seccomp "github.com/elastic/go-seccomp-bpf"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// Probe reports which layers the host offers.
func Probe() Layers {
	var l Layers
	l.Landlock, _ = llsys.LandlockGetABIVersion()
	l.Seccomp = seccomp.Supported()
	l.Cgroup = cgroupV2()
	return l
}

// cgroupV2 says whether the host mounts a cgroup v2 hierarchy with the
// memory and CPU controllers at /sys/fs/cgroup, and if not, what it has.
func cgroupV2() string {
	b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil {
		if _, uerr := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); uerr == nil {
			return "no: the host runs cgroup v1 (hybrid: its v2 hierarchy has no memory or cpu controller)"
		}
		return "no: the host runs cgroup v1"
	}
	c := strings.Fields(string(b))
	for _, want := range []string{"memory", "cpu"} {
		if !contains(c, want) {
			return fmt.Sprintf("no: the cgroup v2 hierarchy has no %s controller", want)
		}
	}
	return "yes"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
