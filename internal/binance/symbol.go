package binance

import (
	"fmt"
	"strings"
)

// Market is a pair as Binance names it.
type Market struct {
	// Symbol is Binance's name of the market: "BTCUSDT".
	Symbol string
	// Base and Quote are its assets: "BTC", "USDT".
	Base, Quote string
	// Settle is a futures pair's settlement asset ("USDT" of
	// "BTC/USDT:USDT"); empty for a spot pair.
	Settle string
}

// Symbol maps a pair to Binance's market: "BTC/USDT" → BTCUSDT (base BTC,
// quote USDT). A futures pair has the same symbol as its spot pair:
// "BTC/USDT:USDT" → BTCUSDT, settled in USDT. Letters are upper-cased. It
// fails unless pair is BASE/QUOTE or BASE/QUOTE:SETTLE with a base and a
// quote.
func Symbol(pair string) (Market, error) {
	p, settle, _ := strings.Cut(strings.ToUpper(pair), ":")
	base, quote, ok := strings.Cut(p, "/")
	if !ok || base == "" || quote == "" || strings.Contains(quote, "/") {
		return Market{}, fmt.Errorf("pair %q: want BASE/QUOTE, e.g. BTC/USDT (futures: BTC/USDT:USDT)", pair)
	}
	return Market{Symbol: base + quote, Base: base, Quote: quote, Settle: settle}, nil
}

// quotes lists the quote assets Pair recognises. Read only.
var quotes = []string{
	"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "USDS", "PAX", "DAI", "USD", "UST", "AEUR", "EURI",
	"BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "SOL",
	"EUR", "GBP", "TRY", "BRL", "JPY", "AUD", "RUB", "UAH", "NGN", "ZAR", "PLN", "RON", "ARS", "MXN", "COP", "CZK",
	"IDRT", "BIDR", "BKRW", "BVND", "VAI",
}

// Pair maps a Binance symbol to a spot pair by its quote asset: "BTCUSDT" →
// "BTC/USDT", "ETHBTC" → "ETH/BTC". The longest known quote asset that ends
// the symbol wins ("BTCFDUSD" → "BTC/FDUSD", not "BTCFD/USD"). It fails when
// no known quote asset ends the symbol or nothing is left for the base
// asset.
func Pair(symbol string) (string, error) {
	best := ""
	for _, q := range quotes {
		if len(q) > len(best) && len(symbol) > len(q) && strings.HasSuffix(symbol, q) {
			best = q
		}
	}
	if best == "" {
		return "", fmt.Errorf("cannot tell the base and quote asset of Binance symbol %q (no known quote asset at its end): give the pair, e.g. BASE/QUOTE", symbol)
	}
	return symbol[:len(symbol)-len(best)] + "/" + best, nil
}
