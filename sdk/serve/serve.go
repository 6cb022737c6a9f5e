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
	"unsafe"

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
// request: a strategy must not keep them, nor change its candle columns
// (with protocol version 2 they are kept for later requests of the same
// frame, which send only the parameters). When TradAI offers the
// shared-memory transport (Linux; Hello.ShmFD), Serve takes it: the frame's
// candle and signal columns then view the shared file, which may be mapped
// elsewhere by the next request.
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
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	var h Hello
	if err := DecodeHeader(line, &h, TypeHello); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if h.Protocol < MinProtocol {
		return fmt.Errorf("handshake: TradAI speaks protocol version %d, this strategy needs %d to %d", h.Protocol, MinProtocol, Protocol)
	}
	version := min(h.Protocol, Protocol)
	// The shm transport, when TradAI offers it and this system has it.
	var shm *shmMap
	if h.ShmFD > 0 && shmSupported {
		if shm, err = openShm(h.ShmFD); err != nil {
			shm = nil // stay on the pipes
		}
	}
	defer shm.close()
	sm := SpecMessage{Type: TypeSpec, Protocol: version, Columns: cols, Spec: spec}
	if shm != nil {
		sm.Transports = []string{TransportShm}
	}
	if err := WriteHeader(bw, sm); err != nil {
		return fmt.Errorf("send spec: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("send spec: %w", err)
	}

	var fb frameBuffers
	kept := map[int64]*sdk.Frame{} // version 2: the frames TradAI keeps here
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := ReadHeader(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		var m PopulateMessage
		if err := DecodeHeader(line, &m, TypePopulate); err != nil {
			return err
		}
		if version < ProtocolFrames && (m.Frame != 0 || m.Cached || m.Forget != nil) {
			return fmt.Errorf("request %d: kept frames in protocol version %d", m.ID, version)
		}
		for _, id := range m.Forget {
			delete(kept, id)
		}
		if m.Cached {
			f, err := fb.cached(kept[m.Frame], &m)
			if err != nil {
				return fmt.Errorf("request %d: %w", m.ID, err)
			}
			if err := answer(bw, s, spec, f, &m, nil); err != nil {
				return fmt.Errorf("answer request %d: %w", m.ID, err)
			}
			continue
		}
		var mem []byte
		if m.Shm != nil {
			if shm == nil {
				return fmt.Errorf("request %d: columns in shared memory, which this strategy did not declare", m.ID)
			}
			if mem, err = shm.view(); err != nil {
				return fmt.Errorf("request %d: %w", m.ID, err)
			}
		}
		f, err := fb.read(br, &m, mem)
		if err != nil {
			return fmt.Errorf("request %d: %w", m.ID, err)
		}
		if m.Frame != 0 {
			if len(kept) >= maxKept {
				if _, ok := kept[m.Frame]; !ok {
					return fmt.Errorf("request %d: more than %d kept frames", m.ID, maxKept)
				}
			}
			kept[m.Frame] = keep(f, fb.sent)
		}
		if err := answer(bw, s, spec, f, &m, fb.shmSig); err != nil {
			return fmt.Errorf("answer request %d: %w", m.ID, err)
		}
	}
}

// answer runs Populate and writes the signals or an error message. With
// the shm transport, shmSig is the room for the four signal columns in the
// shared file (the frame's signal columns start out there) and the signals
// are answered there; nil answers on the pipe.
func answer(bw *bufio.Writer, s sdk.Strategy, spec sdk.Spec, f *sdk.Frame, m *PopulateMessage, shmSig []byte) error {
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
	if len(cols) > 0 && shmSig != nil && placeShm(shmSig, n, names, cols) {
		off := ShmAnswerOffset(m.Shm.Offset, m.Shm.Bytes)
		hdr.Shm = &ShmRegion{Offset: off, Bytes: hdr.Bytes}
		hdr.Bytes = 0
		cols = nil
	}
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

// placeShm lays the signal columns cols (named names) out one after
// another at the start of sig, the shared room for the four columns of n
// candles, where the frame's columns started out. It returns false, having
// written nothing, when a column views that room other than where it
// started (the strategy swapped or resliced them): the answer then goes
// on the pipe.
func placeShm(sig []byte, n int, names []string, cols [][]bool) bool {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(sig)))
	hi := lo + uintptr(len(sig))
	for j, c := range cols {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(c)))
		k := uintptr(slices.Index(SignalColumns(), names[j]))
		if p+uintptr(n) > lo && p < hi && p != lo+k*uintptr(n) {
			return false
		}
	}
	// Column j goes to slot j, from slot k >= j or from the heap: slot j
	// held column j, which is either not sent or already moved.
	for j, c := range cols {
		copy(sig[j*n:(j+1)*n], BoolBytes(c))
	}
	return true
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
	// shmSig is the room for the signal columns in the shared file when
	// the request came through it and the file has the room, else nil.
	shmSig []byte
}

// read checks the request header, reads its payload into the frame — or,
// when the columns are in the shared file mem, points the frame's columns
// at them — and returns the frame with cleared signals.
func (b *frameBuffers) read(br *bufio.Reader, m *PopulateMessage, mem []byte) (*sdk.Frame, error) {
	if m.N < 0 {
		return nil, fmt.Errorf("negative candle count %d", m.N)
	}
	if err := ValidCandleColumns(m.Columns); err != nil {
		return nil, err
	}
	n := m.N
	size := m.Bytes
	if m.Shm != nil {
		if m.Bytes != 0 {
			return nil, fmt.Errorf("columns both in shared memory and in a payload of %d bytes", m.Bytes)
		}
		size = m.Shm.Bytes
	}
	if int64(n) > math.MaxInt64/48 || size != int64(n)*8*int64(len(m.Columns)) {
		return nil, fmt.Errorf("payload of %d bytes does not hold %d candles of %d columns", size, n, len(m.Columns))
	}
	f := &b.f
	*f = sdk.Frame{Pair: m.Pair, Timeframe: sdk.Timeframe(m.Timeframe)}
	b.sent = [6]bool{}
	b.shmSig = nil
	if m.Shm != nil {
		if err := b.viewShm(m, mem); err != nil {
			return nil, err
		}
	}
	for _, c := range m.Columns {
		if m.Shm != nil {
			break
		}
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
	sig := b.sig
	if b.shmSig != nil {
		for k := range sig {
			sig[k] = viewBools(b.shmSig[k*n : (k+1)*n])
		}
	} else {
		for k := range b.sig {
			if cap(b.sig[k]) < n {
				b.sig[k] = make([]bool, n)
			}
			b.sig[k] = b.sig[k][:n]
		}
		sig = b.sig
	}
	for k := range sig {
		clear(sig[k])
	}
	f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = sig[0], sig[1], sig[2], sig[3]
	return f, nil
}

// maxKept bounds the frames a strategy keeps (version 2): TradAI forgets
// frames long before (it bounds their bytes), so more is a broken host.
const maxKept = 1 << 16

// keep copies the candle columns of f that TradAI sent into memory of
// their own (f's may view the shared file or buffers the next request
// reuses); columns not sent keep the shared NaN and zero views.
func keep(f *sdk.Frame, sent [6]bool) *sdk.Frame {
	k := &sdk.Frame{Pair: f.Pair, Timeframe: f.Timeframe, Time: f.Time}
	if sent[0] {
		k.Time = slices.Clone(f.Time)
	}
	for i := range 5 {
		col := *floatColumn(f, i)
		if sent[i+1] {
			col = slices.Clone(col)
		}
		*floatColumn(k, i) = col
	}
	return k
}

// cached returns the frame of a request for the kept frame k (nil when
// none is kept under its number), with cleared signal columns on the
// heap: the answer goes on the pipe.
func (b *frameBuffers) cached(k *sdk.Frame, m *PopulateMessage) (*sdk.Frame, error) {
	switch {
	case k == nil:
		return nil, fmt.Errorf("frame %d is not kept", m.Frame)
	case m.Bytes != 0 || m.Shm != nil:
		return nil, errors.New("a request for a kept frame carries columns")
	case m.N != k.Len():
		return nil, fmt.Errorf("%d candles asked of kept frame %d of %d", m.N, m.Frame, k.Len())
	}
	n := m.N
	f := &b.f
	*f = *k
	b.shmSig = nil
	for i := range b.sig {
		b.sig[i] = grow(b.sig[i], n)
		clear(b.sig[i])
	}
	f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort = b.sig[0], b.sig[1], b.sig[2], b.sig[3]
	return f, nil
}

// viewShm points the frame's requested columns at the shared file mem,
// in place, and sets shmSig when the file has room for the answer.
func (b *frameBuffers) viewShm(m *PopulateMessage, mem []byte) error {
	r, n := *m.Shm, m.N
	if !r.Within(int64(len(mem))) || r.Offset%8 != 0 {
		return fmt.Errorf("shared memory region of %d bytes at offset %d is not an aligned range of the %d-byte file", r.Bytes, r.Offset, len(mem))
	}
	f := &b.f
	off := int(r.Offset)
	for _, c := range m.Columns {
		col := mem[off : off+8*n]
		off += 8 * n
		switch c {
		case ColTime:
			f.Time = viewInt64s(col)
			b.sent[0] = true
		default:
			k := floatIndex(c)
			*floatColumn(f, k) = viewFloat64s(col)
			b.sent[k+1] = true
		}
	}
	if so := ShmAnswerOffset(r.Offset, r.Bytes); n > 0 && so <= int64(len(mem)) && int64(4*n) <= int64(len(mem))-so {
		b.shmSig = mem[so : so+int64(4*n)]
	}
	return nil
}

// viewFloat64s, viewInt64s and viewBools view bytes as values (the
// reverse of Float64Bytes, Int64Bytes and BoolBytes); b must be suitably
// aligned and, for bools, hold only 0 and 1.
func viewFloat64s(b []byte) []float64 {
	if len(b) == 0 {
		return []float64{}
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func viewInt64s(b []byte) []int64 {
	if len(b) == 0 {
		return []int64{}
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func viewBools(b []byte) []bool {
	if len(b) == 0 {
		return []bool{}
	}
	return unsafe.Slice((*bool)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
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
