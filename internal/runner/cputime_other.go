//go:build !linux

package runner

import "time"

// threadCPU is 0 where the thread's CPU time is not read (only Linux).
func threadCPU() time.Duration { return 0 }
