// Package objstoretest is the conformance suite every objstore.Store
// passes: the database store and the S3 store run the same tests.
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/objstore"
)

// Backend is a store under test.
type Backend struct {
	Store objstore.Store
	// Tamper replaces the stored bytes of key with content, leaving the
	// size and SHA-256 recorded by Put as they were (a disk or bucket
	// that corrupted or truncated the object).
	Tamper func(t *testing.T, key string, content []byte)
	// NoEmpty, when set, says why the backend's test server cannot hold
	// an empty object; the round trip leaves that case out.
	NoEmpty string
}

func put(t *testing.T, s objstore.Store, key string, b []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)), objstore.SHA256(b)); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func get(ctx context.Context, s objstore.Store, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Run runs the suite; open returns the store for each test (the tests use keys of their own, so one store may serve them all).
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("RoundTrip", func(t *testing.T) {
		be := open(t)
		s := be.Store
		for i, b := range [][]byte{[]byte(`{"a":1}`), {}, bytes.Repeat([]byte("x"), 1<<20+3)} {
			if len(b) == 0 && be.NoEmpty != "" {
				t.Logf("empty object not tested: %s", be.NoEmpty)
				continue
			}
			key := "runs/run_1/" + strconv.Itoa(i) + ".bin"
			put(t, s, key, b)
			got, err := get(t.Context(), s, key)
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("Get %s: %d bytes, %v; want %d bytes", key, len(got), err, len(b))
			}
			got, err = objstore.ReadAll(t.Context(), s, key, int64(len(b)), objstore.SHA256(b))
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("ReadAll %s: %d bytes, %v", key, len(got), err)
			}
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := open(t).Store
		put(t, s, "k/a", []byte("one"))
		put(t, s, "k/a", []byte("two!"))
		if got, err := get(t.Context(), s, "k/a"); err != nil || string(got) != "two!" {
			t.Fatalf("Get after replace: %q, %v", got, err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		s := open(t).Store
		if _, err := get(t.Context(), s, "no/such"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
		}
		if err := s.Delete(t.Context(), "no/such"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := open(t).Store
		put(t, s, "d/1", []byte("bye"))
		put(t, s, "d/2", []byte("stay"))
		if err := s.Delete(t.Context(), "d/1"); err != nil {
			t.Fatal(err)
		}
		if _, err := get(t.Context(), s, "d/1"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
		if got, err := get(t.Context(), s, "d/2"); err != nil || string(got) != "stay" {
			t.Fatalf("the other object: %q, %v", got, err)
		}
	})
	t.Run("PutRefusesWrongContent", func(t *testing.T) {
		s := open(t).Store
		b := []byte("content")
		for name, try := range map[string]func() error{
			"sha": func() error {
				return s.Put(t.Context(), "w/x", bytes.NewReader(b), 7, objstore.SHA256([]byte("other")))
			},
			"short": func() error { return s.Put(t.Context(), "w/x", bytes.NewReader(b[:3]), 7, objstore.SHA256(b)) },
			"long":  func() error { return s.Put(t.Context(), "w/x", bytes.NewReader(b), 3, objstore.SHA256(b[:3])) },
		} {
			if err := try(); !errors.Is(err, objstore.ErrCorrupt) {
				t.Errorf("%s: Put = %v, want ErrCorrupt", name, err)
			}
			if _, err := get(t.Context(), s, "w/x"); !errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("%s: after a refused Put, Get = %v, want ErrNotFound", name, err)
			}
		}
	})
	t.Run("BadKeys", func(t *testing.T) {
		s := open(t).Store
		for _, k := range []string{"", "/abs", "a/../b", "a//b", "a\nb"} {
			if err := s.Put(t.Context(), k, strings.NewReader("x"), 1, objstore.SHA256([]byte("x"))); !errors.Is(err, objstore.ErrBadKey) {
				t.Errorf("Put %q = %v, want ErrBadKey", k, err)
			}
		}
	})
	t.Run("CorruptIsAnError", func(t *testing.T) {
		b := open(t)
		content := []byte("the report, all of it")
		for name, bad := range map[string][]byte{"flipped": []byte("the report, all of iT"), "truncated": content[:10], "empty": {}} {
			key := "c/" + name
			put(t, b.Store, key, content)
			b.Tamper(t, key, bad)
			if got, err := get(t.Context(), b.Store, key); !errors.Is(err, objstore.ErrCorrupt) {
				t.Errorf("%s: Get read %q, %v; want ErrCorrupt", name, got, err)
			}
			if got, err := objstore.ReadAll(t.Context(), b.Store, key, int64(len(content)), objstore.SHA256(content)); !errors.Is(err, objstore.ErrCorrupt) || got != nil {
				t.Errorf("%s: ReadAll = %q, %v; want nothing and ErrCorrupt", name, got, err)
			}
		}
	})
	t.Run("Ref", func(t *testing.T) {
		s := open(t).Store
		ref := objstore.Ref(s, "runs/r/a.json")
		if k, ok := objstore.KeyOf(s, ref); !ok || k != "runs/r/a.json" {
			t.Fatalf("KeyOf(Ref) = %q, %v", k, ok)
		}
		if _, ok := objstore.KeyOf(s, "elsewhere://x/"+ref); ok {
			t.Fatal("KeyOf accepted another store's ref")
		}
	})
}
