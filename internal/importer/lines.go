package importer

import (
	"bytes"
	"io"
)

// chunkSize is the read size of a lineReader: big enough to amortise the
// reads, small enough to stay in cache.
const chunkSize = 256 << 10

// lineReader hands out the lines of r one by one without copying them out
// of its buffer. A line is valid until the next call to next.
type lineReader struct {
	r    io.Reader
	buf  []byte
	data []byte // unread bytes in buf
	eof  bool
	err  error // a read error other than io.EOF
	bom  bool  // a leading UTF-8 byte order mark was checked for
}

// newLineReader reads r, of about size bytes (0 if unknown).
func newLineReader(r io.Reader, size int64) *lineReader {
	n := int64(chunkSize)
	if size > 0 && size < n {
		n = max(size+1, 512)
	}
	return &lineReader{r: r, buf: make([]byte, n)}
}

// next returns the next line without its "\n" or "\r\n". ok is false at the
// end of the input or after a read error (see err).
func (lr *lineReader) next() (line []byte, ok bool) {
	for {
		if i := bytes.IndexByte(lr.data, '\n'); i >= 0 {
			line, lr.data = lr.data[:i], lr.data[i+1:]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, true
		}
		if lr.eof {
			if lr.err != nil || len(lr.data) == 0 {
				return nil, false
			}
			line, lr.data = lr.data, nil
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, true
		}
		lr.fill()
	}
}

// fill moves the unread bytes to the front of the buffer (growing it for a
// line longer than the buffer) and reads until the buffer is full, the input
// ends or fails.
func (lr *lineReader) fill() {
	if len(lr.data) == len(lr.buf) {
		lr.buf = make([]byte, 2*len(lr.buf))
	}
	n := copy(lr.buf, lr.data)
	for n < len(lr.buf) {
		m, err := lr.r.Read(lr.buf[n:])
		n += m
		if err == io.EOF {
			lr.eof = true
			break
		}
		if err != nil {
			lr.eof, lr.err = true, err
			break
		}
	}
	lr.data = lr.buf[:n]
	if !lr.bom {
		lr.bom = true
		lr.data = bytes.TrimPrefix(lr.data, []byte("\ufeff"))
	}
}

// estimate guesses the number of lines in an input of size bytes from the
// lines buffered so far (call it after the first line was read).
func (lr *lineReader) estimate(size int64) int {
	if len(lr.data) == 0 || size <= 0 {
		return 0
	}
	n := bytes.Count(lr.data, []byte{'\n'}) + 1
	est := size * int64(n) / int64(len(lr.data))
	return int(min(est+est/32+16, 1<<26))
}
