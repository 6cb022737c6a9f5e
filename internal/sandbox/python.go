package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// pythonProbe prints what a Python interpreter needs to run: its real
// executable, its installation's prefixes and its module path.
const pythonProbe = `import json, sys
print(json.dumps({"exe": sys.executable, "prefixes": [sys.base_prefix, sys.base_exec_prefix, sys.prefix], "path": sys.path}))`

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
	var r struct {
		Exe      string   `json:"exe"`
		Prefixes []string `json:"prefixes"`
		Path     []string `json:"path"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Exe == "" {
		return "", nil, fmt.Errorf("asking the Python interpreter %s where it is installed: unexpected answer %q", py, out)
	}
	if exe, err = filepath.EvalSymlinks(r.Exe); err != nil {
		return "", nil, fmt.Errorf("the Python interpreter %s: %w", r.Exe, err)
	}
	paths = append(paths, exe)
	for _, p := range append(r.Prefixes, r.Path...) {
		if filepath.IsAbs(p) && p != "/" {
			paths = append(paths, p)
		}
	}
	return exe, paths, nil
}
