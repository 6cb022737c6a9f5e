package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvKEK is the environment variable LoadKEK reads when no file is named.
const EnvKEK = "TRADAI_KEK"

// KeySize is the size of a KEK and of a data key: AES-256.
const KeySize = 32

// ErrNoKEK is returned by LoadKEK when neither a file nor EnvKEK gives one.
var ErrNoKEK = errors.New("no key-encryption key: give --kek-file or set " + EnvKEK + " (docs/operations.md)")

// ErrWrongKEK is returned by Open and Rewrap for a value sealed under
// another KEK.
var ErrWrongKEK = errors.New("sealed under another key-encryption key")

// ErrCorrupt is returned by Open and Decode for a value that was damaged
// or tampered with (or sealed for another row).
var ErrCorrupt = errors.New("sealed value is damaged or was tampered with")

// KEK is a key-encryption key. Its String never shows the key.
type KEK struct {
	id   string
	aead cipher.AEAD
}

// NewKEK returns the KEK of key (KeySize bytes).
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key-encryption key: want %d bytes, got %d", KeySize, len(key))
	}
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("tradai kek id\x00"), key...))
	return &KEK{id: hex.EncodeToString(sum[:4]), aead: a}, nil
}

// GenerateKEK returns a new random KEK as text for a file or TRADAI_KEK.
func GenerateKEK() string {
	var k [KeySize]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(k[:])
}

// ParseKEK reads a KEK written as base64 (standard or URL alphabet) or
// hex of KeySize bytes; surrounding space is ignored.
func ParseKEK(text string) (*KEK, error) {
	t := strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(t); err == nil && len(b) == KeySize {
			return NewKEK(b)
		}
	}
	return nil, fmt.Errorf("key-encryption key: want %d bytes as base64 or hex (make one with: tradai accounts new-kek)", KeySize)
}

// LoadKEK reads the KEK from file, or when file is "" from the
// environment variable EnvKEK (getenv: os.Getenv in production). Neither:
// ErrNoKEK.
func LoadKEK(file string, getenv func(string) string) (*KEK, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read the key-encryption key: %w", err)
		}
		k, err := ParseKEK(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return k, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(EnvKEK); v != "" {
		k, err := ParseKEK(v)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvKEK, err)
		}
		return k, nil
	}
	return nil, ErrNoKEK
}

// ID names the KEK (8 hex digits of a hash of it): stored beside each
// sealed value, shown by rotation.
func (k *KEK) ID() string { return k.id }

// String shows the KEK's id only.
func (k *KEK) String() string { return "kek:" + k.id }

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(b)
}

// Fingerprint is the first 8 hex digits of the SHA-256 of an API key.
func Fingerprint(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:4])
}

// The sealed format, version 1, base64 (standard) of:
//
//	"TS1" | kek id (8 ASCII hex) | wrapped data key (nonce 12 | key 32 + tag 16) | nonce 12 | ciphertext + tag 16
//
// The wrapped data key's associated data is the KEK id and the caller's
// associated data; the secret's is the caller's associated data.
const (
	magic      = "TS1"
	idLen      = 8
	nonceLen   = 12
	tagLen     = 16
	wrappedLen = nonceLen + KeySize + tagLen
	headerLen  = len(magic) + idLen + wrappedLen + nonceLen
)

// envelope is a decoded sealed value.
type envelope struct {
	kek     string
	wrapped []byte // nonce | encrypted data key
	nonce   []byte
	ct      []byte
}

// decode parses a sealed value without opening it.
func decode(sealed string) (envelope, error) {
	// Only the canonical encoding: the decoder would skip line breaks and
	// take stray bits, so that one value had many spellings.
	b, err := base64.StdEncoding.Strict().DecodeString(sealed)
	if err != nil || base64.StdEncoding.EncodeToString(b) != sealed || len(b) < headerLen+tagLen || string(b[:len(magic)]) != magic {
		return envelope{}, ErrCorrupt
	}
	p := b[len(magic):]
	e := envelope{kek: string(p[:idLen])}
	if _, err := hex.DecodeString(e.kek); err != nil {
		return envelope{}, ErrCorrupt
	}
	p = p[idLen:]
	e.wrapped, p = p[:wrappedLen], p[wrappedLen:]
	e.nonce, e.ct = p[:nonceLen], p[nonceLen:]
	return e, nil
}

func (e envelope) encode() string {
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteString(e.kek)
	b.Write(e.wrapped)
	b.Write(e.nonce)
	b.Write(e.ct)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// KEKOf is the id of the KEK a sealed value was sealed under.
func KEKOf(sealed string) (string, error) {
	e, err := decode(sealed)
	return e.kek, err
}

func nonce() []byte {
	n := make([]byte, nonceLen)
	_, _ = rand.Read(n)
	return n
}

func (k *KEK) wrapAD(ad []byte) []byte {
	return append([]byte(k.id+"\x00"), ad...)
}

// wrap encrypts a data key under k.
func (k *KEK) wrap(dek, ad []byte) []byte {
	n := nonce()
	return k.aead.Seal(n, n, dek, k.wrapAD(ad))
}

// unwrap decrypts the data key of e.
func (k *KEK) unwrap(e envelope, ad []byte) ([]byte, error) {
	if e.kek != k.id {
		return nil, fmt.Errorf("%w (sealed under kek:%s, this is kek:%s)", ErrWrongKEK, e.kek, k.id)
	}
	dek, err := k.aead.Open(nil, e.wrapped[:nonceLen], e.wrapped[nonceLen:], k.wrapAD(ad))
	if err != nil {
		return nil, ErrCorrupt
	}
	return dek, nil
}

// Seal encrypts plaintext under a new data key wrapped by k; ad (the row
// it belongs to) must be given again to Open.
func (k *KEK) Seal(plaintext, ad []byte) string {
	dek := make([]byte, KeySize)
	_, _ = rand.Read(dek)
	a, err := newGCM(dek)
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	n := nonce()
	e := envelope{kek: k.id, wrapped: k.wrap(dek, ad), nonce: n, ct: a.Seal(nil, n, plaintext, ad)}
	clear(dek)
	return e.encode()
}

// Open decrypts a value Seal made under k with the same ad.
func (k *KEK) Open(sealed string, ad []byte) ([]byte, error) {
	e, err := decode(sealed)
	if err != nil {
		return nil, err
	}
	dek, err := k.unwrap(e, ad)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	a, err := newGCM(dek)
	if err != nil {
		return nil, ErrCorrupt
	}
	pt, err := a.Open(nil, e.nonce, e.ct, ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// Rewrap re-encrypts the data key of sealed from old to next (the
// secret's ciphertext is kept); a value already under next is returned
// unchanged. The secret itself is checked to open.
func Rewrap(old, next *KEK, sealed string, ad []byte) (string, error) {
	e, err := decode(sealed)
	if err != nil {
		return "", err
	}
	if e.kek == next.id {
		if _, err := next.Open(sealed, ad); err != nil {
			return "", err
		}
		return sealed, nil
	}
	if _, err := old.Open(sealed, ad); err != nil {
		return "", err
	}
	dek, err := old.unwrap(e, ad)
	if err != nil {
		return "", err
	}
	defer clear(dek)
	e.kek, e.wrapped = next.id, next.wrap(dek, ad)
	return e.encode(), nil
}
