package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
	abi "github.com/tradai/tradai/sdk/wasm"
)

// Strategy is an opened wasm strategy. Populate may be called
// concurrently: each call takes an idle instance of the module or
// instantiates one, up to Options.MaxInstances.
type Strategy struct {
	r     *Runtime
	m     *module
	label string // what errors call it: "strategy NAME (wasm ID)"

	slots chan struct{}  // one token per live instance
	free  chan *instance // idle instances

	mu     sync.Mutex
	closed bool
	peak   int64 // the largest linear memory an instance had after a call, in bytes
}

// Usage is the strategy's cost as a runtime of its own: its calls run on
// the caller's thread (the caller counts their CPU time: 0 here), and
// peak is the largest linear memory one of its instances had after a
// call, in bytes.
func (s *Strategy) Usage() (cpu time.Duration, peak int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 0, s.peak
}

func newStrategy(r *Runtime, m *module) *Strategy {
	return &Strategy{
		r: r, m: m,
		label: fmt.Sprintf("strategy %s (wasm %s)", m.spec.Name, m.id),
		slots: make(chan struct{}, r.opts.MaxInstances),
		free:  make(chan *instance, r.opts.MaxInstances),
	}
}

// Spec implements sdk.Strategy.
func (s *Strategy) Spec() sdk.Spec { return s.m.spec }

// Close frees the strategy's idle instances; one in use is freed when its
// call returns. Populate fails after Close.
func (s *Strategy) Close() error {
	s.mu.Lock()
	was := s.closed
	s.closed = true
	s.mu.Unlock()
	if !was {
		s.r.release(s.m) // the reference Open took
	}
	for {
		select {
		case in := <-s.free:
			in.close(context.Background())
			<-s.slots
		default:
			return nil
		}
	}
}

func (s *Strategy) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Populate implements sdk.Strategy: the candle columns are written into
// the module's memory, its tradai_populate runs, the signals are read back
// and checked.
func (s *Strategy) Populate(f *sdk.Frame, p sdk.Values) error {
	ctx := context.Background()
	if s.isClosed() {
		return fmt.Errorf("%s on %s: the strategy is closed", s.label, f.Pair)
	}
	req, err := json.Marshal(abi.Request{Pair: f.Pair, Timeframe: f.Timeframe, Params: p})
	if err != nil {
		return fmt.Errorf("%s on %s: encoding the parameters: %w", s.label, f.Pair, err)
	}
	in, err := s.acquire(ctx)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", s.label, f.Pair, err)
	}
	err = in.populate(ctx, f, req)
	var refused *refusal
	// Anything but the strategy's own error leaves the instance in an
	// unknown state: throw it away.
	keep := err == nil || errors.As(err, &refused)
	s.mu.Lock()
	s.peak = max(s.peak, int64(in.mem.Size()))
	if keep && !s.closed {
		s.free <- in // never blocks: at most MaxInstances exist
	} else {
		in.close(ctx)
		<-s.slots
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s on %s: %w", s.label, f.Pair, err)
	}
	return nil
}

// acquire returns an idle instance or a new one, waiting while
// MaxInstances are busy.
func (s *Strategy) acquire(ctx context.Context) (*instance, error) {
	select {
	case in := <-s.free:
		return in, nil
	default:
	}
	select {
	case in := <-s.free:
		return in, nil
	case s.slots <- struct{}{}:
		in, err := s.r.instantiate(ctx, s.m, s.label)
		if err != nil {
			<-s.slots
			return nil, err
		}
		return in, nil
	}
}

// instance is one instantiated module with its exports at hand. It
// serves one call at a time and holds a reference to its module until
// closed.
type instance struct {
	r      *Runtime
	m      *module
	closed bool
	mod    api.Module
	mem    api.Memory
	out    *capture

	interrupt, countdown                               api.MutableGlobal
	abiVersion, spec, prepare, populateFn, tags, errFn api.Function
}

// instantiate makes a new instance of m: its memory, then the module's
// _initialize (a reactor's start) within the call deadline.
func (r *Runtime) instantiate(ctx context.Context, m *module, label string) (*instance, error) {
	r.mu.Lock()
	if m.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: the module was unloaded (its strategy is closed)", label)
	}
	m.refs++
	r.mu.Unlock()
	out := &capture{limit: r.opts.OutputLimit}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize is called below, interruptible
		WithStdout(out).
		WithStderr(out)
	mod, err := r.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, memoryAllocator()), m.compiled, cfg)
	if err != nil {
		r.release(m)
		return nil, fmt.Errorf("%s: starting the module: %w", label, err)
	}
	in := &instance{r: r, m: m, mod: mod, mem: mod.Memory(), out: out}
	in.interrupt, _ = mod.ExportedGlobal(interruptExport).(api.MutableGlobal)
	in.countdown, _ = mod.ExportedGlobal(countdownExport).(api.MutableGlobal)
	in.abiVersion = mod.ExportedFunction(abi.ExportABIVersion)
	in.spec = mod.ExportedFunction(abi.ExportSpec)
	in.prepare = mod.ExportedFunction(abi.ExportPrepare)
	in.populateFn = mod.ExportedFunction(abi.ExportPopulate)
	in.tags = mod.ExportedFunction(abi.ExportTags)
	in.errFn = mod.ExportedFunction(abi.ExportError)
	if in.interrupt == nil || in.countdown == nil {
		in.close(ctx)
		return nil, fmt.Errorf("%s: internal error: the module has no interrupt global", label)
	}
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := in.callAny(ctx, init); err != nil {
			in.close(ctx)
			return nil, fmt.Errorf("%s: starting the module: %w", label, err)
		}
	}
	return in, nil
}

// close frees the instance and gives back its module reference.
// Idempotent.
func (in *instance) close(ctx context.Context) {
	if in.closed {
		return
	}
	in.closed = true
	_ = in.mod.Close(ctx)
	in.r.release(in.m)
}

// call calls fn within the call deadline and returns its one result.
// Errors say what stopped the module in user terms, with what it wrote.
func (in *instance) call(ctx context.Context, fn api.Function, params ...uint64) (uint64, error) {
	res, err := in.callAny(ctx, fn, params...)
	if err != nil {
		return 0, err
	}
	return res[0], nil
}

// callAny calls fn; when the deadline passes or ctx ends first, it sets
// the module's interrupt global and zeroes its countdown, which makes it
// trap at its next loop iteration. An interrupted call is an error even if the module happened
// to finish: the instance must not be used again.
func (in *instance) callAny(ctx context.Context, fn api.Function, params ...uint64) ([]uint64, error) {
	in.out.reset()
	var (
		mu          sync.Mutex
		done        bool
		interrupted error
	)
	stop := func(why error) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			if !done && interrupted == nil {
				interrupted = why
				in.interrupt.Set(1)
				in.countdown.Set(0)
			}
		}
	}
	timer := time.AfterFunc(in.r.opts.CallTimeout, stop(context.DeadlineExceeded))
	stopCtx := context.AfterFunc(ctx, stop(context.Cause(ctx)))
	res, err := fn.Call(ctx, params...)
	timer.Stop()
	stopCtx()
	mu.Lock()
	done = true
	why := interrupted
	mu.Unlock()
	if why != nil || err != nil {
		return nil, in.r.explain(why, err, in.mem, in.out)
	}
	return res, nil
}

// explain turns an error of a call into a user's terms: the deadline, an
// exit, a trap; with the module's memory use when it is near the limit and
// the start of what it wrote.
func (r *Runtime) explain(interrupted, err error, mem api.Memory, out *capture) error {
	var msg string
	var exit *sys.ExitError
	switch {
	case errors.Is(interrupted, context.DeadlineExceeded):
		msg = fmt.Sprintf("it ran longer than the %s allowed per call and was stopped", r.opts.CallTimeout)
	case interrupted != nil:
		msg = "it was stopped: " + interrupted.Error()
	case errors.As(err, &exit):
		msg = fmt.Sprintf("it exited with status %d", exit.ExitCode())
	default:
		first, _, _ := strings.Cut(err.Error(), "\n")
		msg = "it crashed: " + first
	}
	if mem != nil {
		if used := int64(mem.Size()); used+r.opts.MemoryLimit/8 >= r.opts.MemoryLimit {
			msg += fmt.Sprintf(" (its memory: %d MiB of the %d MiB limit)", used>>20, r.opts.MemoryLimit>>20)
		}
	}
	if o := out.text(); o != "" {
		msg += "; its output: " + o
	}
	return errors.New(msg)
}

// refusal is the strategy's own error (tradai_prepare or tradai_populate
// reported failure): the instance stays usable.
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// message reads the module's last error message (tradai_error), bounded.
func (in *instance) message(ctx context.Context) string {
	res, err := in.call(ctx, in.errFn)
	if err != nil {
		return "(its error message could not be read: " + err.Error() + ")"
	}
	ptr, n := abi.Unpack(res)
	n = min(n, maxMessageBytes)
	b, ok := in.mem.Read(ptr, n)
	if !ok {
		return fmt.Sprintf("(its error message, %d bytes at %d, lies outside its memory)", n, ptr)
	}
	if len(b) == 0 {
		return "(no error message)"
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

const maxMessageBytes = 4 << 10

// populate runs one Populate: prepare, columns in, populate, signals and
// tags out.
func (in *instance) populate(ctx context.Context, f *sdk.Frame, req []byte) error {
	n := f.Len()
	if len(req) > 1<<30 {
		return fmt.Errorf("the parameters are %d bytes of JSON", len(req))
	}
	res, err := in.call(ctx, in.prepare, api.EncodeI32(int32(n)), api.EncodeI32(int32(len(req))))
	if err != nil {
		return fmt.Errorf("preparing a frame of %d candles: %w", n, err)
	}
	if uint32(res) == 0 {
		return &refusal{fmt.Sprintf("it refused a frame of %d candles: %s", n, in.message(ctx))}
	}
	lb, ok := in.mem.Read(uint32(res), abi.Slots*4)
	if !ok {
		return fmt.Errorf("its frame layout at %d lies outside its %d-byte memory", uint32(res), in.mem.Size())
	}
	layout := DecodeLayout(lb)
	if !in.mem.Write(layout[abi.SlotRequest], req) {
		return in.outside("request", layout[abi.SlotRequest], len(req))
	}
	candles := [...][]byte{
		serve.Int64Bytes(f.Time), serve.Float64Bytes(f.Open), serve.Float64Bytes(f.High),
		serve.Float64Bytes(f.Low), serve.Float64Bytes(f.Close), serve.Float64Bytes(f.Volume),
	}
	for k, col := range candles {
		ptr := layout[abi.SlotTime+k]
		if ptr == 0 {
			continue
		}
		if len(col) != 8*n {
			return fmt.Errorf("the frame's %s column has %d values for %d candles", serve.CandleColumns()[k], len(col)/8, n)
		}
		if !in.mem.Write(ptr, col) {
			return in.outside(serve.CandleColumns()[k], ptr, len(col))
		}
	}
	res, err = in.call(ctx, in.populateFn)
	if err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	if int32(res) != 0 {
		return &refusal{in.message(ctx)}
	}
	f.EnsureSignals()
	dst := [...][]byte{serve.BoolBytes(f.EnterLong), serve.BoolBytes(f.ExitLong), serve.BoolBytes(f.EnterShort), serve.BoolBytes(f.ExitShort)}
	for k, col := range dst {
		ptr := layout[abi.SlotEnterLong+k]
		b, ok := in.mem.Read(ptr, uint32(n))
		if !ok {
			clear(col)
			return in.outside(serve.SignalColumns()[k], ptr, n)
		}
		copy(col, b)
		if i := serve.CheckSignalBytes(col); i >= 0 {
			bad := col[i]
			for _, c := range dst {
				clear(c)
			}
			return fmt.Errorf("it wrote signal byte %d on candle %d of %s (only 0 and 1 are allowed)", bad, i, serve.SignalColumns()[k])
		}
	}
	res, err = in.call(ctx, in.tags)
	if err != nil {
		return fmt.Errorf("%s: %w", abi.ExportTags, err)
	}
	f.EnterTag = nil
	if res == 0 {
		return nil
	}
	ptr, size := abi.Unpack(res)
	if size > maxTagBytes {
		return fmt.Errorf("its enter tags are %d bytes of JSON, more than the %d allowed", size, maxTagBytes)
	}
	b, ok := in.mem.Read(ptr, size)
	if !ok {
		return in.outside("enter tags", ptr, int(size))
	}
	tags, err := DecodeTags(b, n)
	if err != nil {
		return err
	}
	f.EnterTag = tags
	return nil
}

const maxTagBytes = 64 << 20

func (in *instance) outside(what string, ptr uint32, n int) error {
	return fmt.Errorf("its %s region (%d bytes at %d) lies outside its %d-byte memory", what, n, ptr, in.mem.Size())
}

// DecodeLayout reads the abi.Slots little-endian u32 pointers of a frame
// layout; b holds at least 4 × abi.Slots bytes.
func DecodeLayout(b []byte) [abi.Slots]uint32 {
	var l [abi.Slots]uint32
	for i := range l {
		l[i] = uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
	}
	return l
}

// DecodeTags decodes a module's enter tags for a frame of n candles: a
// JSON object from candle indexes, as decimal strings, to tags, as the
// strategy protocol sends them. Every key must be a candle index in
// 0..n-1 written canonically, every tag valid UTF-8.
func DecodeTags(b []byte, n int) ([]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("its enter tags are not a JSON object of strings: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	if len(m) > n {
		return nil, fmt.Errorf("it sent %d enter tags for %d candles", len(m), n)
	}
	tags := make([]string, n)
	for k, tag := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n || strconv.Itoa(i) != k {
			return nil, fmt.Errorf("it sent an enter tag for %q, which is not a candle index in 0..%d", k, n-1)
		}
		if !utf8.ValidString(tag) {
			return nil, fmt.Errorf("its enter tag on candle %d is not valid UTF-8", i)
		}
		tags[i] = tag
	}
	return tags, nil
}

// capture keeps the first limit bytes written to it; the rest is counted
// and dropped.
type capture struct {
	limit   int
	buf     []byte
	dropped int
}

func (c *capture) Write(p []byte) (int, error) {
	room := c.limit - len(c.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	c.dropped += len(p) - max(room, 0)
	return len(p), nil
}

func (c *capture) reset() { c.buf, c.dropped = c.buf[:0], 0 }

// text is what was written, quoted for one line of an error message.
func (c *capture) text() string {
	if len(c.buf) == 0 {
		return ""
	}
	s := strconv.Quote(strings.ToValidUTF8(strings.TrimSpace(string(c.buf)), "\uFFFD"))
	if c.dropped > 0 {
		s += fmt.Sprintf(" (and %d more bytes)", c.dropped)
	}
	return s
}
