package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pythonProbe prints what a Python interpreter needs to run, separated
// by NUL bytes (which no path holds): its real executable, its
// installation's three prefixes and its module path. It imports nothing:
// json alone would add a sixth to the probe's CPU time, which every
// sandboxed start of a Python strategy waits for.
const pythonProbe = `import sys
print("\0".join([sys.executable, sys.base_prefix, sys.base_exec_prefix, sys.prefix] + sys.path))`

// Python asks the interpreter py (a path; a launcher such as a pyenv shim
// is fine) where it is installed. exe is its real executable, to run in a
// sandbox by that path; paths are what to show read-only for it to run:
// the executable, its installation and the folders of its module path
// (site-packages of a virtual environment, say).
func Python(ctx context.Context, py string) (exe string, paths []string, err error) {
	cmd := exec.CommandContext(ctx, py, "-I", "-c", pythonProbe)
	// What a launcher needs to find the interpreter, nothing else.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v, ok := os.LookupEnv("PYENV_VERSION"); ok {
		cmd.Env = append(cmd.Env, "PYENV_VERSION="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		return "", nil, fmt.Errorf("asking the Python interpreter %s where it is installed: %w", py, err)
	}
	fields := strings.Split(strings.TrimSuffix(string(out), "\n"), "\x00")
	if len(fields) < 4 || fields[0] == "" {
		return "", nil, fmt.Errorf("asking the Python interpreter %s where it is installed: unexpected answer %q", py, out)
	}
	if exe, err = filepath.EvalSymlinks(fields[0]); err != nil {
		return "", nil, fmt.Errorf("the Python interpreter %s: %w", fields[0], err)
	}
	paths = append(paths, exe)
	for _, p := range fields[1:] {
		if filepath.IsAbs(p) && p != "/" {
			paths = append(paths, p)
		}
	}
	return exe, paths, nil
}
