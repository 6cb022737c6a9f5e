package hyperliquid

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

// Address is an EVM address.
type Address [20]byte

// String is the address in lower-case hex with 0x.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// ParseAddress reads a 0x-prefixed 40-digit hex address.
func ParseAddress(s string) (Address, error) {
	var a Address
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h) != 40 {
		return a, fmt.Errorf("address %q: want 0x and 40 hex digits", s)
	}
	if _, err := hex.Decode(a[:], []byte(h)); err != nil {
		return a, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}

// Signature is an EIP-712 signature as /exchange takes it.
type Signature struct {
	R string `json:"r"`
	S string `json:"s"`
	V int    `json:"v"`
}

// Signer signs actions with an API wallet's private key.
type Signer struct {
	key  *secp256k1.PrivateKey
	addr Address
}

// NewSigner reads a private key: 64 hex digits, 0x optional.
func NewSigner(privateKey string) (*Signer, error) {
	h := strings.TrimPrefix(strings.TrimSpace(privateKey), "0x")
	if len(h) != 64 {
		return nil, errors.New("the private key is not 64 hex digits")
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, errors.New("the private key is not hex")
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(b); overflow || s.IsZero() {
		return nil, errors.New("the private key is not a valid secp256k1 key")
	}
	k := secp256k1.NewPrivateKey(&s)
	return &Signer{key: k, addr: addressOf(k.PubKey())}, nil
}

// Address is the wallet's address.
func (s *Signer) Address() Address { return s.addr }

func keccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func addressOf(pub *secp256k1.PublicKey) Address {
	var a Address
	copy(a[:], keccak(pub.SerializeUncompressed()[1:])[12:])
	return a
}

// ActionHash is the connectionId of an L1 action: Keccak-256 of the
// action's msgpack, the nonce (8 bytes, big-endian) and the vault (0x00,
// or 0x01 and its 20 bytes).
func ActionHash(action Obj, nonce uint64, vault *Address) ([32]byte, error) {
	var h [32]byte
	b, err := Msgpack(action)
	if err != nil {
		return h, err
	}
	b = binary.BigEndian.AppendUint64(b, nonce)
	if vault == nil {
		b = append(b, 0)
	} else {
		b = append(append(b, 1), vault[:]...)
	}
	copy(h[:], keccak(b))
	return h, nil
}

// agentDigest is the EIP-712 digest of the phantom agent
// Agent{source, connectionId} in the domain Exchange/1/1337.
func agentDigest(connectionID [32]byte, mainnet bool) []byte {
	u256 := func(n uint64) []byte {
		var b [32]byte
		binary.BigEndian.PutUint64(b[24:], n)
		return b[:]
	}
	domain := keccak(
		keccak([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
		keccak([]byte("Exchange")), keccak([]byte("1")), u256(1337), make([]byte, 32))
	source := "b"
	if mainnet {
		source = "a"
	}
	agent := keccak(keccak([]byte("Agent(string source,bytes32 connectionId)")), keccak([]byte(source)), connectionID[:])
	return keccak([]byte{0x19, 0x01}, domain, agent)
}

// SignL1 signs action for nonce (and vault, nil for the account itself)
// on mainnet or testnet.
func (s *Signer) SignL1(action Obj, nonce uint64, vault *Address, mainnet bool) (Signature, error) {
	h, err := ActionHash(action, nonce, vault)
	if err != nil {
		return Signature{}, fmt.Errorf("hash the action: %w", err)
	}
	sig := ecdsa.SignCompact(s.key, agentDigest(h, mainnet), false) // [27+recid] r s
	return Signature{R: "0x" + hex.EncodeToString(sig[1:33]), S: "0x" + hex.EncodeToString(sig[33:]), V: int(sig[0])}, nil
}

// RecoverL1 is the address that signed action with sig: what the venue
// does to know who acts (a test server does the same).
func RecoverL1(action Obj, nonce uint64, vault *Address, mainnet bool, sig Signature) (Address, error) {
	h, err := ActionHash(action, nonce, vault)
	if err != nil {
		return Address{}, fmt.Errorf("hash the action: %w", err)
	}
	r, s, err := scalar(sig.R), scalar(sig.S), error(nil)
	if r == nil || s == nil {
		return Address{}, errors.New("signature r or s is not a 256-bit hex number")
	}
	if sig.V != 27 && sig.V != 28 {
		return Address{}, fmt.Errorf("signature v %d: want 27 or 28", sig.V)
	}
	compact := make([]byte, 65)
	compact[0] = byte(sig.V)
	r.FillBytes(compact[1:33])
	s.FillBytes(compact[33:])
	pub, _, err := ecdsa.RecoverCompact(compact, agentDigest(h, mainnet))
	if err != nil {
		return Address{}, fmt.Errorf("recover the signer: %w", err)
	}
	return addressOf(pub), nil
}

func scalar(s string) *big.Int {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" || len(h) > 64 {
		return nil
	}
	n, ok := new(big.Int).SetString(h, 16)
	if !ok {
		return nil
	}
	return n
}
