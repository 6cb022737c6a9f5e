package metrics

import (
	"cmp"
	"math"
	"slices"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/trade"
)

// This file holds Freqtrade's per-trade formulas (freqtrade/data/metrics.py
// and optimize_reports), written from their published definitions. They
// look only at closed trades' profit_abs, so they ignore open-position
// swings and the time between trades; docs/metrics.md says when to trust
// them.

// ftSentinel is the value Freqtrade gives Sharpe, Sortino and Calmar when
// their denominator is 0: "high (negative) ... to be clear that this is NOT
// optimal".
const ftSentinel = -100.0

// clampDrawdownHigh selects the drawdown variant. false reproduces
// Freqtrade up to 2025.3: the running high starts at the first trade's
// cumulative profit, so losses before the first new high (an initial losing
// streak) are not drawdown. true reproduces Freqtrade 2025.4 and later
// (PRs #11590, #11593), which clamp the high at 0 and prepend a zero row, so
// the starting balance is the first high.
const clampDrawdownHigh = false

// cagr is Freqtrade's calculate_cagr: (final/start)^(1/(days/365)) - 1,
// 0 when final < 0, start <= 0 or days <= 0.
func cagr(days int, start, final float64) float64 {
	if final < 0 || start <= 0 || days <= 0 {
		return 0
	}
	return math.Pow(final/start, 1/(float64(days)/365)) - 1
}

// ftUndefined reports whether Freqtrade's Sharpe, Sortino and Calmar are 0
// for these inputs: no trades or a zero-length backtest. A non-positive
// starting balance (which Freqtrade would divide by) is also treated so.
func ftUndefined(ts []*trade.Trade, startTs, endTs int64, startBal float64) bool {
	return len(ts) == 0 || startTs == endTs || startBal <= 0
}

// tradeReturns returns profit_abs / starting balance per trade.
func tradeReturns(ts []*trade.Trade, startBal float64, keep func(*trade.Trade) bool) []float64 {
	r := make([]float64, 0, len(ts))
	for _, t := range ts {
		if keep == nil || keep(t) {
			r = append(r, t.ProfitAbs/startBal)
		}
	}
	return r
}

// ftExpectedReturn is sum(profit_abs / start) / days_period with
// days_period = max(1, whole days of the backtest).
func ftExpectedReturn(ts []*trade.Trade, startTs, endTs int64, startBal float64) float64 {
	return sum(tradeReturns(ts, startBal, nil)) / float64(backtestDays(startTs, endTs))
}

// ftSharpe is Freqtrade's calculate_sharpe: expected / popstd(r) *
// sqrt(365) over per-trade returns r = profit_abs / start.
func ftSharpe(ts []*trade.Trade, startTs, endTs int64, startBal float64) float64 {
	if ftUndefined(ts, startTs, endTs, startBal) {
		return 0
	}
	exp := ftExpectedReturn(ts, startTs, endTs, startBal)
	sd := popStd(tradeReturns(ts, startBal, nil))
	if sd == 0 {
		return ftSentinel
	}
	return exp / sd * math.Sqrt(365)
}

// ftSortino is Freqtrade's calculate_sortino: the Sharpe numerator over
// the population std of the losing trades' returns (-100 when there are
// none or their std is 0, e.g. a single loser).
func ftSortino(ts []*trade.Trade, startTs, endTs int64, startBal float64) float64 {
	if ftUndefined(ts, startTs, endTs, startBal) {
		return 0
	}
	exp := ftExpectedReturn(ts, startTs, endTs, startBal)
	down := tradeReturns(ts, startBal, func(t *trade.Trade) bool { return t.ProfitAbs < 0 })
	if len(down) == 0 {
		return ftSentinel // numpy std of nothing is NaN
	}
	sd := popStd(down)
	if sd == 0 {
		return ftSentinel
	}
	return exp / sd * math.Sqrt(365)
}

// ftCalmar is Freqtrade's calculate_calmar: (total profit / days_period *
// 100) / max_drawdown_account * sqrt(365), -100 without drawdown. The
// numerator is in percent and the denominator a fraction, as in Freqtrade.
func ftCalmar(ts []*trade.Trade, startTs, endTs int64, startBal float64) float64 {
	if ftUndefined(ts, startTs, endTs, startBal) {
		return 0
	}
	var total float64
	for _, t := range ts {
		total += t.ProfitAbs
	}
	exp := total / startBal / float64(backtestDays(startTs, endTs)) * 100
	dd := ftMaxDrawdown(ts, startBal).Account
	if dd == 0 {
		return ftSentinel
	}
	return exp / dd * math.Sqrt(365)
}

// profitFactor is gross profit / |gross loss| over profit_abs, 0 without
// losses (Freqtrade's choice, not +Inf).
func profitFactor(ts []*trade.Trade) float64 {
	var win, loss float64
	for _, t := range ts {
		if t.ProfitAbs > 0 {
			win += t.ProfitAbs
		} else if t.ProfitAbs < 0 {
			loss += t.ProfitAbs
		}
	}
	if loss == 0 {
		return 0
	}
	return win / math.Abs(loss)
}

// expectancy is Freqtrade's calculate_expectancy: winrate*avg_win -
// loserate*avg_loss, and ((1 + avg_win/avg_loss) * winrate) - 1 (100 when
// avg_loss is 0, including without trades).
func expectancy(ts []*trade.Trade) (exp, ratio float64) {
	ratio = 100
	if len(ts) == 0 {
		return 0, ratio
	}
	var winSum, lossSum float64
	var nWin, nLoss int
	for _, t := range ts {
		if t.ProfitAbs > 0 {
			winSum += t.ProfitAbs
			nWin++
		} else if t.ProfitAbs < 0 {
			lossSum += t.ProfitAbs
			nLoss++
		}
	}
	lossSum = math.Abs(lossSum)
	avgWin := safeDiv(winSum, float64(nWin))
	avgLoss := safeDiv(lossSum, float64(nLoss))
	winrate := float64(nWin) / float64(len(ts))
	loserate := float64(nLoss) / float64(len(ts))
	exp = winrate*avgWin - loserate*avgLoss
	if avgLoss > 0 {
		ratio = ((1 + avgWin/avgLoss) * winrate) - 1
	}
	return exp, ratio
}

// drawdown is the result of Freqtrade's calculate_max_drawdown.
type drawdown struct {
	Abs       float64 // high - cumulative at the low, stake currency
	Account   float64 // (start+high - (start+cumulative)) / (start+high) at the low
	HighTime  int64   // close time of the trade where the high was first reached
	LowTime   int64   // close time of the trade at the low
	HighValue float64 // cumulative profit at the high
	LowValue  float64 // cumulative profit at the low
}

// ftMaxDrawdown is Freqtrade's drawdown in the variant clampDrawdownHigh
// selects.
func ftMaxDrawdown(ts []*trade.Trade, startBal float64) drawdown {
	return freqtradeDrawdown(ts, startBal, clampDrawdownHigh)
}

// freqtradeDrawdown is Freqtrade's calculate_max_drawdown on profit_abs of
// the trades sorted by close time (stable): cumulative = cumsum(profit_abs),
// high = cummax(cumulative), drawdown = cumulative - high; the first row
// with the most negative drawdown is the low, the first row reaching its
// high is the high. Without a negative drawdown everything is 0 (Freqtrade
// raises "no losing trade" and reports 0).
//
// clamp selects Freqtrade 2025.4+: a zero row (cumulative = high = 0) comes
// first and high = max(0, cummax), so an initial losing streak counts;
// dates map row i to trade i-1 (row 0 to trade 0).
func freqtradeDrawdown(ts []*trade.Trade, startBal float64, clamp bool) drawdown {
	if len(ts) == 0 {
		return drawdown{}
	}
	byClose := func(a, b *trade.Trade) int { return cmp.Compare(a.CloseTime, b.CloseTime) }
	sorted := ts // in the order they closed, as a backtest's trades are
	if !slices.IsSortedFunc(ts, byClose) {
		sorted = slices.Clone(ts)
		slices.SortStableFunc(sorted, byClose)
	}

	off := 0
	if clamp {
		off = 1
	}
	n := len(sorted) + off
	cum := make([]float64, n)
	high := make([]float64, n)
	c, h := 0.0, math.Inf(-1)
	if clamp {
		h = 0
	}
	for i, t := range sorted {
		c += t.ProfitAbs
		h = max(h, c)
		cum[i+off], high[i+off] = c, h
	}

	low := 0 // first index of the minimum of cum - high
	for i := 1; i < n; i++ {
		if cum[i]-high[i] < cum[low]-high[low] {
			low = i
		}
	}
	if !clamp && low == 0 {
		return drawdown{}
	}
	hiEnd := low // high searched over rows [0, hiEnd)
	if clamp {
		hiEnd = low + 1
	}
	hi := 0 // first index of the maximum of high
	for i := 1; i < hiEnd; i++ {
		if high[i] > high[hi] {
			hi = i
		}
	}

	var rel float64
	if clamp && low == 0 {
		rel = 0 // the zero row's drawdown_relative
	} else if startBal != 0 {
		maxBal := startBal + high[low]
		rel = safeDiv(maxBal-(startBal+cum[low]), maxBal)
	} else {
		rel = safeDiv(high[low]-cum[low], high[low])
	}
	row := func(i int) *trade.Trade { return sorted[max(i-off, 0)] }
	return drawdown{
		Abs:       math.Abs(cum[low] - high[low]),
		Account:   rel,
		HighTime:  row(hi).CloseTime,
		LowTime:   row(low).CloseTime,
		HighValue: cum[hi],
		LowValue:  cum[low],
	}
}

// sum adds x in order.
func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

// mean is the arithmetic mean, 0 for no values.
func mean(x []float64) float64 { return safeDiv(sum(x), float64(len(x))) }

// popStd is the population standard deviation (numpy's np.std, ddof=0),
// 0 for no values.
func popStd(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	m := mean(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)))
}

// sampleStd is the sample standard deviation (ddof=1), 0 for fewer than
// two values.
func sampleStd(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m := mean(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

// sqn is Freqtrade's calculate_sqn (Van K. Tharp's system quality number):
// sqrt(n) * mean(r) / sample std(r) over r = profit_abs / start, rounded to
// 4 decimals; 0 without trades, -100 when the std is 0 or undefined (one
// trade).
func sqn(ts []*trade.Trade, startBal float64) float64 {
	if len(ts) == 0 || startBal <= 0 {
		return 0
	}
	r := tradeReturns(ts, startBal, nil)
	sd := sampleStd(r)
	if sd == 0 {
		return ftSentinel
	}
	return math.Round(math.Sqrt(float64(len(r)))*mean(r)/sd*1e4) / 1e4
}

// stakeAndVolume returns Freqtrade's avg_stake_amount (the mean stake) and
// total_volume (the summed cost of the entry and exit orders: amount *
// open_rate + amount * close_rate per trade). Freqtrade's backtest also
// adds the entry fee rate to each entry order's cost (a ratio added to an
// amount); that is left out.
func stakeAndVolume(ts []*trade.Trade) (avgStake, volume float64) {
	var stakes float64
	for _, t := range ts {
		stakes += t.Stake
		volume += t.Amount*t.OpenRate + t.Amount*t.CloseRate
	}
	return safeDiv(stakes, float64(len(ts))), volume
}

// ftDayStats is Freqtrade's generate_daily_stats.
type ftDayStats struct {
	best, worst, bestAbs, worstAbs float64
	wins, draws, losses            int
}

// ftDays buckets the trades by the UTC day they closed, every day from the
// first to the last such day (a day without a closed trade sums to 0):
// best and worst are the highest and lowest sums of profit_ratio, bestAbs
// and worstAbs of profit_abs (rounded to 10 decimals, as Freqtrade does), and
// a day wins, draws or loses by its profit_abs sum. All 0 without trades.
func ftDays(ts []*trade.Trade) ftDayStats {
	var d ftDayStats
	if len(ts) == 0 {
		return d
	}
	day := func(t *trade.Trade) int64 { return clock.Day(t.CloseTime) }
	first, last := day(ts[0]), day(ts[0])
	for _, t := range ts {
		first, last = min(first, day(t)), max(last, day(t))
	}
	rel := make([]float64, last-first+1)
	abs := make([]float64, last-first+1)
	for _, t := range ts {
		rel[day(t)-first] += t.ProfitRatio
		abs[day(t)-first] += t.ProfitAbs
	}
	for i := range abs {
		a := math.Round(abs[i]*1e10) / 1e10
		if i == 0 {
			d.best, d.worst, d.bestAbs, d.worstAbs = rel[i], rel[i], a, a
		}
		d.best, d.worst = max(d.best, rel[i]), min(d.worst, rel[i])
		d.bestAbs, d.worstAbs = max(d.bestAbs, a), min(d.worstAbs, a)
		switch {
		case a > 0:
			d.wins++
		case a < 0:
			d.losses++
		default:
			d.draws++
		}
	}
	return d
}

// balanceRange is Freqtrade's calculate_csum: the lowest and highest
// starting balance + cumulative profit_abs over the trades in closing
// order; 0, 0 without trades. (Freqtrade also reports 0, 0 when no trade
// lost, as its drawdown step fails first; here the range is always given.)
func balanceRange(ts []*trade.Trade, startBal float64) (lo, hi float64) {
	if len(ts) == 0 {
		return 0, 0
	}
	var c float64
	for i, t := range ts {
		c += t.ProfitAbs
		if i == 0 {
			lo, hi = c, c
		}
		lo, hi = min(lo, c), max(hi, c)
	}
	return startBal + lo, startBal + hi
}
