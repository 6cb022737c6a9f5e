package importer

import (
	"fmt"
	"math"
	"slices"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// grid answers tf.OnGrid and tf.Next without a map lookup per row for the
// fixed-length timeframes; "1M" goes to sdk.Timeframe itself.
type grid struct {
	tf     sdk.Timeframe
	step   int64 // candle length in ms; 0 for "1M"
	offset int64 // added before flooring (Monday alignment for "1w")
}

func newGrid(tf sdk.Timeframe) grid {
	g := grid{tf: tf}
	if tf != "1M" {
		g.step = tf.Millis()
	}
	if tf == "1w" {
		g.offset = 3 * clock.DayMs // the epoch is a Thursday
	}
	return g
}

func (g *grid) onGrid(t int64) bool {
	if g.step == 0 {
		return g.tf.OnGrid(t)
	}
	r := (t + g.offset) % g.step
	return r == 0
}

// next returns the open time of the candle after the one opening at t (t on
// the grid).
func (g *grid) next(t int64) int64 {
	if g.step == 0 {
		return g.tf.Next(t)
	}
	return t + g.step
}

// minGap is the least distance between two open times on the grid.
func (g *grid) minGap() int64 {
	if g.step == 0 {
		return 28 * clock.DayMs
	}
	return g.step
}

// builder collects checked candles into a frame. Every row is checked as it
// is added, so errors name the file, the data row and the column where the
// problem is.
type builder struct {
	g    grid
	kind datafile.Kind
	f    *sdk.Frame
	prev int64 // open time of the last candle added
	has  bool
}

func newBuilder(tf sdk.Timeframe, kind datafile.Kind, capacity int) *builder {
	return &builder{g: newGrid(tf), kind: kind, f: &sdk.Frame{
		Timeframe: tf,
		Time:      make([]int64, 0, capacity),
		Open:      make([]float64, 0, capacity),
		High:      make([]float64, 0, capacity),
		Low:       make([]float64, 0, capacity),
		Close:     make([]float64, 0, capacity),
		Volume:    make([]float64, 0, capacity),
	}}
}

// add appends a candle read from data row row of file; timeCol names the
// time column for messages.
func (b *builder) add(file string, row int, timeCol string, t int64, o, h, l, c, v float64) error {
	if b.has && t <= b.prev || !b.g.onGrid(t) || t < minMillis || t > maxMillis {
		if err := b.timeProblem(file, row, timeCol, t); err != nil {
			return err
		}
	}
	if b.kind != datafile.Candles && math.IsNaN(v) {
		v = 0 // an empty volume of a mark price, an index or a funding rate
	}
	if col, msg := datafile.CheckCandle(b.kind, o, h, l, c, v); msg != "" {
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: msg}
	}
	b.prev, b.has = t, true
	f := b.f
	f.Time = append(f.Time, t)
	f.Open = append(f.Open, o)
	f.High = append(f.High, h)
	f.Low = append(f.Low, l)
	f.Close = append(f.Close, c)
	f.Volume = append(f.Volume, v)
	return nil
}

func (b *builder) timeProblem(file string, row int, col string, t int64) error {
	tf := b.g.tf
	switch {
	case t < minMillis || t > maxMillis:
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: fmt.Sprintf("%s %d ms is outside the supported range 1677-09-21..2262-04-11 (wrong time unit?)", col, t)}
	case b.has && t < b.prev:
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: fmt.Sprintf("%s %s is before the previous row's %s: rows must be in ascending time order", col, fmtTime(t), fmtTime(b.prev))}
	case b.has && t == b.prev:
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: fmt.Sprintf("duplicate %s %s (same as the previous row)", col, fmtTime(t))}
	case b.has && t-b.prev < b.g.minGap():
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: fmt.Sprintf("%s %s is only %s after the previous row's %s but the timeframe is %s: the file mixes timeframes or is not %s data", col, fmtTime(t), fmtGap(t-b.prev), fmtTime(b.prev), tf, tf)}
	case !b.g.onGrid(t):
		return &datafile.RowError{File: file, Row: row, Column: col, Msg: fmt.Sprintf("%s %s is not the start of a %s candle (nearest is %s): wrong timeframe, or times that are not candle open times?", col, fmtTime(t), tf, fmtTime(tf.Floor(t)))}
	}
	return nil
}

// candleError describes a candle that failed datafile.CheckCandle, placed
// at the row of the file.
func candleError(file string, row int, kind datafile.Kind, o, h, l, c, v float64) error {
	col, msg := datafile.CheckCandle(kind, o, h, l, c, v)
	if msg == "" {
		msg = "invalid candle"
	}
	return &datafile.RowError{File: file, Row: row, Column: col, Msg: msg}
}

// reserve makes room for n candles in all.
func (b *builder) reserve(n int) {
	f := b.f
	if n <= cap(f.Time) {
		return
	}
	f.Time = slices.Grow(f.Time, n-len(f.Time))
	f.Open = slices.Grow(f.Open, n-len(f.Open))
	f.High = slices.Grow(f.High, n-len(f.High))
	f.Low = slices.Grow(f.Low, n-len(f.Low))
	f.Close = slices.Grow(f.Close, n-len(f.Close))
	f.Volume = slices.Grow(f.Volume, n-len(f.Volume))
}

// skips counts skipped rows by reason.
type skips struct {
	list []Skip
	// a pending skip, counted only when a data row follows (blank lines at
	// the end of a file are not rows)
	pendReason, pendWhere string
}

// pend notes the first of a run of rows that count as skipped only if a
// data row follows them.
func (s *skips) pend(reason, where string) { s.pendReason, s.pendWhere = reason, where }

// flush counts the n pending rows.
func (s *skips) flush(n int) {
	for range n {
		s.add(s.pendReason, s.pendWhere)
	}
}

func (s *skips) add(reason, where string) {
	for i := range s.list {
		if s.list[i].Reason == reason {
			s.list[i].Rows++
			return
		}
	}
	s.list = append(s.list, Skip{Reason: reason, Rows: 1, First: where})
}

// finish validates the frame as a whole (which sets nothing new but guards
// the per-row checks) and wraps it in a Result.
func (b *builder) finish(name, pair string, format Format, rows int, sk skips) (*Result, error) {
	f := b.f
	f.Pair = pair
	if f.Len() == 0 {
		msg := "no candles: the file has no data rows"
		if rows > 0 {
			msg = fmt.Sprintf("no candles: all %d data rows were skipped (%s)", rows, sk.list[0].Reason)
		}
		return nil, &datafile.RowError{File: name, Msg: msg, Err: datafile.ErrEmpty}
	}
	if err := datafile.ValidateKind(f, name, b.kind); err != nil {
		return nil, err
	}
	return &Result{Frame: f, Format: format, Rows: rows, Skipped: sk.list}, nil
}
