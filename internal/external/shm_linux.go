package external

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// shmFile is the shared memory file of one process (the "shm" transport):
// a memfd the child gets as file descriptor 3. TradAI writes a request's
// columns into it and reads the answer's signals from it with pwrite and
// pread: the kernel copies the bytes, and TradAI maps none of it (a
// mapping costs a page fault per 4 KiB page written, on fresh memory
// each run). It only grows; it is sealed against shrinking, so that the
// size TradAI checks the child's regions against stays true.
type shmFile struct {
	f    *os.File
	size int64 // the file's size as TradAI set it
}

// shmChildFD is the file descriptor of the shared memory file in the
// child: the first of cmd.ExtraFiles.
const shmChildFD = 3

// shmGrain is the unit the file grows by.
const shmGrain = 1 << 20

func newShm() (*shmFile, error) {
	fd, err := unix.MemfdCreate("tradai-strategy", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sealing the memfd: %w", err)
	}
	return &shmFile{f: os.NewFile(uintptr(fd), "tradai-strategy-shm")}, nil
}

// ensure makes the file at least size bytes long.
func (s *shmFile) ensure(size int64) error {
	if size <= s.size {
		return nil
	}
	size = (size + shmGrain - 1) / shmGrain * shmGrain
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("growing the shared memory to %d bytes: %w", size, err)
	}
	s.size = size
	return nil
}

// write writes cols one after the other from the start of the file,
// which ensure made long enough.
func (s *shmFile) write(cols [][]byte) error {
	var off int64
	for _, b := range cols {
		if _, err := s.f.WriteAt(b, off); err != nil {
			return fmt.Errorf("writing the columns into the shared memory: %w", err)
		}
		off += int64(len(b))
	}
	return nil
}

// WriteAt writes b at off, inside the file as ensure sized it.
func (s *shmFile) WriteAt(b []byte, off int64) (int, error) { return s.f.WriteAt(b, off) }

// Size is the file's size as TradAI set it.
func (s *shmFile) Size() int64 { return s.size }

// ReadAt reads len(b) bytes at off; reading past the end is an error.
func (s *shmFile) ReadAt(b []byte, off int64) (int, error) { return s.f.ReadAt(b, off) }

// close closes the file. Idempotent.
func (s *shmFile) close() {
	if s == nil || s.f == nil {
		return
	}
	s.f.Close()
	s.f = nil
}
