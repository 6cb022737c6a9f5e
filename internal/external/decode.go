package external

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/tradai/tradai/sdk/serve"
)

// answer is a decoded and validated answer to one populate request.
type answer struct {
	// rejected is the strategy's error message when it answered with one;
	// the other fields are then empty.
	rejected *serve.ErrorMessage
	// tags are the enter tags by candle index.
	tags map[int]string
}

// sharedFile is the shared memory file as readAnswer reads it: its size
// and its bytes (a *bytes.Reader in tests).
type sharedFile interface {
	io.ReaderAt
	Size() int64
}

// protocolError is an answer that breaks the protocol (as opposed to an
// I/O failure).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// ioError is an I/O failure described in user terms; it wraps the
// reader's or writer's error.
type ioError struct {
	msg string
	err error
}

func (e *ioError) Error() string { return e.msg }
func (e *ioError) Unwrap() error { return e.err }

func violation(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// readAnswer reads the answer to request id for a frame of n candles from
// br. The signal columns go straight into dst, n bytes each, in the order
// enter_long, exit_long, enter_short, exit_short; when it returns without
// error they hold only 0 and 1, otherwise anything (clear them). Every
// violation of the protocol is an error saying what was
// wrong; I/O failures wrap the reader's error (io.EOF and
// io.ErrUnexpectedEOF when the output ended). It reads at most one header
// line of serve.MaxHeaderBytes and a payload of 4n bytes, so it cannot be
// made to allocate more.
//
// shm is the shared file when the process uses the shm transport (nil
// otherwise): the answer may then place its signal columns there instead
// of in a payload.
//
// comp serves the compute and fetch messages the strategy may send before
// its answer (the compute extension); nil refuses them as violations.
func readAnswer(br *bufio.Reader, id int64, n int, dst *[4][]byte, shm sharedFile, comp *computer) (answer, error) {
	var line []byte
	var t struct {
		Type string `json:"type"`
	}
	for {
		var err error
		line, err = serve.ReadHeader(br)
		switch {
		case errors.Is(err, io.EOF):
			return answer{}, &ioError{"the process ended its output without answering", err}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return answer{}, &ioError{"the process ended its output inside a header line", err}
		case errors.Is(err, serve.ErrHeaderTooLong):
			return answer{}, violation("it sent a header line longer than 1 MiB")
		case err != nil:
			return answer{}, fmt.Errorf("reading its output: %w", err)
		}
		t.Type = ""
		if json.Unmarshal(line, &t) != nil {
			return answer{}, violation("it sent something that is not a protocol message: %s", serve.Quote(line, 80))
		}
		if t.Type != serve.TypeCompute && t.Type != serve.TypeFetch {
			break
		}
		if comp == nil {
			return answer{}, violation("it sent a %s message, which TradAI did not offer", t.Type)
		}
		if err := comp.serveLine(t.Type, line); err != nil {
			return answer{}, err
		}
	}
	switch t.Type {
	case serve.TypeSignals:
	case serve.TypeError:
		var m serve.ErrorMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return answer{}, violation("it sent a malformed error message: %v", err)
		}
		if m.ID != id {
			return answer{}, violation("it answered request %d with an error for request %d", id, m.ID)
		}
		if m.Bytes != 0 {
			return answer{}, violation("its error message announces a payload of %d bytes", m.Bytes)
		}
		return answer{rejected: &m}, nil
	default:
		return answer{}, violation("it answered with a %q message instead of signals", t.Type)
	}
	var m serve.SignalsMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return answer{}, violation("it sent a malformed signals message: %v", err)
	}
	if m.ID != id {
		return answer{}, violation("it answered request %d with id %d", id, m.ID)
	}
	if m.N != n {
		return answer{}, violation("it answered with %d candles for a frame of %d", m.N, n)
	}
	// The columns sent: each of the four at most once; absent ones are
	// all false.
	for i, name := range m.Columns {
		if !slices.Contains(serve.SignalColumns(), name) || slices.Contains(m.Columns[:i], name) {
			return answer{}, violation("its signal columns %q are not distinct names among enter_long, exit_long, enter_short, exit_short", m.Columns)
		}
	}
	// Signal columns taken from computed results: each a signal column
	// not also sent.
	computed := map[int][]byte{}
	for name, ref := range m.Computed {
		k := slices.Index(serve.SignalColumns(), name)
		if k < 0 || slices.Contains(m.Columns, name) {
			return answer{}, violation("its computed signal column %q is not one of enter_long, exit_long, enter_short, exit_short that it did not also send", name)
		}
		if comp == nil {
			return answer{}, violation("it named a computed result as signal column %s, which TradAI did not offer", name)
		}
		b, err := comp.signal(name, ref)
		if err != nil {
			return answer{}, err
		}
		computed[k] = b
	}
	want := int64(len(m.Columns)) * int64(n)
	if m.Shm != nil {
		switch {
		case shm == nil:
			return answer{}, violation("it answered through shared memory without using the shm transport")
		case m.Bytes != 0:
			return answer{}, violation("it announced both shared memory and a payload of %d bytes", m.Bytes)
		case m.Shm.Bytes != want:
			return answer{}, violation("it announced %d bytes of shared memory instead of %d × %d = %d", m.Shm.Bytes, len(m.Columns), n, want)
		case !m.Shm.Within(shm.Size()):
			return answer{}, violation("its shared memory region of %d bytes at offset %d is outside the %d-byte shared file", m.Shm.Bytes, m.Shm.Offset, shm.Size())
		}
	} else if m.Bytes != want {
		return answer{}, violation("it announced a payload of %d bytes instead of %d × %d = %d", m.Bytes, len(m.Columns), n, want)
	}
	if len(m.EnterTags) > n {
		return answer{}, violation("it sent %d enter tags for %d candles", len(m.EnterTags), n)
	}
	var tags map[int]string
	if len(m.EnterTags) > 0 {
		tags = make(map[int]string, len(m.EnterTags))
		for k, tag := range m.EnterTags {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= n {
				return answer{}, violation("it sent an enter tag for %q, which is not a candle index in 0..%d", k, n-1)
			}
			tags[i] = tag
		}
	}
	for k := range dst {
		if len(dst[k]) != n {
			return answer{}, fmt.Errorf("internal error: signal column %d has room for %d candles, not %d", k, len(dst[k]), n)
		}
	}
	for k, name := range serve.SignalColumns() {
		if b, ok := computed[k]; ok {
			copy(dst[k], b)
		} else if !slices.Contains(m.Columns, name) {
			clear(dst[k])
		}
	}
	if m.Shm != nil {
		// Copied out before the check: the process can still write there.
		off := m.Shm.Offset
		for _, name := range m.Columns {
			col := dst[slices.Index(serve.SignalColumns(), name)]
			if _, err := shm.ReadAt(col, off); err != nil {
				return answer{}, fmt.Errorf("reading its signal column %s from the shared memory: %w", name, err)
			}
			off += int64(n)
			if i := serve.CheckSignalBytes(col); i >= 0 {
				return answer{}, violation("it sent signal byte %d on candle %d of %s (only 0 and 1 are allowed)", col[i], i, name)
			}
		}
		return answer{tags: tags}, nil
	}
	read := 0
	for _, name := range m.Columns {
		col := dst[slices.Index(serve.SignalColumns(), name)]
		got, err := io.ReadFull(br, col)
		read += got
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return answer{}, &ioError{fmt.Sprintf("its signal payload ended after %d of %d bytes", read, m.Bytes), io.ErrUnexpectedEOF}
			}
			return answer{}, fmt.Errorf("reading its signal payload: %w", err)
		}
		if i := serve.CheckSignalBytes(col); i >= 0 {
			return answer{}, violation("it sent signal byte %d on candle %d of %s (only 0 and 1 are allowed)", col[i], i, name)
		}
	}
	return answer{tags: tags}, nil
}
