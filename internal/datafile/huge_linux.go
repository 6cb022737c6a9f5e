package datafile

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms Go
// ships for Linux servers that use them (amd64, arm64 with 4 KB pages).
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the whole 2 MB pages inside b with
// transparent huge pages when it first touches them. A column freshly
// allocated by the runtime is not yet backed by memory: filling it then
// takes one page fault per 2 MB instead of one per 4 KB, which in a fresh
// process is a large part of reading a file. Memory already in use is
// unaffected; the advice is only a hint, and its failure is ignored.
func adviseHuge(b []byte) {
	if len(b) < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(len(b))) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
}
