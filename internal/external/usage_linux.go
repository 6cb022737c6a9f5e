package external

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// usage is the CPU time and peak resident memory of the process and what
// it started: from its rusage once reaped, else from /proc (the process
// and its living descendants, each one's peak added).
func (p *process) usage() (cpu time.Duration, peak int64) {
	if p.state != nil {
		ru, ok := p.state.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024 // Maxrss is in KiB
	}
	return procTree(p.pid, 0)
}

// procTree adds up /proc's figures of pid and its descendants.
func procTree(pid, depth int) (cpu time.Duration, peak int64) {
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		// The fields after the command's closing parenthesis: state is
		// field 3, utime 14, stime 15, cutime 16, cstime 17.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			for _, k := range []int{11, 12, 13, 14} {
				if k < len(f) {
					n, _ := strconv.ParseInt(f[k], 10, 64)
					cpu += time.Duration(n) * clockTick
				}
			}
		}
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				peak += n * 1024
			}
		}
	}
	if depth >= 8 {
		return cpu, peak
	}
	b, err := os.ReadFile(dir + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		return cpu, peak
	}
	for _, c := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(c); err == nil {
			cc, cp := procTree(n, depth+1)
			cpu, peak = cpu+cc, peak+cp
		}
	}
	return cpu, peak
}
