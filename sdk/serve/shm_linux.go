package serve

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// shmSupported reports whether Serve can use the shm transport here.
const shmSupported = true

// shmMap is the strategy's mapping of the shared memory file TradAI
// offered in its hello.
type shmMap struct {
	fd  int
	mem []byte
}

func openShm(fd int) (*shmMap, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shared memory file descriptor %d: %w", fd, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("shared memory file descriptor %d is not a regular file", fd)
	}
	unix.CloseOnExec(fd) // not for what the strategy starts
	return &shmMap{fd: fd}, nil
}

// view returns the file's memory, mapped again when TradAI grew it.
func (s *shmMap) view() ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(s.fd, &st); err != nil {
		return nil, fmt.Errorf("shared memory: %w", err)
	}
	if st.Size == int64(len(s.mem)) {
		return s.mem, nil
	}
	if st.Size != int64(int(st.Size)) || st.Size < 0 {
		return nil, fmt.Errorf("shared memory file of %d bytes is too large", st.Size)
	}
	if s.mem != nil {
		if err := unix.Munmap(s.mem); err != nil {
			return nil, fmt.Errorf("shared memory: munmap: %w", err)
		}
		s.mem = nil
	}
	if st.Size == 0 {
		return nil, nil
	}
	mem, err := unix.Mmap(s.fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shared memory: mmap %d bytes: %w", st.Size, err)
	}
	s.mem = mem
	return mem, nil
}

func (s *shmMap) close() {
	if s == nil {
		return
	}
	if s.mem != nil {
		_ = unix.Munmap(s.mem)
		s.mem = nil
	}
	_ = unix.Close(s.fd)
}
