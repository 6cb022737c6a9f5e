package backtest

import (
	"fmt"

	"github.com/tradai/tradai/internal/market"
)

// Span is the range of candle open times every pair of d trades: from the
// latest first candle of a pair's range to the earliest end of one (its
// last candle's open time plus one timeframe, exclusive).
func (d *Data) Span() market.Range {
	var r market.Range
	for k, s := range d.series {
		first, last := s.Frame.Time[s.From], s.Frame.Time[s.To-1]
		end := d.plan.Timeframe.Next(last)
		if k == 0 || first > r.Start {
			r.Start = first
		}
		if k == 0 || end < r.End {
			r.End = end
		}
	}
	return r
}

// Window returns d cut to the candles opening in r (a zero side: d's),
// each pair keeping the strategy's startup candles before r.Start from
// d's candles, as a backtest of the time range r would read them: a
// window's signals and results are that backtest's. The candles are
// shared with d, not copied (the window's fingerprint and price series
// are its own): the window is used only until d's Close, and its own
// Close releases nothing of d's. Each pair needs at least 2 candles in r.
func (d *Data) Window(r market.Range) (*Data, error) {
	plan := d.plan
	plan.Needs = make([]Need, len(d.plan.Needs))
	series := make([]Series, len(d.series))
	for k, s := range d.series {
		from, to := s.From, s.To
		if r.Start != 0 {
			from = max(from, s.Frame.Search(r.Start))
		}
		if r.End != 0 {
			to = min(to, s.Frame.Search(r.End))
		}
		if to-from < 2 {
			return nil, fmt.Errorf("%s: %d candles from %s to %s; need at least 2", s.Frame.Pair, max(0, to-from), minute(r.Start), minute(r.End))
		}
		n := d.plan.Needs[k]
		lo := from - n.Startup
		view := s.Frame.Slice(lo, to)
		series[k] = Series{Frame: view, From: from - lo, To: to - lo}
		n.Timerange = r
		n.Range = market.Range{Start: view.Time[0], End: r.End}
		plan.Needs[k] = n
	}
	return &Data{plan: plan, series: series, summary: summarise(series)}, nil
}
