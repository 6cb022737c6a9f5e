//go:build !linux

package external

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

func supported() error {
	return fmt.Errorf("external strategies are not supported on %s yet (they need Linux)", runtime.GOOS)
}

func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

func start(cmd *exec.Cmd, _ int) error { return cmd.Start() }

func limitMemory(int, int64) error { return errors.ErrUnsupported }

func waitExited(int) error { return errors.ErrUnsupported }

func killGroup(int) {}

func enlargePipe(*os.File) {}

func unixSignalName(syscall.Signal) string { return "" }

func nearLimit(*os.ProcessState, int64) bool { return false }
