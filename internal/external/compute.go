package external

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"unsafe"

	"github.com/tradai/tradai/internal/hugepage"
	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
	"github.com/tradai/tradai/sdk/ta"
)

// DefaultComputeBytes is the default of Options.ComputeBytes.
const DefaultComputeBytes = 256 << 20

// maxPeriod is the longest period a compute may ask for (sdk/ta makes a
// period beyond the candles all NaN).
const maxPeriod = 1 << 31

// result is one result of the compute extension: a float64 or a bool
// column of the request's candle count.
type result struct {
	kind string    // serve.KindFloat64 or serve.KindBool
	f    []float64 // a float64 result's values, once done
	b    []byte    // a bool result's values, 0 or 1 a candle, once done
	// done, when not nil, is closed once the values are there (nil for a
	// candle column).
	done chan struct{}
}

// wait returns once the result's values are there.
func (r *result) wait() {
	if r.done != nil {
		<-r.done
	}
}

// bytes returns the result's values as they travel, once they are there.
func (r *result) bytes() []byte {
	r.wait()
	if r.kind == serve.KindBool {
		return r.b
	}
	return serve.Float64Bytes(r.f)
}

// sharedValues is the shared memory file as the compute extension writes
// result values into it.
type sharedValues interface {
	ensure(size int64) error
	WriteAt(b []byte, off int64) (int, error)
}

// computer serves the compute extension's messages for one populate
// request: it computes what the strategy asks for over the request's
// frame, with sdk/ta, and keeps the results, by ref, until the request is
// answered.
type computer struct {
	id    int64
	f     *sdk.Frame
	n     int
	limit int64 // bytes the results may take together
	used  int64 // bytes they take
	refs  [serve.MaxComputeRefs + 1]*result
	// out is where answers go (the process's standard input).
	out io.Writer
	// shm, with the shm transport, receives the values asked for from
	// offset next on; nil on the pipes.
	shm  sharedValues
	next int64
	// served counts the compute and fetch messages answered.
	served int64
	// pending are the results being computed.
	pending []chan struct{}
	// slab is where results are carved from, carved bytes of it taken,
	// by the goroutines that compute them.
	mu     sync.Mutex
	slab   []byte
	carved int
}

// alloc returns size bytes for a result, 64-byte aligned, carved from a
// slab advised into huge pages: in a fresh process, filling a result
// freshly allocated 4 KB page by 4 KB page costs more than computing it.
// A slab is sized for several float64 results of the request's candles;
// what is never carved is never touched, so it costs address space only.
func (c *computer) alloc(size int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	size = (size + 63) &^ 63
	if len(c.slab)-c.carved < size {
		n := max(size, 3*8*c.n, 64<<10)
		c.slab = hugepage.Make[byte](n)[:n]
		c.carved = 0
	}
	b := c.slab[c.carved : c.carved+size : c.carved+size]
	c.carved += size
	return b
}

// allocBools returns a bool result's values for the request's candles.
func (c *computer) allocBools() []byte { return c.alloc(c.n)[:c.n] }

// allocFloats returns a float64 result's values for the request's candles.
func (c *computer) allocFloats() []float64 {
	if c.n == 0 {
		return []float64{}
	}
	b := c.alloc(8 * c.n)
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(b))), c.n)
}

// newComputer returns the computer of request id over frame f, writing
// its answers to out. With the shm transport, shm is the shared file and
// from the first offset values may go to (after the answer's room).
func newComputer(id int64, f *sdk.Frame, budget int64, out io.Writer, shm sharedValues, from int64) *computer {
	return &computer{id: id, f: f, n: f.Len(), limit: budget, out: out, shm: shm, next: from}
}

// serveLine serves one compute or fetch message (typ, header line line):
// it answers on c.out with a computed message, with the values when they
// were asked for. A refused request (an unknown function, a bad input,
// period or ref, a limit reached) is answered with the reason and keeps
// nothing; a malformed message or one for another request is a protocol
// violation, returned as an error (as is a failed write).
func (c *computer) serveLine(typ string, line []byte) error {
	c.served++
	var ref int
	var send bool
	var refused string
	switch typ {
	case serve.TypeCompute:
		var m serve.ComputeMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return violation("it sent a malformed compute message: %v", err)
		}
		if err := c.check(m.ID, m.Bytes, typ); err != nil {
			return err
		}
		ref, send = m.Ref, m.Send
		refused = c.compute(&m)
	case serve.TypeFetch:
		var m serve.FetchMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return violation("it sent a malformed fetch message: %v", err)
		}
		if err := c.check(m.ID, m.Bytes, typ); err != nil {
			return err
		}
		if m.Column != "" {
			if m.Ref != 0 {
				return violation("its fetch message names both result %d and column %q", m.Ref, m.Column)
			}
			return c.fetchColumn(m.Column)
		}
		ref, send = m.Ref, true
		if _, err := c.result(m.Ref); err != nil {
			refused = "fetch: " + err.Error()
		}
	}
	if refused != "" {
		return c.answer(serve.ComputedMessage{Type: serve.TypeComputed, ID: c.id, Ref: ref, Error: refused}, nil)
	}
	r := c.refs[ref]
	a := serve.ComputedMessage{Type: serve.TypeComputed, ID: c.id, Ref: ref, Kind: r.kind, N: c.n}
	if !send {
		return c.answer(a, nil)
	}
	return c.send(a, r.bytes())
}

// fetchColumn answers a fetch of the frame's candle column name.
func (c *computer) fetchColumn(name string) error {
	a := serve.ComputedMessage{Type: serve.TypeComputed, ID: c.id, Column: name, Kind: serve.KindFloat64, N: c.n}
	var vals []byte
	ok := true
	if name == serve.ColTime {
		a.Kind, vals, ok = serve.KindInt64, serve.Int64Bytes(c.f.Time), len(c.f.Time) == c.n
	} else if col, err := c.column(name); err == nil {
		vals = serve.Float64Bytes(col)
	} else {
		ok = false
	}
	if !ok {
		return c.answer(serve.ComputedMessage{Type: serve.TypeComputed, ID: c.id, Column: name,
			Error: fmt.Sprintf("fetch: %q is not a candle column of this frame (time, open, high, low, close, volume)", name)}, nil)
	}
	return c.send(a, vals)
}

// send answers a with vals: as a payload on the pipes, else in the shared
// file after what the request has placed there.
func (c *computer) send(a serve.ComputedMessage, vals []byte) error {
	if c.shm == nil {
		a.Bytes = int64(len(vals))
		return c.answer(a, vals)
	}
	off := serve.ShmAnswerOffset(c.next, 0)
	if err := c.shm.ensure(off + int64(len(vals))); err != nil {
		return fmt.Errorf("making room for computed values in the shared memory: %w", err)
	}
	if _, err := c.shm.WriteAt(vals, off); err != nil {
		return fmt.Errorf("writing computed values to the shared memory: %w", err)
	}
	c.next = off + int64(len(vals))
	a.Shm = &serve.ShmRegion{Offset: off, Bytes: int64(len(vals))}
	return c.answer(a, nil)
}

// wait returns once every result is computed: none is written after.
func (c *computer) wait() {
	for _, d := range c.pending {
		<-d
	}
}

// check checks a message's request id and that it announces no payload.
func (c *computer) check(id, bytes int64, typ string) error {
	if id != c.id {
		return violation("it sent a %s message for request %d while serving request %d", typ, id, c.id)
	}
	if bytes != 0 {
		return violation("its %s message announces a payload of %d bytes", typ, bytes)
	}
	return nil
}

func (c *computer) answer(a serve.ComputedMessage, payload []byte) error {
	if err := serve.WriteHeader(c.out, a); err != nil {
		return fmt.Errorf("answering its %s: %w", serve.TypeCompute, err)
	}
	if len(payload) > 0 {
		if _, err := c.out.Write(payload); err != nil {
			return fmt.Errorf("sending computed values: %w", err)
		}
	}
	return nil
}

// result returns the result kept as ref.
func (c *computer) result(ref int) (*result, error) {
	if ref < 1 || ref > serve.MaxComputeRefs {
		return nil, fmt.Errorf("ref %d is not between 1 and %d", ref, serve.MaxComputeRefs)
	}
	r := c.refs[ref]
	if r == nil {
		return nil, fmt.Errorf("no result %d was computed in this request", ref)
	}
	return r, nil
}

// compute computes m and keeps its result as m.Ref; it returns why it
// refused, or "".
func (c *computer) compute(m *serve.ComputeMessage) string {
	fail := func(format string, args ...any) string {
		return m.Fn + ": " + fmt.Sprintf(format, args...)
	}
	if m.Ref < 1 || m.Ref > serve.MaxComputeRefs {
		return fail("ref %d is not between 1 and %d (a request may hold %d results)", m.Ref, serve.MaxComputeRefs, serve.MaxComputeRefs)
	}
	if c.refs[m.Ref] != nil {
		return fail("ref %d is already in use in this request", m.Ref)
	}
	ins := make([]*result, len(m.Inputs))
	for k, raw := range m.Inputs {
		r, err := c.input(raw)
		if err != nil {
			return fail("input %d: %v", k+1, err)
		}
		ins[k] = r
	}
	var want int // inputs
	var args int // arguments
	var inKind string
	outKind := serve.KindBool
	switch m.Fn {
	case serve.FnSMA, serve.FnEMA, serve.FnRSI, serve.FnStdDev:
		want, args, inKind, outKind = 1, 1, serve.KindFloat64, serve.KindFloat64
	case serve.FnAbove, serve.FnBelow:
		want, args, inKind = 2, 0, serve.KindFloat64
		if len(m.Inputs) == 1 {
			want, args = 1, 1
		}
	case serve.FnCrossedAbove, serve.FnCrossedBelow:
		want, args, inKind = 2, 0, serve.KindFloat64
	case serve.FnAnd, serve.FnOr:
		want, args, inKind = 2, 0, serve.KindBool
	case serve.FnNot, serve.FnRose, serve.FnFell:
		want, args, inKind = 1, 0, serve.KindBool
	default:
		return fmt.Sprintf("unknown function %q; TradAI computes %v", m.Fn, serve.ComputeFunctions())
	}
	if len(ins) != want {
		return fail("takes %d inputs, got %d", want, len(ins))
	}
	if len(m.Args) != args {
		return fail("takes %d arguments, got %d", args, len(m.Args))
	}
	for k, r := range ins {
		if r.kind != inKind {
			return fail("input %d is a %s result; it takes %s", k+1, r.kind, inKind)
		}
	}
	size := int64(c.n)
	if outKind == serve.KindFloat64 {
		size *= 8
	}
	if c.used+size > c.limit {
		return fail("the results of this request would take more than the %s TradAI allows", formatBytes(c.limit))
	}
	// Checked: the result is computed beside the conversation, its
	// memory taken there too, once its inputs are there, so that the
	// strategy's next request (often the next indicator) does not wait.
	r := &result{kind: outKind}
	var fill func()
	switch m.Fn {
	case serve.FnSMA, serve.FnEMA, serve.FnRSI, serve.FnStdDev:
		p := m.Args[0]
		if p != math.Trunc(p) || p < 1 || p > maxPeriod {
			format := byte('f')
			if math.Abs(p) >= 1e15 {
				format = 'g'
			}
			return fail("period %s is not a whole number from 1 to %d", strconv.FormatFloat(p, format, -1, 64), int64(maxPeriod))
		}
		period := int(p)
		fill = func() {
			r.f = c.allocFloats()
			switch src := ins[0].f; m.Fn {
			case serve.FnSMA:
				w := ta.NewSMAStream(src, period) // the values of ta.SMA, into the slab
				w.Read(r.f)
			case serve.FnEMA:
				copy(r.f, ta.EMA(src, period))
			case serve.FnRSI:
				copy(r.f, ta.RSI(src, period))
			default:
				copy(r.f, ta.StdDev(src, period))
			}
		}
	case serve.FnAbove, serve.FnBelow:
		k := math.NaN()
		if len(ins) == 1 {
			if k = m.Args[0]; math.IsNaN(k) || math.IsInf(k, 0) {
				return fail("the constant %v is not a finite number", k)
			}
		}
		above := m.Fn == serve.FnAbove
		fill = func() {
			var b []float64
			if len(ins) == 2 {
				b = ins[1].f
			}
			r.b = compare(c.allocBools(), ins[0].f, b, k, above)
		}
	case serve.FnCrossedAbove, serve.FnCrossedBelow:
		up := m.Fn == serve.FnCrossedAbove
		fill = func() { r.b = crossings(c.allocBools(), ins[0].f, ins[1].f, up) }
	default: // and, or, not, rose, fell
		fn := m.Fn
		fill = func() {
			r.b = c.allocBools()
			logic(r.b, fn, ins)
		}
	}
	done := make(chan struct{})
	r.done = done
	c.pending = append(c.pending, done)
	go func() {
		defer close(done)
		for _, in := range ins {
			in.wait()
		}
		fill()
	}()
	c.used += size
	c.refs[m.Ref] = r
	return ""
}

// logic writes fn (and, or, not, rose, fell) of the bool results ins
// into out (zeroed).
func logic(out []byte, fn string, ins []*result) {
	a := ins[0].b
	switch fn {
	case serve.FnRose:
		for i := 1; i < len(a); i++ {
			out[i] = a[i] &^ a[i-1]
		}
	case serve.FnFell:
		for i := 1; i < len(a); i++ {
			out[i] = a[i-1] &^ a[i]
		}
	case serve.FnAnd:
		for i, y := range ins[1].b {
			out[i] = a[i] & y
		}
	case serve.FnOr:
		for i, y := range ins[1].b {
			out[i] = a[i] | y
		}
	default:
		for i, x := range a {
			out[i] = x ^ 1
		}
	}
}

// compare writes into out, and returns it, at every candle, a > b (above)
// or a < b, b being the constant k when nil; false where either is NaN.
func compare(out []byte, a, b []float64, k float64, above bool) []byte {
	for i, x := range a {
		y := k
		if b != nil {
			y = b[i]
		}
		out[i] = 0
		if above && x > y || !above && x < y {
			out[i] = 1
		}
	}
	return out
}

// crossings writes into out, and returns it, at every candle i, whether a crossed above b (up) or
// below it: ta.CrossedAbove and ta.CrossedBelow, in one pass.
func crossings(out []byte, a, b []float64, up bool) []byte {
	clear(out[:min(1, len(out))])
	b = b[:len(a)]
	for i := 1; i < len(a); i++ {
		var x bool
		if up {
			x = a[i-1] <= b[i-1] && a[i] > b[i] // false for NaN
		} else {
			x = a[i-1] >= b[i-1] && a[i] < b[i]
		}
		out[i] = 0
		if x {
			out[i] = 1
		}
	}
	return out
}

// input resolves one input of a compute message: a candle column by name
// or an earlier result by ref.
func (c *computer) input(raw json.RawMessage) (*result, error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		col, err := c.column(name)
		if err != nil {
			return nil, err
		}
		return &result{kind: serve.KindFloat64, f: col}, nil
	}
	var ref int
	if err := json.Unmarshal(raw, &ref); err != nil {
		return nil, fmt.Errorf("%s is neither a column name nor a ref", serve.Quote(raw, 40))
	}
	return c.result(ref)
}

// column returns the frame's price or volume column name.
func (c *computer) column(name string) ([]float64, error) {
	var col []float64
	switch name {
	case serve.ColOpen:
		col = c.f.Open
	case serve.ColHigh:
		col = c.f.High
	case serve.ColLow:
		col = c.f.Low
	case serve.ColClose:
		col = c.f.Close
	case serve.ColVolume:
		col = c.f.Volume
	default:
		return nil, fmt.Errorf("%q is not a candle column (open, high, low, close or volume) or a ref", name)
	}
	if len(col) != c.n {
		return nil, fmt.Errorf("column %s is not in this frame", name)
	}
	if col == nil {
		col = []float64{} // an empty frame: a float column all the same
	}
	return col, nil
}

// signal returns the bool result ref, named as signal column name in the
// signals answer.
func (c *computer) signal(name string, ref int) ([]byte, error) {
	r, err := c.result(ref)
	if err != nil {
		return nil, violation("its signal column %s names result %d: %v", name, ref, err)
	}
	if r.kind != serve.KindBool {
		return nil, violation("its signal column %s names result %d, a %s result; signals are bool results", name, ref, r.kind)
	}
	return r.bytes(), nil
}
