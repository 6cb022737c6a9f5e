//go:build wasip1

package wasm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
)

// guest is the module's side of the ABI: the strategy's spec, the buffers
// it hands the host in tradai_prepare (reused while they are big enough)
// and the answers the host reads back.
type guest struct {
	loaded   bool
	spec     sdk.Spec
	specJSON []byte
	want     [6]bool // candle columns wanted, in slot order time..volume
	err      []byte
	layout   [Slots]uint32
	req      []byte
	time     []int64
	f64      [5][]float64 // open, high, low, close, volume
	sig      [4][]bool    // enter_long, exit_long, enter_short, exit_short
	n        int
	tags     []byte
}

// g is the module's one guest: exports are plain functions.
var g guest

// addr is the address of s's first element in the module's memory.
func addr[T any](s []T) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s))))
}

func (g *guest) fail(err error) {
	g.err = append(g.err[:0], err.Error()...)
	if len(g.err) == 0 {
		g.err = append(g.err, "unknown error"...)
	}
}

func (g *guest) load() error {
	if g.loaded {
		return nil
	}
	s := registered
	if s == nil {
		return errors.New("no strategy registered: call wasm.Register from an init function of the main package (a wasm module's main never runs)")
	}
	if err := serve.CheckHost(); err != nil {
		return err
	}
	spec := s.Spec()
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("invalid spec: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("strategy %s: encoding its spec: %w", spec.Name, err)
	}
	cols := serve.CandleColumns()
	if d, ok := s.(serve.ColumnDeclarer); ok {
		if c := d.Columns(); len(c) > 0 {
			if err := serve.ValidCandleColumns(c); err != nil {
				return fmt.Errorf("strategy %s Columns: %w", spec.Name, err)
			}
			cols = c
		}
	}
	for i, name := range serve.CandleColumns() {
		for _, c := range cols {
			g.want[i] = g.want[i] || c == name
		}
	}
	g.spec, g.specJSON, g.loaded = spec, b, true
	return nil
}

// grow returns s with length n, reallocated only when its capacity is too
// small; at least one element of capacity, so its address is never 0.
func grow[T any](s []T, n int) []T {
	if cap(s) < max(n, 1) {
		return make([]T, n, max(n, 1))
	}
	return s[:n]
}

//go:wasmexport tradai_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport tradai_spec
func exportSpec() uint64 {
	if err := g.load(); err != nil {
		g.fail(err)
		return 0
	}
	return Pack(addr(g.specJSON), uint32(len(g.specJSON)))
}

//go:wasmexport tradai_error
func exportError() uint64 { return Pack(addr(g.err), uint32(len(g.err))) }

//go:wasmexport tradai_tags
func exportTags() uint64 {
	if len(g.tags) == 0 {
		return 0
	}
	return Pack(addr(g.tags), uint32(len(g.tags)))
}

//go:wasmexport tradai_prepare
func exportPrepare(n, requestLen int32) uint32 {
	if err := g.load(); err != nil {
		g.fail(err)
		return 0
	}
	if n < 0 || requestLen < 0 {
		g.fail(fmt.Errorf("tradai_prepare(%d, %d): negative size", n, requestLen))
		return 0
	}
	g.n = int(n)
	g.req = grow(g.req, int(requestLen))
	g.time = grow(g.time, g.n)
	g.layout[SlotRequest] = addr(g.req)
	g.layout[SlotTime] = 0
	if g.want[0] {
		g.layout[SlotTime] = addr(g.time)
	} else {
		clear(g.time)
	}
	for k := range g.f64 {
		g.f64[k] = grow(g.f64[k], g.n)
		g.layout[SlotOpen+k] = 0
		if g.want[1+k] {
			g.layout[SlotOpen+k] = addr(g.f64[k])
			continue
		}
		for i := range g.f64[k] {
			g.f64[k][i] = math.NaN()
		}
	}
	for k := range g.sig {
		g.sig[k] = grow(g.sig[k], g.n)
		clear(g.sig[k])
		g.layout[SlotEnterLong+k] = addr(g.sig[k])
	}
	g.tags = g.tags[:0]
	return addr(g.layout[:])
}

//go:wasmexport tradai_populate
func exportPopulate() int32 {
	if err := g.populate(); err != nil {
		g.fail(err)
		return 1
	}
	return 0
}

func (g *guest) populate() error {
	if !g.loaded || len(g.sig[0]) != g.n {
		return errors.New("tradai_populate called before tradai_prepare")
	}
	var req Request
	if err := json.Unmarshal(g.req, &req); err != nil {
		return fmt.Errorf("strategy %s: reading the request: %w", g.spec.Name, err)
	}
	vals, err := g.spec.Resolve(req.Params)
	if err != nil {
		return err
	}
	f := sdk.Frame{
		Pair: req.Pair, Timeframe: req.Timeframe,
		Time: g.time, Open: g.f64[0], High: g.f64[1], Low: g.f64[2], Close: g.f64[3], Volume: g.f64[4],
		EnterLong: g.sig[0], ExitLong: g.sig[1], EnterShort: g.sig[2], ExitShort: g.sig[3],
	}
	if err := registered.Populate(&f, vals); err != nil {
		return err
	}
	// A strategy may have replaced a signal column; the host reads ours.
	for k, col := range [4][]bool{f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort} {
		if len(col) != g.n {
			return fmt.Errorf("strategy %s left signal column %s with %d values for %d candles", g.spec.Name, serve.SignalColumns()[k], len(col), g.n)
		}
		if g.n > 0 && &col[0] != &g.sig[k][0] {
			copy(g.sig[k], col)
		}
	}
	if f.EnterTag != nil {
		if len(f.EnterTag) != g.n {
			return fmt.Errorf("strategy %s left %d enter tags for %d candles", g.spec.Name, len(f.EnterTag), g.n)
		}
		tags := map[string]string{}
		for i, t := range f.EnterTag {
			if t != "" {
				tags[strconv.Itoa(i)] = t
			}
		}
		if len(tags) > 0 {
			b, err := json.Marshal(tags)
			if err != nil {
				return fmt.Errorf("strategy %s: encoding its enter tags: %w", g.spec.Name, err)
			}
			g.tags = b
		}
	}
	return nil
}
