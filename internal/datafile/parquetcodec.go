package datafile

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// The parquet reader decompresses each page into a buffer of the size the
// page's header declares, allocated within the file's inflate limit (see
// budgetAllocator). arrow-go's snappy and zstd codecs allocate a buffer of
// their own, outside any limit, when the compressed block declares more
// than that: up to 4 GiB for snappy and 64 GiB for zstd from a few corrupt
// bytes. The codecs below fail instead. They replace arrow-go's in its
// codec registry, which is the registry's intended use (a package's init,
// before any parquet file is read or written; nothing changes it after).
func init() {
	snappy := arrowCodec(compress.Codecs.Snappy)
	compress.RegisterCodec(compress.Codecs.Snappy, boundedCodec{Codec: snappy, name: "snappy", decode: func(dst, src []byte) ([]byte, error) {
		// A snappy block starts with its decoded length.
		n, k := binary.Uvarint(src)
		if k <= 0 {
			return nil, errors.New("corrupt block header")
		}
		if n > uint64(len(dst)) {
			return nil, fmt.Errorf("block decodes to %d bytes, more than the page's %d", n, len(dst))
		}
		return compress.Decode(snappy, dst, src)
	}})
	dec, err := zstd.NewReader(nil, zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		panic(fmt.Sprintf("datafile: zstd decoder: %v", err))
	}
	compress.RegisterCodec(compress.Codecs.Zstd, boundedCodec{Codec: arrowCodec(compress.Codecs.Zstd), name: "zstd", decode: func(dst, src []byte) ([]byte, error) {
		return dec.DecodeAll(src, dst[:0])
	}})
}

// arrowCodec returns arrow-go's codec for c.
func arrowCodec(c compress.Compression) compress.Codec {
	codec, err := compress.GetCodec(c)
	if err != nil {
		panic(fmt.Sprintf("datafile: arrow-go has no %s codec: %v", c, err))
	}
	return codec
}

// boundedCodec is an arrow-go codec whose Decode never writes beyond dst's
// capacity; it compresses like the codec it wraps.
type boundedCodec struct {
	compress.Codec
	name   string
	decode func(dst, src []byte) ([]byte, error)
}

var _ compress.ErrorCodec = boundedCodec{}

func (c boundedCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	out, err := c.decode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return out, nil
}

func (c boundedCodec) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}
