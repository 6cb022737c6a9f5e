// Package replaytest builds small synthetic markets for tests of the
// simulator's layers: an engine trading BTCUSDT and a feed replaying
// one-minute candles around 100.
package replaytest

import (
	"testing"

	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/sdk"
)

// Frame is n 1m BTC/USDT candles from 2024-01-01: opens cycle through 100
// … 104, each candle ranging 1.5 either side of its open and closing 1
// above it, volume 10.
func Frame(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m"}
	t0 := int64(1704067200000)
	for i := range n {
		o := 100 + float64(i%5)
		f.Time = append(f.Time, t0+int64(i)*60_000)
		f.Open = append(f.Open, o)
		f.High = append(f.High, o+1.5)
		f.Low = append(f.Low, o-1.5)
		f.Close = append(f.Close, o+1)
		f.Volume = append(f.Volume, 10)
	}
	return f
}

// Market is an engine with BTCUSDT (filters from replay.DefaultSymbol)
// and its default config, journal attached, and a feed of Frame(n) played
// to the close of the tenth candle.
func Market(t testing.TB, n int, journal sim.Journal) (*sim.Engine, *replay.Feed) {
	t.Helper()
	f := Frame(n)
	sym, err := replay.DefaultSymbol("BTC/USDT", f)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, journal)
	if err != nil {
		t.Fatal(err)
	}
	series, err := replay.FromFrame(sym.Name, f, sym.TickSize)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := replay.New(eng, []replay.Series{series}, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Step(10); err != nil {
		t.Fatal(err)
	}
	return eng, feed
}
