package runner

import (
	"syscall"
	"time"
)

// rusageThread is getrusage's RUSAGE_THREAD: the calling thread's use.
const rusageThread = 1

// threadCPU is the CPU time the calling OS thread used so far (callers
// lock their goroutine to it around what they measure).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
