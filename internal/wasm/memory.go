package wasm

import "github.com/tetratelabs/wazero/experimental"

// sliceMemory is a linear memory on the Go heap, copied when it grows: the
// fallback where a reserved mapping cannot be had.
type sliceMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory. Bytes past the length
// were never reachable, so they are still zero, as new wasm pages must be.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		b := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
		copy(b, m.buf)
		m.buf = b
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }

var _ experimental.LinearMemory = (*sliceMemory)(nil)
