//go:build unix

package wasm

import (
	"math"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each instance's linear memory with its own
// anonymous mapping of the memory's maximum size, reserved but not
// committed (MAP_NORESERVE): the pages an instance never touches cost no
// memory, growing never copies, and the memory lives outside the Go heap,
// returned to the system when the instance closes. Where the mapping
// fails (an address-space limit), the memory is a Go slice instead.
type mmapAllocator struct{}

func (mmapAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	if max > math.MaxInt {
		return &sliceMemory{max: max}
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &sliceMemory{max: max}
	}
	return &mmapMemory{buf: b}
}

type mmapMemory struct{ buf []byte }

// Reallocate implements experimental.LinearMemory: the mapping is zero
// where the module has not written, as new wasm pages must be.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

// Free implements experimental.LinearMemory.
func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}

func memoryAllocator() experimental.MemoryAllocator { return mmapAllocator{} }
