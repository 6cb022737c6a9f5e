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
	// cols are the signal columns, n bytes each, all 0 or 1, in the order
	// enter_long, exit_long, enter_short, exit_short; they view buf.
	cols [4][]byte
	// tags are the enter tags by candle index.
	tags map[int]string
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
// br. The payload goes into buf, grown when too small and returned for
// reuse. Every violation of the protocol is an error saying what was
// wrong; I/O failures wrap the reader's error (io.EOF and
// io.ErrUnexpectedEOF when the output ended). It reads at most one header
// line of serve.MaxHeaderBytes and a payload of 4n bytes, so it cannot be
// made to allocate more.
func readAnswer(br *bufio.Reader, id int64, n int, buf []byte) (answer, []byte, error) {
	line, err := serve.ReadHeader(br)
	switch {
	case err == io.EOF:
		return answer{}, buf, &ioError{"the process ended its output without answering", err}
	case err == io.ErrUnexpectedEOF:
		return answer{}, buf, &ioError{"the process ended its output inside a header line", err}
	case errors.Is(err, serve.ErrHeaderTooLong):
		return answer{}, buf, violation("it sent a header line longer than 1 MiB")
	case err != nil:
		return answer{}, buf, fmt.Errorf("reading its output: %w", err)
	}
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(line, &t) != nil {
		return answer{}, buf, violation("it sent something that is not a protocol message: %s", serve.Quote(line, 80))
	}
	switch t.Type {
	case serve.TypeSignals:
	case serve.TypeError:
		var m serve.ErrorMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return answer{}, buf, violation("it sent a malformed error message: %v", err)
		}
		if m.ID != id {
			return answer{}, buf, violation("it answered request %d with an error for request %d", id, m.ID)
		}
		if m.Bytes != 0 {
			return answer{}, buf, violation("its error message announces a payload of %d bytes", m.Bytes)
		}
		return answer{rejected: &m}, buf, nil
	default:
		return answer{}, buf, violation("it answered with a %q message instead of signals", t.Type)
	}
	var m serve.SignalsMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return answer{}, buf, violation("it sent a malformed signals message: %v", err)
	}
	if m.ID != id {
		return answer{}, buf, violation("it answered request %d with id %d", id, m.ID)
	}
	if m.N != n {
		return answer{}, buf, violation("it answered with %d candles for a frame of %d", m.N, n)
	}
	if want := 4 * int64(n); m.Bytes != want {
		return answer{}, buf, violation("it announced a payload of %d bytes instead of 4 × %d = %d", m.Bytes, n, want)
	}
	var at [4]int
	if len(m.Columns) != 4 {
		return answer{}, buf, violation("its signal columns %q are not the four enter_long, exit_long, enter_short, exit_short", m.Columns)
	}
	for k, name := range serve.SignalColumns() {
		at[k] = slices.Index(m.Columns, name)
		if at[k] < 0 {
			return answer{}, buf, violation("its signal columns %q are not the four enter_long, exit_long, enter_short, exit_short", m.Columns)
		}
	}
	if len(m.EnterTags) > n {
		return answer{}, buf, violation("it sent %d enter tags for %d candles", len(m.EnterTags), n)
	}
	var tags map[int]string
	if len(m.EnterTags) > 0 {
		tags = make(map[int]string, len(m.EnterTags))
		for k, tag := range m.EnterTags {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= n {
				return answer{}, buf, violation("it sent an enter tag for %q, which is not a candle index in 0..%d", k, n-1)
			}
			tags[i] = tag
		}
	}
	size := 4 * n
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if got, err := io.ReadFull(br, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return answer{}, buf, &ioError{fmt.Sprintf("its signal payload ended after %d of %d bytes", got, size), io.ErrUnexpectedEOF}
		}
		return answer{}, buf, fmt.Errorf("reading its signal payload: %w", err)
	}
	a := answer{tags: tags}
	for k, name := range serve.SignalColumns() {
		col := buf[at[k]*n : (at[k]+1)*n]
		if i := serve.CheckSignalBytes(col); i >= 0 {
			return answer{}, buf, violation("it sent signal byte %d on candle %d of %s (only 0 and 1 are allowed)", col[i], i, name)
		}
		a.cols[k] = col
	}
	return a, buf, nil
}
