// Package s3storetest starts an in-process S3-compatible server for tests
// (github.com/johannesboyne/gofakes3 with its memory backend, on an
// httptest server) and opens an s3store.Store on it.
package s3storetest

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tradai/tradai/internal/objstore/s3store"
)

// Bucket is the bucket the server starts with.
const Bucket = "tradai-test"

// Server is a running fake S3.
type Server struct {
	// URL is the store's URL (s3://Bucket/prefix?endpoint=…&secure=false).
	URL      string
	Config   s3store.Config
	backend  *s3mem.Backend
	endpoint string
	ts       *httptest.Server
}

// Start runs a fake S3 holding an empty Bucket until the test ends; its
// store keeps objects under prefix.
func Start(t testing.TB, prefix string) *Server {
	t.Helper()
	b := s3mem.New()
	if err := b.CreateBucket(Bucket); err != nil {
		t.Fatalf("create the test bucket: %v", err)
	}
	ts := httptest.NewServer(gofakes3.New(b).Server())
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s3store.Config{Bucket: Bucket, Prefix: prefix, Endpoint: u.Host, Region: "us-east-1", MaxRetries: 1}
	return &Server{URL: cfg.String(), Config: cfg, backend: b, endpoint: u.Host, ts: ts}
}

// Close stops the server: its endpoint refuses connections from then on.
func (s *Server) Close() { s.ts.Close() }

// Credentials are the keys the fake accepts (any).
func Credentials() *credentials.Credentials {
	return credentials.NewStaticV4("test-access-key", "test-secret-key", "")
}

// Store opens a store on the server.
func (s *Server) Store(t testing.TB) *s3store.Store {
	t.Helper()
	st, err := s3store.New(s.Config, Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Tamper replaces the bytes of the object stored under name (the full
// name in the bucket, prefix included), keeping its metadata.
func (s *Server) Tamper(t testing.TB, name string, content []byte) {
	t.Helper()
	obj, err := s.backend.HeadObject(Bucket, name)
	if err != nil {
		t.Fatalf("tamper with %s: %v", name, err)
	}
	if _, err := s.backend.PutObject(Bucket, name, obj.Metadata, bytes.NewReader(content), int64(len(content)), nil); err != nil {
		t.Fatalf("tamper with %s: %v", name, err)
	}
}

// Objects lists the names of the objects in the bucket.
func (s *Server) Objects(t testing.TB) []string {
	t.Helper()
	list, err := s.backend.ListBucket(Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	return out
}
