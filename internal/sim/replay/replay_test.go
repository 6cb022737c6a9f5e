package replay

import (
	"context"
	"errors"
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
	return setupWith(t, Options{})
}

func setupWith(t *testing.T, opt Options) (*sim.Engine, *Feed, int64) {
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
	feed, err := New(eng, []Series{s}, opt)
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

func TestStartMakesTheFirstOpenThePrice(t *testing.T) {
	// A simulator started at --speed 0 had no price until its first step.
	eng, feed, t0 := setup(t)
	if p, ok := eng.Price("BTCUSDT"); !ok || p != d("100") || feed.Now() != t0 {
		t.Fatalf("at start: price %v (%v), now %d, want 100 at the first open", p, ok, feed.Now()-t0)
	}
	ks, err := feed.Klines("BTCUSDT", "1m", 0, 0, 10)
	if err != nil || len(ks) != 1 || ks[0].Close != d("100") || ks[0].Closed {
		t.Fatalf("klines at start = %+v, %v", ks, err)
	}
}

// TestResumeInsideACandle is a restart in the middle of the second candle
// (101 → 98.5 → 103 → 99), after its high was played: a new engine and
// feed at the saved time continue with the move to the close; they do not
// replay the candle from its open.
func TestResumeInsideACandle(t *testing.T) {
	_, before, t0 := setup(t)
	saved := t0 + 60_000 + 45_000
	if err := before.AdvanceTo(saved); err != nil {
		t.Fatal(err)
	}
	eng, feed, _ := setupWith(t, Options{Now: saved})
	if p, _ := eng.Price("BTCUSDT"); p != d("103") || feed.Now() != saved {
		t.Fatalf("resumed at price %v, time %d; want the high 103 at the saved time", p, feed.Now()-t0)
	}
	eng.CreateAccount("a")
	eng.Fund(saved, "a", "USDT", d("1000"))
	eng.Fund(saved, "a", "BTC", d("1"))
	// A limit below every price played after it was placed, and a stop
	// that the move to the close crosses.
	limit, _, err := eng.Place(saved, sim.OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("1"), Price: d("98.9")})
	if err != nil {
		t.Fatal(err)
	}
	stop, _, err := eng.Place(saved, sim.OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: sim.Sell, Type: sim.StopLoss, Quantity: d("1"), StopPrice: d("101.5")})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.AdvanceTo(t0 + 119_999); err != nil {
		t.Fatal(err)
	}
	if o, _ := eng.Order("a", "BTCUSDT", limit.ID, ""); o.Status != sim.StatusNew {
		t.Fatalf("the limit at 98.9 is %v: filled by the low played before it existed", o.Status)
	}
	o, _ := eng.Order("a", "BTCUSDT", stop.ID, "")
	if o.Status != sim.StatusFilled || o.CumQuote != d("101.5") {
		t.Fatalf("stop = %v for %v, want filled at its stop price 101.5 (not at the replayed open 101)", o.Status, o.CumQuote)
	}
}

func TestRunFollowsTheClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	_, feed, _ := setupWith(t, Options{Clock: clk, Speed: 60})
	sim0 := feed.Now()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- feed.Run(ctx, time.Second) }()
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
	// Paused, the wall time passing does not count.
	if err := feed.SetRate(60, true); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	if err := feed.SetRate(120, false); err != nil {
		t.Fatal(err)
	}
	if got := feed.Now(); got != sim0+60_000 {
		t.Fatalf("simulation time %d after a pause, want %d", got, sim0+60_000)
	}
	if sp, p := feed.Rate(); sp != 120 || p {
		t.Fatalf("rate = %v, paused %v", sp, p)
	}
	// ×120 from the resume on.
	changed = feed.Changed()
	clk.Advance(time.Second)
	<-changed
	if got := feed.Now(); got != sim0+180_000 {
		t.Fatalf("simulation time %d a second after resuming at ×120, want %d", got, sim0+180_000)
	}
	if err := feed.SetRate(0, false); err == nil {
		t.Fatal("speed 0 accepted: pausing is its own setting")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShift(t *testing.T) {
	s, err := FromFrame("BTCUSDT", frame(), d("0.1"))
	if err != nil {
		t.Fatal(err)
	}
	sh := s.Shift(3 * 60_000)
	if sh.Candles[0].Time != s.Candles[0].Time+180_000 || s.Candles[0].Time != frame().Time[0] || sh.Candles[2].Close != s.Candles[2].Close {
		t.Fatalf("shifted %+v from %+v", sh.Candles[0], s.Candles[0])
	}
}

// TestLiveAppendPlaysArrivingCandlesNow: a live feed plays a candle when
// it arrives, stamped with the wall time, and shows the forming candle flat
// at the last close.
func TestLiveAppendPlaysArrivingCandlesNow(t *testing.T) {
	f := frame()
	t0 := f.Time[0]
	clk := clock.NewFake(time.UnixMilli(t0 + 60_000 + 2_000)) // the first candle closed 2 s ago
	sym, _ := DefaultSymbol("BTC/USDT", f)
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := FromFrame("BTCUSDT", f, sym.TickSize)
	warm := Series{Symbol: all.Symbol, Timeframe: all.Timeframe, Candles: all.Candles[:1]}
	feed, err := New(eng, []Series{warm}, Options{Live: true, Clock: clk, Now: clk.Now().UnixMilli(), Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := eng.Price("BTCUSDT"); p != d("101") {
		t.Fatalf("live price at start %v, want the last close 101", p)
	}
	ks, _ := feed.Klines("BTCUSDT", "1m", 0, 0, 10)
	if len(ks) != 2 || !ks[0].Closed || ks[1].Closed || ks[1].Time != t0+60_000 || ks[1].Open != d("101") || ks[1].High != d("101") {
		t.Fatalf("live klines = %+v", ks)
	}
	if err := feed.SetRate(2, false); !errors.Is(err, ErrLiveClock) {
		t.Fatalf("speed change of a live clock: %v", err)
	}
	if err := feed.Step(1); !errors.Is(err, ErrLiveClock) {
		t.Fatalf("a live clock stepped: %v", err)
	}
	if err := feed.AdvanceTo(clk.Now().UnixMilli() + 1); !errors.Is(err, ErrLiveClock) {
		t.Fatalf("a live clock advanced past the wall clock: %v", err)
	}
	eng.CreateAccount("a")
	eng.Fund(0, "a", "USDT", d("1000"))
	placed := clk.Now().UnixMilli()
	o, _, err := eng.Place(placed, sim.OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: sim.Buy, Type: sim.Limit, TimeInForce: sim.GTC, Quantity: d("1"), Price: d("99")})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // the second candle (low 98.5) closes and arrives
	if n, err := feed.Append("BTCUSDT", all.Candles[:2]); err != nil || n != 1 {
		t.Fatalf("append = %d, %v", n, err)
	}
	got, _ := eng.Order("a", "BTCUSDT", o.ID, "")
	if got.Status != sim.StatusFilled || got.UpdateTime != clk.Now().UnixMilli() {
		t.Fatalf("order %+v: want filled when the candle arrived, at %d", got, clk.Now().UnixMilli())
	}
	if p, _ := eng.Price("BTCUSDT"); p != d("99") || feed.Ended() {
		t.Fatalf("price %v after the candle, ended %v", p, feed.Ended())
	}
	if _, err := feed.Append("BTCUSDT", []sim.Candle{{Time: t0 + 150_000, Open: 1, High: 1, Low: 1, Close: 1}}); err == nil {
		t.Fatal("a candle off the grid appended")
	}
}
