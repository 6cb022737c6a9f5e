package metrics

import (
	"math"
	"math/bits"
	"reflect"
	"slices"
	"sort"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

// Compute derives every metric of res. It is a pure function: the same
// result always gives the identical report (maps are never iterated
// unordered, sums run in trade order). Every float in the report is finite,
// so the report always encodes as JSON; an undefined value is 0 unless
// Freqtrade defines a sentinel for it (see docs/metrics.md).
//
// Only closed trades (CloseTime != 0) count; Freqtrade force-exits every
// open trade at the end of a backtest, so a complete Result has no others.
func Compute(res *result.Result) Report {
	if res == nil {
		res = &result.Result{}
	}
	trades := closedTrades(res.Trades)
	start := res.StartingBalance
	days := backtestDays(res.Start, res.End)

	var rep Report
	s := &rep.Summary
	s.BacktestStart = res.Start
	s.BacktestEnd = res.End
	s.BacktestDays = days
	s.StartingBalance = start

	total := group("TOTAL", trades, start)
	s.TotalTrades = total.Trades
	s.TradesPerDay = float64(total.Trades) / float64(days)
	s.Wins, s.Draws, s.Losses = total.Wins, total.Draws, total.Losses
	s.Winrate = total.Winrate
	s.ProfitMean = total.ProfitMean
	s.ProfitMedian = medianRatio(trades)
	s.ProfitTotal = total.ProfitTotal
	s.ProfitTotalAbs = total.ProfitTotalAbs
	s.MarketChange = res.MarketChange

	s.FinalBalance = res.FinalBalance
	if s.FinalBalance == 0 {
		// Engine left it unset: Freqtrade's wallet after all exits.
		s.FinalBalance = start + total.ProfitTotalAbs
	}

	// Freqtrade's formulas.
	s.CAGR = cagr(days, start, s.FinalBalance)
	s.Sharpe = ftSharpe(trades, res.Start, res.End, start)
	s.Sortino = ftSortino(trades, res.Start, res.End, start)
	s.Calmar = ftCalmar(trades, res.Start, res.End, start)
	s.ProfitFactor = profitFactor(trades)
	s.Expectancy, s.ExpectancyRatio = expectancy(trades)
	s.SQN = sqn(trades, start)
	s.AvgStake, s.TotalVolume = stakeAndVolume(trades)
	fd := ftDays(trades)
	s.BestDay, s.WorstDay, s.BestDayAbs, s.WorstDayAbs = fd.best, fd.worst, fd.bestAbs, fd.worstAbs
	s.WinningDays, s.DrawDays, s.LosingDays = fd.wins, fd.draws, fd.losses
	s.MinBalance, s.MaxBalance = balanceRange(trades, start)
	dd := ftMaxDrawdown(trades, start)
	s.MaxDrawdownAccount = dd.Account
	s.MaxDrawdownAbs = dd.Abs
	s.DrawdownStart = dd.HighTime
	s.DrawdownEnd = dd.LowTime

	// Sound versions from the daily mark-to-market equity curve.
	rep.Daily = daily(res.Equity, trades, start)
	rets := make([]float64, len(rep.Daily))
	for i, d := range rep.Daily {
		rets[i] = d.Return
	}
	s.SharpeDaily = sharpeDaily(rets)
	s.SortinoDaily = sortinoDaily(rets)
	s.VolatilityAnnual = sampleStd(rets) * math.Sqrt(365)
	s.MaxDrawdownEquity = res.MaxDrawdownEquity
	s.MaxDrawdownEquityAbs = res.MaxDrawdownEquityAbs
	s.DrawdownEquityStart = res.MaxDrawdownEquityPeak
	s.DrawdownEquityEnd = res.MaxDrawdownEquityTrough
	s.CalmarEquity = safeDiv(s.CAGR, res.MaxDrawdownEquity)

	s.Exposure = exposure(trades, res.Start, res.End)
	s.HoldingAvg, s.WinnerHoldingAvg, s.LoserHoldingAvg = holdingAverages(trades)
	s.BestTrade, s.WorstTrade = bestWorstTrade(trades)
	s.MaxConsecutiveWins, s.MaxConsecutiveLosses = streaks(trades)

	rep.PerPair = perPair(res.Pairs, trades, start)
	s.BestPair, s.WorstPair = bestWorstPair(rep.PerPair)
	rep.PerExitReason = perExitReason(trades, start)
	rep.PerEnterTag = perEnterTag(trades, start)
	rep.PerPair = append(rep.PerPair, total)
	rep.PerExitReason = append(rep.PerExitReason, total)
	rep.PerEnterTag = append(rep.PerEnterTag, total)

	sanitize(reflect.ValueOf(&rep).Elem())
	return rep
}

// closedTrades returns the closed trades of ts in their given order (the
// order they closed), as pointers into ts.
func closedTrades(ts []trade.Trade) []*trade.Trade {
	out := make([]*trade.Trade, 0, len(ts))
	for i := range ts {
		if ts[i].CloseTime != 0 {
			out = append(out, &ts[i])
		}
	}
	return out
}

// backtestDays is Freqtrade's backtest_days: whole days between the first
// and last candle, or 1 when that is 0.
func backtestDays(start, end int64) int {
	if d := (end - start) / clock.DayMs; d >= 1 {
		return int(d)
	}
	return 1
}

// group summarises ts under key. Win, draw and loss are by profit_abs.
func group(key string, ts []*trade.Trade, startBal float64) Group {
	g := Group{Key: key, Trades: len(ts)}
	if len(ts) == 0 {
		return g
	}
	var ratioSum, durSum float64
	for _, t := range ts {
		ratioSum += t.ProfitRatio
		g.ProfitTotalAbs += t.ProfitAbs
		durSum += float64(t.DurationMinutes())
		switch {
		case t.ProfitAbs > 0:
			g.Wins++
		case t.ProfitAbs < 0:
			g.Losses++
		default:
			g.Draws++
		}
	}
	n := float64(len(ts))
	g.ProfitMean = ratioSum / n
	g.ProfitTotal = safeDiv(g.ProfitTotalAbs, startBal)
	g.Winrate = float64(g.Wins) / n
	g.DurationAvg = durSum / n
	return g
}

// perPair returns one row per pair of pairs (in that order, duplicates
// dropped, pairs without trades included), then rows for any traded pair
// missing from pairs, sorted by name. No TOTAL row.
func perPair(pairs []string, ts []*trade.Trade, startBal float64) []Group {
	_, byPair := groupBy(ts, func(t *trade.Trade) string { return t.Pair })
	seen := map[string]bool{}
	var rows []Group
	for _, p := range pairs {
		if seen[p] {
			continue
		}
		seen[p] = true
		rows = append(rows, group(p, byPair[p], startBal))
	}
	var extra []string
	for p := range byPair {
		if !seen[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	for _, p := range extra {
		rows = append(rows, group(p, byPair[p], startBal))
	}
	return rows
}

// bestWorstPair picks the pair rows with the highest and lowest
// profit_total_abs; on a tie the earlier row wins, as in Freqtrade.
func bestWorstPair(rows []Group) (best, worst string) {
	bi, wi := -1, -1
	for i, r := range rows {
		if bi < 0 || r.ProfitTotalAbs > rows[bi].ProfitTotalAbs {
			bi = i
		}
		if wi < 0 || r.ProfitTotalAbs < rows[wi].ProfitTotalAbs {
			wi = i
		}
	}
	if bi < 0 {
		return "", ""
	}
	return rows[bi].Key, rows[wi].Key
}

// groupBy splits ts by key(t), returning the keys sorted and the groups
// (ts itself when every trade has the same key, as a run of one pair or
// one tag has).
func groupBy(ts []*trade.Trade, key func(*trade.Trade) string) ([]string, map[string][]*trade.Trade) {
	if k, ok := sameKey(ts, key); ok {
		return []string{k}, map[string][]*trade.Trade{k: ts}
	}
	m := map[string][]*trade.Trade{}
	for _, t := range ts {
		k := key(t)
		m[k] = append(m[k], t)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, m
}

// sameKey returns the key of ts' trades when there are some and they all
// have the same.
func sameKey(ts []*trade.Trade, key func(*trade.Trade) string) (string, bool) {
	if len(ts) == 0 {
		return "", false
	}
	k := key(ts[0])
	for _, t := range ts[1:] {
		if key(t) != k {
			return "", false
		}
	}
	return k, true
}

// perExitReason returns one row per exit reason, most trades first, ties
// by name. No TOTAL row.
func perExitReason(ts []*trade.Trade, startBal float64) []Group {
	keys, m := groupBy(ts, func(t *trade.Trade) string { return string(t.ExitReason) })
	rows := make([]Group, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, group(k, m[k], startBal))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Trades > rows[j].Trades })
	return rows
}

// perEnterTag returns one row per enter tag (an empty tag is "OTHER"),
// highest profit_total_abs first, ties by name, as Freqtrade sorts it. No
// TOTAL row.
func perEnterTag(ts []*trade.Trade, startBal float64) []Group {
	keys, m := groupBy(ts, func(t *trade.Trade) string {
		if t.EnterTag == "" {
			return "OTHER"
		}
		return t.EnterTag
	})
	rows := make([]Group, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, group(k, m[k], startBal))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ProfitTotalAbs > rows[j].ProfitTotalAbs })
	return rows
}

// medianRatio is the median profit_ratio (mean of the middle two for an
// even count), 0 without trades: as sorting the ratios (sort.Float64s)
// gives it, found by selection when that gives the same bits (see
// selectMedian).
func medianRatio(ts []*trade.Trade) float64 {
	if len(ts) == 0 {
		return 0
	}
	r := make([]float64, len(ts))
	for i, t := range ts {
		r[i] = t.ProfitRatio
	}
	if m, ok := selectMedian(r); ok {
		return m
	}
	for i, t := range ts { // in their order again: sorting places 0 and -0 by it
		r[i] = t.ProfitRatio
	}
	sort.Float64s(r)
	n := len(r)
	if n%2 == 1 {
		return r[n/2]
	}
	return (r[n/2-1] + r[n/2]) / 2
}

// selectMedian returns the median of r, reordering r, as sorting r would
// give it, when selection can tell it: r holds no NaN (which sorting puts
// first) and its middle values are not zero (sorting leaves the order of
// 0 and -0 to chance; other equal floats have the same bits); it gives up
// on a selection that does not shrink (sorting is then as fast).
func selectMedian(r []float64) (float64, bool) {
	for _, x := range r {
		if x != x {
			return 0, false
		}
	}
	n := len(r)
	hi, ok := nthSmallest(r, n/2)
	if !ok || hi == 0 {
		return 0, false
	}
	if n%2 == 1 {
		return hi, true
	}
	lo := slices.Max(r[:n/2]) // the n/2 smallest are before r[n/2]
	if lo == 0 {
		return 0, false
	}
	return (lo + hi) / 2, true
}

// nthSmallest returns the k-th smallest of r (from 0; r without NaN),
// reordering r so that none before index k is larger and none after it
// smaller: quickselect, partitioning three ways (less, equal, greater than
// a median-of-three pivot). It reports false after more rounds than a
// selection that halves r each round needs, twice over.
func nthSmallest(r []float64, k int) (float64, bool) {
	lo, hi := 0, len(r) // k is in r[lo:hi]
	for rounds := 2 * bits.Len(uint(len(r))); hi-lo > 1; rounds-- {
		if rounds == 0 {
			return 0, false
		}
		a, b, c := r[lo], r[lo+(hi-lo)/2], r[hi-1]
		p := max(min(a, b), min(max(a, b), c))
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch x := r[i]; {
			case x < p:
				r[lt], r[i] = x, r[lt]
				lt++
				i++
			case x > p:
				gt--
				r[gt], r[i] = x, r[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt
		case k >= gt:
			lo = gt
		default:
			return r[k], true
		}
	}
	return r[k], true
}

// holdingAverages returns the mean duration in whole minutes of all trades,
// of winners and of losers (by profit_ratio, as Freqtrade's trading stats).
func holdingAverages(ts []*trade.Trade) (all, win, loss float64) {
	var sa, sw, sl float64
	var nw, nl int
	for _, t := range ts {
		d := float64(t.DurationMinutes())
		sa += d
		switch {
		case t.ProfitRatio > 0:
			sw += d
			nw++
		case t.ProfitRatio < 0:
			sl += d
			nl++
		}
	}
	return safeDiv(sa, float64(len(ts))), safeDiv(sw, float64(nw)), safeDiv(sl, float64(nl))
}

// exposure is the share of [start, end] covered by the union of the
// trades' [open, close] intervals (clipped to the period), 0 when the
// period is empty.
func exposure(ts []*trade.Trade, start, end int64) float64 {
	if end <= start {
		return 0
	}
	iv := make([][2]int64, 0, len(ts))
	for _, t := range ts {
		if a, b := max(t.OpenTime, start), min(t.CloseTime, end); b > a {
			iv = append(iv, [2]int64{a, b})
		}
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
	var covered, reach int64 = 0, start
	for _, x := range iv {
		a := max(x[0], reach)
		if x[1] > a {
			covered += x[1] - a
		}
		reach = max(reach, x[1])
	}
	return float64(covered) / float64(end-start)
}

// bestWorstTrade returns the highest and lowest profit_ratio (0, 0 without
// trades).
func bestWorstTrade(ts []*trade.Trade) (best, worst float64) {
	for i, t := range ts {
		if i == 0 || t.ProfitRatio > best {
			best = t.ProfitRatio
		}
		if i == 0 || t.ProfitRatio < worst {
			worst = t.ProfitRatio
		}
	}
	return best, worst
}

// streaks returns the longest runs of winning and non-winning trades in
// closing order. As in Freqtrade's calc_streak a trade wins when its
// profit_ratio > 0 and every other trade, draws included, counts as a loss.
func streaks(ts []*trade.Trade) (wins, losses int) {
	run := 0
	prevWin := false
	for i, t := range ts {
		win := t.ProfitRatio > 0
		if i > 0 && win == prevWin {
			run++
		} else {
			run = 1
		}
		prevWin = win
		if win {
			wins = max(wins, run)
		} else {
			losses = max(losses, run)
		}
	}
	return wins, losses
}

// safeDiv returns a/b, or 0 when b is 0.
func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// sanitize replaces every NaN or infinite float reachable from v (structs,
// slices) with 0 so the report always encodes as JSON. Correct inputs never
// need it; it guards against NaN or huge values coming from the engine.
func sanitize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			v.SetFloat(0)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sanitize(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			sanitize(v.Index(i))
		}
	}
}
