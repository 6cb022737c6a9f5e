package metrics

import (
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

const (
	t0   int64 = 1704067200000 // 2024-01-01 00:00 UTC
	hour int64 = 3_600_000
)

func mk(pair string, open, close int64, ratio, abs float64, reason trade.ExitReason, tag string) trade.Trade {
	return trade.Trade{Pair: pair, OpenTime: open, CloseTime: close, ProfitRatio: ratio,
		ProfitAbs: abs, ExitReason: reason, EnterTag: tag}
}

func approx(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

func eqInt[T comparable](t *testing.T, name string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

// baseResult: starting balance 1000, 10 days, four trades in close order:
//
//	#  pair ratio  abs   dur  reason       tag  closes
//	1  A    0.10  +100   60   roi          x    01-01 01:00
//	2  B   -0.05   -50  120   stop_loss         01-02 02:00
//	3  A    0.20  +200  180   roi               01-03 03:00
//	4  B   -0.10  -100  240   exit_signal  y    01-03 08:00
func baseResult() *result.Result {
	return &result.Result{
		Pairs:           []string{"A", "B", "C"},
		StartingBalance: 1000,
		Start:           t0,
		End:             t0 + 10*clock.DayMs,
		FinalBalance:    1150,
		MarketChange:    -0.25,
		Trades: []trade.Trade{
			mk("A", t0, t0+hour, 0.10, 100, trade.ExitROI, "x"),
			mk("B", t0+clock.DayMs, t0+clock.DayMs+2*hour, -0.05, -50, trade.ExitStopLoss, ""),
			mk("A", t0+2*clock.DayMs, t0+2*clock.DayMs+3*hour, 0.20, 200, trade.ExitROI, ""),
			mk("B", t0+2*clock.DayMs+4*hour, t0+2*clock.DayMs+8*hour, -0.10, -100, trade.ExitSignal, "y"),
		},
		// Closes of 01-01 (midnight convention), 01-02 (23:59:59.999
		// convention) and 01-03: returns +10%, -10%, +10%.
		Equity: []result.EquityPoint{
			{Time: t0 + clock.DayMs, Equity: 1100},
			{Time: t0 + 2*clock.DayMs - 1, Equity: 990},
			{Time: t0 + 3*clock.DayMs, Equity: 1089},
		},
		MaxDrawdownEquity:       0.1,
		MaxDrawdownEquityAbs:    110,
		MaxDrawdownEquityPeak:   t0 + clock.DayMs,
		MaxDrawdownEquityTrough: t0 + 2*clock.DayMs - 1,
	}
}

func TestSummaryBasics(t *testing.T) {
	s := Compute(baseResult()).Summary
	eqInt(t, "BacktestDays", s.BacktestDays, 10)
	eqInt(t, "TotalTrades", s.TotalTrades, 4)
	approx(t, "TradesPerDay", s.TradesPerDay, 0.4) // 4 / 10
	eqInt(t, "Wins", s.Wins, 2)
	eqInt(t, "Losses", s.Losses, 2)
	eqInt(t, "Draws", s.Draws, 0)
	approx(t, "Winrate", s.Winrate, 0.5)
	approx(t, "ProfitMean", s.ProfitMean, 0.0375)    // (0.1-0.05+0.2-0.1)/4
	approx(t, "ProfitMedian", s.ProfitMedian, 0.025) // (-0.05+0.1)/2
	approx(t, "ProfitTotalAbs", s.ProfitTotalAbs, 150)
	approx(t, "ProfitTotal", s.ProfitTotal, 0.15) // 150/1000
	approx(t, "FinalBalance", s.FinalBalance, 1150)
	approx(t, "MarketChange", s.MarketChange, -0.25) // copied
	// (1150/1000)^(1/(10/365)) - 1 = 1.15^36.5 - 1
	approx(t, "CAGR", s.CAGR, math.Pow(1.15, 36.5)-1)
	approx(t, "HoldingAvg", s.HoldingAvg, 150)             // (60+120+180+240)/4
	approx(t, "WinnerHoldingAvg", s.WinnerHoldingAvg, 120) // (60+180)/2
	approx(t, "LoserHoldingAvg", s.LoserHoldingAvg, 180)   // (120+240)/2
	approx(t, "BestTrade", s.BestTrade, 0.2)
	approx(t, "WorstTrade", s.WorstTrade, -0.1)
	eqInt(t, "BestPair", s.BestPair, "A")
	eqInt(t, "WorstPair", s.WorstPair, "B")
	eqInt(t, "MaxConsecutiveWins", s.MaxConsecutiveWins, 1) // W L W L
	eqInt(t, "MaxConsecutiveLosses", s.MaxConsecutiveLosses, 1)
}

func TestFreqtradeRatios(t *testing.T) {
	s := Compute(baseResult()).Summary
	// r = 0.1, -0.05, 0.2, -0.1; expected = sum(r)/days = 0.15/10 = 0.015.
	// mean(r) = 0.0375; deviations 0.0625, -0.0875, 0.1625, -0.1375;
	// squares sum to 0.056875; population variance 0.01421875.
	approx(t, "Sharpe", s.Sharpe, 0.015/math.Sqrt(0.01421875)*math.Sqrt(365))
	// Losers' r = -0.05, -0.1: mean -0.075, population std 0.025.
	// 0.015 / 0.025 * sqrt(365) = 0.6 * sqrt(365).
	approx(t, "Sortino", s.Sortino, 0.6*math.Sqrt(365))
	// cumulative 100, 50, 250, 150; high 100, 100, 250, 250; drawdown
	// 0, -50, 0, -100: low = trade 4, high first reached at trade 3.
	approx(t, "MaxDrawdownAbs", s.MaxDrawdownAbs, 100)
	approx(t, "MaxDrawdownAccount", s.MaxDrawdownAccount, 0.08) // (1250-1150)/1250
	eqInt(t, "DrawdownStart", s.DrawdownStart, t0+2*clock.DayMs+3*hour)
	eqInt(t, "DrawdownEnd", s.DrawdownEnd, t0+2*clock.DayMs+8*hour)
	// Calmar: 0.15/10*100 = 1.5; 1.5/0.08 = 18.75.
	approx(t, "Calmar", s.Calmar, 18.75*math.Sqrt(365))
	approx(t, "ProfitFactor", s.ProfitFactor, 2) // 300/150
	// avg win 150, avg loss 75: 0.5*150 - 0.5*75 = 37.5; (1+2)*0.5-1 = 0.5.
	approx(t, "Expectancy", s.Expectancy, 37.5)
	approx(t, "ExpectancyRatio", s.ExpectancyRatio, 0.5)
}

func TestSoundMetrics(t *testing.T) {
	rep := Compute(baseResult())
	s := rep.Summary
	// Daily returns 0.1, -0.1, 0.1 (1100/1000, 990/1100, 1089/990).
	// mean = 1/30; sample variance = (2*(1/15)^2 + (2/15)^2)/2 = 1/75.
	m, sd := 1.0/30, math.Sqrt(1.0/75)
	approx(t, "SharpeDaily", s.SharpeDaily, m/sd*math.Sqrt(365))
	approx(t, "VolatilityAnnual", s.VolatilityAnnual, sd*math.Sqrt(365))
	// Downside deviation sqrt((0 + 0.01 + 0)/3).
	approx(t, "SortinoDaily", s.SortinoDaily, m/math.Sqrt(0.01/3)*math.Sqrt(365))
	approx(t, "MaxDrawdownEquity", s.MaxDrawdownEquity, 0.1)
	approx(t, "MaxDrawdownEquityAbs", s.MaxDrawdownEquityAbs, 110)
	eqInt(t, "DrawdownEquityStart", s.DrawdownEquityStart, t0+clock.DayMs)
	eqInt(t, "DrawdownEquityEnd", s.DrawdownEquityEnd, t0+2*clock.DayMs-1)
	approx(t, "CalmarEquity", s.CalmarEquity, (math.Pow(1.15, 36.5)-1)/0.1)

	want := []Day{
		{Date: "2024-01-01", Equity: 1100, Return: 0.1, ProfitAbs: 100, Trades: 1},
		{Date: "2024-01-02", Equity: 990, Return: -0.1, ProfitAbs: -50, Trades: 1},
		{Date: "2024-01-03", Equity: 1089, Return: 0.1, ProfitAbs: 100, Trades: 2},
	}
	if len(rep.Daily) != len(want) {
		t.Fatalf("Daily = %+v", rep.Daily)
	}
	for i, w := range want {
		d := rep.Daily[i]
		eqInt(t, "Date", d.Date, w.Date)
		approx(t, w.Date+" Equity", d.Equity, w.Equity)
		approx(t, w.Date+" Return", d.Return, w.Return)
		approx(t, w.Date+" ProfitAbs", d.ProfitAbs, w.ProfitAbs)
		eqInt(t, w.Date+" Trades", d.Trades, w.Trades)
	}
}

func checkGroups(t *testing.T, name string, got, want []Group) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows %+v, want %d", name, len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		p := name + "[" + w.Key + "]."
		eqInt(t, p+"Key", g.Key, w.Key)
		eqInt(t, p+"Trades", g.Trades, w.Trades)
		eqInt(t, p+"Wins", g.Wins, w.Wins)
		eqInt(t, p+"Draws", g.Draws, w.Draws)
		eqInt(t, p+"Losses", g.Losses, w.Losses)
		approx(t, p+"ProfitMean", g.ProfitMean, w.ProfitMean)
		approx(t, p+"ProfitTotal", g.ProfitTotal, w.ProfitTotal)
		approx(t, p+"ProfitTotalAbs", g.ProfitTotalAbs, w.ProfitTotalAbs)
		approx(t, p+"Winrate", g.Winrate, w.Winrate)
		approx(t, p+"DurationAvg", g.DurationAvg, w.DurationAvg)
	}
}

func TestBreakdowns(t *testing.T) {
	rep := Compute(baseResult())
	total := Group{Key: "TOTAL", Trades: 4, Wins: 2, Losses: 2, ProfitMean: 0.0375,
		ProfitTotal: 0.15, ProfitTotalAbs: 150, Winrate: 0.5, DurationAvg: 150}
	checkGroups(t, "PerPair", rep.PerPair, []Group{
		// A: trades 1, 3: mean (0.1+0.2)/2, 300/1000, durations (60+180)/2.
		{Key: "A", Trades: 2, Wins: 2, ProfitMean: 0.15, ProfitTotal: 0.3, ProfitTotalAbs: 300, Winrate: 1, DurationAvg: 120},
		// B: trades 2, 4: mean (-0.05-0.1)/2, -150/1000, (120+240)/2.
		{Key: "B", Trades: 2, Losses: 2, ProfitMean: -0.075, ProfitTotal: -0.15, ProfitTotalAbs: -150, DurationAvg: 180},
		{Key: "C"}, // listed pair without trades
		total,
	})
	checkGroups(t, "PerExitReason", rep.PerExitReason, []Group{
		{Key: "roi", Trades: 2, Wins: 2, ProfitMean: 0.15, ProfitTotal: 0.3, ProfitTotalAbs: 300, Winrate: 1, DurationAvg: 120},
		// One trade each: ties sorted by name.
		{Key: "exit_signal", Trades: 1, Losses: 1, ProfitMean: -0.1, ProfitTotal: -0.1, ProfitTotalAbs: -100, DurationAvg: 240},
		{Key: "stop_loss", Trades: 1, Losses: 1, ProfitMean: -0.05, ProfitTotal: -0.05, ProfitTotalAbs: -50, DurationAvg: 120},
		total,
	})
	checkGroups(t, "PerEnterTag", rep.PerEnterTag, []Group{
		// Untagged trades 2, 3: -50+200 = 150, mean (−0.05+0.2)/2.
		{Key: "OTHER", Trades: 2, Wins: 1, Losses: 1, ProfitMean: 0.075, ProfitTotal: 0.15, ProfitTotalAbs: 150, Winrate: 0.5, DurationAvg: 150},
		{Key: "x", Trades: 1, Wins: 1, ProfitMean: 0.1, ProfitTotal: 0.1, ProfitTotalAbs: 100, Winrate: 1, DurationAvg: 60},
		{Key: "y", Trades: 1, Losses: 1, ProfitMean: -0.1, ProfitTotal: -0.1, ProfitTotalAbs: -100, DurationAvg: 240},
		total,
	})
}

// TestPairsNotListed: a traded pair missing from Pairs gets a row after the
// listed ones (sorted by name), duplicates in Pairs are dropped, and ties
// for best/worst pair go to the earlier row.
func TestPairsNotListed(t *testing.T) {
	res := &result.Result{
		Pairs: []string{"B", "A", "B"}, StartingBalance: 100, Start: t0, End: t0 + clock.DayMs,
		Trades: []trade.Trade{
			mk("Z", t0, t0+hour, 0.1, 10, trade.ExitROI, ""),
			mk("Y", t0, t0+hour, 0.1, 10, trade.ExitROI, ""),
		},
	}
	rep := Compute(res)
	var keys []string
	for _, g := range rep.PerPair {
		keys = append(keys, g.Key)
	}
	if !slices.Equal(keys, []string{"B", "A", "Y", "Z", "TOTAL"}) {
		t.Errorf("PerPair keys = %v", keys)
	}
	eqInt(t, "BestPair", rep.Summary.BestPair, "Y")   // Y and Z tie at 10
	eqInt(t, "WorstPair", rep.Summary.WorstPair, "B") // B and A tie at 0
}

// TestDrawdownQuirk: trades -100, -50, +20 on 1000, first trade a loss.
//
// Freqtrade <= 2025.3 (reproduced): cumulative -100, -150, -130; high =
// cummax starts at the first cumulative value: -100, -100, -100; drawdown
// 0, -50, -30. The low is trade 2, the high trade 1, abs 50, account
// (900-850)/900. The first 100 lost is not drawdown.
//
// Freqtrade >= 2025.4 (clamped): a zero row, high max(0, cummax) = 0;
// drawdown 0, -100, -150, -130: abs 150, account (1000-850)/1000 = 0.15,
// the high (the zero row) dated at trade 1's close.
func TestDrawdownQuirk(t *testing.T) {
	res := &result.Result{
		Pairs: []string{"A"}, StartingBalance: 1000, Start: t0, End: t0 + 10*clock.DayMs,
		Trades: []trade.Trade{
			mk("A", t0, t0+1*hour, -0.1, -100, trade.ExitStopLoss, ""),
			mk("A", t0+2*hour, t0+3*hour, -0.05, -50, trade.ExitStopLoss, ""),
			mk("A", t0+4*hour, t0+5*hour, 0.02, 20, trade.ExitROI, ""),
		},
	}
	s := Compute(res).Summary
	approx(t, "MaxDrawdownAbs", s.MaxDrawdownAbs, 50)
	approx(t, "MaxDrawdownAccount", s.MaxDrawdownAccount, 50.0/900)
	eqInt(t, "DrawdownStart", s.DrawdownStart, t0+1*hour)
	eqInt(t, "DrawdownEnd", s.DrawdownEnd, t0+3*hour)
	// Calmar: -130/1000/10*100 = -1.3 over 50/900.
	approx(t, "Calmar", s.Calmar, -1.3/(50.0/900)*math.Sqrt(365))

	ts := closedTrades(res.Trades)
	dd := freqtradeDrawdown(ts, 1000, true)
	approx(t, "clamped Abs", dd.Abs, 150)
	approx(t, "clamped Account", dd.Account, 0.15)
	eqInt(t, "clamped HighTime", dd.HighTime, t0+1*hour)
	eqInt(t, "clamped LowTime", dd.LowTime, t0+3*hour)
	approx(t, "clamped HighValue", dd.HighValue, 0)
	approx(t, "clamped LowValue", dd.LowValue, -150)

	// A single losing trade: no drawdown at all in the old variant (so
	// Calmar is the -100 sentinel); 100 / 1000 in the clamped one.
	one := ts[:1]
	if dd := freqtradeDrawdown(one, 1000, false); dd != (drawdown{}) {
		t.Errorf("legacy single loser drawdown = %+v, want zero", dd)
	}
	approx(t, "single loser Calmar", ftCalmar(one, t0, t0+10*clock.DayMs, 1000), -100)
	dd = freqtradeDrawdown(one, 1000, true)
	approx(t, "clamped single loser Account", dd.Account, 0.1)
	approx(t, "clamped single loser Abs", dd.Abs, 100)
}

// TestDrawdownNoStartingBalance: Freqtrade's fallback (high-cum)/high.
// Trades +100, -25: high 100, cumulative 75: 25/100.
func TestDrawdownNoStartingBalance(t *testing.T) {
	tr := []trade.Trade{
		mk("A", t0, t0+hour, 0.1, 100, trade.ExitROI, ""),
		mk("A", t0, t0+2*hour, -0.1, -25, trade.ExitROI, ""),
	}
	dd := freqtradeDrawdown(closedTrades(tr), 0, false)
	approx(t, "Abs", dd.Abs, 25)
	approx(t, "Account", dd.Account, 0.25)
}

// TestDrawdownSortsByCloseTime: trades given out of close order are sorted
// (stably) first. Closing order +100 (h1), -30 (h2), -40 (h3): cumulative
// 100, 70, 30; the low is h3 with abs 70 and account 70/1100.
func TestDrawdownSortsByCloseTime(t *testing.T) {
	tr := []trade.Trade{
		mk("A", t0, t0+3*hour, -0.04, -40, trade.ExitROI, ""),
		mk("A", t0, t0+1*hour, 0.1, 100, trade.ExitROI, ""),
		mk("A", t0, t0+2*hour, -0.03, -30, trade.ExitROI, ""),
	}
	dd := freqtradeDrawdown(closedTrades(tr), 1000, false)
	approx(t, "Abs", dd.Abs, 70)
	approx(t, "Account", dd.Account, 70.0/1100)
	eqInt(t, "HighTime", dd.HighTime, t0+1*hour)
	eqInt(t, "LowTime", dd.LowTime, t0+3*hour)
}

// TestAllWinners: +10 and +20 on 1000 over 10 days.
func TestAllWinners(t *testing.T) {
	res := &result.Result{
		Pairs: []string{"A"}, StartingBalance: 1000, Start: t0, End: t0 + 10*clock.DayMs,
		Trades: []trade.Trade{
			mk("A", t0, t0+hour, 0.01, 10, trade.ExitROI, ""),
			mk("A", t0, t0+2*hour, 0.02, 20, trade.ExitROI, ""),
		},
	}
	s := Compute(res).Summary
	approx(t, "ProfitFactor", s.ProfitFactor, 0) // no losses: Freqtrade's 0
	approx(t, "Sortino", s.Sortino, -100)        // no losing trades
	approx(t, "Calmar", s.Calmar, -100)          // no drawdown
	approx(t, "MaxDrawdownAccount", s.MaxDrawdownAccount, 0)
	eqInt(t, "DrawdownStart", s.DrawdownStart, 0)
	approx(t, "Expectancy", s.Expectancy, 15) // 1*15 - 0*0
	approx(t, "ExpectancyRatio", s.ExpectancyRatio, 100)
	// r = 0.01, 0.02: expected 0.03/10 = 0.003, population std 0.005.
	approx(t, "Sharpe", s.Sharpe, 0.6*math.Sqrt(365))
	eqInt(t, "MaxConsecutiveWins", s.MaxConsecutiveWins, 2)
	eqInt(t, "MaxConsecutiveLosses", s.MaxConsecutiveLosses, 0)
	approx(t, "LoserHoldingAvg", s.LoserHoldingAvg, 0)
	// FinalBalance unset by the engine: 1000 + 30.
	approx(t, "FinalBalance", s.FinalBalance, 1030)
}

// TestZeroStd: identical per-trade returns 0.25, 0.25 give population std
// 0, so Sharpe is Freqtrade's -100; a single loser gives a zero downside
// std, so Sortino is -100 too.
func TestZeroStd(t *testing.T) {
	tr := closedTrades([]trade.Trade{
		mk("A", t0, t0+hour, 0.25, 250, trade.ExitROI, ""),
		mk("A", t0, t0+hour, 0.25, 250, trade.ExitROI, ""),
		mk("A", t0, t0+hour, -0.1, -100, trade.ExitROI, ""),
	})
	approx(t, "Sharpe", ftSharpe(tr[:2], t0, t0+5*clock.DayMs, 1000), -100)
	approx(t, "Sortino", ftSortino(tr, t0, t0+5*clock.DayMs, 1000), -100)
}

// TestShortSeries: a backtest shorter than a day. Start == End makes
// Freqtrade's Sharpe, Sortino and Calmar 0; a 6-hour backtest counts as
// 1 day (days_period = max(1, 0)). One equity point gives no sample std.
func TestShortSeries(t *testing.T) {
	res := &result.Result{
		Pairs: []string{"A"}, StartingBalance: 1000, Start: t0, End: t0,
		Trades: []trade.Trade{
			mk("A", t0, t0+hour, 0.02, 20, trade.ExitROI, ""),
			mk("A", t0, t0+2*hour, -0.01, -10, trade.ExitROI, ""),
		},
		Equity:       []result.EquityPoint{{Time: t0 + 6*hour, Equity: 990}},
		FinalBalance: 1010,
	}
	s := Compute(res).Summary
	eqInt(t, "BacktestDays", s.BacktestDays, 1)
	approx(t, "TradesPerDay", s.TradesPerDay, 2)
	approx(t, "Sharpe", s.Sharpe, 0)
	approx(t, "Sortino", s.Sortino, 0)
	approx(t, "Calmar", s.Calmar, 0)
	approx(t, "CAGR", s.CAGR, math.Pow(1.01, 365)-1) // 1 day annualised
	approx(t, "SharpeDaily", s.SharpeDaily, 0)
	approx(t, "VolatilityAnnual", s.VolatilityAnnual, 0)
	// One return, -0.01: downside deviation 0.01, so -1 * sqrt(365).
	approx(t, "SortinoDaily", s.SortinoDaily, -math.Sqrt(365))

	res.End = t0 + 6*hour
	s = Compute(res).Summary
	// r = 0.02, -0.01: expected 0.01/1; mean 0.005, population std 0.015.
	approx(t, "Sharpe 6h", s.Sharpe, 0.01/0.015*math.Sqrt(365))
	// One loser: downside std 0.
	approx(t, "Sortino 6h", s.Sortino, -100)
	// cumulative 20, 10: drawdown 10 from 1020 -> 10/1020; 0.01*100 = 1.
	approx(t, "Calmar 6h", s.Calmar, 1/(10.0/1020)*math.Sqrt(365))
}

func TestBacktestDays(t *testing.T) {
	for _, c := range []struct {
		start, end int64
		want       int
	}{
		{t0, t0, 1},
		{t0, t0 + clock.DayMs/2, 1},
		{t0, t0 + clock.DayMs + clock.DayMs/2, 1},
		{t0, t0 + 2*clock.DayMs - 1, 1},
		{t0, t0 + 2*clock.DayMs, 2},
		{t0, t0 + 30*clock.DayMs + 23*hour, 30},
		{t0 + clock.DayMs, t0, 1},
	} {
		eqInt(t, "backtestDays", backtestDays(c.start, c.end), c.want)
	}
}

func TestCAGR(t *testing.T) {
	approx(t, "one year", cagr(365, 1000, 1100), 0.1)
	approx(t, "two years", cagr(730, 1000, 1210), 0.1)    // 1.21^(1/2) - 1
	approx(t, "total loss", cagr(365, 1000, 0), -1)       // 0^1 - 1
	approx(t, "negative final", cagr(365, 1000, -5), 0)   // Freqtrade: 0
	approx(t, "no start", cagr(365, 0, 100), 0)           // undefined
	approx(t, "half year", cagr(182, 1000, 1000), 0)      // no change
	approx(t, "doubling in 73d", cagr(73, 1, 2), 32-1)    // 2^(365/73) = 2^5
	approx(t, "zero days guard", cagr(0, 1000, 2000), 0)  // never reached
	approx(t, "loss halves", cagr(365, 1000, 500), -0.5)  // 0.5^1 - 1
	approx(t, "over 4 years", cagr(1460, 1, 16), 2-1)     // 16^(1/4) - 1
	approx(t, "tiny gain", cagr(365, 1000, 1000.5), 5e-4) // 1.0005 - 1
}

// TestStreaksAndMedian: ratios +, 0, -, +, +, 0 (closing order). Freqtrade
// counts a draw as a loss in streaks: W L L W W L -> wins 2, losses 2.
// Win/draw/loss counts use profit_abs: 3 wins, 2 draws, 1 loss. Median of
// the sorted ratios -0.1, 0, 0, 0.1, 0.2, 0.3 is (0 + 0.1)/2.
func TestStreaksAndMedian(t *testing.T) {
	ratios := []float64{0.1, 0, -0.1, 0.2, 0.3, 0}
	res := &result.Result{Pairs: []string{"A"}, StartingBalance: 100, Start: t0, End: t0 + 3*clock.DayMs}
	for i, r := range ratios {
		res.Trades = append(res.Trades, mk("A", t0, t0+int64(i+1)*hour, r, r*100, trade.ExitROI, ""))
	}
	s := Compute(res).Summary
	eqInt(t, "MaxConsecutiveWins", s.MaxConsecutiveWins, 2)
	eqInt(t, "MaxConsecutiveLosses", s.MaxConsecutiveLosses, 2)
	eqInt(t, "Wins", s.Wins, 3)
	eqInt(t, "Draws", s.Draws, 2)
	eqInt(t, "Losses", s.Losses, 1)
	approx(t, "Winrate", s.Winrate, 0.5)
	approx(t, "ProfitMedian", s.ProfitMedian, 0.05)
	// Odd count: drop the last trade; sorted -0.1, 0, 0.1, 0.2, 0.3 -> 0.1.
	res.Trades = res.Trades[:5]
	approx(t, "odd ProfitMedian", Compute(res).Summary.ProfitMedian, 0.1)
}

// TestExpectancy: wins 30, 10; losses -20; one draw. avg win 20, avg loss
// 20, winrate 2/4, loserate 1/4: 0.5*20 - 0.25*20 = 5; ratio (1+1)*0.5-1 = 0.
// Profit factor 40/20 = 2.
func TestExpectancy(t *testing.T) {
	tr := closedTrades([]trade.Trade{
		mk("A", t0, t0+hour, 0.3, 30, trade.ExitROI, ""),
		mk("A", t0, t0+hour, 0.1, 10, trade.ExitROI, ""),
		mk("A", t0, t0+hour, -0.2, -20, trade.ExitROI, ""),
		mk("A", t0, t0+hour, 0, 0, trade.ExitROI, ""),
	})
	e, r := expectancy(tr)
	approx(t, "Expectancy", e, 5)
	approx(t, "ExpectancyRatio", r, 0)
	approx(t, "ProfitFactor", profitFactor(tr), 2)
	e, r = expectancy(nil)
	approx(t, "empty Expectancy", e, 0)
	approx(t, "empty ExpectancyRatio", r, 100)
}

// TestDaily: points out of order and two on one day (the later kept); a
// trade closing on a day without a point is left out of Daily; a zero
// previous equity gives return 0.
func TestDaily(t *testing.T) {
	eq := []result.EquityPoint{
		{Time: t0 + 3*clock.DayMs, Equity: 50},       // 01-03 (midnight close)
		{Time: t0 + 12*hour, Equity: 0},              // 01-01 noon
		{Time: t0 + clock.DayMs - 1, Equity: 0},      // 01-01 last close: kept
		{Time: t0 + clock.DayMs + 5*hour, Equity: 0}, // 01-02
	}
	tr := closedTrades([]trade.Trade{
		mk("A", t0, t0+2*clock.DayMs+hour, 0.1, 7, trade.ExitROI, ""), // 01-03
		mk("A", t0, t0+5*clock.DayMs, 0.1, 9, trade.ExitROI, ""),      // 01-06: no point
	})
	days := daily(eq, tr, 100)
	if len(days) != 3 {
		t.Fatalf("days = %+v", days)
	}
	eqInt(t, "d0", days[0].Date, "2024-01-01")
	approx(t, "d0 return", days[0].Return, -1) // 0/100 - 1
	eqInt(t, "d1", days[1].Date, "2024-01-02")
	approx(t, "d1 return", days[1].Return, 0) // previous 0
	eqInt(t, "d2", days[2].Date, "2024-01-03")
	approx(t, "d2 return", days[2].Return, 0) // previous 0
	approx(t, "d2 profit", days[2].ProfitAbs, 7)
	eqInt(t, "d2 trades", days[2].Trades, 1)
}

// TestOpenTradesIgnored: a trade with CloseTime 0 is still open and does
// not count.
func TestOpenTradesIgnored(t *testing.T) {
	res := baseResult()
	res.Trades = append(res.Trades, mk("C", t0, 0, 0.5, 500, "", ""))
	eqInt(t, "TotalTrades", Compute(res).Summary.TotalTrades, 4)
}

func finiteFloats(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			t.Errorf("%s = %v", path, f)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			finiteFloats(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		for i := range v.Len() {
			finiteFloats(t, v.Index(i), path)
		}
	}
}

func TestEmptyResult(t *testing.T) {
	for _, res := range []*result.Result{
		nil,
		{},
		{Pairs: []string{"A", "B"}, StartingBalance: 1000, Start: t0, End: t0 + 5*clock.DayMs, FinalBalance: 1000},
		{Pairs: []string{"A"}, StartingBalance: 1000, Start: t0, End: t0 + 5*clock.DayMs,
			Equity: []result.EquityPoint{{Time: t0 + clock.DayMs, Equity: 1000}, {Time: t0 + 2*clock.DayMs, Equity: 1000}}},
	} {
		rep := Compute(res)
		finiteFloats(t, reflect.ValueOf(rep), "Report")
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		s := rep.Summary
		eqInt(t, "TotalTrades", s.TotalTrades, 0)
		approx(t, "Sharpe", s.Sharpe, 0)
		approx(t, "Sortino", s.Sortino, 0)
		approx(t, "Calmar", s.Calmar, 0)
		approx(t, "CAGR", s.CAGR, 0)
		approx(t, "ExpectancyRatio", s.ExpectancyRatio, 100)
		approx(t, "SharpeDaily", s.SharpeDaily, 0)
		var pairs []string
		if res != nil {
			pairs = res.Pairs
		}
		if n := len(rep.PerPair); n != len(pairs)+1 || rep.PerPair[n-1].Key != "TOTAL" {
			t.Errorf("PerPair = %+v", rep.PerPair)
		}
		if len(rep.PerExitReason) != 1 || len(rep.PerEnterTag) != 1 {
			t.Errorf("tag breakdowns = %+v %+v", rep.PerExitReason, rep.PerEnterTag)
		}
	}
}

// TestNonFiniteInputs: NaN and infinite inputs never reach the JSON.
func TestNonFiniteInputs(t *testing.T) {
	res := baseResult()
	res.Trades[0].ProfitAbs = math.NaN()
	res.Trades[1].ProfitRatio = math.Inf(1)
	res.MaxDrawdownEquity = math.NaN()
	res.Equity[0].Equity = math.Inf(-1)
	rep := Compute(res)
	finiteFloats(t, reflect.ValueOf(rep), "Report")
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	res = baseResult()
	res.StartingBalance = 0
	rep = Compute(res)
	finiteFloats(t, reflect.ValueOf(rep), "Report")
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
}

func randomResult(rng *rand.Rand) *result.Result {
	pairs := []string{"BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT"}
	reasons := []trade.ExitReason{trade.ExitROI, trade.ExitStopLoss, trade.ExitSignal, trade.ExitForce}
	tags := []string{"", "a", "b", "long_breakout"}
	res := &result.Result{
		Pairs: pairs[:1+rng.IntN(len(pairs))], StartingBalance: 1000,
		Start: t0, End: t0 + int64(rng.IntN(60))*clock.DayMs + int64(rng.IntN(24))*hour,
	}
	n := rng.IntN(40)
	close := t0
	for range n {
		close += int64(rng.IntN(20)) * hour
		open := close - int64(1+rng.IntN(48))*hour
		r := math.Round((rng.Float64()*0.2-0.08)*1e4) / 1e4
		if rng.IntN(10) == 0 {
			r = 0
		}
		res.Trades = append(res.Trades, mk(pairs[rng.IntN(len(pairs))], open, close, r, r*100,
			reasons[rng.IntN(len(reasons))], tags[rng.IntN(len(tags))]))
	}
	eq := res.StartingBalance
	for d := int64(1); d <= (res.End-res.Start)/clock.DayMs+1; d++ {
		eq *= 1 + rng.Float64()*0.04 - 0.02
		res.Equity = append(res.Equity, result.EquityPoint{Time: t0 + d*clock.DayMs, Equity: eq})
	}
	res.FinalBalance = eq
	res.MaxDrawdownEquity = rng.Float64() * 0.3
	return res
}

func cloneResult(r *result.Result) *result.Result {
	c := *r
	c.Pairs = slices.Clone(r.Pairs)
	c.Trades = slices.Clone(r.Trades)
	c.Equity = slices.Clone(r.Equity)
	return &c
}

// TestDeterministic: Compute gives identical reports (and JSON) for equal
// inputs, does not modify its input, and keeps every float finite.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		res := randomResult(rng)
		orig := cloneResult(res)
		a := Compute(res)
		b := Compute(cloneResult(orig))
		if !reflect.DeepEqual(res, orig) {
			t.Fatalf("case %d: Compute modified its input", i)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("case %d: reports differ:\n%+v\n%+v", i, a, b)
		}
		ja, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("case %d: JSON differs", i)
		}
		finiteFloats(t, reflect.ValueOf(a), "Report")
		// Breakdowns partition the trades.
		for _, rows := range [][]Group{a.PerPair, a.PerExitReason, a.PerEnterTag} {
			n := 0
			for _, g := range rows[:len(rows)-1] {
				n += g.Trades
			}
			if n != a.Summary.TotalTrades || rows[len(rows)-1].Trades != n {
				t.Fatalf("case %d: breakdown counts %d vs %d", i, n, a.Summary.TotalTrades)
			}
		}
	}
}

func TestSQN(t *testing.T) {
	// r = 0.10, -0.05, 0.20, -0.10: mean 0.0375, sample variance
	// 0.056875 / 3, std 0.1376893; sqrt(4) * 0.0375 / 0.1376893 = 0.5447047…
	approx(t, "SQN", Compute(baseResult()).Summary.SQN, 0.5447)

	one := baseResult()
	one.Trades = one.Trades[:1]
	approx(t, "SQN of one trade", Compute(one).Summary.SQN, -100)
	same := baseResult()
	for i := range same.Trades {
		same.Trades[i].ProfitAbs = 10
	}
	approx(t, "SQN without spread", Compute(same).Summary.SQN, -100)
	none := baseResult()
	none.Trades = nil
	approx(t, "SQN without trades", Compute(none).Summary.SQN, 0)
}

func TestStakeAndVolume(t *testing.T) {
	res := baseResult()
	res.Trades = res.Trades[:2]
	res.Trades[0].Stake, res.Trades[0].Amount, res.Trades[0].OpenRate, res.Trades[0].CloseRate = 100, 2, 50, 55
	res.Trades[1].Stake, res.Trades[1].Amount, res.Trades[1].OpenRate, res.Trades[1].CloseRate = 200, 1, 200, 190
	res.Trades = append(res.Trades, trade.Trade{Pair: "C", OpenTime: t0, Stake: 1000, Amount: 1, OpenRate: 1000}) // open: ignored
	s := Compute(res).Summary
	approx(t, "AvgStake", s.AvgStake, 150)       // (100 + 200) / 2
	approx(t, "TotalVolume", s.TotalVolume, 600) // 2*50 + 2*55 + 1*200 + 1*190
}

func TestFreqtradeDays(t *testing.T) {
	res := baseResult()
	// Closing days 2024-01-01 (+10), 01-03 (-30 and +30: a draw), 01-05
	// (-5); 01-02 and 01-04 have no closed trade and count as draws.
	res.Trades = []trade.Trade{
		mk("A", t0, t0+hour, 0.01, 10, trade.ExitROI, ""),
		mk("A", t0+2*clock.DayMs, t0+2*clock.DayMs+hour, -0.03, -30, trade.ExitStopLoss, ""),
		mk("B", t0+2*clock.DayMs, t0+3*clock.DayMs-1, 0.03, 30, trade.ExitROI, ""),
		mk("A", t0+4*clock.DayMs, t0+4*clock.DayMs+hour, -0.005, -5, trade.ExitSignal, ""),
	}
	s := Compute(res).Summary
	approx(t, "BestDay", s.BestDay, 0.01)
	approx(t, "WorstDay", s.WorstDay, -0.005)
	approx(t, "BestDayAbs", s.BestDayAbs, 10)
	approx(t, "WorstDayAbs", s.WorstDayAbs, -5)
	eqInt(t, "WinningDays", s.WinningDays, 1)
	eqInt(t, "DrawDays", s.DrawDays, 3)
	eqInt(t, "LosingDays", s.LosingDays, 1)
	// Balance after each trade: 1010, 980, 1010, 1005.
	approx(t, "MinBalance", s.MinBalance, 980)
	approx(t, "MaxBalance", s.MaxBalance, 1010)

	// baseResult: days +100, -50, +100 (0.2 - 0.1 on 01-03); balances
	// 1100, 1050, 1250, 1150.
	s = Compute(baseResult()).Summary
	approx(t, "BestDay", s.BestDay, 0.1)
	approx(t, "WorstDayAbs", s.WorstDayAbs, -50)
	eqInt(t, "days", [3]int{s.WinningDays, s.DrawDays, s.LosingDays}, [3]int{2, 0, 1})
	approx(t, "MinBalance", s.MinBalance, 1050)
	approx(t, "MaxBalance", s.MaxBalance, 1250)
}

func TestExposure(t *testing.T) {
	// baseResult over 10 days: trades open 1 h, 2 h, 3 h and 4 h, none
	// overlapping: 10 h of 240 h.
	approx(t, "Exposure", Compute(baseResult()).Summary.Exposure, 10.0/240)

	res := baseResult()
	// Overlaps count once; time outside the period does not count:
	// [-2 h, 5 h] → [0, 5 h], [3 h, 8 h] adds 3 h, [1 d, 1 d + 2 h] adds 2 h.
	res.Trades = []trade.Trade{
		mk("A", t0-2*hour, t0+5*hour, 0.01, 1, trade.ExitROI, ""),
		mk("B", t0+3*hour, t0+8*hour, 0.01, 1, trade.ExitROI, ""),
		mk("C", t0+clock.DayMs, t0+clock.DayMs+2*hour, 0.01, 1, trade.ExitROI, ""),
	}
	approx(t, "Exposure with overlaps", Compute(res).Summary.Exposure, 10.0/240)
	res.End = res.Start
	approx(t, "Exposure of an empty period", Compute(res).Summary.Exposure, 0)
}

// daily tells days apart by number as the dates it reports would: on
// random curves and trades around midnights, before and after 1970, it
// gives what grouping by the formatted date gives.
func TestDailyGroupsByDate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for range 200 {
		base := (r.Int64N(40_000) - 20_000) * clock.DayMs
		var eq []result.EquityPoint
		var ts []trade.Trade
		for range 1 + r.IntN(60) {
			at := base + r.Int64N(20)*clock.DayMs + []int64{0, 1, -1, r.Int64N(clock.DayMs)}[r.IntN(4)]
			eq = append(eq, result.EquityPoint{Time: at, Equity: 900 + r.Float64()*200})
			ts = append(ts, trade.Trade{CloseTime: at + []int64{0, 1, -1}[r.IntN(3)], ProfitAbs: r.Float64() - 0.5})
		}
		ptrs := make([]*trade.Trade, len(ts))
		for i := range ts {
			ptrs[i] = &ts[i]
		}
		got := daily(eq, ptrs, 1000)
		// By formatted date, as daily did.
		pts := slices.Clone(eq)
		slices.SortStableFunc(pts, func(a, b result.EquityPoint) int { return cmp.Compare(a.Time, b.Time) })
		var want []Day
		for _, p := range pts {
			if n := len(want); n > 0 && want[n-1].Date == utcDate(p.Time-1) {
				want[n-1].Equity = p.Equity
				continue
			}
			want = append(want, Day{Date: utcDate(p.Time - 1), Equity: p.Equity})
		}
		prev := 1000.0
		for i := range want {
			want[i].Return = want[i].Equity/prev - 1
			prev = want[i].Equity
		}
		for _, tr := range ptrs {
			for i := range want {
				if want[i].Date == utcDate(tr.CloseTime) {
					want[i].ProfitAbs += tr.ProfitAbs
					want[i].Trades++
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("daily = %+v\nwant %+v", got, want)
		}
	}
}

// utcDate formats as time.DateOnly does, in and out of years 0 to 9999.
func TestUTCDate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1))
	for _, ms := range []int64{0, -1, 1, clock.DayMs - 1, clock.DayMs, -clock.DayMs, 253402300799999, 253402300800000, -62135596800000, -62135596800001, 951782400000, 4107542400000} {
		if got, want := utcDate(ms), time.UnixMilli(ms).UTC().Format(time.DateOnly); got != want {
			t.Fatalf("utcDate(%d) = %s, want %s", ms, got, want)
		}
	}
	for range 100_000 {
		ms := r.Int64N(600_000_000_000_000) - 300_000_000_000_000
		if got, want := utcDate(ms), time.UnixMilli(ms).UTC().Format(time.DateOnly); got != want {
			t.Fatalf("utcDate(%d) = %s, want %s", ms, got, want)
		}
	}
}
