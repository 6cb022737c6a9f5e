// Command smacross is the built-in sma_cross strategy, the very same code,
// built as a wasm module for the tests and benchmarks of internal/wasm.
package main

import (
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk/wasm"
)

func init() { wasm.Register(strategy.SMACross{}) }

func main() {}
