package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// static holds the stylesheet, the app's script and the vendored libraries
// (assets/vendor/vendor.sh copies them from npm into static/vendor).
//
//go:embed assets/static
var static embed.FS

// asset is one embedded file and its content-hashed URL.
type asset struct {
	url, contentType string
	body, gzipped    []byte // gzipped: nil when it would not be smaller
}

// assets serves the embedded files at /assets/<hash>/<name>: a new content
// is a new URL, so answers are cached for a year.
type assets struct {
	byName map[string]*asset // "app.js", "vendor/htmx.min.js"
	byURL  map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(static, "assets/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/static/")
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		x := &asset{url: "/assets/" + hex.EncodeToString(sum[:6]) + "/" + name, contentType: ct, body: body}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return err
		}
		if gz.Len() < len(body) {
			x.gzipped = gz.Bytes()
		}
		a.byName[name], a.byURL[x.url] = x, x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read the embedded assets: %w", err)
	}
	return a, nil
}

// url is the content-hashed URL of the asset name; it panics on a name
// that is not embedded (a programming error the tests catch).
func (a *assets) url(name string) string {
	x, ok := a.byName[name]
	if !ok {
		panic("web: no embedded asset " + name)
	}
	return x.url
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", x.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	body := x.body
	if x.gzipped != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body = x.gzipped
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// acceptsGzip tells whether an Accept-Encoding header takes gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
