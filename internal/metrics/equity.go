package metrics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

// This file holds the sound metrics: computed from the account value
// marked to market once per UTC day, so open positions and idle days count.
// Undefined values are 0, never a sentinel.

// utcDate formats a Unix-ms time as its UTC date, YYYY-MM-DD (as
// time.DateOnly formats it, without parsing the layout: an optimiser's
// trial formats a date per day of its backtest).
func utcDate(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(time.DateOnly)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// equityDay is the UTC day (days since 1970-01-01) an equity point
// belongs to. Its time is the close time of a candle; 1 ms is taken off so
// that a candle closing exactly at midnight (close = open + timeframe)
// counts for the day it traded in. With close = open + timeframe - 1 ms it
// changes nothing.
func equityDay(ms int64) int64 { return clock.Day(ms - 1) }

// daily builds one Day per UTC day of the equity curve (points sorted by
// time; of several points on one day the last is kept), with the return
// against the previous day (the first day against the starting balance, a
// zero previous value giving 0) and the profit and count of the trades that
// closed that UTC day. Days are told apart by their number and a day's date
// is formatted once (an optimiser's trial builds its days too).
func daily(eq []result.EquityPoint, ts []*trade.Trade, startBal float64) []Day {
	if len(eq) == 0 {
		return nil
	}
	pts := slices.Clone(eq)
	slices.SortStableFunc(pts, func(a, b result.EquityPoint) int { return cmp.Compare(a.Time, b.Time) })
	// At most a day per point, and per day between the first and the last.
	n := min(len(pts), int(min(equityDay(pts[len(pts)-1].Time)-equityDay(pts[0].Time), int64(len(pts))))+1)
	days := make([]Day, 0, n)
	nums := make([]int64, 0, n) // each day's number, ascending
	for _, p := range pts {
		n := equityDay(p.Time)
		if k := len(days); k > 0 && nums[k-1] == n {
			days[k-1].Equity = p.Equity
			continue
		}
		days = append(days, Day{Date: utcDate(p.Time - 1), Equity: p.Equity})
		nums = append(nums, n)
	}
	prev := startBal
	for i := range days {
		if prev != 0 {
			days[i].Return = days[i].Equity/prev - 1
		}
		prev = days[i].Equity
	}
	for _, t := range ts {
		if i, ok := slices.BinarySearch(nums, clock.Day(t.CloseTime)); ok {
			days[i].ProfitAbs += t.ProfitAbs
			days[i].Trades++
		}
	}
	return days
}

// sharpeDaily is mean(r) / sample std(r) * sqrt(365) over daily returns,
// 0 with fewer than two days or no variation.
func sharpeDaily(r []float64) float64 {
	sd := sampleStd(r)
	if sd == 0 {
		return 0
	}
	return mean(r) / sd * math.Sqrt(365)
}

// sortinoDaily is mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(365) over
// daily returns (the downside deviation counts every day, a positive one as
// 0), 0 without a losing day.
func sortinoDaily(r []float64) float64 {
	var ss float64
	for _, v := range r {
		if v < 0 {
			ss += v * v
		}
	}
	dd := math.Sqrt(safeDiv(ss, float64(len(r))))
	if dd == 0 {
		return 0
	}
	return mean(r) / dd * math.Sqrt(365)
}
