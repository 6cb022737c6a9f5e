package wasm

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The call deadline is enforced by the module itself. The Go runtime
// cannot preempt a goroutine while it runs compiled wasm code: a loop that
// never left it would make the next garbage collection's stop-the-world
// wait forever, with the timer that would stop the module stopped too
// (the whole process froze), and would keep its thread from the other
// goroutines. So before compiling, the module gets two more mutable i32
// globals, exported as interruptExport and countdownExport, an imported
// host function, yieldModule.yieldName, which lets the other goroutines
// run (runtime.Gosched), and this at the head of every loop:
//
//	global.get $countdown
//	i32.eqz
//	if
//	  call $yield        ;; in Go: the other goroutines run, and the
//	                     ;; runtime can stop this one
//	  global.get $interrupt
//	  if
//	    unreachable
//	  end
//	  i32.const yieldEvery
//	  global.set $countdown
//	end
//	global.get $countdown
//	i32.const 1
//	i32.sub
//	global.set $countdown
//
// Every yieldEvery iterations the module leaves compiled code for Go and
// yields its thread: a module looping on one goroutine holds up a tick
// waiting for the thread by tens of microseconds, where the Go runtime
// alone would preempt it after 10 ms. When a call is over its deadline,
// the host sets $interrupt to 1 and $countdown to 0, and the module traps
// at its next loop iteration (or at most yieldEvery iterations later,
// when its own store of $countdown overwrote the host's). A module
// without loops ends on its own (wazero does not enable tail calls, the
// only other way to run forever). The imported function comes after the
// module's own imports: the module's functions move up by one index,
// everywhere one is named (calls, ref.func, exports, the start function,
// element segments, the name section).
//
// The hot path is two loads, a store and a branch per iteration, where
// wazero's own guarantee (WithCloseOnContextDone) calls a trampoline per
// iteration, several times slower on Go-compiled modules, whose every
// jump between blocks goes through a loop head.

// interruptExport and countdownExport are the names under which the added
// globals are exported; yieldModule and yieldName name the imported host
// function.
const (
	interruptExport = "tradai.interrupt"
	countdownExport = "tradai.countdown"
	yieldModule     = "tradai"
	yieldName       = "yield"
)

// yieldEvery is how many loop iterations a module runs between two exits
// to Go: a few microseconds of a tight loop, a negligible cost per exit.
const yieldEvery = 1 << 16

// instantiateYield adds the host function instrumented modules import to
// rt.
func instantiateYield(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(yieldModule).NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(context.Context, []uint64) { runtime.Gosched() }), nil, nil).
		Export(yieldName).Instantiate(ctx)
	return err
}

// Section ids of the binary format.
const (
	secCustom = 0
	secType   = 1
	secImport = 2
	secMemory = 5
	secGlobal = 6
	secExport = 7
	secStart  = 8
	secElem   = 9
	secCode   = 10
)

var errTruncated = errors.New("the module ends in the middle of a section")

// reader reads a wasm binary.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() (uint32, error) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, errors.New("a number is too large")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("a number is too long")
}

// skipLEB skips a LEB128 number (signed or not) of at most 10 bytes.
func (r *reader) skipLEB() error {
	for range 10 {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("a number is too long")
}

func (r *reader) skip(n int) error {
	if n < 0 || n > len(r.b)-r.pos {
		return errTruncated
	}
	r.pos += n
	return nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

type section struct {
	id   byte
	body []byte
}

// instrument returns code with the interrupt globals, the yield import
// and the loop checks (see above). It refuses instructions it does not
// know, so that no loop goes unchecked; wazero validates the result when
// it compiles it.
func instrument(code []byte) ([]byte, error) {
	if len(code) < 8 || string(code[:4]) != "\x00asm" || string(code[4:8]) != "\x01\x00\x00\x00" {
		return nil, errors.New("it is not a WebAssembly module (no \\0asm version 1 header)")
	}
	r := &reader{b: code, pos: 8}
	var secs []section
	for r.pos < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.pos
		if err := r.skip(int(n)); err != nil {
			return nil, err
		}
		secs = append(secs, section{id, code[start:r.pos]})
	}
	var types, funcs, imported, defined uint32
	hasType, hasImport, hasGlobal, hasExport := false, false, false, false
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			hasType = true
			if types, err = (&reader{b: s.body}).u32(); err != nil {
				return nil, fmt.Errorf("type section: %w", err)
			}
		case secImport:
			hasImport = true
			if funcs, imported, err = countImports(s.body); err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
		case secGlobal:
			hasGlobal = true
			if defined, err = (&reader{b: s.body}).u32(); err != nil {
				return nil, fmt.Errorf("global section: %w", err)
			}
		case secExport:
			hasExport = true
		}
	}
	if !hasExport {
		return nil, errors.New("it exports nothing")
	}
	if !hasType {
		return nil, errors.New("it declares no function types")
	}
	// The yield function is the last import: function index funcs.
	yield := funcs
	shift := func(i uint32) uint32 {
		if i >= yield {
			return i + 1
		}
		return i
	}
	idx := imported + defined
	globals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b} // interrupt: mut i32 = i32.const 0
	globals = append(globals, 0x7f, 0x01, 0x41)     // countdown: mut i32 = i32.const yieldEvery
	globals = append(appendS32(globals, yieldEvery), 0x0b)
	var exports []byte
	for i, name := range []string{interruptExport, countdownExport} {
		exports = append(appendU32(exports, uint32(len(name))), name...)
		exports = appendU32(append(exports, 0x03), idx+uint32(i)) // kind global, index
	}
	imp := append(appendU32(nil, uint32(len(yieldModule))), yieldModule...)
	imp = append(appendU32(imp, uint32(len(yieldName))), yieldName...)
	imp = appendU32(append(imp, 0x00), types) // a function of the added type () -> ()
	out := append([]byte(nil), code[:8]...)
	for _, s := range secs {
		body := s.body
		var err error
		switch s.id {
		case secType:
			if body, err = appendEntries(body, 1, []byte{0x60, 0x00, 0x00}); err != nil {
				return nil, fmt.Errorf("type section: %w", err)
			}
			if !hasImport {
				out = appendSection(out, secType, body)
				s.id, body = secImport, append(appendU32(nil, 1), imp...)
			}
		case secImport:
			body, err = appendEntries(body, 1, imp)
		case secGlobal:
			if body, err = shiftGlobals(body, shift); err == nil {
				body, err = appendEntries(body, 2, globals)
			}
		case secExport:
			if !hasGlobal {
				out = appendSection(out, secGlobal, append([]byte{2}, globals...))
			}
			if body, err = shiftExports(body, shift); err == nil {
				body, err = appendEntries(body, 2, exports)
			}
		case secStart:
			sh := &shifter{reader: reader{b: body}, shift: shift}
			err = sh.funcIdx()
			body = sh.rest()
		case secElem:
			body, err = shiftElements(body, shift)
		case secCode:
			body, err = instrumentCode(body, idx, idx+1, yield, shift)
		case secCustom:
			if named, ok := shiftNames(body, shift); ok {
				body = named
			} else {
				continue // names only serve stack traces: drop ones it cannot read
			}
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		out = appendSection(out, s.id, body)
	}
	return out, nil
}

// shifter copies a section or function body, with the function indices
// in it moved by shift.
type shifter struct {
	reader
	out    []byte
	copied int // the bytes before it are in out
	shift  func(uint32) uint32
}

// funcIdx copies a function index, moved.
func (s *shifter) funcIdx() error {
	s.out = append(s.out, s.b[s.copied:s.pos]...)
	i, err := s.u32()
	if err != nil {
		return err
	}
	s.out = appendU32(s.out, s.shift(i))
	s.copied = s.pos
	return nil
}

// rest returns what was copied and the rest of the input.
func (s *shifter) rest() []byte { return append(s.out, s.b[s.copied:]...) }

// expr reads a constant expression, up to its end.
func (s *shifter) expr() error {
	for {
		op, err := s.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0xd2: // ref.func
			err = s.funcIdx()
		default:
			err = s.skipImmediates(op)
		}
		if err != nil {
			return err
		}
	}
}

// vec reads a vector of n items, each read by item.
func (s *shifter) vec(item func() error) error {
	n, err := s.u32()
	if err != nil {
		return err
	}
	for range n {
		if err := item(); err != nil {
			return err
		}
	}
	return nil
}

func (s *shifter) name() error {
	n, err := s.u32()
	if err != nil {
		return err
	}
	return s.skip(int(n))
}

// shiftGlobals moves the function indices of a global section (ref.func
// in initial values).
func shiftGlobals(body []byte, shift func(uint32) uint32) ([]byte, error) {
	s := &shifter{reader: reader{b: body}, shift: shift}
	err := s.vec(func() error {
		if err := s.skip(2); err != nil { // value type, mutability
			return err
		}
		return s.expr()
	})
	return s.rest(), err
}

// shiftExports moves the indices of exported functions.
func shiftExports(body []byte, shift func(uint32) uint32) ([]byte, error) {
	s := &shifter{reader: reader{b: body}, shift: shift}
	err := s.vec(func() error {
		if err := s.name(); err != nil {
			return err
		}
		kind, err := s.byte()
		if err != nil {
			return err
		}
		if kind == 0x00 {
			return s.funcIdx()
		}
		return s.skipLEB()
	})
	return s.rest(), err
}

// shiftElements moves the function indices of an element section, in
// each of its eight segment forms.
func shiftElements(body []byte, shift func(uint32) uint32) ([]byte, error) {
	s := &shifter{reader: reader{b: body}, shift: shift}
	err := s.vec(func() error {
		flags, err := s.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return fmt.Errorf("an element segment of unknown form %d", flags)
		}
		if flags&3 == 2 { // explicit table index
			if err := s.skipLEB(); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: offset
			if err := s.expr(); err != nil {
				return err
			}
		}
		if flags&3 != 0 { // element kind or reference type
			if _, err := s.byte(); err != nil {
				return err
			}
		}
		if flags&4 != 0 {
			return s.vec(s.expr)
		}
		return s.vec(s.funcIdx)
	})
	return s.rest(), err
}

// shiftNames moves the function indices of a custom section named
// "name" (the function, local and label names); other custom sections
// come back as they are. ok is false for a name section it cannot read.
func shiftNames(body []byte, shift func(uint32) uint32) (out []byte, ok bool) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil || r.skip(int(n)) != nil {
		return nil, false
	}
	if string(body[r.pos-int(n):r.pos]) != "name" {
		return body, true
	}
	out = append(out, body[:r.pos]...)
	for r.pos < len(body) {
		id, err := r.byte()
		if err != nil {
			return nil, false
		}
		size, err := r.u32()
		if err != nil || r.skip(int(size)) != nil {
			return nil, false
		}
		sub := body[r.pos-int(size) : r.pos]
		if id >= 1 && id <= 3 { // function names; local and label names by function
			s := &shifter{reader: reader{b: sub}, shift: shift}
			err := s.vec(func() error {
				if err := s.funcIdx(); err != nil {
					return err
				}
				if id == 1 {
					return s.name()
				}
				return s.vec(func() error {
					if err := s.skipLEB(); err != nil {
						return err
					}
					return s.name()
				})
			})
			if err != nil || s.pos != len(sub) {
				return nil, false
			}
			sub = s.rest()
		}
		out = append(appendU32(append(out, id), uint32(len(sub))), sub...)
	}
	return out, true
}

func appendSection(out []byte, id byte, body []byte) []byte {
	return append(appendU32(append(out, id), uint32(len(body))), body...)
}

// appendEntries adds n entries (encoded one after the other in entries)
// to a vector section: the count plus n, the old entries, the new ones.
func appendEntries(body []byte, n uint32, entries []byte) ([]byte, error) {
	r := &reader{b: body}
	count, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, count+n)
	out = append(out, body[r.pos:]...)
	return append(out, entries...), nil
}

// appendS32 appends v as a signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// countImports counts the functions and the globals of an import
// section.
func countImports(body []byte) (funcs, globals uint32, err error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return 0, 0, err
	}
	for range n {
		for range 2 { // module and field names
			l, err := r.u32()
			if err != nil {
				return 0, 0, err
			}
			if err := r.skip(int(l)); err != nil {
				return 0, 0, err
			}
		}
		kind, err := r.byte()
		if err != nil {
			return 0, 0, err
		}
		switch kind {
		case 0x00: // function: type index
			funcs++
			err = r.skipLEB()
		case 0x01: // table: reference type, limits
			if _, err = r.byte(); err == nil {
				err = r.skipLimits()
			}
		case 0x02: // memory: limits
			err = r.skipLimits()
		case 0x03: // global: value type, mutability
			globals++
			err = r.skip(2)
		default:
			return 0, 0, fmt.Errorf("an import of unknown kind %#x", kind)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return funcs, globals, nil
}

func (r *reader) skipLimits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if err := r.skipLEB(); err != nil {
		return err
	}
	if flags&1 != 0 {
		return r.skipLEB()
	}
	return nil
}

// instrumentCode rewrites a code section: each function body gets the
// interrupt check (on global interrupt) and the countdown to a call of
// the function yield (on global countdown) after every loop instruction,
// and the function indices it names moved by shift.
func instrumentCode(body []byte, interrupt, countdown, yield uint32, shift func(uint32) uint32) ([]byte, error) {
	check := appendU32([]byte{0x23}, countdown)         // global.get countdown
	check = append(check, 0x45, 0x04, 0x40, 0x10)       // i32.eqz if call
	check = append(appendU32(check, yield), 0x23)       // yield global.get
	check = appendU32(check, interrupt)                 // interrupt
	check = append(check, 0x04, 0x40, 0x00, 0x0b, 0x41) // if unreachable end i32.const
	check = appendS32(check, yieldEvery)
	check = appendU32(append(check, 0x24), countdown)       // global.set countdown
	check = appendU32(append(check, 0x0b, 0x23), countdown) // end global.get countdown
	check = append(check, 0x41, 0x01, 0x6b)                 // i32.const 1 i32.sub
	check = appendU32(append(check, 0x24), countdown)       // global.set countdown
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("code section: %w", err)
	}
	out := appendU32(make([]byte, 0, len(body)+len(body)/8), n)
	var fn []byte
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		start := r.pos
		if err := r.skip(int(size)); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		if fn, err = instrumentBody(fn[:0], body[start:r.pos], check, shift); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = append(appendU32(out, uint32(len(fn))), fn...)
	}
	if r.pos != len(body) {
		return nil, errors.New("code section: data after the last function body")
	}
	return out, nil
}

// instrumentBody appends body to out with check after every loop and the
// function indices of calls and ref.func moved by shift.
func instrumentBody(out, body, check []byte, shift func(uint32) uint32) ([]byte, error) {
	s := &shifter{reader: reader{b: body}, out: out, shift: shift}
	groups, err := s.u32()
	if err != nil {
		return nil, err
	}
	for range groups {
		if err := s.skipLEB(); err != nil {
			return nil, err
		}
		if _, err := s.byte(); err != nil {
			return nil, err
		}
	}
	for s.pos < len(body) {
		op, _ := s.byte()
		if op == 0x10 || op == 0xd2 { // call, ref.func
			if err := s.funcIdx(); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.skipImmediates(op); err != nil {
			return nil, err
		}
		if op == 0x03 { // loop blocktype
			s.out = append(append(s.out, body[s.copied:s.pos]...), check...)
			s.copied = s.pos
		}
	}
	return s.rest(), nil
}

// skipImmediates skips the immediates of instruction op (already read).
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		return r.skipBlockType()
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0b || op == 0x0f: // unreachable, nop, else, end, return
		return nil
	case op == 0x0c || op == 0x0d: // br, br_if
		return r.skipLEB()
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return err
		}
		for range n + 1 {
			if err := r.skipLEB(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x10: // call
		return r.skipLEB()
	case op == 0x11: // call_indirect: type, table
		if err := r.skipLEB(); err != nil {
			return err
		}
		return r.skipLEB()
	case op == 0x1a || op == 0x1b: // drop, select
		return nil
	case op == 0x1c: // select with types
		n, err := r.u32()
		if err != nil {
			return err
		}
		return r.skip(int(n))
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		return r.skipLEB()
	case op >= 0x28 && op <= 0x3e: // loads and stores: align, offset
		if err := r.skipLEB(); err != nil {
			return err
		}
		return r.skipLEB()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		return r.skipLEB()
	case op == 0x41 || op == 0x42: // i32.const, i64.const
		return r.skipLEB()
	case op == 0x43:
		return r.skip(4)
	case op == 0x44:
		return r.skip(8)
	case op >= 0x45 && op <= 0xc4: // numeric instructions, sign extension
		return nil
	case op == 0xd0: // ref.null type
		return r.skip(1)
	case op == 0xd1: // ref.is_null
		return nil
	case op == 0xd2: // ref.func
		return r.skipLEB()
	case op == 0xfc:
		return r.skipMisc()
	case op == 0xfd:
		return r.skipSIMD()
	}
	return fmt.Errorf("instruction %#x at byte %d is not one TradAI runs", op, r.pos-1)
}

func (r *reader) skipBlockType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // empty or one value type
		return nil
	}
	r.pos-- // a type index, signed LEB
	return r.skipLEB()
}

// skipMisc skips a 0xfc instruction: saturating truncations, bulk memory
// and table instructions.
func (r *reader) skipMisc() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	imm := 0
	switch {
	case sub <= 7: // trunc_sat
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		imm = 2
	case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop, memory.fill, elem.drop, table.grow/size/fill
		imm = 1
	default:
		return fmt.Errorf("instruction 0xfc %d is not one TradAI runs", sub)
	}
	for range imm {
		if err := r.skipLEB(); err != nil {
			return err
		}
	}
	return nil
}

// skipSIMD skips a 0xfd (128-bit SIMD) instruction.
func (r *reader) skipSIMD() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	memarg := func() error {
		if err := r.skipLEB(); err != nil {
			return err
		}
		return r.skipLEB()
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, stores, load_zero
		return memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load_lane, store_lane
		if err := memarg(); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0x113:
		return nil
	}
	return fmt.Errorf("instruction 0xfd %d is not one TradAI runs", sub)
}
