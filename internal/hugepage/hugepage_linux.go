package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// size is the size of a transparent huge page on the platforms Go ships
// for Linux servers that use them (amd64, arm64 with 4 KB pages).
const size = 2 << 20

// Advise asks the kernel to back the whole 2 MB pages inside b with
// transparent huge pages when it first touches them. Memory already in
// use is unaffected; the advice is only a hint, and its failure is
// ignored. Buffers under 4 MB are left alone.
func Advise(b []byte) {
	if len(b) < 2*size {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + size - 1) &^ (size - 1)
	hi := (p + uintptr(len(b))) &^ (size - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
}
