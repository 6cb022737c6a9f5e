package deploy

import (
	"regexp"
	"testing"
)

var binanceClientID = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,36}$`)

func TestClientOrderID(t *testing.T) {
	dep := "dep_018c2b6f3a000123456789abcd"
	a := ClientOrderID(dep, 1, Entry, 0)
	if a != ClientOrderID(dep, 1, Entry, 0) {
		t.Fatal("not deterministic")
	}
	seen := map[string]bool{}
	for _, d := range []string{dep, dep + "x"} {
		for _, seq := range []int64{0, 1, 35, 36, MaxTradeSeq} {
			for _, leg := range []Leg{Entry, Exit} {
				for _, att := range []int{0, 1, MaxAttempt} {
					id := ClientOrderID(d, seq, leg, att)
					if !binanceClientID.MatchString(id) {
						t.Fatalf("%q is not a Binance client order id", id)
					}
					if seen[id] {
						t.Fatalf("%q made twice", id)
					}
					seen[id] = true
					r, err := ParseClientOrderID(id)
					if err != nil || r.TradeSeq != seq || r.Leg != leg || r.Attempt != att || !r.Owns(d) {
						t.Fatalf("parse %q: %+v %v", id, r, err)
					}
				}
			}
		}
	}
	for _, bad := range []string{"", "td", "web_123", "td0123456789abcdef-1e-0-1", "td0123456789ABCDEF-1e-0", "td0123456789abcdef-1q-0", "td0123456789abcdef-01e-0", "td0123456789abcdef-e-0"} {
		if _, err := ParseClientOrderID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseClientOrderID: any id a venue lists is parsed without panic,
// and what parses is made back by ClientOrderID's format.
func FuzzParseClientOrderID(f *testing.F) {
	f.Add(ClientOrderID("dep_1", 5, Exit, 2))
	f.Add("td0123456789abcdef-zzzzzzzzzzzzze-0")
	f.Add("x")
	f.Fuzz(func(t *testing.T, id string) {
		r, err := ParseClientOrderID(id)
		if err != nil {
			return
		}
		if !binanceClientID.MatchString(id) {
			t.Fatalf("accepted %q", id)
		}
		back := clientPrefix + r.Deployment + "-" + formatRef(r)
		if back != id {
			t.Fatalf("%q parsed as %+v, made back as %q", id, r, back)
		}
	})
}

func formatRef(r ClientOrderRef) string {
	full := ClientOrderID("", r.TradeSeq, r.Leg, r.Attempt)
	return full[len(clientPrefix)+17:]
}
