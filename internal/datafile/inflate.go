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

// limitedReader reads at most limit bytes from r and then fails with
// tooLarge: the total across every reader sharing it.
type limitedReader struct {
	r     io.Reader
	name  string
	limit int64
	left  *int64
}

// newLimitedReader returns r reading at most limit bytes, named name in
// its error.
func newLimitedReader(r io.Reader, name string, limit int64) *limitedReader {
	left := limit
	return &limitedReader{r: r, name: name, limit: limit, left: &left}
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if *l.left <= 0 {
		// Over the limit only if there is more to read.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, tooLarge(l.name, l.limit)
		}
		return 0, err
	}
	if int64(len(p)) > *l.left {
		p = p[:*l.left]
	}
	n, err := l.r.Read(p)
	*l.left -= int64(n)
	return n, err
}
