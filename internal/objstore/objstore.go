// Package objstore keeps blobs (run artifacts) by key in one of two
// places: the database (table objects; the default) or an S3-compatible
// object store (package s3store). Every object is written with its size
// and SHA-256 and checked against them when read back: a corrupted or
// truncated object is an error (ErrCorrupt), never data.
//
// Callers record where an object went as a ref (Ref): the store's
// Location followed by the key, so a reader can tell which store holds it.
package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrNotFound: no object under the key.
	ErrNotFound = errors.New("object not found")
	// ErrCorrupt: the object's bytes do not match the size and SHA-256
	// it was written with (or the ones the caller expected).
	ErrCorrupt = errors.New("object is corrupt: its size or SHA-256 does not match what was written")
	// ErrBadKey: a key no store accepts.
	ErrBadKey = errors.New("bad object key")
)

// Store keeps objects by key. Put replaces an object of the same key;
// Delete of a missing key succeeds.
type Store interface {
	// Put stores size bytes read from r under key; sha256 is their
	// hex SHA-256. Bytes that do not match size and sha256 are ErrCorrupt
	// and leave no object.
	Put(ctx context.Context, key string, r io.Reader, size int64, sha256 string) error
	// Get returns the object's content; reading it to the end fails with
	// ErrCorrupt when the bytes do not match what Put was given.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	// Location names the store in refs: "db:" or "s3://bucket/prefix/".
	Location() string
}

// Ref is where key lives in s, for recording beside what refers to it.
func Ref(s Store, key string) string { return s.Location() + key }

// KeyOf returns the key of ref in s, false when ref names another store.
func KeyOf(s Store, ref string) (string, bool) {
	k, ok := strings.CutPrefix(ref, s.Location())
	return k, ok && k != ""
}

// CheckKey refuses keys that are empty, longer than 1024 bytes, not
// UTF-8, start with "/", hold control characters or a ".." segment.
func CheckKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrBadKey, key, why) }
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrBadKey)
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	case !utf8.ValidString(key):
		return bad("not UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("starts with /")
	case strings.ContainsFunc(key, unicode.IsControl):
		return bad("holds a control character")
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("has an empty, . or .. segment")
		}
	}
	return nil
}

// SHA256 is the hex SHA-256 of b.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Verify wraps r so that reading it to the end fails with ErrCorrupt
// (naming key) unless exactly size bytes with the hex SHA-256 sum came.
func Verify(r io.ReadCloser, key string, size int64, sum string) io.ReadCloser {
	return &verifier{rc: r, key: key, size: size, sum: strings.ToLower(sum), h: sha256.New()}
}

type verifier struct {
	rc   io.ReadCloser
	key  string
	size int64
	sum  string
	h    hash.Hash
	n    int64
	err  error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.size {
		v.err = fmt.Errorf("object %s: %w: more than %d bytes", v.key, ErrCorrupt, v.size)
		return 0, v.err
	}
	if errors.Is(err, io.EOF) {
		if v.n != v.size {
			v.err = fmt.Errorf("object %s: %w: %d bytes, want %d", v.key, ErrCorrupt, v.n, v.size)
			return 0, v.err
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.sum {
			v.err = fmt.Errorf("object %s: %w: SHA-256 %s, want %s", v.key, ErrCorrupt, got, v.sum)
			return 0, v.err
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// ReadAll reads the object key of s whole and checks it against the size
// and SHA-256 the caller recorded: nothing is returned unless all of it
// matches.
func ReadAll(ctx context.Context, s Store, key string, size int64, sum string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if size > 0 && size < 1<<30 {
		buf.Grow(int(size))
	}
	if _, err := io.Copy(&buf, Verify(rc, key, size, sum)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readChecked reads r whole, refusing it unless it is size bytes with
// the hex SHA-256 sum: what a Put stores.
func readChecked(r io.Reader, key string, size int64, sum string) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, Verify(io.NopCloser(r), key, size, sum)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
