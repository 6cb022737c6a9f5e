package binanceapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/sim"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		payload, sig      string
		vals              map[string]string
		code              int
	}{
		{name: "binance example 3: query and body, no & between", query: "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
			body:    "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd1",
			payload: "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", sig: "0fd1",
			vals: map[string]string{"symbol": "LTCBTC", "quantity": "1", "timestamp": "1499827319559"}},
		{name: "signature in the middle", query: "a=1&signature=ab&b=2", payload: "a=1&b=2", sig: "ab", vals: map[string]string{"a": "1", "b": "2"}},
		{name: "escapes", query: "symbols=%5B%22BTCUSDT%22%5D", payload: "symbols=%5B%22BTCUSDT%22%5D", vals: map[string]string{"symbols": `["BTCUSDT"]`}},
		{name: "query wins over body", query: "a=1", body: "a=2", payload: "a=1a=2", vals: map[string]string{"a": "1"}},
		{name: "duplicate", query: "a=1&a=2", code: -1101},
		{name: "bad escape", query: "a=%zz", code: -1100},
		{name: "empty name", query: "=1", code: -1100},
		{name: "too many", query: strings.Repeat("x=1&", 1) + manyParams(70), code: -1101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseParams(tc.query, tc.body)
			if tc.code != 0 {
				if !sim.IsCode(err, tc.code) {
					t.Fatalf("err = %v, want code %d", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.payload != tc.payload || p.sig != tc.sig {
				t.Errorf("payload %q sig %q, want %q %q", p.payload, p.sig, tc.payload, tc.sig)
			}
			for k, v := range tc.vals {
				if p.vals[k] != v {
					t.Errorf("%s = %q, want %q", k, p.vals[k], v)
				}
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("p")
		b.WriteString(strings.Repeat("a", i+1))
		b.WriteString("=1&")
	}
	return b.String()
}

func TestSymbolList(t *testing.T) {
	p := params{vals: map[string]string{"symbols": `["BTCUSDT", "ETHBTC"]`}}
	got, err := p.symbolList()
	if err != nil || len(got) != 2 || got[1] != "ETHBTC" {
		t.Fatalf("symbols = %v, %v", got, err)
	}
	for _, bad := range []string{`[]`, `BTCUSDT`, `["btcusdt"]`, `["BTCUSDT",]`, `[BTCUSDT]`} {
		p := params{vals: map[string]string{"symbols": bad}}
		if _, err := p.symbolList(); !sim.IsCode(err, -1100) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// FuzzParseParams: any query and body either parse or fail with a Binance
// error; a parse keeps every unsigned parameter in the payload and never
// the signature.
func FuzzParseParams(f *testing.F) {
	f.Add("symbol=BTCUSDT&timestamp=1&signature=abc", "quantity=1")
	f.Add("a=%zz", "")
	f.Add("symbols=%5B%22BTCUSDT%22%5D&&", "signature=1&signature=2")
	f.Fuzz(func(t *testing.T, query, body string) {
		p, err := parseParams(query, body)
		if err != nil {
			if e := (*sim.Error)(nil); !errors.As(err, &e) {
				t.Fatalf("non-Binance error %v", err)
			}
			return
		}
		if strings.Contains("&"+p.payload, "&signature=") && !strings.Contains(query+body, "signature=") {
			t.Fatalf("payload %q has a signature", p.payload)
		}
		if _, err := p.symbolList(); err != nil {
			if e := (*sim.Error)(nil); !errors.As(err, &e) {
				t.Fatalf("symbols: non-Binance error %v", err)
			}
		}
		for _, name := range []string{"quantity", "price"} {
			if _, err := p.dec(name); err != nil {
				if e := (*sim.Error)(nil); !errors.As(err, &e) {
					t.Fatalf("%s: non-Binance error %v", name, err)
				}
			}
		}
	})
}
