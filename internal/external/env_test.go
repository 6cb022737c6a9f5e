package external

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// What a strategy writes into an error loses the values of TradAI's
// secret-looking variables, even those it read from /proc rather than
// inherited.
func TestRedactor(t *testing.T) {
	r := newRedactor([]string{
		"TRADAI_WEBHOOK_SECRET=whsec-0123456789",
		"DATABASE_URL=postgres://u:pw-secret-1@db/x",
		"PGPASSWORD=hunter2hunter2",
		"AWS_SECRET_ACCESS_KEY=AKIAabcdefgh",
		"CURL_CA_BUNDLE=/etc/ssl/certs/ca.crt", // not secret by name
		"TRADAI_SHORT=1234567",                 // too short to look for
		"TRADAI_PASSED=given-to-the-strategy",  // the strategy got it anyway
		"HOME=/home/tradai",
	}, []string{"TRADAI_PASSED=given-to-the-strategy"})
	in := "whsec-0123456789 postgres://u:pw-secret-1@db/x hunter2hunter2 AKIAabcdefgh /etc/ssl/certs/ca.crt 1234567 given-to-the-strategy /home/tradai"
	want := "[redacted] [redacted] [redacted] [redacted] /etc/ssl/certs/ca.crt 1234567 given-to-the-strategy /home/tradai"
	if got := r.text(in); got != want {
		t.Fatalf("text\n%s\nwant\n%s", got, want)
	}
	err := r.err(fmt.Errorf("strategy x: %w; stderr: hunter2hunter2", io.EOF))
	if err.Error() != "strategy x: EOF; stderr: [redacted]" || !errors.Is(err, io.EOF) {
		t.Fatalf("err %q (is EOF: %v)", err, errors.Is(err, io.EOF))
	}
	if r.err(nil) != nil {
		t.Fatal("nil error redacted into non-nil")
	}
}

func TestBound(t *testing.T) {
	if got := bound("héllo", 10); got != "héllo" {
		t.Fatalf("%q", got)
	}
	if got := bound("héllo wörld", 6); got != "…wörld" {
		t.Fatalf("%q", got)
	}
}

// What a strategy writes on standard error is quoted within the bound, as
// valid UTF-8, whatever it is; the out-of-memory note never depends on
// where the text was cut.
func FuzzStderrTail(f *testing.F) {
	f.Add([]byte("fatal error: runtime: out of memory\n"), 64, 7)
	f.Add([]byte("Traceback (most recent call last):\n  File \"x.py\"\nMemoryError\n"), 16, 3)
	f.Add([]byte("h\xc3\xa9llo w\xc3\xb6rld\xff\xfe\n"), 8, 1)
	f.Fuzz(func(t *testing.T, data []byte, max, chunk int) {
		if max < 4 || max > 1<<16 || chunk < 1 {
			t.Skip()
		}
		tl := &stderrTail{max: max, done: make(chan struct{})}
		for b := data; len(b) > 0; {
			n := min(chunk, len(b))
			tl.add(b[:n])
			b = b[n:]
		}
		s := tl.String()
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
		if len(s) > max+len("\n…\n") {
			t.Fatalf("%d bytes quoted for a bound of %d", len(s), max)
		}
		if len(data) <= max && s != strings.TrimSpace(strings.ToValidUTF8(string(data), "?")) {
			t.Fatalf("short stderr %q quoted as %q", data, s)
		}
	})
}
