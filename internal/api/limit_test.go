package api

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// Idle buckets are dropped once refilled, and the set never holds more
// than its bound: memory does not grow with the number of keys seen.
func TestLimitersEvictIdleBucketsAndStayBounded(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	ls := newLimiters(1, 2, 100, clk) // refilled after 2 s idle
	for i := range 1000 {
		if _, ok := ls.take("k" + strconv.Itoa(i)); !ok {
			t.Fatalf("first request of key %d refused", i)
		}
		if n := ls.size(); n > 100 {
			t.Fatalf("%d buckets kept, bound 100", n)
		}
	}
	// An emptied bucket is kept while it refills ...
	ls.take("busy")
	if _, ok := ls.take("busy"); !ok {
		t.Fatal("burst of 2 refused its second request")
	}
	if _, ok := ls.take("busy"); ok {
		t.Fatal("third request of a burst of 2 allowed")
	}
	clk.Advance(time.Second)
	ls.take("other") // sweeps: nothing has been idle for 2 s
	if wait := ls.wait("busy"); wait != 0 {
		t.Fatalf("after 1 s at 1/s the busy key waits %v", wait)
	}
	// ... and once every bucket has refilled, the set is swept clean.
	clk.Advance(3 * time.Second)
	ls.take("last")
	if n := ls.size(); n != 1 {
		t.Fatalf("%d buckets kept after every other key idled out, want 1", n)
	}
}

func TestBearerToken(t *testing.T) {
	for _, h := range []string{"Bearer tdi_abc", "bearer tdi_abc", "BEARER tdi_abc", "Bearer tdi_a-b_c.d~e+f/g==", "Bearer x"} {
		tok, err := bearerToken(h)
		if err != nil || tok != h[len("Bearer "):] {
			t.Errorf("bearerToken(%q) = %q, %v", h, tok, err)
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Bearer  tdi_abc", "Bearer\ttdi_abc", "Bearer tdi_abc ", "Bearer tdi abc",
		"Basic YTpi", "Bearertdi_abc", "Bearer =", "Bearer a=b", "Bearer tdi_\x00", "Bearer tdi_é", "Bearer " + strings.Repeat("a", 513)} {
		if tok, err := bearerToken(h); err == nil {
			t.Errorf("bearerToken(%q) = %q, want an error", h, tok)
		}
	}
}

// FuzzBearerToken: whatever the header, the parser either refuses it or
// returns the one token the header spells, made of token68 characters
// only, so no two spellings of a header reach the token lookup (and the
// per-user rate limit) as different tokens.
func FuzzBearerToken(f *testing.F) {
	for _, h := range []string{"Bearer tdi_abc", "bearer  tdi_abc", "Bearer tdi_abc==", "Bearer\ttdi", "Basic YTpi", "Bearer =", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := bearerToken(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", h, tok)
			}
			return
		}
		if tok == "" || len(tok) > 512 || !strings.EqualFold(h, "Bearer "+tok) || h[len("Bearer "):] != tok {
			t.Fatalf("header %q gave token %q", h, tok)
		}
		body := strings.TrimRight(tok, "=")
		if body == "" || strings.ContainsAny(body, "= \t\r\n\x00") {
			t.Fatalf("header %q gave token %q", h, tok)
		}
		for _, c := range []byte(tok) {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("header %q gave token %q with byte %#x", h, tok, c)
			}
		}
		if again, err := bearerToken("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("token %q does not parse back: %q, %v", tok, again, err)
		}
	})
}

func TestClientAddress(t *testing.T) {
	for _, c := range []struct {
		remote, fwd string
		trust       bool
		want        string
	}{
		{"192.0.2.1:5555", "", false, "192.0.2.1"},
		{"192.0.2.1:5555", "10.0.0.1", false, "192.0.2.1"},
		{"192.0.2.1:5555", "203.0.113.7, 10.0.0.1", true, "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", false, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:1", "", false, "192.0.2.1"},
	} {
		if got := clientAddress(c.remote, c.fwd, c.trust); got != c.want {
			t.Errorf("clientAddress(%q, %q, %v) = %q, want %q", c.remote, c.fwd, c.trust, got, c.want)
		}
	}
}
