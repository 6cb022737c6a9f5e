//go:build !unix

package serve

import (
	"io"
	"os"
)

// protocolOutput returns standard output: on this system stray prints are
// not redirected.
func protocolOutput() (io.Writer, error) { return os.Stdout, nil }
