package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
)

// WriteSummary writes a terminal summary of the backtest in the spirit of
// Freqtrade's backtest output: a per-pair table, an exit-reason table, an
// enter-tag table (only when the strategy tags its entries) and a summary
// block that puts Freqtrade's closed-trade metrics next to the ones computed
// from the daily mark-to-market equity curve. Tables are drawn with UTF-8
// box characters, numbers right-aligned, no colour codes.
func WriteSummary(w io.Writer, res *result.Result, m metrics.Report) error {
	if res == nil {
		return fmt.Errorf("report: nil backtest result")
	}
	var b strings.Builder
	ccy := res.StakeCurrency

	// Heading.
	name := res.Strategy
	if name == "" {
		name = "(unnamed strategy)"
	}
	b.WriteString("Result for strategy " + name + "\n")
	var facts []string
	if res.Timeframe != "" {
		facts = append(facts, "timeframe "+string(res.Timeframe))
	}
	if res.Exchange != "" {
		facts = append(facts, "exchange "+res.Exchange)
	}
	if res.TradingMode != "" {
		facts = append(facts, res.TradingMode)
	}
	if ccy != "" {
		facts = append(facts, "stake "+ccy)
	}
	if len(facts) > 0 {
		b.WriteString(strings.Join(facts, " · ") + "\n")
	}
	if len(res.Pairs) > 0 {
		b.WriteString("Pairs: " + strings.Join(res.Pairs, ", ") + "\n")
	}
	if p := paramList(res); len(p) > 0 {
		b.WriteString("Params: " + strings.Join(p, ", ") + "\n")
	}
	b.WriteByte('\n')

	// Breakdowns.
	if len(m.PerPair) == 0 || m.Summary.TotalTrades == 0 && len(res.Trades) == 0 {
		b.WriteString("No trades were made.\n\n")
	} else {
		groupTable("BACKTESTING REPORT", "Pair", m.PerPair, ccy).render(&b)
		b.WriteByte('\n')
		if len(m.PerExitReason) > 0 {
			groupTable("EXIT REASON STATS", "Exit Reason", m.PerExitReason, ccy).render(&b)
			b.WriteByte('\n')
		}
		if hasTags(m.PerEnterTag) {
			groupTable("ENTER TAG STATS", "Enter Tag", m.PerEnterTag, ccy).render(&b)
			b.WriteByte('\n')
		}
	}
	summaryTable(res, m).render(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// paramList renders the strategy parameters as sorted "name=value" strings.
func paramList(res *result.Result) []string {
	keys := make([]string, 0, len(res.Params))
	for k := range res.Params {
		keys = append(keys, k)
	}
	sortStrings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+paramValue(res.Params[k]))
	}
	return out
}

func paramValue(v any) string {
	switch x := v.(type) {
	case float64:
		if s, ok := nonFinite(x); ok {
			return s
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return paramValue(float64(x))
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// hasTags reports whether a breakdown by enter tag says anything: at least
// one group with a real tag.
func hasTags(gs []metrics.Group) bool {
	for _, g := range gs {
		if g.Key != "" && g.Key != totalKey {
			return true
		}
	}
	return false
}

const totalKey = "TOTAL"

// splitTotal separates a breakdown's trailing TOTAL row from the others.
func splitTotal(gs []metrics.Group) (rows []metrics.Group, total *metrics.Group) {
	if n := len(gs); n > 0 && gs[n-1].Key == totalKey {
		return gs[:n-1], &gs[n-1]
	}
	return gs, nil
}

func groupKey(k string) string {
	if k == "" {
		return "(none)"
	}
	return k
}

func groupTable(title, keyHeader string, gs []metrics.Group, ccy string) *textTable {
	totHeader := "Tot Profit"
	if ccy != "" {
		totHeader += " " + ccy
	}
	wW, wD, wL := 3, 4, 4
	for _, g := range gs {
		wW = max(wW, len(strconv.Itoa(g.Wins)))
		wD = max(wD, len(strconv.Itoa(g.Draws)))
		wL = max(wL, len(strconv.Itoa(g.Losses)))
	}
	wdl := func(w, d, l string) string {
		return padLeft(w, wW) + "  " + padLeft(d, wD) + "  " + padLeft(l, wL)
	}
	t := &textTable{
		title:  title,
		header: []string{keyHeader, "Trades", "Avg Profit %", totHeader, "Tot Profit %", "Avg Duration", wdl("Win", "Draw", "Loss"), "Win%"},
		right:  []bool{false, true, true, true, true, true, true, true},
	}
	row := func(g metrics.Group) []string {
		return []string{
			groupKey(g.Key),
			strconv.Itoa(g.Trades),
			pct(g.ProfitMean, 2),
			fixed(g.ProfitTotalAbs, 3),
			pct(g.ProfitTotal, 2),
			duration(g.DurationAvg),
			wdl(strconv.Itoa(g.Wins), strconv.Itoa(g.Draws), strconv.Itoa(g.Losses)),
			pct(g.Winrate, 1),
		}
	}
	rows, total := splitTotal(gs)
	var sec [][]string
	for _, g := range rows {
		sec = append(sec, row(g))
	}
	t.sections = append(t.sections, sec)
	if total != nil {
		t.sections = append(t.sections, [][]string{row(*total)})
	}
	return t
}

func padLeft(s string, w int) string {
	if n := len(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// money formats an amount in the stake currency: "1234.567 USDT".
func money(x float64, ccy string) string {
	s := fixed(x, 3)
	if ccy != "" {
		s += " " + ccy
	}
	return s
}

// period formats a from-to pair of timestamps, or "-" when unknown.
func period(from, to int64) string {
	if from == 0 && to == 0 {
		return "-"
	}
	return dateTime(from) + " → " + dateTime(to)
}

// pairResult is "BTC/USDT +12.34%" for the best/worst pair lines.
func pairResult(pair string, perPair []metrics.Group) string {
	if pair == "" {
		return "-"
	}
	for _, g := range perPair {
		if g.Key == pair {
			return pair + " " + pctSigned(g.ProfitTotal, 2)
		}
	}
	return pair
}

func maxOpenTrades(n int) string {
	if n < 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}

func summaryTable(res *result.Result, m metrics.Report) *textTable {
	s := m.Summary
	from, to := s.BacktestStart, s.BacktestEnd
	if from == 0 && to == 0 {
		from, to = res.Start, res.End
	}
	return metricsTable(s, res.StakeCurrency, from, to, m.PerPair,
		[]string{"Trading mode", orDash(res.TradingMode)},
		[]string{"Max open trades", maxOpenTrades(res.MaxOpenTrades)})
}

// WriteMetrics writes the SUMMARY METRICS table of WriteSummary from a
// metrics summary alone, such as the one a remote run records: without the
// rows only the full result knows (trading mode, max open trades) and
// without the best and worst pairs' profits. stakeCurrency may be empty.
func WriteMetrics(w io.Writer, s metrics.Summary, stakeCurrency string) error {
	var b strings.Builder
	metricsTable(s, stakeCurrency, s.BacktestStart, s.BacktestEnd, nil).render(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// metricsTable is the SUMMARY METRICS table; facts are extra rows for its
// first section.
func metricsTable(s metrics.Summary, ccy string, from, to int64, perPair []metrics.Group, facts ...[]string) *textTable {
	ff := func(x float64) string { return fixed(x, 2) }
	sections := [][][]string{
		append([][]string{
			{"Backtesting from", dateTime(from)},
			{"Backtesting to", dateTime(to)},
			{"Backtest days", strconv.Itoa(s.BacktestDays)},
		}, facts...),
		{
			{"Starting balance", money(s.StartingBalance, ccy)},
			{"Final balance", money(s.FinalBalance, ccy)},
			{"Absolute profit", money(s.ProfitTotalAbs, ccy)},
			{"Total profit %", pctS(s.ProfitTotal, 2)},
			{"CAGR %", pctS(s.CAGR, 2)},
			{"Market change", pctS(s.MarketChange, 2)},
		},
		{
			{"Total/Daily avg trades", strconv.Itoa(s.TotalTrades) + " / " + ff(s.TradesPerDay)},
			{"Win / Draw / Loss", fmt.Sprintf("%d / %d / %d", s.Wins, s.Draws, s.Losses)},
			{"Winrate", pctS(s.Winrate, 2)},
			{"Profit factor", ff(s.ProfitFactor)},
			{"Expectancy (Ratio)", fixed(s.Expectancy, 3) + " (" + ff(s.ExpectancyRatio) + ")"},
			{"Avg stake amount", money(s.AvgStake, ccy)},
			{"Total trade volume", money(s.TotalVolume, ccy)},
			{"Avg / median profit per trade", pctS(s.ProfitMean, 2) + " / " + pctS(s.ProfitMedian, 2)},
			{"Best / worst trade", pctS(s.BestTrade, 2) + " / " + pctS(s.WorstTrade, 2)},
			{"Best pair", pairResult(s.BestPair, perPair)},
			{"Worst pair", pairResult(s.WorstPair, perPair)},
			{"Max consecutive wins / losses", fmt.Sprintf("%d / %d", s.MaxConsecutiveWins, s.MaxConsecutiveLosses)},
			{"Best day", money(s.BestDayAbs, ccy)},
			{"Worst day", money(s.WorstDayAbs, ccy)},
			{"Days win / draw / lose", fmt.Sprintf("%d / %d / %d", s.WinningDays, s.DrawDays, s.LosingDays)},
			{"Min balance", money(s.MinBalance, ccy)},
			{"Max balance", money(s.MaxBalance, ccy)},
		},
		{
			{"Sharpe (Freqtrade, per trade)", ff(s.Sharpe)},
			{"Sortino (Freqtrade, per trade)", ff(s.Sortino)},
			{"Calmar (Freqtrade, per trade)", ff(s.Calmar)},
			{"SQN (Freqtrade, per trade)", ff(s.SQN)},
			{"Max drawdown (closed trades, Freqtrade)", pctS(s.MaxDrawdownAccount, 2) + " (" + money(s.MaxDrawdownAbs, ccy) + ")"},
			{"  drawdown period", period(s.DrawdownStart, s.DrawdownEnd)},
		},
		{
			{"Sharpe (daily equity)", ff(s.SharpeDaily)},
			{"Sortino (daily equity)", ff(s.SortinoDaily)},
			{"Calmar (equity)", ff(s.CalmarEquity)},
			{"Volatility (annualised)", pctS(s.VolatilityAnnual, 2)},
			{"Max drawdown (equity, every candle)", pctS(s.MaxDrawdownEquity, 2) + " (" + money(s.MaxDrawdownEquityAbs, ccy) + ")"},
			{"  drawdown period", period(s.DrawdownEquityStart, s.DrawdownEquityEnd)},
		},
		{
			{"Time in market", pctS(s.Exposure, 1)},
			{"Avg holding", duration(s.HoldingAvg)},
			{"Avg holding winners", duration(s.WinnerHoldingAvg)},
			{"Avg holding losers", duration(s.LoserHoldingAvg)},
		},
	}
	return &textTable{
		title:    "SUMMARY METRICS",
		header:   []string{"Metric", "Value"},
		right:    []bool{false, true},
		sections: sections,
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
