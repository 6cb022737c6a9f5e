package images

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Label keys of the images.
const (
	LabelTier    = "io.tradai.tier"
	LabelVersion = "org.opencontainers.image.version"
	LabelTitle   = "org.opencontainers.image.title"
	// SBOMType is the SBOM referrer's artifact type and its blob's media
	// type.
	SBOMType = "application/spdx+json"
	// emptyConfig is OCI's empty descriptor's media type (an artifact
	// manifest's config).
	emptyConfig = "application/vnd.oci.empty.v1+json"
)

// config is the image's configuration: entrypoint, default flags, the
// non-root user, environment, volumes, ports and labels.
func config(s Spec, opts Options, created time.Time) *v1.ConfigFile {
	labels := map[string]string{
		LabelTitle:                             s.Name,
		"org.opencontainers.image.description": s.Description,
		LabelVersion:                           opts.Version,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
		"org.opencontainers.image.source":      "https://github.com/tradai/tradai",
		"org.opencontainers.image.vendor":      "TradAI",
		LabelTier:                              string(s.Tier),
	}
	if opts.Revision != "" {
		labels["org.opencontainers.image.revision"] = opts.Revision
	}
	vols := map[string]struct{}{}
	for _, v := range Volumes() {
		vols[v] = struct{}{}
	}
	var ports map[string]struct{}
	if len(s.Ports) > 0 {
		ports = map[string]struct{}{}
		for _, p := range s.Ports {
			ports[p] = struct{}{}
		}
	}
	return &v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux",
		Created: v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint:   append([]string{Binary}, s.Args...),
			Cmd:          s.Cmd,
			User:         fmt.Sprintf("%d:%d", UID, UID),
			Env:          []string{"PATH=/usr/bin", "HOME=" + Home, "TRADAI_HOME=" + Home},
			WorkingDir:   Home,
			Volumes:      vols,
			ExposedPorts: ports,
			Labels:       labels,
			StopSignal:   "SIGTERM",
		},
	}
}

// writeLayout writes the image and its SBOM referrer as the OCI layout dir.
func writeLayout(dir string, s Spec, opts Options, created time.Time, layers []v1.Layer, sbom []byte) (Built, error) {
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return Built{}, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, config(s, opts, created))
	if err != nil {
		return Built{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return Built{}, fmt.Errorf("write the OCI layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": opts.Version,
	})); err != nil {
		return Built{}, fmt.Errorf("write the image to %s: %w", dir, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return Built{}, err
	}
	size, err := img.Size()
	if err != nil {
		return Built{}, err
	}
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: size}
	ref, err := writeReferrer(p, subject, sbom, created)
	if err != nil {
		return Built{}, fmt.Errorf("write the SBOM to %s: %w", dir, err)
	}
	return Built{Name: s.Name, Dir: dir, Digest: digest.String(), SBOM: ref.String()}, nil
}

// writeReferrer writes the SBOM as an OCI artifact manifest whose subject
// is the image (OCI 1.1 referrers), listed in the layout's index.json.
func writeReferrer(p layout.Path, subject v1.Descriptor, sbom []byte, created time.Time) (v1.Hash, error) {
	blob := func(b []byte) (v1.Descriptor, error) {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return v1.Descriptor{}, err
		}
		if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(b))); err != nil {
			return v1.Descriptor{}, err
		}
		return v1.Descriptor{Digest: h, Size: int64(len(b))}, nil
	}
	cfg, err := blob([]byte("{}"))
	if err != nil {
		return v1.Hash{}, err
	}
	cfg.MediaType = emptyConfig
	doc, err := blob(sbom)
	if err != nil {
		return v1.Hash{}, err
	}
	doc.MediaType = SBOMType
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: SBOMType,
		Config: cfg, Layers: []v1.Descriptor{doc}, Subject: &subject,
		Annotations: map[string]string{"org.opencontainers.image.created": created.Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	d, err := blob(raw)
	if err != nil {
		return v1.Hash{}, err
	}
	d.MediaType, d.ArtifactType = types.OCIManifestSchema1, SBOMType
	return d.Digest, p.AppendDescriptor(d)
}

// spdxPackage is a package of an SPDX 2.3 document.
type spdxPackage struct {
	Name             string    `json:"name"`
	SPDXID           string    `json:"SPDXID"`
	VersionInfo      string    `json:"versionInfo,omitempty"`
	DownloadLocation string    `json:"downloadLocation"`
	FilesAnalyzed    bool      `json:"filesAnalyzed"`
	Comment          string    `json:"comment,omitempty"`
	ExternalRefs     []spdxRef `json:"externalRefs,omitempty"`
}

type spdxRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SBOM is the SPDX 2.3 JSON document of the binary: the main module and
// every module it was built from, with their versions and go.sum hashes,
// and the Go toolchain (what `go version -m` prints).
func SBOM(binary, version string, created time.Time) ([]byte, error) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read the module list of %s: %w", binary, err)
	}
	purl := func(path, v string) []spdxRef {
		return []spdxRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: "pkg:golang/" + path + "@" + v}}
	}
	id := func(i int) string { return fmt.Sprintf("SPDXRef-Package-%d", i) }
	pkgs := []spdxPackage{{
		Name: info.Main.Path, SPDXID: id(0), VersionInfo: version, DownloadLocation: "NOASSERTION",
		ExternalRefs: purl(info.Main.Path, version),
	}, {
		Name: "go", SPDXID: id(1), VersionInfo: info.GoVersion, DownloadLocation: "https://go.dev/dl/",
		ExternalRefs: purl("stdlib", strings.TrimPrefix(info.GoVersion, "go")),
	}}
	rels := []spdxRelationship{{"SPDXRef-DOCUMENT", "DESCRIBES", id(0)}, {id(0), "DEPENDS_ON", id(1)}}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		p := spdxPackage{Name: d.Path, SPDXID: id(len(pkgs)), VersionInfo: d.Version, DownloadLocation: "https://proxy.golang.org/" + d.Path + "/@v/" + d.Version + ".zip", ExternalRefs: purl(d.Path, d.Version)}
		if d.Sum != "" {
			p.Comment = "go.sum " + d.Sum
		}
		rels = append(rels, spdxRelationship{id(0), "DEPENDS_ON", p.SPDXID})
		pkgs = append(pkgs, p)
	}
	sum := sha256.New()
	for _, p := range pkgs {
		fmt.Fprintf(sum, "%s@%s\n", p.Name, p.VersionInfo)
	}
	doc := map[string]any{
		"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
		"name":              "tradai " + version,
		"documentNamespace": "https://github.com/tradai/tradai/spdx/" + version + "-" + hex.EncodeToString(sum.Sum(nil))[:16],
		"creationInfo": map[string]any{
			"created":  created.Format(time.RFC3339),
			"creators": []string{"Tool: tradai-images"},
		},
		"packages":      pkgs,
		"relationships": rels,
	}
	return json.MarshalIndent(doc, "", "  ")
}
