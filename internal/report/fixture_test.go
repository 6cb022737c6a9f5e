package report

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
)

func ms(s string) int64 {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// smallFixture is a hand-made 10-day backtest with five trades on two pairs.
func smallFixture() (*result.Result, metrics.Report) {
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
	res := &result.Result{
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
		end := res.Start + int64(d+1)*clock.DayMs
		for _, t := range res.Trades {
			if t.CloseTime > end-clock.DayMs && t.CloseTime <= end {
				bal += t.ProfitAbs
			}
		}
		res.Equity = append(res.Equity, result.EquityPoint{Time: end, Equity: bal + swing[dateOnly(end-1)]})
		res.Benchmark = append(res.Benchmark, result.EquityPoint{Time: end, Equity: res.StartingBalance * (1 + 0.0312*float64(d+1)/10)})
	}
	res.FinalBalance = bal
	res.MarketChange = 0.0312
	m := metrics.Compute(res)
	return res, m
}

// largeFixture is a realistic year-long backtest: three pairs with
// simulated hourly prices and about 200 trades.
func largeFixture() (*result.Result, metrics.Report) {
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
	res := &result.Result{
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
		res.Equity = append(res.Equity, result.EquityPoint{Time: tEnd + hourMs, Equity: eq})
		var held float64
		for p := range pairs {
			held += prices[p][hEnd] / prices[p][0]
		}
		res.Benchmark = append(res.Benchmark, result.EquityPoint{Time: tEnd + hourMs, Equity: res.StartingBalance * held / float64(len(pairs))})
	}
	res.FinalBalance = res.StartingBalance
	for _, t := range trades {
		res.FinalBalance += t.ProfitAbs
	}
	res.MarketChange = marketChange
	res.MinimalROI = sdk.ROITable{{Minutes: 0, Ratio: 0.08}, {Minutes: 600, Ratio: 0.04}, {Minutes: 2880, Ratio: 0}}
	for p := range pairs {
		ps := result.PriceSeries{Pair: pairs[p]}
		for h, c := range prices[p] {
			o := c
			if h > 0 {
				o = prices[p][h-1]
			}
			ps.Time = append(ps.Time, start+int64(h)*hourMs)
			ps.Open, ps.Close = append(ps.Open, o), append(ps.Close, c)
			ps.High = append(ps.High, max(o, c)*(1+0.002*rng.Float64()))
			ps.Low = append(ps.Low, min(o, c)*(1-0.002*rng.Float64()))
		}
		res.Prices = append(res.Prices, ps.Downsample(result.PriceBuckets))
	}
	return res, metrics.Compute(res)
}

// walk is n candles of a seeded random walk from px, one every stepMs
// from start.
func walk(pair string, start, stepMs int64, n int, px float64, seed uint64) result.PriceSeries {
	rng := rand.New(rand.NewPCG(seed, 1))
	ps := result.PriceSeries{Pair: pair}
	for i := range n {
		o := px
		px *= math.Exp(0.01 * rng.NormFloat64())
		ps.Time = append(ps.Time, start+int64(i)*stepMs)
		ps.Open, ps.Close = append(ps.Open, o), append(ps.Close, px)
		ps.High, ps.Low = append(ps.High, max(o, px)*1.002), append(ps.Low, min(o, px)*0.998)
	}
	return ps
}

// emptyFixture is a one-day backtest without a single trade.
func emptyFixture() (*result.Result, metrics.Report) {
	res := &result.Result{
		Strategy: "Idle", Timeframe: "1h", Pairs: []string{"BTC/USDT"}, Exchange: "binance",
		StakeCurrency: "USDT", TradingMode: "spot", StartingBalance: 1000, MaxOpenTrades: -1,
		Start: ms("2024-05-01 00:00"), End: ms("2024-05-01 23:00"), Candles: 24,
		Equity:       []result.EquityPoint{{Time: ms("2024-05-02 00:00"), Equity: 1000}},
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
