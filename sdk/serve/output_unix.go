//go:build unix

package serve

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// protocolOutput returns a private duplicate of standard output for the
// protocol and points file descriptor 1 at standard error, so that stray
// prints cannot corrupt the conversation.
func protocolOutput() (io.Writer, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoProtocolOutput, err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %w", errNoProtocolOutput, err)
	}
	return os.NewFile(uintptr(fd), "protocol-stdout"), nil
}
