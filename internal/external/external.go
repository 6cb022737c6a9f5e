// Package external runs strategies that are separate programs speaking the
// strategy protocol (docs/strategy-protocol.md) on their standard input
// and output, and makes them an sdk.Strategy.
//
// One process serves one Strategy and is reused across pairs and parameter
// sets; requests are serialized. When the process fails — it crashes,
// hangs beyond the timeout, breaks the protocol — it is killed with
// everything it started and reaped, the error says what happened, names the
// strategy and the pair and ends with the tail of the process's standard
// error, and the next Populate starts a fresh process.
//
// Limits: each request has a timeout enforced by killing the process, and
// the process's address space is limited with RLIMIT_AS, applied with
// prlimit right after the program starts (the program's own start-up runs
// before the limit is in place; it cannot have received any data by
// then). The wire format is the one of package sdk/serve: columns cross as
// raw little-endian memory, so Start refuses to run on a big-endian host.
// Process control needs Linux; elsewhere Start returns an error.
//
// Everything a strategy starts dies with it: the process is the init of a
// PID namespace of its own (in a user namespace of its own when TradAI is
// not root), so when it ends the kernel kills every process in the
// namespace, also those that left its process group (setsid). Where
// namespaces are not available (a container without the privilege) the
// process runs in a process group of its own only, and a warning is
// logged: a descendant that calls setsid can then outlive it.
package external

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/tradai/tradai/internal/sandbox"
	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
)

// Defaults of Options.
const (
	DefaultStartTimeout   = 10 * time.Second
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMemoryLimit    = 4 << 30
	DefaultStderrTail     = 4 << 10
)

// ErrTimeout is wrapped by the error of a handshake or request that did not
// complete in time (the process was killed).
var ErrTimeout = errors.New("no answer in time")

// Options configure the process of an external strategy. Zero values mean
// the defaults.
//
// The process does not inherit TradAI's environment. It gets PATH (as
// TradAI's), HOME and TMPDIR (an empty folder of its own, removed when the
// process ends), LANG=C.UTF-8 and LC_ALL=C.UTF-8, then Env. Values of
// TradAI's own secret-looking variables (TRADAI_*, PG*, names with
// SECRET, TOKEN, PASS, KEY, DATABASE, URL …) are replaced by [redacted]
// in everything the strategy wrote that goes into an error.
type Options struct {
	Dir            string        // working directory of the child ("" = current)
	Env            []string      // environment beyond the minimal one (see above); wins over it
	StartTimeout   time.Duration // handshake (default 10 s)
	RequestTimeout time.Duration // one populate answer (default 2 min)
	MemoryLimit    int64         // RLIMIT_AS of the child in bytes (default 4 GiB; negative = none)
	StderrTail     int           // bytes of stderr kept for error messages (default 4 KiB)
	Log            *slog.Logger  // nil = discard; the child's stderr lines go here at debug level
	// FrameBytes bounds the candle column bytes a process that speaks
	// protocol version 2 on the pipes keeps for later requests of the
	// same frames (default DefaultFrameBytes); the least recently used
	// are dropped beyond.
	FrameBytes int64
	// ComputeBytes bounds the bytes the results of the compute extension
	// may take together in one populate request (default
	// DefaultComputeBytes); a compute beyond is refused.
	ComputeBytes int64
	// NoCompute does not offer the compute extension: the strategy
	// computes its indicators itself (as with a TradAI older than it).
	NoCompute bool
	// PipeOnly keeps the columns on the pipes: TradAI does not offer the
	// shared-memory transport, even to a strategy that can use it.
	PipeOnly bool
	// Sandbox, when set, runs the program in this sandbox (package
	// sandbox; what a server does with every tenant's strategy): argv[0]
	// must then be an absolute path the sandbox shows, Dir a folder
	// inside ("" = its scratch space), and the environment is as above
	// with the sandbox's PATH and scratch space as HOME and TMPDIR. nil
	// runs it directly (a user's own file on their own machine).
	Sandbox *sandbox.Config
	// Name is what errors call the program (default: argv[0]'s base name);
	// for an interpreted strategy, its file rather than the interpreter.
	Name string
	// Nice lowers the CPU priority of the program (and of all it starts)
	// by this many steps below TradAI's own (setpriority, as nice(1) does;
	// 0..19, capped at the lowest priority, 19): a strategy that spins
	// then takes CPU time from the TradAI process beside it only when it
	// has nothing to do. 0 runs it at TradAI's priority.
	Nice int
}

func (o Options) withDefaults() Options {
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.ComputeBytes <= 0 {
		o.ComputeBytes = DefaultComputeBytes
	}
	if o.FrameBytes <= 0 {
		o.FrameBytes = DefaultFrameBytes
	}
	if o.StderrTail <= 0 {
		o.StderrTail = DefaultStderrTail
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// name is what errors call the program argv0 runs.
func (o Options) name(argv0 string) string {
	if o.Name != "" {
		return o.Name
	}
	return filepath.Base(argv0)
}

// RejectedError is the error of a request the strategy answered with an
// error message (for instance a parameter combination it refuses). The
// process stays in use.
type RejectedError struct {
	Strategy, Pair, Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("strategy %s on %s: %s", e.Strategy, e.Pair, e.Message)
}

// Strategy is an external strategy program; it implements sdk.Strategy.
// Its methods are safe for concurrent use; populate requests run one at a
// time.
type Strategy struct {
	argv []string
	opts Options

	// Set by Start, never changed.
	spec     sdk.Spec
	specJSON []byte
	cols     []string

	red redactor // set by Start, never changed

	mu sync.Mutex
	p  *process // nil when no process runs
	// noNamespace is set once a process could not get a PID namespace.
	noNamespace bool
	nextID      int64
	computed    int64 // compute and fetch messages answered
	closed      bool
	// spent is what its stopped processes used: CPU time, and the highest
	// peak resident memory.
	spentCPU  time.Duration
	spentPeak int64
}

// Usage is the CPU time the strategy's processes used (the ones stopped
// and the one running, with what they started) and the most resident
// memory one of them held, in bytes.
func (s *Strategy) Usage() (cpu time.Duration, peak int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cpu, peak = s.spentCPU, s.spentPeak
	if s.p != nil {
		c, m := s.p.usage()
		cpu, peak = cpu+c, max(peak, m)
	}
	return cpu, peak
}

// retire stops p, adding what it used to the strategy's account.
func (s *Strategy) retire(p *process) {
	p.stop()
	c, m := p.usage()
	s.spentCPU, s.spentPeak = s.spentCPU+c, max(s.spentPeak, m)
}

var _ sdk.Strategy = (*Strategy)(nil)

// Start starts the program argv (argv[0] is looked up like exec.Command
// does, relative to the current directory rather than opts.Dir), does the
// handshake within opts.StartTimeout or until ctx is done, and validates
// the strategy's spec.
func Start(ctx context.Context, argv []string, opts Options) (*Strategy, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("external strategy: no program given")
	}
	if err := serve.CheckHost(); err != nil {
		return nil, fmt.Errorf("external strategy %s: %w", opts.name(argv[0]), err)
	}
	if err := supported(); err != nil {
		return nil, fmt.Errorf("external strategy %s: %w", opts.name(argv[0]), err)
	}
	if opts.Nice < 0 || opts.Nice > 19 {
		return nil, fmt.Errorf("external strategy %s: the nice value %d is outside 0..19", opts.name(argv[0]), opts.Nice)
	}
	s := &Strategy{argv: slices.Clone(argv), opts: opts.withDefaults()}
	s.red = newRedactor(os.Environ(), append(slices.Clone(s.opts.Env), "PATH="+os.Getenv("PATH")))
	p, hs, err := s.launch(ctx)
	if err != nil {
		return nil, s.red.err(fmt.Errorf("external strategy %s: %w", opts.name(argv[0]), err))
	}
	s.spec, s.cols, s.p = hs.spec, hs.cols, p
	s.specJSON, _ = json.Marshal(hs.spec)
	return s, nil
}

// Spec returns the spec the strategy declared in its handshake.
func (s *Strategy) Spec() sdk.Spec { return s.spec }

// Populate sends the frame's requested columns and parameters p to the
// process and fills f's signal columns and EnterTag (nil when the strategy
// tags nothing) from its answer. It starts a fresh process when the
// previous one failed.
func (s *Strategy) Populate(f *sdk.Frame, p sdk.Values) error {
	return s.red.err(s.populate(f, p))
}

func (s *Strategy) populate(f *sdk.Frame, p sdk.Values) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.spec.Name
	if s.closed {
		return fmt.Errorf("strategy %s on %s: the external strategy is closed", name, f.Pair)
	}
	n := f.Len()
	cols, err := s.columns(f)
	if err != nil {
		return fmt.Errorf("strategy %s on %s: %w", name, f.Pair, err)
	}
	if s.p == nil {
		proc, hs, err := s.launch(context.Background())
		if err != nil {
			return fmt.Errorf("strategy %s on %s: restart: %w", name, f.Pair, err)
		}
		if b, _ := json.Marshal(hs.spec); !bytes.Equal(b, s.specJSON) || !slices.Equal(hs.cols, s.cols) {
			proc.stop()
			return fmt.Errorf("strategy %s on %s: restart: the program declared a different spec or columns than when it was first started", name, f.Pair)
		}
		s.p = proc
	}
	proc := s.p
	s.nextID++
	id := s.nextID
	req := serve.PopulateMessage{
		Type: serve.TypePopulate, ID: id, Pair: f.Pair, Timeframe: string(f.Timeframe),
		N: n, Params: p, Columns: s.cols, Bytes: int64(n) * 8 * int64(len(s.cols)),
	}
	if proc.useFetch {
		// The strategy fetches the columns it reads.
		req.Bytes, req.Fetch, cols = 0, true, nil
	}
	if proc.frames != nil {
		// Protocol version 2 on the pipes: a frame the process keeps is
		// not sent again.
		req.Frame, req.Cached, req.Forget = proc.frames.use(proc.frames.key(f, cols), req.Bytes)
		if req.Cached {
			req.Bytes, cols = 0, nil
		}
	}
	var shm sharedFile      // nil on the pipes
	var values sharedValues // where computed values go: nil on the pipes
	var valuesFrom int64
	if proc.useShm {
		// The columns go into the shared file from offset 0, with room
		// for the answer after them.
		if err := proc.shm.ensure(shmSize(req.Bytes, n)); err != nil {
			return fmt.Errorf("strategy %s on %s: %w", name, f.Pair, err)
		}
		shm, values, valuesFrom = proc.shm, proc.shm, shmSize(req.Bytes, n)
		if !req.Fetch {
			if err := proc.shm.write(cols); err != nil {
				return fmt.Errorf("strategy %s on %s: %w", name, f.Pair, err)
			}
			req.Shm = &serve.ShmRegion{Offset: 0, Bytes: req.Bytes}
			req.Bytes, cols = 0, nil
		}
	}

	f.EnsureSignals()
	dst := [4][]byte{serve.BoolBytes(f.EnterLong), serve.BoolBytes(f.ExitLong), serve.BoolBytes(f.EnterShort), serve.BoolBytes(f.ExitShort)}
	disarm := proc.watch(context.Background(), s.opts.RequestTimeout)
	err = send(proc, &req, cols)
	var a answer
	if err == nil {
		var comp *computer
		if !s.opts.NoCompute {
			comp = newComputer(id, f, s.opts.ComputeBytes, proc.stdin, values, valuesFrom)
		}
		a, err = readAnswer(proc.br, id, n, &dst, shm, comp)
		if comp != nil {
			comp.wait() // none may read the frame after the request
			s.computed += comp.served
		}
	}
	cause := disarm()
	if cause == nil && err == nil && a.rejected == nil {
		setTags(f, a.tags)
		return nil
	}
	for _, c := range dst {
		clear(c) // no signals rather than a partial or invalid answer
	}
	if cause == nil && err == nil {
		return &RejectedError{Strategy: name, Pair: f.Pair, Message: s.red.text(bound(a.rejected.Message, s.opts.StderrTail))}
	}
	// The process failed: say why, then tear it down.
	var pe *protocolError
	switch {
	case cause != nil:
		if errors.Is(cause, ErrTimeout) {
			cause = fmt.Errorf("%w: the request timeout is %v", cause, s.opts.RequestTimeout)
		}
		err = cause
	case errors.As(err, &pe):
		err = fmt.Errorf("invalid answer: %w", err)
	default: // its output or input ended: let it finish exiting
		proc.waitExit()
	}
	s.p = nil
	s.retire(proc)
	return fmt.Errorf("strategy %s on %s: %w%s", name, f.Pair, err, proc.ending(s.opts.MemoryLimit))
}

// shmSize is the size the shared file must have for a request of in
// bytes of columns and n candles: the columns, then, from the next
// multiple of 64, room for the four signal columns.
func shmSize(in int64, n int) int64 {
	return max(serve.ShmAnswerOffset(0, in)+4*int64(n), 1)
}

// Transport returns the transport the current process uses: "shm" or
// "pipe" ("" when no process runs).
func (s *Strategy) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.p == nil:
		return ""
	case s.p.useShm:
		return serve.TransportShm
	}
	return "pipe"
}

// columns returns the byte views of the frame's columns the strategy asked
// for, checking their lengths.
func (s *Strategy) columns(f *sdk.Frame) ([][]byte, error) {
	n := f.Len()
	out := make([][]byte, len(s.cols))
	for k, c := range s.cols {
		var b []byte
		var l int
		switch c {
		case serve.ColTime:
			b, l = serve.Int64Bytes(f.Time), len(f.Time)
		case serve.ColOpen:
			b, l = serve.Float64Bytes(f.Open), len(f.Open)
		case serve.ColHigh:
			b, l = serve.Float64Bytes(f.High), len(f.High)
		case serve.ColLow:
			b, l = serve.Float64Bytes(f.Low), len(f.Low)
		case serve.ColClose:
			b, l = serve.Float64Bytes(f.Close), len(f.Close)
		case serve.ColVolume:
			b, l = serve.Float64Bytes(f.Volume), len(f.Volume)
		}
		if l != n {
			return nil, fmt.Errorf("frame column %s has %d values for %d candles", c, l, n)
		}
		out[k] = b
	}
	return out, nil
}

// send writes a request: its header, then each column in one write.
func send(p *process, req *serve.PopulateMessage, cols [][]byte) error {
	if err := serve.WriteHeader(p.stdin, req); err != nil {
		return fmt.Errorf("sending the request: %w", err)
	}
	for k, b := range cols {
		if _, err := p.stdin.Write(b); err != nil {
			return fmt.Errorf("sending column %s: %w", req.Columns[k], err)
		}
	}
	return nil
}

// setTags sets the frame's enter tags to those of the answer.
func setTags(f *sdk.Frame, tags map[int]string) {
	if len(tags) == 0 {
		f.EnterTag = nil
		return
	}
	if len(f.EnterTag) == f.Len() {
		clear(f.EnterTag)
	} else {
		f.EnterTag = make([]string, f.Len())
	}
	for i, t := range tags {
		f.EnterTag[i] = t
	}
}

// Close closes the process's input and gives it a moment to exit by
// itself, then kills it (with its process group) and reaps it. It reports
// an exit other than a clean status 0. Later calls return nil; later
// Populate calls fail.
func (s *Strategy) Close() error {
	return s.red.err(s.close())
}

func (s *Strategy) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	p := s.p
	s.p = nil
	if p == nil {
		return nil
	}
	p.stdin.Close()
	p.waitExit()
	s.retire(p)
	if p.state != nil && p.state.Exited() && p.state.ExitCode() == 0 {
		return nil
	}
	if p.killed {
		return fmt.Errorf("strategy %s: did not exit within %v after its input was closed%s", s.spec.Name, exitGrace, p.ending(0))
	}
	return fmt.Errorf("strategy %s: exit after its input was closed%s", s.spec.Name, p.ending(s.opts.MemoryLimit))
}

// handshake is what a strategy declares when it starts.
type handshake struct {
	spec sdk.Spec
	cols []string
}

// launch starts a process and does the handshake. On failure the process
// is gone and the error says why, with the end of its standard error.
func (s *Strategy) launch(ctx context.Context) (*process, handshake, error) {
	p, err := spawn(s.argv, &s.opts, !s.noNamespace, s.opts.Log.With("strategy", s.argv[0]))
	if err != nil {
		return nil, handshake{}, fmt.Errorf("start: %w", err)
	}
	s.noNamespace = !p.isolated // not tried (nor warned about) again
	disarm := p.watch(ctx, s.opts.StartTimeout)
	hs, err := hello(p, s.opts.FrameBytes, s.opts.NoCompute)
	cause := disarm()
	if cause == nil && err == nil {
		return p, hs, nil
	}
	var pe *protocolError
	switch {
	case cause != nil:
		if errors.Is(cause, ErrTimeout) {
			cause = fmt.Errorf("%w: the start timeout is %v", cause, s.opts.StartTimeout)
		}
		err = fmt.Errorf("handshake: %w", cause)
	case errors.As(err, &pe):
		err = fmt.Errorf("handshake: %w", err)
	default:
		p.waitExit()
		err = fmt.Errorf("handshake: %w", err)
	}
	p.stop()
	return nil, handshake{}, fmt.Errorf("%w%s", err, p.ending(s.opts.MemoryLimit))
}

// hello sends the hello message and reads and checks the spec.
func hello(p *process, frameBytes int64, noCompute bool) (handshake, error) {
	h := serve.Hello{Type: serve.TypeHello, Protocol: serve.Protocol}
	if !noCompute {
		h.Compute = serve.ComputeFunctions()
	}
	if p.shm != nil {
		h.ShmFD = shmChildFD
	}
	if err := serve.WriteHeader(p.stdin, h); err != nil {
		// A broken pipe: the program closed its input, nearly always by
		// ending. Whether the write or its output's end is seen first is
		// a race; say the same either way.
		if errors.Is(err, syscall.EPIPE) {
			if _, rerr := serve.ReadHeader(p.br); errors.Is(rerr, io.EOF) {
				return handshake{}, &ioError{"the process ended its output before it declared its spec", err}
			}
		}
		return handshake{}, fmt.Errorf("sending hello: %w", err)
	}
	line, err := serve.ReadHeader(p.br)
	switch {
	case errors.Is(err, io.EOF):
		return handshake{}, &ioError{"the process ended its output before it declared its spec", err}
	case errors.Is(err, serve.ErrHeaderTooLong):
		return handshake{}, violation("it sent a header line longer than 1 MiB")
	case err != nil:
		return handshake{}, fmt.Errorf("reading its spec: %w", err)
	}
	var m serve.SpecMessage
	if err := serve.DecodeHeader(line, &m, serve.TypeSpec); err != nil {
		return handshake{}, violation("%v", err)
	}
	if m.Protocol < serve.MinProtocol || m.Protocol > serve.Protocol {
		return handshake{}, violation("it speaks protocol version %d; TradAI speaks %d to %d", m.Protocol, serve.MinProtocol, serve.Protocol)
	}
	if m.Bytes != 0 {
		return handshake{}, violation("its spec message announces a payload")
	}
	cols := m.Columns
	if len(cols) == 0 {
		cols = serve.CandleColumns()
	}
	if err := serve.ValidCandleColumns(cols); err != nil {
		return handshake{}, violation("%v", err)
	}
	spec := m.Spec
	normalizeDefaults(&spec)
	if err := spec.Validate(); err != nil {
		return handshake{}, violation("invalid spec: %v", err)
	}
	if spec.FileSignals {
		return handshake{}, violation("its spec declares file_signals, which only built-in strategies can: a program receives the candle columns only; compute the signals in populate")
	}
	// A strategy may only take the shm transport when it was offered;
	// unknown transports are ignored.
	p.useShm = p.shm != nil && slices.Contains(m.Transports, serve.TransportShm)
	// The fetch transport rides on the compute extension: only where it
	// was offered.
	p.useFetch = !noCompute && slices.Contains(m.Transports, serve.TransportFetch)
	if m.Protocol >= serve.ProtocolFrames && !p.useShm && !p.useFetch {
		// Kept frames spare the pipes; with the shared file, copying the
		// columns in (~40 GB/s) costs less than recognising a frame by
		// its hash (~10 GB/s).
		p.frames = newFrames(frameBytes)
	}
	return handshake{spec: spec, cols: cols}, nil
}

// normalizeDefaults turns the whole JSON numbers of int parameters'
// defaults into ints, as built-in strategies declare them.
func normalizeDefaults(s *sdk.Spec) {
	s.Params = slices.Clone(s.Params)
	for i, p := range s.Params {
		if x, ok := p.Default.(float64); ok && p.Kind == sdk.Int && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			s.Params[i].Default = int(x)
		}
	}
}
