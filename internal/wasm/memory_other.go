//go:build !unix

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator gives each instance a Go slice, copied when it grows,
// where there is no mmap.
func memoryAllocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		return &sliceMemory{max: max}
	})
}
