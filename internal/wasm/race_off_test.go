//go:build !race

package wasm

const raceOn = false
