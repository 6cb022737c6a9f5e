//go:build linux

package sandbox

import (
	seccomp "github.com/elastic/go-seccomp-bpf"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// Probe reports which layers the host offers.
func Probe() Layers { return probe(hostCgroups()) }

func probe(fs cgroupFS) Layers {
	var l Layers
	l.Landlock, _ = llsys.LandlockGetABIVersion()
	l.Seccomp = seccomp.Supported()
	p, err := fs.delegated()
	if err != nil {
		l.Cgroup = "no: " + err.Error()
	} else {
		l.Cgroup, l.cgroup = "yes: "+p.dir, p
	}
	return l
}
