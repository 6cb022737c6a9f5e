package registry

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors of an upload, by what the API answers.
var (
	// ErrTooLarge: more files or bytes than the Limits allow (413).
	ErrTooLarge = errors.New("strategy upload too large")
	// ErrInvalid: an upload, a spec, a name, a reference or a stage the
	// registry refuses (422).
	ErrInvalid = errors.New("invalid")
)

// Limits bound what one version may hold, after decompression.
type Limits struct {
	MaxFiles int   // regular files (default 256)
	MaxBytes int64 // their total size (default 8 MiB)
}

// Default limits of a version.
const (
	DefaultMaxFiles = 256
	DefaultMaxBytes = 8 << 20
	maxNameLen      = 255
)

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// File is one file of a strategy version.
type File struct {
	Name string // slash-separated, relative, clean
	Exec bool   // the executable bit, the only mode kept
	Data []byte
}

// ReadArchive reads an upload — a tar, a gzip-compressed tar or a zip
// archive, told apart by their first bytes — into its files, sorted by
// name. Folders are implied by the names; a single top-level folder holding
// everything is dropped ("mystrat/strategy.py" becomes "strategy.py").
// Symbolic and hard links, devices, absolute names, ".." and names that
// are not clean are refused (ErrInvalid), as are more files or bytes than
// lim allows (ErrTooLarge), counted as the data is inflated.
func ReadArchive(data []byte, lim Limits) ([]File, error) {
	lim = lim.withDefaults()
	var (
		files []File
		err   error
	)
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, zerr := gzip.NewReader(bytes.NewReader(data))
		if zerr != nil {
			return nil, fmt.Errorf("%w: not a gzip stream: %w", ErrInvalid, zerr)
		}
		zr.Multistream(false)
		files, err = readTar(zr, lim)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		files, err = readZip(data, lim)
	case len(data) >= 262 && string(data[257:262]) == "ustar":
		files, err = readTar(bytes.NewReader(data), lim)
	default:
		return nil, fmt.Errorf("%w: not a tar, tar.gz or zip archive", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	return normalise(files)
}

// budget counts files and bytes against the limits.
type budget struct {
	lim   Limits
	files int
	bytes int64
}

func (b *budget) read(name string, r io.Reader) ([]byte, error) {
	b.files++
	if b.files > b.lim.MaxFiles {
		return nil, fmt.Errorf("%w: more than %d files", ErrTooLarge, b.lim.MaxFiles)
	}
	left := b.lim.MaxBytes - b.bytes
	data, err := io.ReadAll(io.LimitReader(r, left+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", ErrInvalid, quote(name), err)
	}
	if int64(len(data)) > left {
		return nil, fmt.Errorf("%w: more than %d bytes in all (at %s)", ErrTooLarge, b.lim.MaxBytes, quote(name))
	}
	b.bytes += int64(len(data))
	return data, nil
}

func readTar(r io.Reader, lim Limits) ([]File, error) {
	tr := tar.NewReader(r)
	b := budget{lim: lim}
	var files []File
	for entries := 0; ; entries++ {
		if entries > 4*lim.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d archive entries", ErrTooLarge, 4*lim.MaxFiles)
		}
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: broken tar archive: %w", ErrInvalid, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if _, err := cleanName(h.Name, true); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			data, err := b.read(h.Name, tr)
			if err != nil {
				return nil, err
			}
			files = append(files, File{Name: h.Name, Exec: h.Mode&0o111 != 0, Data: data})
		case tar.TypeSymlink, tar.TypeLink:
			return nil, fmt.Errorf("%w: %s is a link (links are not allowed)", ErrInvalid, quote(h.Name))
		default:
			return nil, fmt.Errorf("%w: %s is not a regular file or folder", ErrInvalid, quote(h.Name))
		}
	}
}

func readZip(data []byte, lim Limits) ([]File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: broken zip archive: %w", ErrInvalid, err)
	}
	if len(zr.File) > 4*lim.MaxFiles {
		return nil, fmt.Errorf("%w: more than %d archive entries", ErrTooLarge, 4*lim.MaxFiles)
	}
	b := budget{lim: lim}
	var files []File
	for _, f := range zr.File {
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if _, err := cleanName(f.Name, true); err != nil {
				return nil, err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			return nil, fmt.Errorf("%w: %s is a link (links are not allowed)", ErrInvalid, quote(f.Name))
		case !mode.IsRegular():
			return nil, fmt.Errorf("%w: %s is not a regular file or folder", ErrInvalid, quote(f.Name))
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, quote(f.Name), err)
		}
		body, err := b.read(f.Name, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: f.Name, Exec: mode&0o111 != 0, Data: body})
	}
	return files, nil
}

// cleanName checks an archive member's name and returns it relative and
// clean ("./a/b" → "a/b"; a folder's trailing slash dropped).
func cleanName(name string, dir bool) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if dir {
		n = strings.TrimSuffix(n, "/")
		if n == "" || n == "." {
			return "", nil
		}
	}
	switch {
	case len(n) > maxNameLen:
		return "", fmt.Errorf("%w: file name %s is longer than %d bytes", ErrInvalid, quote(name), maxNameLen)
	case strings.HasPrefix(n, "/"):
		return "", fmt.Errorf("%w: %s is an absolute path", ErrInvalid, quote(name))
	case strings.Contains(n, `\`):
		return "", fmt.Errorf("%w: %s contains a backslash (use / between folders)", ErrInvalid, quote(name))
	case slices.Contains(strings.Split(n, "/"), ".."):
		return "", fmt.Errorf("%w: %s leaves the strategy's folder (..)", ErrInvalid, quote(name))
	case !utf8.ValidString(n) || strings.ContainsFunc(n, unicode.IsControl):
		return "", fmt.Errorf("%w: file name %s is not printable UTF-8", ErrInvalid, quote(name))
	case !fs.ValidPath(n) || n == ".":
		return "", fmt.Errorf("%w: file name %s is not a clean relative path", ErrInvalid, quote(name))
	}
	return n, nil
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// normalise cleans the names, drops a single top-level folder, refuses
// duplicates and sorts.
func normalise(files []File) ([]File, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: the archive holds no files", ErrInvalid)
	}
	for i := range files {
		n, err := cleanName(files[i].Name, false)
		if err != nil {
			return nil, err
		}
		files[i].Name = n
	}
	if top, _, ok := strings.Cut(files[0].Name, "/"); ok {
		all := true
		for _, f := range files {
			if !strings.HasPrefix(f.Name, top+"/") {
				all = false
				break
			}
		}
		if all {
			for i := range files {
				files[i].Name = strings.TrimPrefix(files[i].Name, top+"/")
			}
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(files); i++ {
		if files[i].Name == files[i-1].Name {
			return nil, fmt.Errorf("%w: %s is in the archive twice", ErrInvalid, quote(files[i].Name))
		}
		// A file may not also be a folder of another ("a" and "a/b").
		if strings.HasPrefix(files[i].Name, files[i-1].Name+"/") {
			return nil, fmt.Errorf("%w: %s is both a file and a folder", ErrInvalid, quote(files[i-1].Name))
		}
	}
	return files, nil
}

// Canonical is the archive a version is stored as and hashed over: an
// uncompressed tar of files sorted by name, each a regular file of mode
// 0644 or 0755 (the executable bit is kept), with no times, owners or
// folders. The same files always give the same bytes.
func Canonical(files []File) ([]byte, error) {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		mode := int64(0o644)
		if f.Exec {
			mode = 0o755
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: mode, Size: int64(len(f.Data)), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("canonical archive: %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("canonical archive: %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("canonical archive: %w", err)
	}
	return buf.Bytes(), nil
}
