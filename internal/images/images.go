// Package images builds TradAI's container images without a Docker daemon
// and without a base image: each image is assembled from scratch out of
// the static tradai binary, a minimal /etc (a non-root user, the host's
// Debian CA certificates), empty writable folders declared as volumes and,
// for the images that run tenant strategies, a Python runtime copied from
// the host (interpreter, the shared libraries ldd names, the standard
// library). Each image is written as an OCI image layout with its SBOM
// (SPDX JSON of the binary's module list) as an OCI referrer beside it.
// The tier rule (CheckTiers) is enforced on every image's command line.
package images

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The user the images run as: numeric, not root, the same in every image.
const (
	UID  = 65532
	User = "tradai"
	Home = "/home/tradai"
	// Data is the market data folder (--datadir), a volume.
	Data = "/data"
	// Binary is where the tradai binary lives in every image.
	Binary = "/usr/bin/tradai"
)

// Volumes are the only writable paths of an image, declared as its
// volumes: the root file system can be mounted read-only.
func Volumes() []string { return []string{"/tmp", Home, Data} }

// Spec is one image: its name, tier and command line, and the processes
// it may run.
type Spec struct {
	Name        string
	Tier        Tier
	Description string
	// Args follow the binary in the entrypoint: the subcommand.
	Args []string
	// Cmd are the default flags (the image's Cmd), which a deployment
	// replaces.
	Cmd []string
	// Runs are the processes this image may run (ProcessesOf).
	Runs []string
	// Bundles declares why processes of several tiers share this image,
	// keyed by the sorted processes joined with "+".
	Bundles map[string]string
	// Python puts the Python runtime for sandboxed strategies in.
	Python bool
	Ports  []string
}

// Specs are TradAI's images. The simulator has an image of its own: it is
// the paper venue, deployed once per installation, not with the API.
func Specs() []Spec {
	return []Spec{{
		Name: "tradai-server", Tier: Application,
		Description: "TradAI API and web app (tradai serve): no backtests, no deployments, which the worker and runner images run",
		Args:        []string{"serve"},
		Cmd:         []string{"--addr", ":8080", "--datadir", Data, "--workers", "0", "--runner-max", "0"},
		Runs:        []string{"serve"},
		Ports:       []string{"8080/tcp"},
	}, {
		Name: "tradai-worker", Tier: Function,
		Description: "TradAI backtest workers (tradai worker) on the shared PostgreSQL queue",
		Args:        []string{"worker"},
		Cmd:         []string{"--datadir", Data, "--metrics-addr", ":9464"},
		Runs:        []string{"worker"},
		Python:      true,
		Ports:       []string{"9464/tcp"},
	}, {
		Name: "tradai-runner", Tier: Function,
		Description: "TradAI deployment runner (tradai runner): paper and live deployments",
		Args:        []string{"runner"},
		Cmd:         []string{"--datadir", Data, "--metrics-addr", ":9464"},
		Runs:        []string{"runner", "worker"},
		Python:      true,
		Ports:       []string{"9464/tcp"},
	}, {
		Name: "tradai-migrate", Tier: Platform,
		Description: "TradAI schema migrations (tradai migrate), a one-shot job before the other tiers start",
		Args:        []string{"migrate"},
		Runs:        []string{"migrate"},
	}, {
		Name: "tradai-sim", Tier: Platform,
		Description: "TradAI paper exchange simulator (tradai sim), Binance's spot API on stored candles",
		Args:        []string{"sim"},
		Cmd:         []string{"--addr", ":8090", "--datadir", Data},
		Runs:        []string{"sim"},
		Ports:       []string{"8090/tcp"},
	}}
}

// Options say what goes into the images.
type Options struct {
	// Binary is the static tradai binary (CGO_ENABLED=0).
	Binary string
	// Version is the images' version label and tag.
	Version string
	// Revision is the source's commit, for the revision label ("" leaves
	// it out).
	Revision string
	// Created is the images' creation time, fixed for reproducible
	// digests (SOURCE_DATE_EPOCH; the Unix epoch when zero).
	Created time.Time
	// CACerts is the CA bundle copied in (Debian's ca-certificates
	// package: /etc/ssl/certs/ca-certificates.crt).
	CACerts string
	// Python is the interpreter copied into the images whose Spec asks
	// for it ("" builds them without Python).
	Python string
}

// Built is one image written.
type Built struct {
	Name   string
	Dir    string // its OCI layout
	Digest string // the image manifest's
	SBOM   string // the SBOM referrer manifest's digest
}

// Build writes each spec as an OCI image layout out/<name>, replacing
// what was there.
func Build(ctx context.Context, out string, opts Options, specs []Spec) ([]Built, error) {
	if opts.Version == "" {
		return nil, fmt.Errorf("build the images: no version")
	}
	for _, s := range specs {
		if err := CheckTiers(s, append(append([]string{}, s.Args...), s.Cmd...)); err != nil {
			return nil, err
		}
	}
	if err := checkStatic(opts.Binary); err != nil {
		return nil, err
	}
	created := opts.Created.UTC()
	base, err := baseLayer(opts.CACerts, created)
	if err != nil {
		return nil, err
	}
	bin, err := fileLayer(opts.Binary, Binary, created)
	if err != nil {
		return nil, err
	}
	sbom, err := SBOM(opts.Binary, opts.Version, created)
	if err != nil {
		return nil, err
	}
	var py v1.Layer
	var built []Built
	for _, s := range specs {
		layers := []v1.Layer{base}
		if s.Python && opts.Python != "" {
			if py == nil {
				if py, err = pythonLayer(ctx, opts.Python, created); err != nil {
					return nil, err
				}
			}
			layers = append(layers, py)
		}
		layers = append(layers, bin)
		dir := filepath.Join(out, s.Name)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("replace the image layout %s: %w", dir, err)
		}
		b, err := writeLayout(dir, s, opts, created, layers, sbom)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Name, err)
		}
		built = append(built, b)
	}
	return built, nil
}
