//go:build !linux

package serve

import "errors"

const shmSupported = false

type shmMap struct{}

func openShm(int) (*shmMap, error)      { return nil, errors.ErrUnsupported }
func (s *shmMap) view() ([]byte, error) { return nil, errors.ErrUnsupported }
func (s *shmMap) close()                {}
