//go:build race

package wasm

// raceOn: the race detector slows wazero's compiler and the guest code
// tenfold; tests that measure density skip under it.
const raceOn = true
