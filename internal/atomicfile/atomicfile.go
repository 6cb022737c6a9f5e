// Package atomicfile writes files so that readers see either the old
// content or the new, never a half-written file, even across a crash.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes the file at path through a temporary file in the same
// directory: write fills it (buffered), then it is synced, given mode 0644
// and renamed over path, and the directory is synced so the rename itself
// survives a crash. On any error the temporary file is removed and path is
// left as it was.
func Write(path string, write func(w io.Writer) error) error {
	return WriteMode(path, 0o644, write)
}

// WriteMode is Write giving the file mode perm (0600 for secrets: the
// temporary file is created 0600, so the content is never readable by
// others on the way).
func WriteMode(path string, perm os.FileMode, write func(w io.Writer) error) error {
	return writeFile(path, perm, true, write)
}

// WriteUnsynced is Write without the syncs: readers still see either the
// old content or the new, never a half-written file, but after a crash or
// power cut the file may hold the old content, or be empty or missing (or
// a temporary file beside it remain). On Linux a regular file at path is
// replaced by exchanging it with the new one and removing it, rather than
// renamed over: ext4 begins writing a file renamed over another back at
// once (in case it is not synced), and removing a file being written back
// waits for it, which together made replacing a 13 MB export cost 6-8 ms
// more than writing it.
// For files that can be made again (a backtest's report or export: its
// run can be repeated), where syncing megabytes would cost more than the
// work that made them.
func WriteUnsynced(path string, write func(w io.Writer) error) error {
	return writeFile(path, 0o644, false, write)
}

// writeFile is WriteMode, syncing the file and its directory when durable.
func writeFile(path string, perm os.FileMode, durable bool, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return err
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	if !durable {
		if replaced, err := replace(tmp.Name(), path); replaced || err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
