//go:build !linux

package sandbox

import (
	"errors"
	"syscall"
)

func supported() error {
	return errors.New("the strategy sandbox needs Linux (namespaces, seccomp, Landlock); on other systems tenant strategies must be WebAssembly")
}

func sysProcAttr() *syscall.SysProcAttr { return nil }

// Main does nothing outside Linux.
func Main() {}

// Probe reports no layers outside Linux.
func Probe() Layers { return Layers{Cgroup: "no: not Linux"} }
