// Package hyperliquid is a small client of Hyperliquid's public API,
// written from its documentation (there is no Go SDK to use): POST /info
// for market and account state, POST /exchange for actions signed by an
// API (agent) wallet's key. Actions are L1 actions: the action is
// msgpack-encoded in a fixed key order (Obj keeps it), followed by the
// nonce and the vault flag, hashed with Keccak-256 into the connectionId
// of a "phantom agent" {source, connectionId} that is signed as EIP-712
// typed data in the domain "Exchange", version 1, chain id 1337; source
// is "a" on mainnet and "b" on testnet. Signatures use
// github.com/decred/dcrd/dcrec/secp256k1/v4 (recoverable compact
// signatures), hashes golang.org/x/crypto/sha3, msgpack
// github.com/vmihailenco/msgpack/v5.
//
// The exchange adapter on top is internal/exchange/hyperliquid.
package hyperliquid
