package serve

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"

	"github.com/tradai/tradai/sdk"
)

// This file is the wire format of the strategy protocol (docs/strategy-protocol.md),
// shared by the strategy side (Serve) and TradAI's host side
// (internal/external): the message headers, the framing and the column
// encoding. Columns travel as raw little-endian bytes; both sides view
// their slices as bytes and refuse to run on a big-endian host (see
// CheckHost).

// Protocol is the highest version of the protocol this package speaks:
// the version TradAI offers in its hello and Serve answers with when
// offered it. Version 2 adds kept frames (PopulateMessage.Frame): the
// candle columns of a frame cross once per process, later requests for
// the same frame send only the parameters.
const Protocol = 2

// MinProtocol is the oldest version TradAI still speaks: a strategy that
// answers the hello with it (any strategy built before version 2) is
// sent every request's columns, as version 1 says.
const MinProtocol = 1

// ProtocolFrames is the first version with kept frames.
const ProtocolFrames = 2

// MaxHeaderBytes is the longest header line either side accepts, without
// its newline.
const MaxHeaderBytes = 1 << 20

// Message types, the "type" field of every header.
const (
	TypeHello    = "hello"
	TypeSpec     = "spec"
	TypePopulate = "populate"
	TypeSignals  = "signals"
	TypeError    = "error"
	// TypeCompute and TypeFetch ask TradAI, while a populate request is
	// being served, for an indicator or for a result's values; TypeComputed
	// answers both (the "compute" extension).
	TypeCompute  = "compute"
	TypeFetch    = "fetch"
	TypeComputed = "computed"
)

// Candle column names, as a strategy lists them in SpecMessage.Columns and
// the host in PopulateMessage.Columns.
const (
	ColTime   = "time"
	ColOpen   = "open"
	ColHigh   = "high"
	ColLow    = "low"
	ColClose  = "close"
	ColVolume = "volume"
)

// Signal column names, as listed in SignalsMessage.Columns.
const (
	ColEnterLong  = "enter_long"
	ColExitLong   = "exit_long"
	ColEnterShort = "enter_short"
	ColExitShort  = "exit_short"
)

// CandleColumns returns the six candle columns in their default order, the
// columns sent when a strategy does not choose.
func CandleColumns() []string {
	return []string{ColTime, ColOpen, ColHigh, ColLow, ColClose, ColVolume}
}

// SignalColumns returns the four signal columns in the order Serve sends
// them.
func SignalColumns() []string {
	return []string{ColEnterLong, ColExitLong, ColEnterShort, ColExitShort}
}

// Hello opens the conversation (TradAI → strategy).
type Hello struct {
	Type     string `json:"type"`     // "hello"
	Protocol int    `json:"protocol"` // highest version TradAI speaks
	// ShmFD, when not 0, is the file descriptor (in the strategy's
	// process) of the shared memory file TradAI offers for the "shm"
	// transport; the strategy opts in with SpecMessage.Transports.
	ShmFD int `json:"shm_fd,omitempty"`
	// Compute, when not empty, offers the "compute" extension: the
	// functions TradAI computes for the strategy while it serves a
	// populate request (ComputeMessage). A strategy that does not use it
	// ignores the field.
	Compute []string `json:"compute,omitempty"`
}

// Functions of the "compute" extension. The first four make float64
// results from one input and a period (sdk/ta's SMA, EMA, RSI, StdDev);
// the others make bool results: Above and Below compare two inputs, or
// one input with a constant given as the only argument (a > b, a < b;
// false where either is NaN); CrossedAbove and CrossedBelow are ta's, at
// every candle; And, Or and Not combine bool results; Rose and Fell are
// where a bool result became true (a[i] && !a[i-1]) or false (!a[i] &&
// a[i-1]), false at candle 0.
const (
	FnSMA          = "sma"
	FnEMA          = "ema"
	FnRSI          = "rsi"
	FnStdDev       = "stdev"
	FnAbove        = "above"
	FnBelow        = "below"
	FnCrossedAbove = "crossed_above"
	FnCrossedBelow = "crossed_below"
	FnAnd          = "and"
	FnOr           = "or"
	FnNot          = "not"
	FnRose         = "rose"
	FnFell         = "fell"
)

// ComputeFunctions returns the functions of the "compute" extension, in
// the order TradAI offers them.
func ComputeFunctions() []string {
	return []string{FnSMA, FnEMA, FnRSI, FnStdDev, FnAbove, FnBelow, FnCrossedAbove, FnCrossedBelow, FnAnd, FnOr, FnNot, FnRose, FnFell}
}

// MaxComputeRefs is the most results a strategy may hold in one populate
// request: refs run from 1 to MaxComputeRefs.
const MaxComputeRefs = 64

// ComputeMessage asks TradAI to compute Fn over the request's frame
// (strategy → TradAI), between reading a populate request and answering
// it. TradAI answers with a ComputedMessage and keeps the result, as Ref,
// until the populate request is answered.
type ComputeMessage struct {
	Type string `json:"type"` // "compute"
	ID   int64  `json:"id"`   // the populate request's id
	// Ref is the number the strategy gives the result, 1..MaxComputeRefs,
	// not used before in this request.
	Ref int    `json:"ref"`
	Fn  string `json:"fn"`
	// Inputs are candle column names (open, high, low, close, volume:
	// any of them, also one the strategy did not ask for) or refs of
	// earlier results of this request, as JSON strings and integers.
	Inputs []json.RawMessage `json:"inputs"`
	// Args are the function's numbers: a period, or a constant.
	Args []float64 `json:"args,omitempty"`
	// Send asks for the result's values in the answer.
	Send bool `json:"send,omitempty"`
	// Bytes must be 0: a compute request has no payload.
	Bytes int64 `json:"bytes,omitempty"`
}

// FetchMessage asks for the values of result Ref of request ID, or, with
// Column set, of that candle column of its frame (strategy → TradAI);
// TradAI answers with a ComputedMessage carrying them.
type FetchMessage struct {
	Type   string `json:"type"` // "fetch"
	ID     int64  `json:"id"`
	Ref    int    `json:"ref,omitempty"`
	Column string `json:"column,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// Kinds of a computed result.
const (
	KindFloat64 = "float64" // 8 bytes a candle, little-endian IEEE 754, NaN where undefined
	KindBool    = "bool"    // 1 byte a candle, 0 or 1
	KindInt64   = "int64"   // 8 bytes a candle, little-endian: the time column
)

// ComputedMessage answers a ComputeMessage or FetchMessage (TradAI →
// strategy). With Error set the request was refused (nothing is kept
// under Ref) and the other fields are empty. Otherwise, when values were
// asked for, they follow as Bytes bytes of payload or lie in the shared
// memory file at Shm (Bytes is then 0): N values of Kind.
type ComputedMessage struct {
	Type string `json:"type"` // "computed"
	ID   int64  `json:"id"`
	Ref  int    `json:"ref"`
	// Column is the candle column fetched (FetchMessage.Column).
	Column string     `json:"column,omitempty"`
	Error  string     `json:"error,omitempty"`
	Kind   string     `json:"kind,omitempty"`
	N      int        `json:"n,omitempty"`
	Bytes  int64      `json:"bytes"`
	Shm    *ShmRegion `json:"shm,omitempty"`
}

// TransportFetch is the "fetch" transport of the compute extension: the
// request's candle columns are not sent; the strategy fetches those it
// reads (FetchMessage.Column). TradAI grants it only with the compute
// extension offered (PopulateMessage.Fetch says so).
const TransportFetch = "fetch"

// TransportShm is the shared-memory transport: request columns and
// (optionally) signal columns travel through the file of Hello.ShmFD
// instead of the pipes.
const TransportShm = "shm"

// ShmRegion is a byte range of the shared memory file.
type ShmRegion struct {
	Offset int64 `json:"offset"`
	Bytes  int64 `json:"bytes"`
}

// SpecMessage answers Hello (strategy → TradAI).
type SpecMessage struct {
	Type     string `json:"type"`     // "spec"
	Protocol int    `json:"protocol"` // version the strategy speaks
	// Columns are the candle columns the strategy wants in each request;
	// nil or empty means all six (CandleColumns).
	Columns []string `json:"columns,omitempty"`
	Spec    sdk.Spec `json:"spec"`
	// Transports lists the optional transports the strategy can use
	// (TransportShm); nil means the pipes only.
	Transports []string `json:"transports,omitempty"`
	// Bytes must be 0: a spec has no payload.
	Bytes int64 `json:"bytes,omitempty"`
}

// PopulateMessage asks for the signals of one frame (TradAI → strategy).
// It is followed by Bytes bytes: the columns listed in Columns, in that
// order, N values of 8 bytes each (int64 for time, float64 otherwise),
// little-endian.
type PopulateMessage struct {
	Type      string         `json:"type"` // "populate"
	ID        int64          `json:"id"`
	Pair      string         `json:"pair"`
	Timeframe string         `json:"timeframe"`
	N         int            `json:"n"`
	Params    map[string]any `json:"params"`
	Columns   []string       `json:"columns"`
	Bytes     int64          `json:"bytes"`
	// Shm, with the shm transport, is where the columns are in the shared
	// memory file (Bytes is then 0).
	Shm *ShmRegion `json:"shm,omitempty"`
	// Frame (version 2; 0 or absent otherwise) is the number under which
	// the strategy keeps this request's candle columns: a request that
	// sends columns (Cached false) stores them as Frame, replacing what
	// was kept under that number, before the strategy populates them.
	Frame int64 `json:"frame,omitempty"`
	// Cached (version 2) says the columns are not sent (Bytes is 0, Shm
	// absent): the request is about the frame kept as Frame, whose
	// candle count is N and columns Columns.
	Cached bool `json:"cached,omitempty"`
	// Forget (version 2) lists kept frames the strategy may drop, before
	// serving this request; TradAI will not name them again unless it
	// sends their columns anew.
	Forget []int64 `json:"forget,omitempty"`
	// Fetch (the "fetch" transport) says the columns are not sent (Bytes
	// is 0, Shm absent): the strategy fetches those it reads.
	Fetch bool `json:"fetch,omitempty"`
}

// SignalsMessage answers a PopulateMessage (strategy → TradAI). It is
// followed by Bytes = len(Columns) × N bytes: the signal columns named in
// Columns (each of the four at most once, in any order), one byte per
// candle, 0 or 1. A signal column not listed is all false.
type SignalsMessage struct {
	Type    string   `json:"type"` // "signals"
	ID      int64    `json:"id"`
	N       int      `json:"n"`
	Columns []string `json:"columns"`
	// EnterTags maps candle indexes, as decimal strings, to the tag of
	// the entry on that candle.
	EnterTags map[string]string `json:"enter_tags,omitempty"`
	Bytes     int64             `json:"bytes"`
	// Shm, with the shm transport, is where the signal columns are in the
	// shared memory file (Bytes is then 0).
	Shm *ShmRegion `json:"shm,omitempty"`
	// Computed (the "compute" extension) names signal columns taken from
	// bool results of this request, by ref; a column named here is not
	// also in Columns.
	Computed map[string]int `json:"computed,omitempty"`
}

// ErrorMessage answers a PopulateMessage the strategy cannot serve
// (strategy → TradAI). TradAI reports Message and keeps the process.
type ErrorMessage struct {
	Type    string `json:"type"` // "error"
	ID      int64  `json:"id"`
	Message string `json:"message"`
	// Bytes must be 0: an error has no payload.
	Bytes int64 `json:"bytes,omitempty"`
}

// ErrHeaderTooLong is returned by ReadHeader for a header line longer than
// MaxHeaderBytes.
var ErrHeaderTooLong = errors.New("header line longer than 1 MiB")

// ReadHeader reads one header line from r and returns it without its
// newline. It reads at most MaxHeaderBytes+1 bytes of a line and returns
// ErrHeaderTooLong beyond; io.EOF when r ends before the first byte and
// io.ErrUnexpectedEOF when it ends inside the line. The returned slice is
// valid until the next read from r.
func ReadHeader(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
		return nil, io.ErrUnexpectedEOF
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	buf := append([]byte(nil), line...)
	for {
		if len(buf) > MaxHeaderBytes {
			return nil, ErrHeaderTooLong
		}
		line, err = r.ReadSlice('\n')
		buf = append(buf, line...)
		switch {
		case err == nil:
			if len(buf)-1 > MaxHeaderBytes {
				return nil, ErrHeaderTooLong
			}
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// DecodeHeader unmarshals a header line into v (one of the message
// structs) and checks that its "type" is want. A line that is not a JSON
// object is reported with its beginning quoted.
func DecodeHeader(line []byte, v any, want string) error {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &t); err != nil {
		return fmt.Errorf("not a protocol message: %s", Quote(line, 80))
	}
	if t.Type != want {
		return fmt.Errorf("got a %q message where %q was expected", t.Type, want)
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("malformed %s message: %w", want, err)
	}
	return nil
}

// WriteHeader writes v as one JSON line.
func WriteHeader(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if len(b) > MaxHeaderBytes {
		return ErrHeaderTooLong
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Quote returns b as a quoted Go string, cut to max bytes, for error
// messages about what a peer sent.
func Quote(b []byte, max int) string {
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// ErrBigEndian is returned by CheckHost on a big-endian machine: the
// protocol's columns are little-endian and both sides copy them as raw
// memory.
var ErrBigEndian = errors.New("the strategy protocol needs a little-endian host (columns are sent as raw little-endian memory)")

// CheckHost returns ErrBigEndian on a big-endian machine and nil
// otherwise. The column views below are only valid when it returns nil.
func CheckHost() error {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) != 1 {
		return ErrBigEndian
	}
	return nil
}

// Float64Bytes views v's memory as bytes (8 per value, native byte order,
// which CheckHost requires to be little-endian). Reading into the view
// fills v.
func Float64Bytes(v []float64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*8)
}

// Int64Bytes views v's memory as bytes like Float64Bytes.
func Int64Bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*8)
}

// BoolBytes views v's memory as bytes, one per value: 0 for false, 1 for
// true. Only write 0 or 1 into the view (see CheckSignalBytes).
func BoolBytes(v []bool) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// CheckSignalBytes returns the index of the first byte of b that is
// neither 0 nor 1, or -1 when all are.
func CheckSignalBytes(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0xFEFEFEFEFEFEFEFE != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] > 1 {
			return i
		}
	}
	return -1
}

// ValidCandleColumns checks a column list for unknown names and
// duplicates.
func ValidCandleColumns(cols []string) error {
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		switch c {
		case ColTime, ColOpen, ColHigh, ColLow, ColClose, ColVolume:
		default:
			return fmt.Errorf("unknown candle column %q (want time, open, high, low, close or volume)", c)
		}
		if seen[c] {
			return fmt.Errorf("candle column %q listed twice", c)
		}
		seen[c] = true
	}
	return nil
}

// Within reports whether the region lies inside a file of size bytes.
func (r ShmRegion) Within(size int64) bool {
	return r.Offset >= 0 && r.Bytes >= 0 && r.Offset <= size && r.Bytes <= size-r.Offset
}

// ShmAnswerOffset is where the Go SDK writes its signal columns in the
// shared file for a request whose columns occupy bytes from offset: the
// end of the columns rounded up to a multiple of 64. TradAI keeps the
// file at least that plus 4·n bytes long.
func ShmAnswerOffset(offset, bytes int64) int64 {
	return (offset + bytes + 63) &^ 63
}
