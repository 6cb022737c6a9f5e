package datafile

import (
	"fmt"
	"io"
	"math"
)

// The defaults of [InflateLimit].
const (
	// DefaultMaxInflate is about twice the largest plausible series: 20
	// years of 1-minute candles (10.5 million rows) are about 500 MB as
	// columns and 700 MB as JSON.
	DefaultMaxInflate = 1 << 30
	// DefaultInflateRatio is ten times what candle data compresses to
	// (gzip'd JSON 3-6:1, LZ4 or ZSTD feather 2-4:1, Binance's zipped CSV
	// 5-8:1).
	DefaultInflateRatio = 64
	// inflateFloor is what any file may inflate to, whatever its size.
	inflateFloor = 64 << 20
)

// InflateLimit bounds how many bytes a reader decompresses from one file:
// gzip in .json.gz, LZ4 or ZSTD buffers in feather, parquet pages, and the
// members of a zip archive the importer reads. A file may inflate to Ratio
// times its size (64 MiB at least) and never to more than Max bytes; a
// file that would inflate further (a decompression bomb, or a series far
// larger than any market's history) fails fast with a [*RowError] naming
// it and wrapping [ErrTooLarge], instead of taking the process's memory
// and minutes. Zero fields take the defaults, [DefaultMaxInflate] and
// [DefaultInflateRatio].
type InflateLimit struct {
	Max   int64
	Ratio int64
}

// Bytes returns how many bytes a file of size (compressed) bytes may
// inflate to.
func (l InflateLimit) Bytes(size int64) int64 {
	most, ratio := l.Max, l.Ratio
	if most <= 0 {
		most = DefaultMaxInflate
	}
	if ratio <= 0 {
		ratio = DefaultInflateRatio
	}
	n := int64(inflateFloor)
	switch {
	case size > math.MaxInt64/ratio:
		n = most
	case size*ratio > n:
		n = size * ratio
	}
	return min(n, most)
}

// tooLarge is the error for file name inflating beyond limit bytes.
func tooLarge(name string, limit int64) *RowError {
	return &RowError{File: name, Err: ErrTooLarge, Msg: fmt.Sprintf(
		"decompresses to more than %d MiB, the limit for a file of this size: a decompression bomb, or a series larger than any market's history (the limit is configurable)",
		(limit+1<<20-1)>>20)}
}

// Budget counts the bytes inflated from one compressed file against its
// limit, across every reader it wraps (the members of a zip archive).
type Budget struct {
	name  string
	limit int64
	left  int64
}

// Budget returns the budget of the file name of size (compressed) bytes.
func (l InflateLimit) Budget(name string, size int64) *Budget {
	n := l.Bytes(size)
	return &Budget{name: name, limit: n, left: n}
}

// Reader returns r, reading at most what is left of the budget: reading
// beyond it fails with a [*RowError] naming the file and wrapping
// [ErrTooLarge].
func (b *Budget) Reader(r io.Reader) io.Reader { return &budgetReader{r: r, b: b} }

type budgetReader struct {
	r io.Reader
	b *Budget
}

func (br *budgetReader) Read(p []byte) (int, error) {
	b := br.b
	if b.left <= 0 {
		// Over the limit only if there is more to read.
		var one [1]byte
		if n, err := br.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, tooLarge(b.name, b.limit)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := br.r.Read(p)
	b.left -= int64(n)
	return n, err
}
