package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writers are the ways to write a file: each replaces it whole or not at
// all.
var writers = map[string]func(string, func(io.Writer) error) error{"Write": Write, "WriteUnsynced": WriteUnsynced}

func TestWriteReplaces(t *testing.T) {
	for name, write := range writers {
		t.Run(name, func(t *testing.T) { testWriteReplaces(t, write) })
	}
}

func testWriteReplaces(t *testing.T, write func(string, func(io.Writer) error) error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	for _, content := range []string{"first", "second, longer"} {
		if err := write(path, func(w io.Writer) error { _, err := io.WriteString(w, content); return err }); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("%d files in the folder, want the one written", len(left))
	}
}

// What is at the path but a regular file is replaced as a rename replaces
// it: a symbolic link itself (not the file it points to), and a folder not
// at all (the write fails and leaves it as it was).
func TestWriteOverOtherThanFile(t *testing.T) {
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "target.txt")
			if err := os.WriteFile(target, []byte("target"), 0o644); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "link.txt")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := write(link, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("the link was not replaced by a file: %v", err)
			}
			if got, _ := os.ReadFile(target); string(got) != "target" {
				t.Errorf("the link's target was written: %q", got)
			}

			folder := filepath.Join(dir, "folder")
			if err := os.Mkdir(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := write(folder, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err == nil {
				t.Error("a folder was replaced")
			}
			if fi, err := os.Stat(folder); err != nil || !fi.IsDir() {
				t.Errorf("the folder is gone: %v", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 3 {
				t.Errorf("%d entries in the folder, want 3", len(left))
			}
		})
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	for name, write := range writers {
		t.Run(name, func(t *testing.T) { testWriteFailureKeepsOldFile(t, write) })
	}
}

func testWriteFailureKeepsOldFile(t *testing.T, write func(string, func(io.Writer) error) error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := write(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 3<<20)) // past the buffer: reaches the temp file
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v; want boom naming %s", err, path)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("file now %q; want the old content kept", got[:min(len(got), 10)])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "a.txt")
	if err := Write(path, func(io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v; want an error naming %s", err, path)
	}
}
