package images_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/tradai/tradai/internal/images"
	"github.com/tradai/tradai/internal/racetest"
)

func TestCheckTiers(t *testing.T) {
	server := images.Spec{Name: "s", Runs: []string{"serve"}}
	bundled := images.Spec{Name: "b", Runs: []string{"serve", "worker", "runner"}}
	declared := bundled
	declared.Bundles = map[string]string{"runner+serve+worker": "one process for a laptop"}
	for _, c := range []struct {
		name string
		spec images.Spec
		args []string
		ok   bool
	}{
		{"API only", server, []string{"serve", "--workers", "0", "--runner-max=0"}, true},
		{"serve's defaults run workers and deployments", server, []string{"serve"}, false},
		{"a process the image does not declare", server, []string{"worker"}, false},
		{"two tiers without a reason", bundled, []string{"serve"}, false},
		{"two tiers with a declared reason", declared, []string{"serve"}, true},
		{"one tier, two processes", images.Spec{Name: "r", Runs: []string{"runner", "worker"}}, []string{"runner", "--workers", "2"}, true},
		{"serve with the simulator", images.Spec{Name: "x", Runs: []string{"serve", "sim"}}, []string{"serve", "--workers", "0", "--runner-max", "0", "--sim"}, false},
		{"not a process", server, []string{"backtest"}, false},
		{"a bad number", server, []string{"serve", "--workers", "two"}, false},
	} {
		err := images.CheckTiers(c.spec, c.args)
		if (err == nil) != c.ok {
			t.Errorf("%s: CheckTiers(%q) = %v, want ok %v", c.name, c.args, err, c.ok)
		}
	}
	for _, s := range images.Specs() {
		if err := images.CheckTiers(s, append(slices.Clone(s.Args), s.Cmd...)); err != nil {
			t.Errorf("the image table: %v", err)
		}
	}
}

// buildBinary builds the tradai binary as make images does: static.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tradai")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/tradai/tradai/cmd/tradai")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImages builds every image from a freshly built binary and checks
// what a container runtime would run: the entrypoint and the tier rule
// on the command line read back from the image, a numeric non-root user,
// the labels, no shell, writable paths only as volumes, the SBOM referrer;
// and that a second build gives the same digests.
func TestImages(t *testing.T) {
	racetest.Skip(t, "compresses every layer twice, one goroutine")
	if testing.Short() {
		t.Skip("builds the tradai binary and the images")
	}
	bin := buildBinary(t)
	opts := images.Options{Binary: bin, Version: "v0.0.0-test", Created: time.Unix(1700000000, 0), CACerts: "/etc/ssl/certs/ca-certificates.crt"}
	if _, err := os.Stat(opts.CACerts); err != nil {
		t.Skipf("no CA bundle from Debian's ca-certificates: %v", err)
	}
	python := false
	if _, err := exec.LookPath("ldd"); err == nil {
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			opts.Python, python = "/usr/bin/python3", true
		}
	}
	out := t.TempDir()
	built, err := images.Build(context.Background(), out, opts, images.Specs())
	if err != nil {
		t.Fatal(err)
	}
	specs := images.Specs()
	if len(built) != len(specs) {
		t.Fatalf("built %d images, want %d", len(built), len(specs))
	}
	for i, b := range built {
		s := specs[i]
		t.Run(s.Name, func(t *testing.T) {
			img, sbom := open(t, b)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if want := append([]string{images.Binary}, s.Args...); !slices.Equal(c.Entrypoint, want) {
				t.Errorf("entrypoint %q, want %q", c.Entrypoint, want)
			}
			if err := images.CheckTiers(s, append(slices.Clone(c.Entrypoint[1:]), c.Cmd...)); err != nil {
				t.Error(err)
			}
			uid, _, _ := strings.Cut(c.User, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("user %q: want a numeric user other than root", c.User)
			}
			for k, v := range map[string]string{images.LabelTier: string(s.Tier), images.LabelVersion: opts.Version, images.LabelTitle: s.Name} {
				if c.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
				}
			}
			files := contents(t, img)
			for name, h := range files {
				base := path.Base(name)
				if base == "sh" || base == "bash" || base == "busybox" {
					t.Errorf("the image has a shell: /%s", name)
				}
				if h.Uid != 0 && !underVolume("/"+name, c.Volumes) {
					t.Errorf("/%s belongs to uid %d outside the volumes %v: the root file system would need to be writable", name, h.Uid, c.Volumes)
				}
			}
			for _, need := range []string{"usr/bin/tradai", "etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt"} {
				if _, ok := files[need]; !ok {
					t.Errorf("the image lacks /%s", need)
				}
			}
			for _, v := range images.Volumes() {
				if _, ok := c.Volumes[v]; !ok {
					t.Errorf("%s is not a declared volume", v)
				}
			}
			_, hasPython := files["usr/bin/python3"]
			if hasPython != (s.Python && python) {
				t.Errorf("python3 in the image: %v, want %v", hasPython, s.Python && python)
			}
			var doc struct {
				SPDXVersion string `json:"spdxVersion"`
				Packages    []struct {
					Name string `json:"name"`
				} `json:"packages"`
			}
			if err := json.Unmarshal(sbom, &doc); err != nil || doc.SPDXVersion != "SPDX-2.3" {
				t.Fatalf("SBOM: %v %q", err, doc.SPDXVersion)
			}
			if !slices.ContainsFunc(doc.Packages, func(p struct {
				Name string `json:"name"`
			}) bool {
				return p.Name == "github.com/spf13/cobra"
			}) {
				t.Errorf("the SBOM does not list github.com/spf13/cobra, a module the binary is built from")
			}
		})
	}
	// Reproducible: the same inputs make the same digests.
	again, err := images.Build(context.Background(), t.TempDir(), opts, specs[3:4])
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Digest != built[3].Digest || again[0].SBOM != built[3].SBOM {
		t.Errorf("a second build of %s: %s (SBOM %s), the first %s (SBOM %s)", again[0].Name, again[0].Digest, again[0].SBOM, built[3].Digest, built[3].SBOM)
	}
}

func underVolume(name string, vols map[string]struct{}) bool {
	for v := range vols {
		if name == v || strings.HasPrefix(name, v+"/") {
			return true
		}
	}
	return false
}

// open reads a built layout: its image, and the SBOM of the referrer whose
// subject is that image.
func open(t *testing.T, b images.Built) (v1.Image, []byte) {
	t.Helper()
	p, err := layout.FromPath(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var img v1.Image
	var sbom []byte
	for _, d := range m.Manifests {
		switch d.ArtifactType {
		default:
			if img, err = idx.Image(d.Digest); err != nil {
				t.Fatal(err)
			}
		case images.SBOMType:
			raw, err := os.ReadFile(filepath.Join(b.Dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
			if err != nil {
				t.Fatal(err)
			}
			var am v1.Manifest
			if err := json.Unmarshal(raw, &am); err != nil {
				t.Fatal(err)
			}
			if am.Subject == nil || am.Subject.Digest.String() != b.Digest {
				t.Errorf("the SBOM's subject is %v, not the image %s", am.Subject, b.Digest)
			}
			l := am.Layers[0].Digest
			if sbom, err = os.ReadFile(filepath.Join(b.Dir, "blobs", l.Algorithm, l.Hex)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if img == nil || sbom == nil {
		t.Fatalf("%s: want an image and its SBOM referrer in index.json, have %d manifests", b.Dir, len(m.Manifests))
	}
	return img, sbom
}

// contents lists the image's files by path (no leading slash).
func contents(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
	}
}
