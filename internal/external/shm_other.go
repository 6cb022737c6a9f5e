//go:build !linux

package external

import (
	"errors"
	"os"
)

type shmFile struct {
	f   *os.File
	mem []byte
}

const shmChildFD = 3

func newShm() (*shmFile, error)       { return nil, errors.ErrUnsupported }
func (s *shmFile) ensure(int64) error { return errors.ErrUnsupported }
func (s *shmFile) close()             {}
