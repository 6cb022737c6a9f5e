package hyperliquid

import (
	"encoding/hex"
	"math/big"
	"testing"
)

// The published vectors of Hyperliquid's reference SDK
// (hyperliquid-python-sdk, tests/signing_test.py: test_l1_action_signing_matches,
// test_l1_action_signing_matches_with_vault,
// test_phantom_agent_creation_matches_production), for its public test key.
const vectorKey = "0x0123456789012345678901234567890123456789012345678901234567890123"

func hexNum(t *testing.T, s string) *big.Int {
	t.Helper()
	n := scalar(s)
	if n == nil {
		t.Fatalf("bad hex %q", s)
	}
	return n
}

func TestSignL1MatchesPublishedVectors(t *testing.T) {
	s, err := NewSigner(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	vault, err := ParseAddress("0x1719884eb866cb12b2287399b15f7db5e7d775ea")
	if err != nil {
		t.Fatal(err)
	}
	dummy := Obj{{"type", "dummy"}, {"num", int64(100000000000)}}
	order := Obj{{"type", "order"}, {"orders", []any{Obj{{"a", 1}, {"b", true}, {"p", "100"}, {"s", "100"}, {"r", false}, {"t", Obj{{"limit", Obj{{"tif", "Gtc"}}}}}}}}, {"grouping", "na"}}
	cases := []struct {
		name    string
		action  Obj
		vault   *Address
		mainnet bool
		r, s    string
		v       int
	}{
		{"mainnet", dummy, nil, true, "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298", "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", 27},
		{"testnet", dummy, nil, false, "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510", "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", 28},
		{"vault mainnet", dummy, &vault, true, "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239", "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c", 28},
		{"order testnet", order, nil, false, "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54", "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27},
	}
	for _, c := range cases {
		sig, err := s.SignL1(c.action, 0, c.vault, c.mainnet)
		if err != nil {
			t.Fatal(err)
		}
		if hexNum(t, sig.R).Cmp(hexNum(t, c.r)) != 0 || hexNum(t, sig.S).Cmp(hexNum(t, c.s)) != 0 || sig.V != c.v {
			t.Errorf("%s: signature %+v, want r=%s s=%s v=%d", c.name, sig, c.r, c.s, c.v)
		}
		who, err := RecoverL1(c.action, 0, c.vault, c.mainnet, sig)
		if err != nil || who != s.Address() {
			t.Errorf("%s: recovered %v, %v; want %v", c.name, who, err, s.Address())
		}
	}
}

func TestActionHashOfAnOrderMatchesProduction(t *testing.T) {
	// An ETH (asset 4) IOC buy of 0.0147 at 1670.1, nonce 1677777606040.
	order := Obj{{"type", "order"}, {"orders", []any{Obj{{"a", 4}, {"b", true}, {"p", "1670.1"}, {"s", "0.0147"}, {"r", false}, {"t", Obj{{"limit", Obj{{"tif", "Ioc"}}}}}}}}, {"grouping", "na"}}
	h, err := ActionHash(order, 1677777606040, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h[:]); got != "0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908" {
		t.Fatalf("connectionId %s", got)
	}
}

func TestRecoverRefusesAnotherActionsSignature(t *testing.T) {
	s, _ := NewSigner(vectorKey)
	a := Obj{{"type", "cancel"}, {"cancels", []any{Obj{{"a", 0}, {"o", int64(1)}}}}}
	sig, _ := s.SignL1(a, 5, nil, true)
	b := Obj{{"type", "cancel"}, {"cancels", []any{Obj{{"a", 0}, {"o", int64(2)}}}}}
	for name, got := range map[string]func() (Address, error){
		"other action":  func() (Address, error) { return RecoverL1(b, 5, nil, true, sig) },
		"other nonce":   func() (Address, error) { return RecoverL1(a, 6, nil, true, sig) },
		"other network": func() (Address, error) { return RecoverL1(a, 5, nil, false, sig) },
	} {
		if who, err := got(); err == nil && who == s.Address() {
			t.Errorf("%s: recovered the signer", name)
		}
	}
}

func TestJSONRoundTripKeepsTheHash(t *testing.T) {
	a := Obj{{"type", "order"}, {"orders", []any{Obj{{"a", 4}, {"b", true}, {"p", "1670.1"}, {"s", "0.0147"}, {"r", false}, {"t", Obj{{"limit", Obj{{"tif", "Ioc"}}}}}, {"c", "0x00000000000000000000000000000001"}}}}, {"grouping", "na"}}
	j, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseObj(j)
	if err != nil {
		t.Fatal(err)
	}
	h1, _ := ActionHash(a, 1, nil)
	h2, _ := ActionHash(back, 1, nil)
	if h1 != h2 {
		t.Fatalf("hash changed through JSON: %s", j)
	}
}

func FuzzParseObj(f *testing.F) {
	f.Add([]byte(`{"type":"order","orders":[{"a":0,"b":true,"p":"1","s":"1","r":false,"t":{"limit":{"tif":"Gtc"}}}],"grouping":"na"}`))
	f.Add([]byte(`{"type":"cancel","cancels":[{"a":0,"o":18446744073709551615}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObj(b)
		if err != nil {
			return
		}
		if _, err := Msgpack(o); err != nil {
			t.Fatalf("a parsed object does not encode: %v", err)
		}
		j, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseObj(j); err != nil {
			t.Fatalf("re-parse %s: %v", j, err)
		}
	})
}
