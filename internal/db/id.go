package db

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns prefix_ followed by 26 hex digits: the time in Unix
// milliseconds (12 digits, so ids sort by creation time) and 56 random bits.
func NewID(prefix string, now time.Time) string {
	var b [13]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
