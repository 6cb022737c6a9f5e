package runs

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidText: a name, key, tag or id is not valid UTF-8 or holds a
// control character. Both databases would treat such text differently
// (PostgreSQL refuses a NUL byte and invalid UTF-8, SQLite stores them), so
// the store refuses it on both.
var ErrInvalidText = errors.New("invalid text")

// CheckText says why s cannot be a name, key, tag or id: it must be valid
// UTF-8 without control characters (no NUL, no newline, no tab). The API
// checks every such field of a request with it.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidText)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: holds the control character %U", ErrInvalidText, r)
		}
	}
	return nil
}

// maxMessage bounds a stored error message or step detail, in bytes.
const maxMessage = 8 << 10

// cleanMessage makes an error message or step detail storable the same
// way on every database: invalid UTF-8 becomes U+FFFD, control characters
// other than newline and tab are removed, and it is cut to maxMessage bytes
// (on a rune boundary, marked with "…"). A run whose error held a NUL byte
// could not be recorded on PostgreSQL and lost its real error.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
