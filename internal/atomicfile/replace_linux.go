package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// replace puts the file at tmp in place of the regular file at path: it
// exchanges the two (renameat2's RENAME_EXCHANGE, so that path always
// holds one of them whole) and removes the old one, now at tmp. It
// reports false, having done nothing, when path is not a regular file or
// the file system cannot exchange: then the caller renames. An error
// means the new file is in place but the old one was not removed.
func replace(tmp, path string) (bool, error) {
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE); err != nil {
		return false, nil
	}
	if err := unix.Unlinkat(unix.AT_FDCWD, tmp, 0); err != nil {
		return true, &os.PathError{Op: "remove the replaced file", Path: tmp, Err: err}
	}
	return true, nil
}
