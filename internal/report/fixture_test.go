package report

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
)

func ms(s string) int64 {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// smallFixture is a hand-made 10-day backtest with five trades on two pairs.
func smallFixture() (*backtest.Result, metrics.Report) {
	mk := func(pair, open, close string, openRate, closeRate float64, reason trade.ExitReason, tag string) trade.Trade {
		const stake, fee = 100.0, 0.001
		ratio := closeRate*(1-fee)/(openRate*(1+fee)) - 1
		ratio = math.Round(ratio*1e6) / 1e6
		return trade.Trade{
			Pair: pair, Leverage: 1, EnterTag: tag,
			OpenTime: ms(open), OpenRate: openRate, Amount: stake / openRate, Stake: stake,
			FeeOpen: fee, FeeClose: fee, CloseTime: ms(close), CloseRate: closeRate,
			ProfitRatio: ratio, ProfitAbs: math.Round(stake*ratio*1e6) / 1e6, ExitReason: reason,
			StopLoss: openRate * 0.95, InitialStopLoss: openRate * 0.95,
			MaxRate: math.Max(openRate, closeRate) * 1.004, MinRate: math.Min(openRate, closeRate) * 0.997,
		}
	}
	res := &backtest.Result{
		Strategy:        "SampleStrategy",
		Timeframe:       "5m",
		Params:          sdk.Values{"buy_rsi": 30, "sell_rsi": 70.5, "use_trend": true, "mode": "fast"},
		Pairs:           []string{"BTC/USDT", "ETH/USDT"},
		Exchange:        "binance",
		StakeCurrency:   "USDT",
		TradingMode:     "spot",
		StartingBalance: 1000,
		MaxOpenTrades:   2,
		Start:           ms("2024-01-01 00:00"),
		End:             ms("2024-01-10 23:55"),
		Candles:         2 * 2880,
		Trades: []trade.Trade{
			mk("BTC/USDT", "2024-01-02 07:25", "2024-01-02 08:30", 42000, 42500, trade.ExitROI, "rsi"),
			mk("ETH/USDT", "2024-01-03 10:00", "2024-01-05 13:10", 2300, 2250, trade.ExitStopLoss, ""),
			mk("BTC/USDT", "2024-01-06 00:00", "2024-01-06 12:00", 43000, 43086.086086, trade.ExitSignal, "breakout"),
			mk("ETH/USDT", "2024-01-07 04:00", "2024-01-09 06:45", 2200, 2310, trade.ExitROI, "rsi"),
			mk("BTC/USDT", "2024-01-09 20:00", "2024-01-10 23:55", 44000, 43600, trade.ExitForce, "breakout"),
		},
	}
	res.Trades[2].ProfitRatio, res.Trades[2].ProfitAbs = 0, 0 // a draw
	// Daily equity: closed profits plus a made-up open-position swing.
	bal := res.StartingBalance
	swing := map[string]float64{"2024-01-03": -1.5, "2024-01-04": -3.2, "2024-01-07": 1.1, "2024-01-08": 2.9, "2024-01-09": -0.8}
	for d := 0; d < 10; d++ {
		end := res.Start + int64(d+1)*dayMs
		for _, t := range res.Trades {
			if t.CloseTime > end-dayMs && t.CloseTime <= end {
				bal += t.ProfitAbs
			}
		}
		res.Equity = append(res.Equity, backtest.EquityPoint{Time: end, Equity: bal + swing[dateOnly(end-1)]})
	}
	res.FinalBalance = bal
	m := fakeMetrics(res, 0.0312)
	return res, m
}

// largeFixture is a realistic year-long backtest: three pairs with
// simulated hourly prices and about 200 trades.
func largeFixture() (*backtest.Result, metrics.Report) {
	rng := rand.New(rand.NewPCG(7, 11))
	start := ms("2024-01-01 00:00")
	hours := 366 * 24
	pairs := []string{"BTC/USDT", "ETH/USDT", "SOL/USDT"}
	startPrice := []float64{42000, 2300, 100}
	vol := []float64{0.0045, 0.0055, 0.0075}
	drift := []float64{0.00012, 0.00006, 0.00015}
	prices := make([][]float64, len(pairs))
	var marketChange float64
	for p := range pairs {
		px := make([]float64, hours)
		px[0] = startPrice[p]
		for h := 1; h < hours; h++ {
			px[h] = px[h-1] * math.Exp(drift[p]+vol[p]*rng.NormFloat64())
		}
		prices[p] = px
		marketChange += px[hours-1]/px[0] - 1
	}
	marketChange /= float64(len(pairs))

	const fee = 0.001
	res := &backtest.Result{
		Strategy:        "EMACrossover_v3",
		Timeframe:       "1h",
		Params:          sdk.Values{"ema_fast": 12, "ema_slow": 48, "stoploss": -0.06, "roi_0": 0.08, "trailing": true},
		Pairs:           pairs,
		Exchange:        "binance",
		StakeCurrency:   "USDT",
		TradingMode:     "spot",
		StartingBalance: 10000,
		MaxOpenTrades:   3,
		Start:           start,
		End:             start + int64(hours-1)*hourMs,
		Candles:         hours * len(pairs),
	}
	tags := []string{"ema_cross", "ema_cross", "pullback", "breakout"}
	type openPos struct {
		pair  int
		h     int
		trade trade.Trade
	}
	var trades []trade.Trade
	var positions []openPos // for marking to market
	for p := range pairs {
		h := 24 + rng.IntN(48)
		for h < hours-2 {
			open := prices[p][h]
			stake := 2500.0
			hold := 2 + rng.IntN(110)
			if h+hold >= hours {
				hold = hours - 1 - h
			}
			closeH, reason := h+hold, trade.ExitSignal
			maxR, minR := open, open
			for k := h + 1; k <= h+hold; k++ {
				maxR, minR = math.Max(maxR, prices[p][k]), math.Min(minR, prices[p][k])
				if prices[p][k] <= open*0.94 {
					closeH, reason = k, trade.ExitStopLoss
					break
				}
				if prices[p][k] >= open*1.08 {
					closeH, reason = k, trade.ExitROI
					break
				}
			}
			if closeH == hours-1 {
				reason = trade.ExitForce
			} else if reason == trade.ExitSignal && rng.IntN(4) == 0 {
				reason = trade.ExitTrailingStop
			}
			closeRate := prices[p][closeH]
			ratio := closeRate*(1-fee)/(open*(1+fee)) - 1
			t := trade.Trade{
				Pair: pairs[p], Leverage: 1, EnterTag: tags[rng.IntN(len(tags))],
				OpenTime: start + int64(h)*hourMs, OpenRate: open, Amount: stake / open, Stake: stake,
				FeeOpen: fee, FeeClose: fee, CloseTime: start + int64(closeH)*hourMs, CloseRate: closeRate,
				ProfitRatio: ratio, ProfitAbs: stake * ratio, ExitReason: reason,
				StopLoss: open * 0.94, InitialStopLoss: open * 0.94, MaxRate: maxR, MinRate: minR,
			}
			trades = append(trades, t)
			positions = append(positions, openPos{p, h, t})
			h = closeH + 12 + rng.IntN(100)
		}
	}
	sort.SliceStable(trades, func(i, j int) bool { return trades[i].CloseTime < trades[j].CloseTime })
	res.Trades = trades

	// Daily mark-to-market equity.
	for d := 0; d < 366; d++ {
		hEnd := min((d+1)*24-1, hours-1)
		tEnd := start + int64(hEnd)*hourMs
		eq := res.StartingBalance
		for _, pos := range positions {
			t := pos.trade
			switch {
			case t.CloseTime <= tEnd:
				eq += t.ProfitAbs
			case t.OpenTime <= tEnd:
				eq += t.Stake * (prices[pos.pair][hEnd]*(1-fee)/(t.OpenRate*(1+fee)) - 1)
			}
		}
		res.Equity = append(res.Equity, backtest.EquityPoint{Time: tEnd + hourMs, Equity: eq})
	}
	res.FinalBalance = res.StartingBalance
	for _, t := range trades {
		res.FinalBalance += t.ProfitAbs
	}
	return res, fakeMetrics(res, marketChange)
}

// fakeMetrics stands in for metrics.Compute in these tests: plausible
// figures computed simply from the result.
func fakeMetrics(res *backtest.Result, marketChange float64) metrics.Report {
	var m metrics.Report
	s := &m.Summary
	s.BacktestStart, s.BacktestEnd = res.Start, res.End
	s.BacktestDays = int(math.Ceil(float64(res.End-res.Start) / float64(dayMs)))
	days := math.Max(1, float64(s.BacktestDays))
	s.StartingBalance, s.FinalBalance = res.StartingBalance, res.FinalBalance
	s.MarketChange = marketChange

	trades := res.Trades
	s.TotalTrades = len(trades)
	s.TradesPerDay = float64(len(trades)) / days
	var ratios, rets []float64
	var grossWin, grossLoss, winDur, lossDur float64
	var cons, consW, consL int
	bal, peak := res.StartingBalance, res.StartingBalance
	for _, t := range trades {
		ratios = append(ratios, t.ProfitRatio)
		rets = append(rets, t.ProfitAbs/res.StartingBalance)
		s.ProfitTotalAbs += t.ProfitAbs
		s.HoldingAvg += float64(t.DurationMinutes())
		switch {
		case t.ProfitAbs > 0:
			s.Wins++
			grossWin += t.ProfitAbs
			winDur += float64(t.DurationMinutes())
			cons = max(cons, 0) + 1
			consW = max(consW, cons)
		case t.ProfitAbs < 0:
			s.Losses++
			grossLoss -= t.ProfitAbs
			lossDur += float64(t.DurationMinutes())
			cons = min(cons, 0) - 1
			consL = max(consL, -cons)
		default:
			s.Draws++
			cons = 0
		}
		bal += t.ProfitAbs
		peak = math.Max(peak, bal)
		if dd := 1 - bal/peak; dd > s.MaxDrawdownAccount {
			s.MaxDrawdownAccount, s.MaxDrawdownAbs = dd, peak-bal
			s.DrawdownEnd = t.CloseTime
		}
	}
	s.MaxConsecutiveWins, s.MaxConsecutiveLosses = consW, consL
	if n := float64(len(trades)); n > 0 {
		s.Winrate = float64(s.Wins) / n
		s.ProfitMean = mean(ratios)
		s.ProfitMedian = median(ratios)
		s.HoldingAvg /= n
		s.Expectancy = s.ProfitTotalAbs / n
		s.BestTrade, s.WorstTrade = ratios[0], ratios[0]
		for _, r := range ratios {
			s.BestTrade, s.WorstTrade = math.Max(s.BestTrade, r), math.Min(s.WorstTrade, r)
		}
	}
	if s.Wins > 0 {
		s.WinnerHoldingAvg = winDur / float64(s.Wins)
	}
	if s.Losses > 0 {
		s.LoserHoldingAvg = lossDur / float64(s.Losses)
		s.ProfitFactor = grossWin / grossLoss
		if s.Wins > 0 {
			s.ExpectancyRatio = (1+(grossWin/float64(s.Wins))/(grossLoss/float64(s.Losses)))*s.Winrate - 1
		}
	}
	s.ProfitTotal = s.ProfitTotalAbs / res.StartingBalance
	s.CAGR = math.Pow(res.FinalBalance/res.StartingBalance, 365/days) - 1
	if sd := stddev(rets); sd > 0 {
		s.Sharpe = s.ProfitTotal / days / sd * math.Sqrt(365)
	}
	if sd := downside(rets); sd > 0 {
		s.Sortino = s.ProfitTotal / days / sd * math.Sqrt(365)
	}
	if s.MaxDrawdownAccount > 0 {
		s.Calmar = s.ProfitTotal / days * 365 / s.MaxDrawdownAccount
		// Walk back to the peak before the trough.
		b, pk := res.StartingBalance, res.StartingBalance
		s.DrawdownStart = res.Start
		for _, t := range trades {
			if t.CloseTime > s.DrawdownEnd {
				break
			}
			b += t.ProfitAbs
			if b >= pk {
				pk, s.DrawdownStart = b, t.CloseTime
			}
		}
	}

	// Daily equity figures.
	prev := res.StartingBalance
	var daily []float64
	eqPeak, eqPeakT := res.StartingBalance, res.Start
	for _, e := range res.Equity {
		d := metrics.Day{Date: dateOnly(e.Time - 1), Equity: e.Equity, Return: e.Equity/prev - 1}
		for _, t := range trades {
			if dateOnly(t.CloseTime) == d.Date {
				d.ProfitAbs += t.ProfitAbs
				d.Trades++
			}
		}
		m.Daily = append(m.Daily, d)
		daily = append(daily, d.Return)
		prev = e.Equity
		if e.Equity > eqPeak {
			eqPeak, eqPeakT = e.Equity, e.Time
		}
		if dd := 1 - e.Equity/eqPeak; dd > s.MaxDrawdownEquity {
			s.MaxDrawdownEquity, s.MaxDrawdownEquityAbs = dd, eqPeak-e.Equity
			s.DrawdownEquityStart, s.DrawdownEquityEnd = eqPeakT, e.Time
		}
	}
	res.MaxDrawdownEquity, res.MaxDrawdownEquityAbs = s.MaxDrawdownEquity, s.MaxDrawdownEquityAbs
	res.MaxDrawdownEquityPeak, res.MaxDrawdownEquityTrough = s.DrawdownEquityStart, s.DrawdownEquityEnd
	if sd := stddev(daily); sd > 0 {
		s.SharpeDaily = mean(daily) / sd * math.Sqrt(365)
		s.VolatilityAnnual = sd * math.Sqrt(365)
	}
	if sd := downside(daily); sd > 0 {
		s.SortinoDaily = mean(daily) / sd * math.Sqrt(365)
	}
	if s.MaxDrawdownEquity > 0 {
		s.CalmarEquity = s.CAGR / s.MaxDrawdownEquity
	}

	m.PerPair = groups(res, func(t trade.Trade) string { return t.Pair }, res.Pairs)
	m.PerExitReason = groups(res, func(t trade.Trade) string { return string(t.ExitReason) }, nil)
	m.PerEnterTag = groups(res, func(t trade.Trade) string { return t.EnterTag }, nil)
	best, worst := math.Inf(-1), math.Inf(1)
	for _, g := range m.PerPair {
		if g.Key == "TOTAL" || g.Trades == 0 {
			continue
		}
		if g.ProfitTotalAbs > best {
			best, s.BestPair = g.ProfitTotalAbs, g.Key
		}
		if g.ProfitTotalAbs < worst {
			worst, s.WorstPair = g.ProfitTotalAbs, g.Key
		}
	}
	return m
}

// groups summarises trades by key, ordered by total profit (or by order
// when given), with a TOTAL row.
func groups(res *backtest.Result, key func(trade.Trade) string, order []string) []metrics.Group {
	byKey := map[string][]trade.Trade{}
	for _, k := range order {
		byKey[k] = nil
	}
	for _, t := range res.Trades {
		byKey[key(t)] = append(byKey[key(t)], t)
	}
	group := func(k string, ts []trade.Trade) metrics.Group {
		g := metrics.Group{Key: k, Trades: len(ts)}
		for _, t := range ts {
			g.ProfitMean += t.ProfitRatio
			g.ProfitTotalAbs += t.ProfitAbs
			g.DurationAvg += float64(t.DurationMinutes())
			switch {
			case t.ProfitAbs > 0:
				g.Wins++
			case t.ProfitAbs < 0:
				g.Losses++
			default:
				g.Draws++
			}
		}
		if n := float64(len(ts)); n > 0 {
			g.ProfitMean /= n
			g.DurationAvg /= n
			g.Winrate = float64(g.Wins) / n
		}
		g.ProfitTotal = g.ProfitTotalAbs / res.StartingBalance
		return g
	}
	var out []metrics.Group
	for k, ts := range byKey {
		out = append(out, group(k, ts))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProfitTotalAbs != out[j].ProfitTotalAbs {
			return out[i].ProfitTotalAbs > out[j].ProfitTotalAbs
		}
		return out[i].Key < out[j].Key
	})
	return append(out, group("TOTAL", res.Trades))
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := append([]float64(nil), x...)
	sort.Float64s(c)
	if n := len(c); n%2 == 1 {
		return c[n/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func stddev(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m := mean(x)
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)-1))
}

func downside(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		if v < 0 {
			s += v * v
		}
	}
	return math.Sqrt(s / float64(len(x)))
}

// emptyFixture is a one-day backtest without a single trade.
func emptyFixture() (*backtest.Result, metrics.Report) {
	res := &backtest.Result{
		Strategy: "Idle", Timeframe: "1h", Pairs: []string{"BTC/USDT"}, Exchange: "binance",
		StakeCurrency: "USDT", TradingMode: "spot", StartingBalance: 1000, MaxOpenTrades: -1,
		Start: ms("2024-05-01 00:00"), End: ms("2024-05-01 23:00"), Candles: 24,
		Equity:       []backtest.EquityPoint{{Time: ms("2024-05-02 00:00"), Equity: 1000}},
		FinalBalance: 1000,
	}
	m := metrics.Report{Summary: metrics.Summary{
		BacktestStart: res.Start, BacktestEnd: res.End, BacktestDays: 1,
		StartingBalance: 1000, FinalBalance: 1000,
	}}
	m.Daily = []metrics.Day{{Date: "2024-05-01", Equity: 1000}}
	m.PerPair = []metrics.Group{{Key: "BTC/USDT"}, {Key: "TOTAL"}}
	m.PerExitReason = []metrics.Group{{Key: "TOTAL"}}
	return res, m
}
