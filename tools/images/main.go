// Command images builds TradAI's container images (internal/images) as
// OCI image layouts, without a Docker daemon: `make images` runs it on
// the binary `make build` made.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/tradai/tradai/internal/images"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run() error {
	var opts images.Options
	out := flag.String("out", "bin/images", "folder the OCI layouts are written to, one per image")
	flag.StringVar(&opts.Binary, "binary", "bin/tradai", "the static tradai binary (CGO_ENABLED=0)")
	flag.StringVar(&opts.Version, "version", "dev", "the images' version (label and tag)")
	flag.StringVar(&opts.Revision, "revision", "", "the source's commit (label)")
	flag.StringVar(&opts.CACerts, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle copied in (Debian's ca-certificates package)")
	flag.StringVar(&opts.Python, "python", "/usr/bin/python3", `the Python interpreter copied into the worker and runner images ("": none)`)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	// SOURCE_DATE_EPOCH fixes the images' times (reproducible builds);
	// without it they carry the Unix epoch.
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", v)
		}
		opts.Created = time.Unix(s, 0)
	} else {
		opts.Created = time.Unix(0, 0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	built, err := images.Build(ctx, *out, opts, images.Specs())
	if err != nil {
		return err
	}
	for _, b := range built {
		fmt.Printf("%s\t%s\t%s (SBOM %s)\n", b.Name, b.Dir, b.Digest, b.SBOM)
	}
	return nil
}
