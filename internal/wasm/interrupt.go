package wasm

import (
	"errors"
	"fmt"
)

// The call deadline is enforced by the module itself. The Go runtime
// cannot preempt a goroutine while it runs compiled wasm code: a loop that
// never left it would make the next garbage collection's stop-the-world
// wait forever, with the timer that would stop the module stopped too
// (the whole process froze). So before compiling, the module gets two
// more mutable i32 globals, exported as interruptExport and
// countdownExport, and this at the head of every loop:
//
//	global.get $countdown
//	i32.eqz
//	if
//	  i32.const 0
//	  memory.grow 0      ;; wazero grows memory in Go, by a trampoline:
//	  drop               ;; there the runtime can stop the goroutine
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
// Every yieldEvery iterations the module leaves compiled code for Go.
// When a call is over its deadline, the host sets $interrupt to 1 and
// $countdown to 0, and the module traps at its next loop iteration (or
// at most yieldEvery iterations later, when its own store of $countdown
// overwrote the host's). A module without loops ends on its own (wazero
// does not enable tail calls, the only other way to run forever).
// memory.grow needs a memory: a module without one gets an empty one.
//
// The hot path is two loads, a store and a branch per iteration, where
// wazero's own guarantee (WithCloseOnContextDone) calls a trampoline per
// iteration, several times slower on Go-compiled modules, whose every
// jump between blocks goes through a loop head.

// interruptExport and countdownExport are the names under which the added
// globals are exported.
const (
	interruptExport = "tradai.interrupt"
	countdownExport = "tradai.countdown"
)

// yieldEvery is how many loop iterations a module runs between two exits
// to Go: a few microseconds of a tight loop, a negligible cost per exit.
const yieldEvery = 1 << 16

// Section ids of the binary format.
const (
	secCustom = 0
	secImport = 2
	secMemory = 5
	secGlobal = 6
	secExport = 7
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

// instrument returns code with the interrupt global and its loop checks
// (see above). It refuses instructions it does not know, so that no loop
// goes unchecked; wazero validates the result when it compiles it.
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
	var imported, defined uint32
	hasGlobal, hasExport, hasMemory := false, false, false
	for _, s := range secs {
		var err error
		switch s.id {
		case secImport:
			var memories uint32
			if imported, memories, err = countImports(s.body); err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			hasMemory = hasMemory || memories > 0
		case secMemory:
			n, err := (&reader{b: s.body}).u32()
			if err != nil {
				return nil, fmt.Errorf("memory section: %w", err)
			}
			hasMemory = hasMemory || n > 0
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
	idx := imported + defined
	globals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b} // interrupt: mut i32 = i32.const 0
	globals = append(globals, 0x7f, 0x01, 0x41)     // countdown: mut i32 = i32.const yieldEvery
	globals = append(appendS32(globals, yieldEvery), 0x0b)
	var exports []byte
	for i, name := range []string{interruptExport, countdownExport} {
		exports = append(appendU32(exports, uint32(len(name))), name...)
		exports = appendU32(append(exports, 0x03), idx+uint32(i)) // kind global, index
	}
	memory := []byte{1, 0x00, 0x00} // one memory: no maximum, 0 pages
	out := append([]byte(nil), code[:8]...)
	for _, s := range secs {
		body := s.body
		var err error
		if !hasMemory && (s.id == secMemory || s.id == secGlobal || s.id == secExport) {
			hasMemory = true
			out = appendSection(out, secMemory, memory)
			if s.id == secMemory {
				continue // an empty memory section, replaced
			}
		}
		switch s.id {
		case secGlobal:
			body, err = appendEntries(body, 2, globals)
		case secExport:
			if !hasGlobal {
				out = appendSection(out, secGlobal, append([]byte{2}, globals...))
			}
			body, err = appendEntries(body, 2, exports)
		case secCode:
			body, err = instrumentCode(body, idx, idx+1)
		}
		if err != nil {
			return nil, err
		}
		out = appendSection(out, s.id, body)
	}
	return out, nil
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

// countImports counts the globals and the memories of an import section.
func countImports(body []byte) (globals, memories uint32, err error) {
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
			err = r.skipLEB()
		case 0x01: // table: reference type, limits
			if _, err = r.byte(); err == nil {
				err = r.skipLimits()
			}
		case 0x02: // memory: limits
			memories++
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
	return globals, memories, nil
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
// interrupt check (on global interrupt) and the countdown to an exit to Go
// (on global countdown) after every loop instruction.
func instrumentCode(body []byte, interrupt, countdown uint32) ([]byte, error) {
	check := appendU32([]byte{0x23}, countdown)               // global.get countdown
	check = append(check, 0x45, 0x04, 0x40)                   // i32.eqz if
	check = append(check, 0x41, 0x00, 0x40, 0x00, 0x1a, 0x23) // i32.const 0 memory.grow 0 drop global.get
	check = appendU32(check, interrupt)
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
		if fn, err = instrumentBody(fn[:0], body[start:r.pos], check); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = append(appendU32(out, uint32(len(fn))), fn...)
	}
	if r.pos != len(body) {
		return nil, errors.New("code section: data after the last function body")
	}
	return out, nil
}

// instrumentBody appends body to out with check after every loop.
func instrumentBody(out, body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	for range groups {
		if err := r.skipLEB(); err != nil {
			return nil, err
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
	}
	copied := 0
	for r.pos < len(body) {
		op, _ := r.byte()
		if err := r.skipImmediates(op); err != nil {
			return nil, err
		}
		if op == 0x03 { // loop blocktype
			out = append(append(out, body[copied:r.pos]...), check...)
			copied = r.pos
		}
	}
	return append(out, body[copied:]...), nil
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
