package external

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// shmFile is the shared memory file of one process (the "shm" transport):
// a memfd the child gets as file descriptor 3, mapped in TradAI. It only
// grows; it is sealed against shrinking, so that the child cannot
// truncate it under TradAI's mapping (which would turn TradAI's accesses
// into SIGBUS).
type shmFile struct {
	f   *os.File
	mem []byte // the mapping, len = the file's size as TradAI set it
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

// ensure makes the file and the mapping at least size bytes long.
func (s *shmFile) ensure(size int64) error {
	if size <= int64(len(s.mem)) {
		return nil
	}
	size = (size + shmGrain - 1) / shmGrain * shmGrain
	if size != int64(int(size)) {
		return fmt.Errorf("shared memory of %d bytes is too large", size)
	}
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("growing the shared memory to %d bytes: %w", size, err)
	}
	mem, err := unix.Mmap(int(s.f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping %d bytes of shared memory: %w", size, err)
	}
	if s.mem != nil {
		_ = unix.Munmap(s.mem)
	}
	s.mem = mem
	return nil
}

// close unmaps and closes the file. Idempotent.
func (s *shmFile) close() {
	if s == nil {
		return
	}
	if s.mem != nil {
		_ = unix.Munmap(s.mem)
		s.mem = nil
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}
