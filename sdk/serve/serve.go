// Package serve runs a Go strategy as an external TradAI strategy: a
// program that speaks the strategy protocol (docs/strategy-protocol.md) on
// its standard input and output. A strategy is then a small main:
//
//	func main() { serve.Run(mySMA{}) }
//
// The package also holds the protocol's wire format — message headers,
// framing and column encoding — which TradAI's own side uses too.
//
// The protocol sends columns as raw little-endian memory: Serve and Run
// refuse to run on a big-endian machine.
package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"

	"github.com/tradai/tradai/sdk"
)

// ColumnDeclarer is implemented by a strategy that needs only some candle
// columns. Columns returns the names it uses (time, open, high, low,
// close, volume); TradAI then sends only those, which keeps requests
// small. Columns that are not sent are NaN in the frame (time is 0).
// Strategies without the method get all six.
type ColumnDeclarer interface {
	Columns() []string
}

// Run serves s on standard input and output until TradAI closes the input,
// then returns (so main ends with status 0). On a protocol error or an
// invalid spec it prints the problem on standard error and exits with
// status 1. Logs belong on standard error; to protect the protocol, Run
// points file descriptor 1 at standard error, so that a stray fmt.Println
// lands in the logs instead of corrupting the conversation.
func Run(s sdk.Strategy) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	name := s.Spec().Name
	out, err := protocolOutput()
	if err != nil {
		log.Error("strategy cannot start", "strategy", name, "err", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, os.Stdin, out, s); err != nil {
		log.Error("strategy stopped", "strategy", name, "err", err)
		os.Exit(1)
	}
}

// Serve speaks the protocol for s: it reads TradAI's messages from r and
// writes the answers to w. It returns nil when r ends between messages,
// and an error on a protocol violation, a failed write, an invalid spec
// or column list, or when ctx is done (checked between requests).
//
// A Populate error is sent to TradAI as an error message and Serve goes
// on. A panic in Populate is not recovered: the process dies and TradAI
// reports it with the end of standard error.
//
// The frame passed to Populate and its columns are reused by the next
// request: a strategy must not keep them.
func Serve(ctx context.Context, r io.Reader, w io.Writer, s sdk.Strategy) error {
	if err := CheckHost(); err != nil {
		return err
	}
	spec := s.Spec()
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("invalid spec: %w", err)
	}
	cols := CandleColumns()
	if d, ok := s.(ColumnDeclarer); ok {
		if c := d.Columns(); len(c) > 0 {
			if err := ValidCandleColumns(c); err != nil {
				return fmt.Errorf("strategy %s Columns: %w", spec.Name, err)
			}
			cols = append([]string(nil), c...)
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)

	line, err := ReadHeader(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	var h Hello
	if err := DecodeHeader(line, &h, TypeHello); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if h.Protocol < Protocol {
		return fmt.Errorf("handshake: TradAI speaks protocol version %d, this strategy needs %d", h.Protocol, Protocol)
	}
	if err := WriteHeader(bw, SpecMessage{Type: TypeSpec, Protocol: Protocol, Columns: cols, Spec: spec}); err != nil {
		return fmt.Errorf("send spec: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("send spec: %w", err)
	}

	var fb frameBuffers
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := ReadHeader(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		var m PopulateMessage
		if err := DecodeHeader(line, &m, TypePopulate); err != nil {
			return err
		}
		f, err := fb.read(br, &m)
		if err != nil {
			return fmt.Errorf("request %d: %w", m.ID, err)
		}
		if err := answer(bw, s, spec, f, &m); err != nil {
			return fmt.Errorf("answer request %d: %w", m.ID, err)
		}
	}
}

// answer runs Populate and writes the signals or an error message.
func answer(bw *bufio.Writer, s sdk.Strategy, spec sdk.Spec, f *sdk.Frame, m *PopulateMessage) error {
	perr := func(err error) error {
		if err := WriteHeader(bw, ErrorMessage{Type: TypeError, ID: m.ID, Message: err.Error()}); err != nil {
			return err
		}
		return bw.Flush()
	}
	params, err := spec.Resolve(m.Params)
	if err != nil {
		return perr(err)
	}
	if err := s.Populate(f, params); err != nil {
		return perr(err)
	}
	n := m.N
	if !f.HasSignals() {
		return perr(fmt.Errorf("strategy %s left signal columns of a length other than %d candles", spec.Name, n))
	}
	var tags map[string]string
	if f.EnterTag != nil {
		if len(f.EnterTag) != n {
			return perr(fmt.Errorf("strategy %s left %d enter tags for %d candles", spec.Name, len(f.EnterTag), n))
		}
		for i, t := range f.EnterTag {
			if t != "" {
				if tags == nil {
					tags = map[string]string{}
				}
				tags[strconv.Itoa(i)] = t
			}
		}
	}
	// Columns without a single signal are left out (they read as all
	// false): a long-only strategy sends half the bytes.
	var names []string
	var cols [][]bool
	for k, c := range [][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort} {
		if slices.Contains(c, true) {
			names = append(names, SignalColumns()[k])
			cols = append(cols, c)
		}
	}
	hdr := SignalsMessage{Type: TypeSignals, ID: m.ID, N: n, Columns: names, EnterTags: tags, Bytes: int64(len(cols)) * int64(n)}
	if err := WriteHeader(bw, hdr); err != nil {
		return err
	}
	for _, c := range cols {
		if _, err := bw.Write(BoolBytes(c)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// frameBuffers holds the frame and its column memory, reused from request
// to request.
type frameBuffers struct {
	f        sdk.Frame
	time     []int64
	num      [5][]float64 // open, high, low, close, volume
	nan      []float64    // shared by the float columns not sent
	zeroTime []int64      // time when it is not sent
	sig      [4][]bool
	sent     [6]bool
}

// read checks the request header, reads its payload into the frame and
// returns the frame with cleared signals.
func (b *frameBuffers) read(br *bufio.Reader, m *PopulateMessage) (*sdk.Frame, error) {
	if m.N < 0 {
		return nil, fmt.Errorf("negative candle count %d", m.N)
	}
	if err := ValidCandleColumns(m.Columns); err != nil {
		return nil, err
	}
	n := m.N
	if int64(n) > math.MaxInt64/48 || m.Bytes != int64(n)*8*int64(len(m.Columns)) {
		return nil, fmt.Errorf("payload of %d bytes does not hold %d candles of %d columns", m.Bytes, n, len(m.Columns))
	}
	f := &b.f
	*f = sdk.Frame{Pair: m.Pair, Timeframe: sdk.Timeframe(m.Timeframe)}
	b.sent = [6]bool{}
	for _, c := range m.Columns {
		var dst []byte
		switch c {
		case ColTime:
			b.time = grow(b.time, n)
			f.Time = b.time[:n]
			dst = Int64Bytes(f.Time)
			b.sent[0] = true
		default:
			k := floatIndex(c)
			b.num[k] = grow(b.num[k], n)
			col := b.num[k][:n]
			*floatColumn(f, k) = col
			dst = Float64Bytes(col)
			b.sent[k+1] = true
		}
		if _, err := io.ReadFull(br, dst); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read column %s: %w", c, err)
		}
	}
	if !b.sent[0] {
		if cap(b.zeroTime) < n {
			b.zeroTime = make([]int64, n)
		}
		f.Time = b.zeroTime[:n]
	}
	for k := range 5 {
		if b.sent[k+1] {
			continue
		}
		if cap(b.nan) < n {
			b.nan = make([]float64, n)
			for i := range b.nan {
				b.nan[i] = math.NaN()
			}
		}
		*floatColumn(f, k) = b.nan[:n]
	}
	for k := range b.sig {
		if cap(b.sig[k]) < n {
			b.sig[k] = make([]bool, n)
		}
		b.sig[k] = b.sig[k][:n]
		clear(b.sig[k])
	}
	f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = b.sig[0], b.sig[1], b.sig[2], b.sig[3]
	return f, nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func floatIndex(c string) int {
	switch c {
	case ColOpen:
		return 0
	case ColHigh:
		return 1
	case ColLow:
		return 2
	case ColClose:
		return 3
	}
	return 4
}

func floatColumn(f *sdk.Frame, k int) *[]float64 {
	switch k {
	case 0:
		return &f.Open
	case 1:
		return &f.High
	case 2:
		return &f.Low
	case 3:
		return &f.Close
	}
	return &f.Volume
}

// errNoProtocolOutput is wrapped when fd 1 cannot be set aside.
var errNoProtocolOutput = errors.New("cannot set standard output aside for the protocol")
