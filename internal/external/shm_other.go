//go:build !linux

package external

import (
	"errors"
	"os"
)

type shmFile struct {
	f    *os.File
	size int64
}

const shmChildFD = 3

func newShm() (*shmFile, error)                       { return nil, errors.ErrUnsupported }
func (s *shmFile) ensure(int64) error                 { return errors.ErrUnsupported }
func (s *shmFile) write([][]byte) error               { return errors.ErrUnsupported }
func (s *shmFile) Size() int64                        { return 0 }
func (s *shmFile) ReadAt([]byte, int64) (int, error)  { return 0, errors.ErrUnsupported }
func (s *shmFile) WriteAt([]byte, int64) (int, error) { return 0, errors.ErrUnsupported }
func (s *shmFile) close()                             {}
