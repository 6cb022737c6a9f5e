// Command raw implements the wasm ABI by hand, without sdk/wasm, and breaks
// it on purpose: how is chosen at link time (-X main.mode=...) for the
// spec, and by the request's pair for a populate. It tests the host's
// checks of everything a module answers.
package main

import (
	"bytes"
	"unsafe"
)

var mode = "ok"

var (
	spec   []byte
	msg    = []byte("raw refuses")
	layout [11]uint32
	req    []byte
	cols   [10][]byte
	tags   []byte
	n      int
)

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func pack(b []byte) uint64 { return uint64(addr(b))<<32 | uint64(len(b)) }

//go:wasmexport tradai_abi_version
func abiVersion() int32 {
	if mode == "abi2" {
		return 2
	}
	return 1
}

//go:wasmexport tradai_spec
func specExport() uint64 {
	switch mode {
	case "badjson":
		spec = []byte(`{"name": "raw", "timeframe": `)
	case "unknownfield":
		spec = []byte(`{"name": "raw", "timeframe": "5m", "startup_candle_count": 0, "risk": {"stoploss": -0.1}, "colour": "red"}`)
	case "filesignals":
		spec = []byte(`{"name": "raw", "timeframe": "5m", "file_signals": true, "risk": {"stoploss": -0.1}}`)
	case "noname":
		spec = []byte(`{"timeframe": "5m", "risk": {"stoploss": -0.1}}`)
	case "nospec":
		msg = []byte("raw cannot say what it is")
		return 0
	case "specoutside":
		return uint64(0xFFFF0000)<<32 | 4096
	default:
		spec = []byte(`{"name": "raw", "timeframe": "5m", "risk": {"stoploss": -0.1}}`)
	}
	return pack(spec)
}

//go:wasmexport tradai_error
func errorExport() uint64 { return pack(msg) }

//go:wasmexport tradai_prepare
func prepare(size, reqLen int32) uint32 {
	n = int(size)
	req = make([]byte, reqLen)
	layout[0] = addr(req)
	for k := range cols {
		w := 8
		if k >= 6 {
			w = 1
		}
		cols[k] = make([]byte, max(w*n, 1))
		layout[1+k] = addr(cols[k])
	}
	switch n {
	case 7: // the close column outside memory
		layout[5] = 0xFFFFFF00
	case 8: // the layout itself outside memory
		return 0xFFFFFFF0
	}
	return uint32(uintptr(unsafe.Pointer(&layout[0])))
}

func pair(p string) bool { return bytes.Contains(req, []byte(`"pair":"`+p+`"`)) }

//go:wasmexport tradai_populate
func populate() int32 {
	tags = nil
	switch {
	case pair("refuse"):
		msg = []byte("raw refuses this frame")
		return 1
	case pair("sigbyte"):
		cols[6][n-1] = 2
	case pair("tagsjson"):
		tags = []byte(`{"1": 2}`)
	case pair("tagsindex"):
		tags = []byte(`{"999999": "x"}`)
	case pair("tagsoutside"):
		return 0
	case pair("tags"):
		tags = []byte(`{"0": "first"}`)
	default:
		cols[6][n-1] = 1 // enter long on the last candle
	}
	return 0
}

//go:wasmexport tradai_tags
func tagsExport() uint64 {
	if pair("tagsoutside") {
		return uint64(0xFFFFFF00)<<32 | 64
	}
	if tags == nil {
		return 0
	}
	return pack(tags)
}

func main() {}
