// Package wasm builds a Go strategy into a WebAssembly module that TradAI
// runs in its wasm sandbox (internal/wasm): the module's exports speak the
// TradAI wasm ABI (docs/wasm-abi.md), which this package implements for an
// [sdk.Strategy]. A strategy is a main package that registers itself in an
// init function:
//
//	package main
//
//	import "github.com/tradai/tradai/sdk/wasm"
//
//	func init() { wasm.Register(mySMA{}) }
//
//	func main() {}
//
// built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mysma.wasm .
//
// A reactor's main function never runs (the host calls _initialize, which
// runs the package initializers, then the ABI's exports), hence Register in
// init. A strategy that implements serve.ColumnDeclarer gets only the
// candle columns it declares; the others are NaN (time: 0).
//
// The package also holds the ABI's shared definitions — export names, the
// layout slots, the request, the packing of a pointer and a length — which
// TradAI's host side uses too. The exports themselves are compiled only for
// GOOS=wasip1.
package wasm

import (
	"github.com/tradai/tradai/sdk"
)

// ABIVersion is the version of the ABI, returned by the module's
// tradai_abi_version export.
const ABIVersion = 1

// The module's exports (docs/wasm-abi.md).
const (
	ExportABIVersion = "tradai_abi_version" // () -> i32
	ExportSpec       = "tradai_spec"        // () -> i64 packed spec JSON, 0 on failure
	ExportPrepare    = "tradai_prepare"     // (n i32, request_len i32) -> i32 layout pointer, 0 on failure
	ExportPopulate   = "tradai_populate"    // () -> i32 status, 0 = signals written
	ExportTags       = "tradai_tags"        // () -> i64 packed enter-tag JSON, 0 = no tags
	ExportError      = "tradai_error"       // () -> i64 packed message of the last failure
)

// The slots of the layout tradai_prepare returns: Slots little-endian u32
// pointers into the module's memory, in this order.
const (
	SlotRequest    = iota // the request JSON, request_len bytes
	SlotTime              // n × i64, candle open time, Unix ms (0: not needed)
	SlotOpen              // n × f64 (0: not needed)
	SlotHigh              // n × f64 (0: not needed)
	SlotLow               // n × f64 (0: not needed)
	SlotClose             // n × f64 (0: not needed)
	SlotVolume            // n × f64 (0: not needed)
	SlotEnterLong         // n bytes, 0 or 1
	SlotExitLong          // n bytes, 0 or 1
	SlotEnterShort        // n bytes, 0 or 1
	SlotExitShort         // n bytes, 0 or 1
	Slots                 // how many slots the layout has
)

// Request is the JSON the host writes into the request slot before
// tradai_populate: the frame's pair and timeframe and the resolved
// parameter values (numbers as JSON numbers; the module resolves them
// against its spec again, which turns whole numbers into ints).
type Request struct {
	Pair      string        `json:"pair"`
	Timeframe sdk.Timeframe `json:"timeframe"`
	Params    sdk.Values    `json:"params"`
}

// Pack packs a pointer into the module's memory and a length into the i64
// that tradai_spec, tradai_tags and tradai_error return: the pointer in the
// high 32 bits, the length in the low 32.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a packed i64 into its pointer and length.
func Unpack(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }

// registered is the strategy the module's exports serve. A wasm module's
// exports are plain functions, so this one package variable is where
// Register leaves the strategy for them.
var registered sdk.Strategy //nolint:unused // read by guest.go, which only GOOS=wasip1 builds

// Register makes s the strategy this module serves. Call it from an init
// function of the main package: a reactor module never runs main.
func Register(s sdk.Strategy) { registered = s }
