package replay

import (
	"context"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/sdk"
)

var d = fixed.MustParse

func frame() *sdk.Frame {
	// Three 1m candles from 2024-01-01 00:00 UTC.
	t0 := int64(1704067200000)
	return &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m",
		Time:   []int64{t0, t0 + 60_000, t0 + 120_000},
		Open:   []float64{100, 101, 99},
		High:   []float64{102, 103, 100},
		Low:    []float64{99, 98.5, 97},
		Close:  []float64{101, 99, 98},
		Volume: []float64{10, 20, 30},
	}
}

func setup(t *testing.T) (*sim.Engine, *Feed, int64) {
	t.Helper()
	f := frame()
	sym, err := DefaultSymbol("BTC/USDT", f)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromFrame("BTCUSDT", f, sym.TickSize)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := New(eng, []Series{s}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng, feed, f.Time[0]
}

func TestDefaultSymbol(t *testing.T) {
	sym, err := DefaultSymbol("btc/usdt", frame())
	if err != nil {
		t.Fatal(err)
	}
	if sym.Name != "BTCUSDT" || sym.Base != "BTC" || sym.Quote != "USDT" || sym.TickSize != d("0.1") ||
		sym.StepSize != d("0.001") || sym.MinNotional != d("5") {
		t.Fatalf("symbol = %+v", sym)
	}
	// Real data: ETH/BTC in January 2018 (its prices carry 8 decimals).
	st, err := market.Open("../../../examples/data", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.Load(context.Background(), market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "5m"}, market.Range{})
	if err != nil {
		t.Fatal(err)
	}
	sym, err = DefaultSymbol("ETH/BTC", f)
	if err != nil {
		t.Fatal(err)
	}
	if sym.TickSize != d("0.00000001") || sym.StepSize != d("0.00001") || sym.MinNotional != d("0.0001") {
		t.Fatalf("ETHBTC = %+v", sym.Filters)
	}
}

func TestStepReplaysCandlesThroughTheEngine(t *testing.T) {
	eng, feed, t0 := setup(t)
	if _, ok := eng.Price("BTCUSDT"); ok {
		t.Fatal("a price before the first step")
	}
	eng.CreateAccount("a")
	eng.Fund(0, "a", "USDT", d("1000"))
	if err := feed.Step(1); err != nil {
		t.Fatal(err)
	}
	if p, _ := eng.Price("BTCUSDT"); p != d("101") || feed.Now() != t0+59_999 {
		t.Fatalf("after one candle: price %v, now %d", p, feed.Now()-t0)
	}
	o, _, err := eng.Place(feed.Now(), sim.OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("1"), Price: d("98.6")})
	if err != nil {
		t.Fatal(err)
	}
	// Halfway through the second candle the low (98.5) has been played.
	if err := feed.AdvanceTo(t0 + 60_000 + 30_000); err != nil {
		t.Fatal(err)
	}
	got, _ := eng.Order("a", "BTCUSDT", o.ID, "")
	if got.Status != sim.StatusFilled || got.UpdateTime != t0+60_000+20_000 {
		t.Fatalf("order = %+v", got)
	}
	ks, err := feed.Klines("BTCUSDT", "1m", 0, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	// The second candle is forming: open, low played, high not yet.
	if len(ks) != 2 || ks[1].Open != d("101") || ks[1].Low != d("98.5") || ks[1].High != d("101") || ks[1].Close != d("98.5") || ks[1].Volume != d("10.00033333") {
		t.Fatalf("klines = %+v", ks)
	}
	if err := feed.Step(5); err != nil {
		t.Fatal(err)
	}
	if !feed.Ended() {
		t.Fatal("not ended after the last candle")
	}
	ks, _ = feed.Klines("BTCUSDT", "3m", 0, 0, 10)
	if len(ks) != 1 || ks[0].Open != d("100") || ks[0].High != d("103") || ks[0].Low != d("97") || ks[0].Close != d("98") || ks[0].Volume != d("60") {
		t.Fatalf("3m klines = %+v", ks)
	}
	if _, err := feed.Klines("BTCUSDT", "1s", 0, 0, 10); err == nil {
		t.Fatal("an interval shorter than the data")
	}
	st, ok := feed.Ticker("BTCUSDT")
	if !ok || st.Open != d("100") || st.Last != d("98") || st.High != d("103") || st.Volume != d("60") {
		t.Fatalf("ticker = %+v", st)
	}
}

func TestRunFollowsTheClock(t *testing.T) {
	_, feed, _ := setup(t)
	sim0 := feed.Now()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- feed.Run(ctx, clk, 60, time.Second) }()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// One wall second at ×60 is one simulated minute: the next candle's
	// points are played.
	changed := feed.Changed()
	clk.Advance(time.Second)
	<-changed
	if got := feed.Now(); got != sim0+60_000 {
		t.Fatalf("simulation time %d after one tick, want %d", got, sim0+60_000)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
