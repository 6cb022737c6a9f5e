package market

import (
	"fmt"

	"github.com/tradai/tradai/sdk"
)

// CanResample reports whether candles of timeframe from can be combined into
// candles of timeframe to: to must be longer, and every boundary of to's grid
// must be a boundary of from's grid, so each source candle falls in exactly
// one target candle. Weeks and months can be built from any timeframe that
// divides a day; nothing else builds weeks, months or 3-day candles except
// timeframes dividing them.
func CanResample(from, to sdk.Timeframe) error {
	if !from.Valid() || !to.Valid() {
		return fmt.Errorf("resample %s to %s: unknown timeframe", from, to)
	}
	day := sdk.Timeframe("1d").Millis()
	fm, tm := from.Millis(), to.Millis()
	ok := false
	switch to {
	case "1w", "1M":
		ok = fm <= day && day%fm == 0
	default:
		ok = tm > fm && tm%fm == 0 && from != "1w" && from != "1M"
	}
	if !ok || from == to {
		return fmt.Errorf("cannot resample %s candles to %s: every %s candle must be made of whole %s candles", from, to, to, from)
	}
	return nil
}

// Resample combines the candles of f into candles of timeframe to: each
// target candle opens with its first source candle's open and closes with
// its last's close, its high is the highest high, its low the lowest low,
// and its volume the sum of the volumes. A target candle whose source
// candles are all missing is not produced (the gap stays a gap). The first
// and last target candles are dropped when f does not cover them from
// start to end, since their values would be wrong, not just incomplete:
// the last one is typically still open. Interior target candles with
// missing source candles are kept (the source's gaps are the exchange's).
// Grids: see [sdk.Timeframe.Floor] (weeks start on Monday 00:00 UTC, months
// on the 1st).
func Resample(f *sdk.Frame, to sdk.Timeframe) (*sdk.Frame, error) {
	if err := CanResample(f.Timeframe, to); err != nil {
		return nil, err
	}
	n := f.Len()
	out := &sdk.Frame{Pair: f.Pair, Timeframe: to}
	est := n*int(f.Timeframe.Millis())/int(to.Millis()) + 2
	out.Time = make([]int64, 0, est)
	out.Open = make([]float64, 0, est)
	out.High = make([]float64, 0, est)
	out.Low = make([]float64, 0, est)
	out.Close = make([]float64, 0, est)
	out.Volume = make([]float64, 0, est)
	for i := 0; i < n; {
		start := to.Floor(f.Time[i])
		end := to.Next(start)
		o, h, l, v := f.Open[i], f.High[i], f.Low[i], 0.0
		j := i
		for ; j < n && f.Time[j] < end; j++ {
			h = max(h, f.High[j])
			l = min(l, f.Low[j])
			v += f.Volume[j]
		}
		c := f.Close[j-1]
		first := i == 0 && f.Time[0] != start
		last := j == n && f.Timeframe.Next(f.Time[n-1]) != end
		i = j
		if first || last {
			continue
		}
		out.Time = append(out.Time, start)
		out.Open = append(out.Open, o)
		out.High = append(out.High, h)
		out.Low = append(out.Low, l)
		out.Close = append(out.Close, c)
		out.Volume = append(out.Volume, v)
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("resample %s %s to %s: the %d candles from %s to %s do not cover one whole %s candle",
			f.Pair, f.Timeframe, to, n, fmtTime(f.Time[0]), fmtTime(f.Time[n-1]), to)
	}
	return out, nil
}
