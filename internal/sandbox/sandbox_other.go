//go:build !linux

package sandbox

import (
	"errors"
	"log/slog"
	"syscall"
)

func supported() error {
	return errors.New("the strategy sandbox needs Linux (namespaces, seccomp, Landlock); on other systems tenant strategies must be WebAssembly")
}

func sysProcAttr(*cgroup) *syscall.SysProcAttr { return nil }

// cgroupParent and cgroup are Linux's.
type (
	cgroupParent struct{}
	cgroup       struct{}
)

func (Config) newCgroup(Layers, Run, *slog.Logger) (*cgroup, error) { return nil, nil }

func (*cgroup) remove(*slog.Logger) {}

// Main does nothing outside Linux.
func Main() {}

// Probe reports no layers outside Linux.
func Probe() Layers { return Layers{Cgroup: "no: not Linux"} }
