// Package python holds the Python SDK for TradAI strategies,
// tradai_strategy.py: a single file, standard library only, that implements
// the strategy side of the strategy protocol (docs/strategy-protocol.md).
//
// The Go package only embeds the file, so that the tradai binary can hand
// it to the Python strategies it runs (on PYTHONPATH). Its tests run the SDK
// and the Python example strategies (examples/strategies/python) with
// python3, speak the protocol to them by hand and compare their signals with
// the Go built-ins.
package python

import (
	"bytes"
	_ "embed"
)

// FileName is the name of the SDK's module file: a folder holding it, put on
// PYTHONPATH, makes `import tradai_strategy` work.
const FileName = "tradai_strategy.py"

//go:embed tradai_strategy.py
var source []byte

// Source returns the content of tradai_strategy.py (a copy).
func Source() []byte { return bytes.Clone(source) }
