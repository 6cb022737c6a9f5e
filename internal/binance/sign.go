package binance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Sign is the signature Binance expects for a request whose query string
// and body together are payload: hex HMAC-SHA256 keyed with the secret.
func Sign(secret, payload string) string {
	return hex.EncodeToString(mac(secret, payload))
}

// Verify reports whether sig (hex, either case) is payload's signature with
// secret, comparing in constant time.
func Verify(secret, payload, sig string) bool {
	got, err := hex.DecodeString(strings.ToLower(sig))
	return err == nil && hmac.Equal(got, mac(secret, payload))
}

func mac(secret, payload string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
