// Package s3store is the objstore.Store on an S3-compatible object store
// (Amazon S3, MinIO, Ceph, R2, …) through minio-go, selected by a URL
// (ParseURL). Objects carry their SHA-256 as user metadata and are
// checked against it when read. Only the server and the workers import
// this package: the runner and the API client do not carry minio-go.
package s3store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tradai/tradai/internal/objstore"
)

// The environment variables credentials are read from when no file is
// named.
const (
	EnvAccessKey    = "AWS_ACCESS_KEY_ID"
	EnvSecretKey    = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken = "AWS_SESSION_TOKEN"
)

// metaSHA256 is the user metadata holding an object's hex SHA-256.
const metaSHA256 = "Sha256"

// Store keeps objects in one bucket under a prefix.
type Store struct {
	cfg    Config
	client *minio.Client
}

// Credentials returns the access key the store signs with: from file
// (an AWS shared credentials file; its profile from $AWS_PROFILE, else
// "default") when named, else from getenv's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Missing keys are an error
// naming where they were looked for; no error shows a key.
func Credentials(file string, getenv func(string) string) (*credentials.Credentials, error) {
	var c *credentials.Credentials
	where := "$" + EnvAccessKey + " and $" + EnvSecretKey
	if file != "" {
		c, where = credentials.NewFileAWSCredentials(file, getenv("AWS_PROFILE")), "credentials file "+file
	} else {
		c = credentials.NewStaticV4(getenv(EnvAccessKey), getenv(EnvSecretKey), getenv(EnvSessionToken))
	}
	v, err := c.GetWithContext(nil)
	if err != nil {
		return nil, fmt.Errorf("read the object store's credentials from %s: %w", where, err)
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return nil, fmt.Errorf("no object store credentials: %s hold no access key and secret", where)
	}
	return c, nil
}

// New returns the store cfg describes, signing with creds. It does not
// contact the server: an unreachable one fails the first Put or Get.
func New(cfg Config, creds *credentials.Credentials, transport http.RoundTripper) (*Store, error) {
	cl, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.Secure, Region: cfg.Region, MaxRetries: cfg.MaxRetries, Transport: transport})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", cfg, err)
	}
	return &Store{cfg: cfg, client: cl}, nil
}

// Location is "s3://bucket/prefix/".
func (s *Store) Location() string {
	if s.cfg.Prefix == "" {
		return "s3://" + s.cfg.Bucket + "/"
	}
	return "s3://" + s.cfg.Bucket + "/" + s.cfg.Prefix + "/"
}

func (s *Store) name(key string) string {
	if s.cfg.Prefix == "" {
		return key
	}
	return s.cfg.Prefix + "/" + key
}

// Put uploads the object with its SHA-256 as metadata. Content that does
// not match size and sum is ErrCorrupt, and what was uploaded is removed.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, sum string) error {
	if err := objstore.CheckKey(key); err != nil {
		return err
	}
	vr := objstore.Verify(io.NopCloser(r), key, size, sum)
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, s.name(key), vr, size, minio.PutObjectOptions{
		UserMetadata: map[string]string{metaSHA256: strings.ToLower(sum)}, ContentType: "application/octet-stream"})
	// Reading on to the end makes the verifier check size and SHA-256
	// (and says why an upload stopped short).
	if _, verr := io.Copy(io.Discard, vr); verr != nil {
		if err == nil {
			s.remove(key)
		}
		return fmt.Errorf("store object %s in %s: %w", key, s.Location(), verr)
	}
	if err != nil {
		return fmt.Errorf("store object %s in %s: %w", key, s.Location(), err)
	}
	return nil
}

// remove deletes an object Put refused, on its own context: the caller's
// may be what ended the upload.
func (s *Store) remove(key string) {
	_ = s.client.RemoveObject(context.Background(), s.cfg.Bucket, s.name(key), minio.RemoveObjectOptions{})
}

// Get returns the object, checked against its size and the SHA-256 it
// was stored with as it is read.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if objstore.CheckKey(key) != nil {
		return nil, fmt.Errorf("object %q: %w", key, objstore.ErrNotFound)
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.readErr(key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s.readErr(key, err)
	}
	var sum string
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, metaSHA256) || strings.EqualFold(k, "X-Amz-Meta-"+metaSHA256) {
			sum = v
		}
	}
	if sum == "" {
		obj.Close()
		return nil, fmt.Errorf("object %s in %s: %w: no SHA-256 recorded", key, s.Location(), objstore.ErrCorrupt)
	}
	return objstore.Verify(obj, key, info.Size, sum), nil
}

func (s *Store) readErr(key string, err error) error {
	if code := minio.ToErrorResponse(err).Code; code == minio.NoSuchKey {
		return fmt.Errorf("object %s in %s: %w", key, s.Location(), objstore.ErrNotFound)
	}
	return fmt.Errorf("read object %s from %s: %w", key, s.Location(), err)
}

// Delete removes the object (a missing one is no error).
func (s *Store) Delete(ctx context.Context, key string) error {
	if objstore.CheckKey(key) != nil {
		return nil
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("delete object %s from %s: %w", key, s.Location(), err)
	}
	return nil
}

var _ objstore.Store = (*Store)(nil)

// Open returns the store the URL names (ParseURL), with the credentials
// of Credentials(file, getenv).
func Open(rawURL, file string, getenv func(string) string) (*Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	creds, err := Credentials(file, getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg, creds, nil)
}
