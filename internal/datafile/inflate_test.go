package datafile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/sdk"
)

// gzipBomb returns a small .json.gz file that inflates to n bytes.
func gzipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	zw.Write([]byte("["))
	for n > 0 {
		m := min(n, len(chunk))
		if _, err := zw.Write(chunk[:m]); err != nil {
			t.Fatal(err)
		}
		n -= m
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// constantFrame is n candles with the same values: data that compresses
// far better than real candles do.
func constantFrame(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "5m"}
	f.Time = make([]int64, n)
	f.Open, f.High, f.Low, f.Close, f.Volume = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	return f
}

func wantTooLarge(t *testing.T, err error, file string) {
	t.Helper()
	var re *RowError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &re) || re.File != file || !strings.Contains(err.Error(), "decompresses to more than") {
		t.Fatalf("err %v; want ErrTooLarge naming %s", err, file)
	}
}

// TestDecompressionBombs: a small file that inflates far beyond what its
// size allows fails with ErrTooLarge naming it, in every compressed format.
func TestDecompressionBombs(t *testing.T) {
	racetest.Skip(t, "inflates a hundred megabytes, compute-bound")
	t.Parallel()
	dir := t.TempDir()
	// The defaults: 80 MiB from a file of a few hundred KB is refused.
	bomb := gzipBomb(t, 80<<20)
	if len(bomb)*DefaultInflateRatio > inflateFloor {
		t.Fatalf("the bomb is %d bytes; too big for the test", len(bomb))
	}
	path := writeRaw(t, dir, "BTC_USDT-5m.json.gz", bomb)
	_, err := LoadRange(path, Query{Pair: "BTC/USDT", Timeframe: "5m"})
	wantTooLarge(t, err, path)

	// A configured limit, in each format.
	small := InflateLimit{Max: 1 << 20}
	q := Query{Pair: "BTC/USDT", Timeframe: "5m", Inflate: small}
	path = writeRaw(t, dir, "small-5m.json.gz", gzipBomb(t, 2<<20))
	_, err = LoadRange(path, q)
	wantTooLarge(t, err, path)

	f := constantFrame(100_000) // 4.8 MB of columns
	path = writeRaw(t, dir, "lz4-5m.feather", featherBytes(t, f, true))
	_, err = LoadRange(path, q)
	wantTooLarge(t, err, path)

	var buf bytes.Buffer
	if err := WriteParquet(&buf, f); err != nil {
		t.Fatal(err)
	}
	path = writeRaw(t, dir, "pq-5m.parquet", buf.Bytes())
	_, err = LoadRange(path, q)
	wantTooLarge(t, err, path)

	// Real data within the limit reads as before.
	g := genFrame(2000, "5m", 7)
	buf.Reset()
	if err := WriteJSONGz(&buf, g); err != nil {
		t.Fatal(err)
	}
	path = writeRaw(t, dir, "ok-5m.json.gz", buf.Bytes())
	if got, err := LoadRange(path, q); err != nil || got.Len() != g.Len() {
		t.Fatalf("a real file within the limit: %v", err)
	}
}

func TestInflateLimitBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		l    InflateLimit
		size int64
		want int64
	}{
		{InflateLimit{}, 0, 64 << 20},
		{InflateLimit{}, 1 << 20, 64 << 20},
		{InflateLimit{}, 10 << 20, 640 << 20},
		{InflateLimit{}, 100 << 20, DefaultMaxInflate},
		{InflateLimit{}, 1 << 62, DefaultMaxInflate},
		{InflateLimit{Max: 1 << 20}, 1 << 30, 1 << 20},
		{InflateLimit{Max: 8 << 30, Ratio: 2}, 1 << 30, 2 << 30},
	} {
		if got := c.l.Bytes(c.size); got != c.want {
			t.Errorf("%+v.Bytes(%d) = %d, want %d", c.l, c.size, got, c.want)
		}
	}
}
