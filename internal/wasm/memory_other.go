//go:build !unix

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator is wazero's own (a Go slice, copied when it grows)
// where there is no mmap.
func memoryAllocator() experimental.MemoryAllocator { return nil }
