package market

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
)

// TestStoreInflateLimit: the store reads with its configured limit; a
// series file that inflates beyond it fails to load with ErrTooLarge and
// is listed as unreadable.
func TestStoreInflateLimit(t *testing.T) {
	t.Parallel()
	s, err := OpenWith(t.TempDir(), nil, Options{Inflate: datafile.InflateLimit{Max: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("[" + strings.Repeat(" ", 2<<20) + "]"))
	zw.Close()
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-5m.json.gz")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), key("5m"), Range{}); !errors.Is(err, datafile.ErrTooLarge) {
		t.Errorf("Load: %v", err)
	}
	l, err := s.List(context.Background(), "binance")
	if err != nil || len(l.Unreadable) != 1 || !strings.Contains(l.Unreadable[0].Error, "binance/BTC_USDT-5m.json.gz: decompresses to more than 1 MiB") {
		t.Errorf("List: %+v, %v", l, err)
	}
}
