package registry

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

type entry struct {
	name string
	typ  byte
	mode int64
	body string
	link string
}

func tarOf(t testing.TB, gz bool, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	w.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

func zipOf(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch {
		case e.link != "":
			h.SetMode(0o777 | 1<<27) // fs.ModeSymlink
		case e.mode != 0:
			h.SetMode(0o755)
		default:
			h.SetMode(0o644)
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e.body + e.link))
	}
	w.Close()
	return buf.Bytes()
}

func TestReadArchiveForms(t *testing.T) {
	files := []entry{{name: "mystrat/strategy.py", body: "print(1)\n"}, {name: "mystrat/lib/util.py", body: "X = 1\n"}, {name: "mystrat/run.sh", body: "#!/bin/sh\n", mode: 0o755}}
	var sums []string
	for name, data := range map[string][]byte{"tar": tarOf(t, false, files...), "tar.gz": tarOf(t, true, files...), "zip": zipOf(t, files...)} {
		got, err := ReadArchive(data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var names []string
		for _, f := range got {
			names = append(names, f.Name)
		}
		if strings.Join(names, ",") != "lib/util.py,run.sh,strategy.py" || !got[1].Exec || got[0].Exec {
			t.Fatalf("%s: files %v", name, got)
		}
		c, err := Canonical(got)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, string(c))
		// The canonical archive reads back as itself.
		again, err := ReadArchive(c, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if c2, _ := Canonical(again); !bytes.Equal(c, c2) {
			t.Fatalf("%s: canonical archive does not read back to itself", name)
		}
	}
	for _, s := range sums[1:] {
		if s != sums[0] {
			t.Fatal("the same files in a tar, tar.gz and zip give different canonical archives")
		}
	}
}

func TestReadArchiveRefuses(t *testing.T) {
	big := strings.Repeat("a", 2000)
	cases := []struct {
		name string
		data []byte
		lim  Limits
		want error
		says string
	}{
		{"not an archive", []byte("print('hello')\n"), Limits{}, ErrInvalid, "not a tar"},
		{"empty", tarOf(t, false, entry{name: "d/", typ: tar.TypeDir}), Limits{}, ErrInvalid, "no files"},
		{"traversal tar", tarOf(t, false, entry{name: "../../etc/cron.d/x", body: "x"}), Limits{}, ErrInvalid, ".."},
		{"traversal zip", zipOf(t, entry{name: "a/../../x.py", body: "x"}), Limits{}, ErrInvalid, ".."},
		{"absolute", tarOf(t, false, entry{name: "/etc/passwd", body: "x"}), Limits{}, ErrInvalid, "absolute"},
		{"backslash", zipOf(t, entry{name: `..\x.py`, body: "x"}), Limits{}, ErrInvalid, "backslash"},
		{"symlink tar", tarOf(t, false, entry{name: "s.py", typ: tar.TypeSymlink, link: "/etc/shadow"}), Limits{}, ErrInvalid, "link"},
		{"hard link tar", tarOf(t, false, entry{name: "s.py", typ: tar.TypeLink, link: "/etc/shadow"}), Limits{}, ErrInvalid, "link"},
		{"symlink zip", zipOf(t, entry{name: "s.py", link: "/etc/shadow"}), Limits{}, ErrInvalid, "link"},
		{"device", tarOf(t, false, entry{name: "dev", typ: tar.TypeChar}), Limits{}, ErrInvalid, "not a regular file"},
		{"duplicate", tarOf(t, false, entry{name: "a.py", body: "1"}, entry{name: "./a.py", body: "2"}), Limits{}, ErrInvalid, "twice"},
		{"control character", tarOf(t, false, entry{name: "a\x01.py", body: "1"}), Limits{}, ErrInvalid, "printable"},
		{"too many files", tarOf(t, false, entry{name: "a", body: "1"}, entry{name: "b", body: "1"}, entry{name: "c", body: "1"}), Limits{MaxFiles: 2}, ErrTooLarge, "more than 2 files"},
		{"too many bytes", tarOf(t, true, entry{name: "a", body: big}), Limits{MaxBytes: 1000}, ErrTooLarge, "more than 1000 bytes"},
		{"zip bomb", zipOf(t, entry{name: "bomb", body: strings.Repeat("0", 5<<20)}), Limits{MaxBytes: 1 << 20}, ErrTooLarge, "bytes"},
		{"broken gzip", []byte{0x1f, 0x8b, 1, 2, 3}, Limits{}, ErrInvalid, "gzip"},
	}
	for _, c := range cases {
		_, err := ReadArchive(c.data, c.lim)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want %v saying %q", c.name, err, c.want, c.says)
		}
	}
}

func TestCanonicalIsDeterministic(t *testing.T) {
	a := []File{{Name: "b.py", Data: []byte("b")}, {Name: "a.py", Data: []byte("a"), Exec: true}}
	b := []File{{Name: "a.py", Data: []byte("a"), Exec: true}, {Name: "b.py", Data: []byte("b")}}
	ca, _ := Canonical(a)
	cb, _ := Canonical(b)
	if !bytes.Equal(ca, cb) {
		t.Fatal("file order changes the canonical archive")
	}
	a[0].Exec = true
	if cc, _ := Canonical(a); bytes.Equal(ca, cc) {
		t.Fatal("the executable bit is not part of the canonical archive")
	}
}

// FuzzReadArchive: whatever a tenant uploads, ReadArchive returns clean,
// bounded files or ErrInvalid / ErrTooLarge, and never panics.
func FuzzReadArchive(f *testing.F) {
	f.Add(tarOf(f, false, entry{name: "strategy.py", body: "x"}))
	f.Add(tarOf(f, true, entry{name: "d/strategy.py", body: "x"}, entry{name: "d/x", typ: tar.TypeDir}))
	f.Add(zipOf(f, entry{name: "strategy.py", body: "x"}, entry{name: "lib/a.py", body: "y"}))
	f.Add([]byte("PK\x05\x06"))
	lim := Limits{MaxFiles: 16, MaxBytes: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := ReadArchive(data, lim)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var total int
		for _, f := range files {
			total += len(f.Data)
			if _, err := cleanName(f.Name, false); err != nil || strings.HasPrefix(f.Name, "/") {
				t.Fatalf("unclean name %q", f.Name)
			}
		}
		if len(files) > lim.MaxFiles || int64(total) > lim.MaxBytes {
			t.Fatalf("%d files, %d bytes over the limits", len(files), total)
		}
	})
}
