package binance

import (
	"strings"
	"testing"
)

func TestSymbol(t *testing.T) {
	for pair, want := range map[string]Market{
		"BTC/USDT":           {Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT"},
		"eth/btc":            {Symbol: "ETHBTC", Base: "ETH", Quote: "BTC"},
		"BTC/USDT:USDT":      {Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT", Settle: "USDT"},
		"1000PEPE/USDC:USDC": {Symbol: "1000PEPEUSDC", Base: "1000PEPE", Quote: "USDC", Settle: "USDC"},
	} {
		if got, err := Symbol(pair); err != nil || got != want {
			t.Errorf("Symbol(%q) = %+v, %v; want %+v", pair, got, err, want)
		}
	}
	for _, bad := range []string{"", "BTCUSDT", "/USDT", "BTC/", "BTC/USDT/EUR", ":USDT", "BTC:USDT/X"} {
		if m, err := Symbol(bad); err == nil || !strings.Contains(err.Error(), "want BASE/QUOTE") {
			t.Errorf("Symbol(%q) = %+v, %v; want an error", bad, m, err)
		}
	}
}

func TestPair(t *testing.T) {
	for sym, want := range map[string]string{
		"BTCUSDT": "BTC/USDT", "ETHBTC": "ETH/BTC", "BTCFDUSD": "BTC/FDUSD", "BTCTUSD": "BTC/TUSD",
		"BNBETH": "BNB/ETH", "BTCEUR": "BTC/EUR", "USDTTRY": "USDT/TRY", "EURUSDT": "EUR/USDT", "WBTCBTC": "WBTC/BTC",
		"BTCBUSD": "BTC/BUSD", "ETHDAI": "ETH/DAI", "BTCJPY": "BTC/JPY", "BTCBRL": "BTC/BRL", "ADABNB": "ADA/BNB",
	} {
		if got, err := Pair(sym); err != nil || got != want {
			t.Errorf("%s: %q %v, want %s", sym, got, err, want)
		}
		// And back.
		if m, err := Symbol(want); err != nil || m.Symbol != sym {
			t.Errorf("Symbol(%q) = %+v, %v; want %s", want, m, err, sym)
		}
	}
	for _, bad := range []string{"", "USDT", "XYZABC", "btcusdt"} {
		if _, err := Pair(bad); err == nil || !strings.Contains(err.Error(), "give the pair") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	// Binance's documented example (SIGNED endpoint security, HMAC).
	const secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	const payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	const want = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	if got := Sign(secret, payload); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify(secret, payload, want) || !Verify(secret, payload, strings.ToUpper(want)) {
		t.Error("Verify refuses the signature")
	}
	for _, bad := range []string{"", "zz", want[:62], want[:63] + "0"} {
		if Verify(secret, payload, bad) {
			t.Errorf("Verify accepts %q", bad)
		}
	}
	if Verify("other", payload, want) || Verify(secret, payload+"&x=1", want) {
		t.Error("Verify accepts another secret or payload")
	}
}
