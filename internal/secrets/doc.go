// Package secrets seals venue credentials at rest with envelope
// encryption: every secret gets a fresh 256-bit data key, the secret is
// encrypted with it (AES-256-GCM) and the data key is encrypted ("wrapped")
// with the key-encryption key (KEK, AES-256-GCM too). The KEK comes from a
// file or the environment variable TRADAI_KEK (LoadKEK), never from the
// database; a sealed value names its KEK by a short id, so rotation
// (Rewrap) re-encrypts only the data key and the wrong KEK is told apart
// from a damaged value. Associated data binds a sealed value to its row
// (an account id), so a value copied to another row does not open.
//
// Fingerprint is what a user sees of an API key: the first 8 hex digits of
// its SHA-256, enough to tell keys apart, useless to an attacker.
package secrets
