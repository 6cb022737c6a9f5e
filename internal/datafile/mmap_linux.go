package datafile

import (
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the size bytes of fh read-only, the pages already in the
// page cache entered in the page table at once (MAP_POPULATE: no page
// fault per page when the columns are read). It returns nil when the file
// cannot be mapped; the caller then copies.
func mapFile(fh *os.File, size int64) []byte {
	if size <= 0 || size > math.MaxInt {
		return nil
	}
	mem, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil
	}
	return mem
}

// unmapFile unmaps mem, a mapping of mapFile.
func unmapFile(mem []byte) error { return unix.Munmap(mem) }
