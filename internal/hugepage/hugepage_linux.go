package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// size is the size of a transparent huge page on the platforms Go ships
// for Linux servers that use them (amd64, arm64 with 4 KB pages).
const size = 2 << 20

// Make returns a slice of length 0 and capacity n for a buffer filled
// after: when it takes 2 MB or more, its backing array starts on a 2 MB
// boundary and the 2 MB pages it spans are advised, its last one whole
// (the allocation is up to 4 MB longer: address space that is never
// touched). Every 2 MB of it then takes one page fault; an unaligned
// buffer would lose a huge page at each end. Only for elements without
// pointers: the garbage collector reads all of an allocation with
// pointers, which would touch the slack (use AdviseSlice for those).
func Make[T any](n int) []T {
	var zero T
	esize := int(unsafe.Sizeof(zero))
	if esize == 0 || n*esize < size {
		return make([]T, 0, n)
	}
	spans := (n*esize + size - 1) / size * size // the 2 MB pages it spans
	s := make([]T, (spans+size+esize-1)/esize)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*esize)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	off := int((size - p%size) % size) // bytes to the first boundary
	Advise(b[off : off+spans])
	// The slice from the first element at or after the boundary.
	skip := (off + esize - 1) / esize
	if skip+n > len(s) {
		skip = 0
	}
	return s[skip : skip : skip+n]
}

// AdviseSlice is Advise for the backing array of s, up to its capacity.
func AdviseSlice[T any](s []T) {
	c := cap(s)
	if c == 0 {
		return
	}
	var zero T
	Advise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:c]))), uintptr(c)*unsafe.Sizeof(zero)))
}

// Advise asks the kernel to back the 2 MB pages b spans with transparent
// huge pages when they are first touched: those inside it, and the two at
// its ends, which it shares with what lies beside it in the heap (the
// runtime's fresh memory, most often, for a large buffer; a page
// something else has touched already stays as it is). Memory already in
// use is unaffected; the advice is only a hint, and its failure is
// ignored. A buffer under 2 MB is left alone.
func Advise(b []byte) {
	if len(b) < size {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := p &^ (size - 1)
	hi := (p + uintptr(len(b)) + size - 1) &^ (size - 1)
	// By address: the range reaches beyond b. Parts of it that are not
	// mapped only make the call fail for them.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
}

// Prime readies n bytes of the heap's fresh memory to be backed by
// transparent huge pages: it allocates them as one block, advises it and
// lets it go. Once a collection has freed the block, the runtime's page
// allocator, which hands out the lowest free addresses first, gives its
// pages to the allocations that follow, and each 2 MB of them costs one
// page fault rather than 512. It is for a process about to allocate much
// in many small pieces (a report's texts) while its heap is small and
// new. Allocating the block passes the heap's goal: call it with the
// collector off (debug.SetGCPercent(-1)), or the collection that starts
// may find the block still in use; the next collection frees it. The
// block is address space until it is used.
func Prime(n int) {
	if n >= size {
		Advise(make([]byte, n))
	}
}
