package backtest

import (
	"context"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

const m5 = 5 * 60_000

// frame builds a 5m frame of flat candles at the given closes, open =
// previous close, high/low 0.5% around the open/close range.
func frame(pair string, closes ...float64) *sdk.Frame {
	f := &sdk.Frame{Pair: pair, Timeframe: "5m"}
	prev := closes[0]
	for i, c := range closes {
		f.Time = append(f.Time, int64(i)*m5)
		f.Open = append(f.Open, prev)
		f.High = append(f.High, math.Max(prev, c)*1.001)
		f.Low = append(f.Low, math.Min(prev, c)*0.999)
		f.Close = append(f.Close, c)
		f.Volume = append(f.Volume, 1)
		prev = c
	}
	f.EnsureSignals()
	return f
}

func settings() Settings {
	return Settings{
		Rules: trade.Rules{
			Risk:          sdk.Risk{Stoploss: -0.5},
			UseExitSignal: true, Leverage: 1, TimeframeMinutes: 5,
		},
		StartingBalance: 1000, TradableBalanceRatio: 1, MaxOpenTrades: 3,
	}
}

func run(t *testing.T, s Settings, frames ...*sdk.Frame) *result.Result {
	t.Helper()
	var series []Series
	for _, f := range frames {
		series = append(series, Series{Frame: f, From: 0, To: f.Len()})
	}
	res, err := Simulate(context.Background(), s, series)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEntryAtNextOpenExitAtNextOpen(t *testing.T) {
	t.Parallel()
	f := frame("A/B", 10, 10, 11, 12, 13, 12, 12)
	f.EnterLong[1] = true // acts at candle 2's open (10)
	f.ExitLong[3] = true  // acts at candle 4's open (12)
	res := run(t, settings(), f)
	if len(res.Trades) != 1 {
		t.Fatalf("%d trades", len(res.Trades))
	}
	tr := res.Trades[0]
	if tr.OpenTime != 2*m5 || tr.OpenRate != 10 || tr.CloseTime != 4*m5 || tr.CloseRate != 12 || tr.ExitReason != trade.ExitSignal {
		t.Fatalf("trade %+v", tr)
	}
	// unlimited stake over 3 slots of a 1000 wallet
	if math.Abs(tr.Stake-1000.0/3) > 1e-9 || math.Abs(tr.ProfitAbs-tr.Stake*0.2) > 1e-9 {
		t.Fatalf("stake %v profit %v", tr.Stake, tr.ProfitAbs)
	}
	if math.Abs(res.FinalBalance-(1000+tr.ProfitAbs)) > 1e-9 {
		t.Fatalf("final balance %v", res.FinalBalance)
	}
}

func TestFirstCandleOfRangeOnlyGivesSignals(t *testing.T) {
	t.Parallel()
	f := frame("A/B", 10, 10, 11, 12, 13)
	f.EnterLong[0] = true
	f.ExitLong[1] = true
	res := run(t, settings(), f)
	if len(res.Trades) != 1 || res.Trades[0].OpenTime != m5 || res.Trades[0].CloseTime != 2*m5 {
		t.Fatalf("trades %+v", res.Trades)
	}
}

func TestNoEntryOnLastCandleAndForceExit(t *testing.T) {
	t.Parallel()
	f := frame("A/B", 10, 10, 11, 12, 13)
	f.EnterLong[1] = true
	f.EnterLong[3] = true // would act on the last candle: ignored
	res := run(t, settings(), f)
	if len(res.Trades) != 1 {
		t.Fatalf("%d trades", len(res.Trades))
	}
	tr := res.Trades[0]
	if tr.ExitReason != trade.ExitForce || tr.CloseRate != 13 || tr.CloseTime != 4*m5 {
		t.Fatalf("trade %+v", tr)
	}
}

func TestEnterAndExitSignalTogetherMeansNoEntry(t *testing.T) {
	t.Parallel()
	f := frame("A/B", 10, 10, 11, 12, 13)
	f.EnterLong[1], f.ExitLong[1] = true, true
	if res := run(t, settings(), f); len(res.Trades) != 0 {
		t.Fatalf("trades %+v", res.Trades)
	}
}

func TestShortsOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	mk := func() *sdk.Frame {
		f := frame("A/B", 10, 10, 9, 8, 8, 8)
		f.EnterShort[1] = true
		f.ExitShort[3] = true
		return f
	}
	if res := run(t, settings(), mk()); len(res.Trades) != 0 {
		t.Fatalf("spot traded a short: %+v", res.Trades)
	}
	s := settings()
	s.AllowShort, s.Rules.Futures = true, true
	res := run(t, s, mk())
	if len(res.Trades) != 1 || !res.Trades[0].IsShort || res.Trades[0].ProfitAbs <= 0 {
		t.Fatalf("trades %+v", res.Trades)
	}
}

func TestMaxOpenTradesAcrossPairs(t *testing.T) {
	t.Parallel()
	var frames []*sdk.Frame
	for _, p := range []string{"A/X", "B/X", "C/X"} {
		f := frame(p, 10, 10, 10, 10, 10, 10, 10)
		f.EnterLong[1] = true
		f.ExitLong[3] = true
		f.EnterLong[4] = true
		frames = append(frames, f)
	}
	frames[2].EnterLong[3], frames[2].ExitLong[3] = true, false
	s := settings()
	s.MaxOpenTrades = 2
	res := run(t, s, frames...)
	// Candle 2: A and B enter, C has no slot. Candle 4: A and B exit at the
	// open and C takes a freed slot at once. Candle 5: A takes the last
	// slot, B has none. A and C close at the end.
	var pairs []string
	for _, tr := range res.Trades {
		pairs = append(pairs, tr.Pair+"@"+strconv.FormatInt(tr.OpenTime/m5, 10))
	}
	want := []string{"A/X@2", "B/X@2", "A/X@5", "C/X@4"}
	if !reflect.DeepEqual(pairs, want) {
		t.Fatalf("trades on %v, want %v", pairs, want)
	}
}

// TestExitsBeforeEntries: within one candle time the pairs holding a trade
// are checked first, so a pair earlier in the whitelist can enter into the
// slot that a later pair's exit frees, with the money the exit returned.
func TestExitsBeforeEntries(t *testing.T) {
	t.Parallel()
	a := frame("A/X", 10, 10, 10, 10, 10, 10)
	a.EnterLong[2] = true // acts at candle 3
	b := frame("B/X", 10, 10, 20, 20, 20, 20)
	b.EnterLong[0] = true // acts at candle 1
	b.ExitLong[2] = true  // acts at candle 3, at the open 20
	s := settings()
	s.MaxOpenTrades = 1
	res := run(t, s, a, b)
	if len(res.Trades) != 2 {
		t.Fatalf("trades %+v", res.Trades)
	}
	bt, at := res.Trades[0], res.Trades[1]
	if bt.Pair != "B/X" || bt.CloseTime != 3*m5 || at.Pair != "A/X" || at.OpenTime != 3*m5 {
		t.Fatalf("trades %+v", res.Trades)
	}
	// B doubled its stake (the whole wallet, one slot): A stakes the wallet
	// that B's exit returned.
	if math.Abs(at.Stake-(1000+bt.ProfitAbs)) > 1e-9 || math.Abs(bt.ProfitAbs-1000) > 1e-9 {
		t.Fatalf("A staked %v after B's profit %v", at.Stake, bt.ProfitAbs)
	}
}

func TestFixedStakeNeedsFunds(t *testing.T) {
	t.Parallel()
	var frames []*sdk.Frame
	for _, p := range []string{"A/X", "B/X"} {
		f := frame(p, 10, 10, 10, 10, 10)
		f.EnterLong[1] = true
		frames = append(frames, f)
	}
	s := settings()
	s.StakeAmount = 600
	res := run(t, s, frames...)
	if len(res.Trades) != 1 || res.Trades[0].Pair != "A/X" || res.Trades[0].Stake != 600 {
		t.Fatalf("trades %+v", res.Trades)
	}
}

func TestEquityMarkToMarketSeesOpenDrawdown(t *testing.T) {
	t.Parallel()
	// Price halves while the trade is open, then recovers fully before the
	// exit: closed-trade drawdown is zero, equity drawdown is not.
	f := frame("A/B", 10, 10, 8, 6, 5, 7, 10, 10, 10)
	f.EnterLong[1] = true
	f.ExitLong[6] = true
	s := settings()
	s.Rules.Risk.Stoploss = -0.9
	s.MaxOpenTrades = 1
	res := run(t, s, f)
	if len(res.Trades) != 1 || res.Trades[0].ProfitAbs != 0 {
		t.Fatalf("trades %+v", res.Trades)
	}
	// All-in at 10 (tradable ratio 1), marked at a close of 5: equity 500.
	if math.Abs(res.MaxDrawdownEquity-0.5) > 1e-9 {
		t.Fatalf("max drawdown %v, want 0.5", res.MaxDrawdownEquity)
	}
	if res.MaxDrawdownEquityTrough != 5*m5 {
		t.Fatalf("trough at %d", res.MaxDrawdownEquityTrough)
	}
}

func TestDailyEquityPoints(t *testing.T) {
	t.Parallel()
	n := 288 * 3 // three days of 5m candles
	closes := make([]float64, n)
	for i := range closes {
		closes[i] = 100 + float64(i%7)
	}
	res := run(t, settings(), frame("A/B", closes...))
	if len(res.Equity) != 3 {
		t.Fatalf("%d equity points, want 3", len(res.Equity))
	}
	for d, p := range res.Equity {
		if p.Time != int64(d+1)*86_400_000 {
			t.Fatalf("point %d at %d", d, p.Time)
		}
	}
}

// The benchmark is buy and hold of the pairs, equal weight, at the equity
// curve's times: its last point is the starting balance grown by the
// market change, and a pair that has not started yet counts at its price.
func TestBenchmarkIsEqualWeightBuyAndHold(t *testing.T) {
	t.Parallel()
	n := 288 * 2 // two days of 5m candles
	a, b := make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = 100 + float64(i)/float64(n-1)*100 // 100 → 200
		b[i] = 50 - float64(i)/float64(n-1)*25   // 50 → 25
	}
	res := run(t, settings(), frame("A/B", a...), frame("C/B", b...))
	if len(res.Benchmark) != len(res.Equity) {
		t.Fatalf("%d benchmark points for %d equity points", len(res.Benchmark), len(res.Equity))
	}
	for i := range res.Benchmark {
		if res.Benchmark[i].Time != res.Equity[i].Time {
			t.Fatalf("benchmark point %d at %d, equity at %d", i, res.Benchmark[i].Time, res.Equity[i].Time)
		}
	}
	last := res.Benchmark[len(res.Benchmark)-1].Equity
	want := 1000 * (1 + res.MarketChange) // (2 + 0.5) / 2 = 1.25
	if math.Abs(last-want) > 1e-9 || math.Abs(want-1250) > 1e-9 {
		t.Errorf("last benchmark point %v, want %v (1250)", last, want)
	}
	// After the first day: A at the close of candle 287, C likewise.
	day1 := 1000 * (a[287]/a[0] + b[287]/b[0]) / 2
	if got := res.Benchmark[0].Equity; math.Abs(got-day1) > 1e-9 {
		t.Errorf("first benchmark point %v, want %v", got, day1)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	mk := func() []*sdk.Frame {
		var out []*sdk.Frame
		for k, p := range []string{"A/X", "B/X", "C/X", "D/X"} {
			closes := make([]float64, 3000)
			x := 100.0
			for i := range closes {
				x *= 1 + 0.01*math.Sin(float64(i*(k+3))*0.37)
				closes[i] = x
			}
			f := frame(p, closes...)
			for i := range closes {
				f.EnterLong[i] = i%(11+k) == 0
				f.ExitLong[i] = i%(17+k) == 0
			}
			out = append(out, f)
		}
		return out
	}
	s := settings()
	s.Rules.Risk = sdk.Risk{Stoploss: -0.02, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.03}}, TrailingStop: true}
	s.Rules.Fee = 0.001
	a, b := run(t, s, mk()...), run(t, s, mk()...)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs on the same input differ")
	}
	if len(a.Trades) < 100 {
		t.Fatalf("only %d trades; the test needs a busy run", len(a.Trades))
	}
	var sum float64
	for _, tr := range a.Trades {
		sum += tr.ProfitAbs
	}
	if math.Abs(a.FinalBalance-(1000+sum)) > 1e-6 {
		t.Fatalf("final balance %v != start + profits %v", a.FinalBalance, 1000+sum)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	closes := make([]float64, 200_000)
	for i := range closes {
		closes[i] = 100
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Simulate(ctx, settings(), []Series{{Frame: frame("A/B", closes...), To: len(closes)}})
	if err == nil {
		t.Fatal("cancelled backtest returned no error")
	}
}

// The trade list is allocated for the trades the entry signals allow, up
// to one trade for every 64 candles of a long run.
func TestTradesBound(t *testing.T) {
	t.Parallel()
	const n = 20_000_000
	all := make([]bool, n)
	for i := range all {
		all[i] = true
	}
	some := make([]bool, n)
	for i := 0; i < n; i += 1000 {
		some[i] = true
	}
	for _, tc := range []struct {
		name  string
		enter []bool
		want  int
	}{
		{"every candle an entry", all, n / 64},
		{"one in 1000", some, n / 1000},
	} {
		f := &sdk.Frame{EnterLong: tc.enter, EnterShort: all}
		if got := tradesBound(settings(), []Series{{Frame: f, From: 0, To: n}}); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
