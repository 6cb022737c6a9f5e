package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tradai/tradai/internal/sandbox"
)

// entry is one file, folder or symbolic link of a layer.
type entry struct {
	name     string // absolute path in the image
	mode     int64
	uid      int
	dir      bool
	link     string // symbolic link target
	contents []byte
	src      string // file on the host to copy, when contents is nil
}

// layer writes entries, sorted by name and with their parent folders, as
// a gzip-compressed tar with every time set to created: the same entries
// make the same digest.
func layer(entries []entry, created time.Time) (v1.Layer, error) {
	seen := map[string]bool{}
	all := slices.Clone(entries)
	for _, e := range entries {
		seen[e.name] = true
	}
	for _, e := range entries {
		for d := path.Dir(e.name); d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			all = append(all, entry{name: d, mode: 0o755, dir: true})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, e := range all {
		h := &tar.Header{Name: strings.TrimPrefix(e.name, "/"), Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: created, Format: tar.FormatPAX}
		var body []byte
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			body = e.contents
			if body == nil {
				if body, err = os.ReadFile(e.src); err != nil {
					return nil, fmt.Errorf("copy %s into the image: %w", e.src, err)
				}
			}
			h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// baseLayer is what every image has besides the binary: /etc/passwd and
// /etc/group naming root and the user, the CA certificates, and the
// writable folders (volumes): /tmp, the home folder and the data folder.
func baseLayer(caCerts string, created time.Time) (v1.Layer, error) {
	if caCerts == "" {
		return nil, errors.New("no CA certificates to copy in (Debian's ca-certificates package: /etc/ssl/certs/ca-certificates.crt)")
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", User, UID, UID, User, Home)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", User, UID)
	return layer([]entry{
		{name: "/etc/passwd", mode: 0o644, contents: []byte(passwd)},
		{name: "/etc/group", mode: 0o644, contents: []byte(group)},
		{name: "/etc/ssl/certs/ca-certificates.crt", mode: 0o644, src: caCerts},
		{name: "/tmp", mode: 0o1777, dir: true},
		{name: Home, mode: 0o755, uid: UID, dir: true},
		{name: Data, mode: 0o755, uid: UID, dir: true},
	}, created)
}

// fileLayer is one file of the host at dst, executable.
func fileLayer(src, dst string, created time.Time) (v1.Layer, error) {
	return layer([]entry{{name: dst, mode: 0o755, src: src}}, created)
}

// checkStatic refuses a binary that needs a dynamic loader: the images
// have no C library for it.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("the tradai binary %s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("the tradai binary %s is dynamically linked; build it with CGO_ENABLED=0", bin)
		}
	}
	return nil
}

// skipPython are the standard library's folders no strategy needs (tests,
// GUI, pip bootstrap, the C build configuration) and the host's bytecode
// caches, which differ from host to host.
func skipPython(name string) bool {
	switch name {
	case "__pycache__", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3":
		return true
	}
	return strings.HasPrefix(name, "config-3")
}

// lddPath is a library path in ldd's output: "libc.so.6 => /lib/… (0x…)"
// or the loader's "/lib64/ld-linux-x86-64.so.2 (0x…)".
var lddPath = regexp.MustCompile(`(?:=> |^\s*)(/\S+) \(0x`)

// pythonLayer is the Python runtime: the interpreter py resolves to (as
// sandbox.Python finds it, with python3 linked to it in /usr/bin), its
// standard library (the module path's folders named python3.N; the host's
// site- and dist-packages are left out, so the image does not depend on
// what else the host installed) and the shared libraries ldd names for the
// interpreter and the standard library's extension modules.
func pythonLayer(ctx context.Context, py string, created time.Time) (v1.Layer, error) {
	exe, paths, err := sandbox.Python(ctx, py)
	if err != nil {
		return nil, err
	}
	entries := []entry{
		{name: exe, mode: 0o755, src: exe},
		{name: "/usr/bin/python3", link: filepath.Base(exe)},
	}
	elfs := []string{exe}
	for _, dir := range paths[1:] {
		if !strings.HasPrefix(filepath.Base(dir), "python3") {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if skipPython(d.Name()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				entries = append(entries, entry{name: p, mode: 0o755, dir: true})
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				entries = append(entries, entry{name: p, link: target})
			case info.Mode().IsRegular():
				entries = append(entries, entry{name: p, mode: int64(info.Mode().Perm()), src: p})
				if strings.HasSuffix(p, ".so") {
					elfs = append(elfs, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("copy the Python standard library %s: %w", dir, err)
		}
	}
	libs, err := sharedLibraries(ctx, elfs)
	if err != nil {
		return nil, err
	}
	for _, l := range libs {
		real, err := filepath.EvalSymlinks(l)
		if err != nil {
			return nil, fmt.Errorf("the shared library %s: %w", l, err)
		}
		entries = append(entries, entry{name: l, mode: 0o755, src: real})
	}
	return layer(dedupe(entries), created)
}

// sharedLibraries lists, sorted, the shared libraries ldd names for the
// files (the loader included; ldd's answer is already the closure).
func sharedLibraries(ctx context.Context, files []string) ([]string, error) {
	seen := map[string]bool{}
	for _, f := range files {
		out, err := exec.CommandContext(ctx, "ldd", f).Output()
		if err != nil {
			return nil, fmt.Errorf("list the shared libraries of %s (ldd): %w", f, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if m := lddPath.FindStringSubmatch(sc.Text()); m != nil {
				seen[m[1]] = true
			}
		}
	}
	libs := make([]string, 0, len(seen))
	for l := range seen {
		libs = append(libs, l)
	}
	slices.Sort(libs)
	return libs, nil
}

// dedupe keeps the first entry of each name.
func dedupe(entries []entry) []entry {
	seen := map[string]bool{}
	out := entries[:0]
	for _, e := range entries {
		if !seen[e.name] {
			seen[e.name] = true
			out = append(out, e)
		}
	}
	return out
}
