package datafile

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tradai/tradai/sdk"
)

// minSpacing returns the smallest allowed distance in milliseconds between
// two candles of timeframe tf: one candle length, except for "1M", whose
// calendar months can be as short as 28 days.
func minSpacing(tf sdk.Timeframe) int64 {
	if tf == "1M" {
		return 28 * msPerDay
	}
	return tf.Millis()
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Validate checks that f is usable candle data and returns a [*RowError]
// naming source, the first bad row (1-based) and the column otherwise. It
// checks that
//   - there is at least one candle and all columns have one value per candle
//     (the signal columns and EnterTag may be nil);
//   - timestamps are within 1677-09-21..2262-04-11, strictly increasing, and
//     no two candles are closer than the frame's timeframe (which would mean
//     a file of a shorter timeframe); gaps are allowed;
//   - open, high, low and close are finite and positive, high >= low and
//     open and close lie within [low, high] (equality allowed);
//   - volume is finite and not negative.
//
// The spacing check is skipped when f.Timeframe is empty.
func Validate(f *sdk.Frame, source string) error {
	if f == nil {
		return &RowError{File: source, Msg: "no data (nil frame)", Err: ErrEmpty}
	}
	if f.Timeframe != "" && !f.Timeframe.Valid() {
		return &RowError{File: source, Msg: fmt.Sprintf("unknown timeframe %q", string(f.Timeframe))}
	}
	n := len(f.Time)
	if n == 0 {
		return &RowError{File: source, Column: "date", Msg: "no candles (empty file)", Err: ErrEmpty}
	}
	cols := [...]struct {
		name string
		v    []float64
	}{{"open", f.Open}, {"high", f.High}, {"low", f.Low}, {"close", f.Close}, {"volume", f.Volume}}
	for _, c := range cols {
		if len(c.v) == 0 {
			return &RowError{File: source, Column: c.name, Msg: fmt.Sprintf("missing column %q", c.name), Err: ErrMissingColumn}
		}
		if len(c.v) != n {
			return &RowError{File: source, Column: c.name, Msg: fmt.Sprintf("column %q has %d values but there are %d dates", c.name, len(c.v), n)}
		}
	}
	sigs := [...]struct {
		name string
		v    []bool
	}{{"enter_long", f.EnterLong}, {"exit_long", f.ExitLong}, {"enter_short", f.EnterShort}, {"exit_short", f.ExitShort}}
	anySig := f.EnterLong != nil || f.ExitLong != nil || f.EnterShort != nil || f.ExitShort != nil
	for _, s := range sigs {
		if anySig && len(s.v) != n {
			return &RowError{File: source, Column: s.name, Msg: fmt.Sprintf("signal column %q has %d values but there are %d candles", s.name, len(s.v), n)}
		}
	}
	if f.EnterTag != nil && len(f.EnterTag) != n {
		return &RowError{File: source, Column: "enter_tag", Msg: fmt.Sprintf("column \"enter_tag\" has %d values but there are %d candles", len(f.EnterTag), n)}
	}

	gap := minSpacing(f.Timeframe)
	tm, op, hi, lo, cl, vo := f.Time, f.Open[:n], f.High[:n], f.Low[:n], f.Close[:n], f.Volume[:n]
	prev := int64(math.MinInt64)
	for i := range n {
		t := tm[i]
		if t < minMillis || t > maxMillis {
			return rowErr(source, i, "date", fmt.Sprintf("date %d ms is outside the supported range 1677-09-21..2262-04-11 (seconds or nanoseconds instead of milliseconds?)", t))
		}
		if i > 0 {
			switch {
			case t < prev:
				return rowErr(source, i, "date", fmt.Sprintf("date %s is before the previous row's %s: candles must be sorted by date", fmtTime(t), fmtTime(prev)))
			case t == prev:
				return rowErr(source, i, "date", fmt.Sprintf("duplicate date %s (same as row %d)", fmtTime(t), i))
			case t-prev < gap:
				return rowErr(source, i, "date", fmt.Sprintf("date %s is only %s after the previous candle (%s) but the timeframe is %s: is this a file of a shorter timeframe?", fmtTime(t), fmtGap(t-prev), fmtTime(prev), f.Timeframe))
			}
		}
		prev = t
		o, h, l, c, v := op[i], hi[i], lo[i], cl[i], vo[i]
		// Fast path: every check passes (NaN fails every comparison).
		if l > 0 && h >= l && o >= l && o <= h && c >= l && c <= h && h <= math.MaxFloat64 && v >= 0 && v <= math.MaxFloat64 {
			continue
		}
		col, msg := candleProblem(o, h, l, c, v)
		return rowErr(source, i, col, msg)
	}
	return nil
}

// rowErr builds the error for the 0-based row i.
func rowErr(source string, i int, column, msg string) *RowError {
	return &RowError{File: source, Row: i + 1, Column: column, Msg: msg}
}

// candleProblem describes what is wrong with a candle that failed the fast
// check in Validate.
func candleProblem(o, h, l, c, v float64) (column, msg string) {
	prices := [...]struct {
		name string
		v    float64
	}{{"open", o}, {"high", h}, {"low", l}, {"close", c}}
	for _, p := range prices {
		switch {
		case math.IsNaN(p.v):
			return p.name, p.name + " is NaN"
		case math.IsInf(p.v, 0):
			return p.name, p.name + " is " + fmtNum(p.v)
		case p.v <= 0:
			return p.name, fmt.Sprintf("%s %s is not a positive price", p.name, fmtNum(p.v))
		}
	}
	switch {
	case h < l:
		return "high", fmt.Sprintf("high %s is below low %s", fmtNum(h), fmtNum(l))
	case o < l || o > h:
		return "open", fmt.Sprintf("open %s is outside the candle's low-high range [%s, %s]", fmtNum(o), fmtNum(l), fmtNum(h))
	case c < l || c > h:
		return "close", fmt.Sprintf("close %s is outside the candle's low-high range [%s, %s]", fmtNum(c), fmtNum(l), fmtNum(h))
	case math.IsNaN(v):
		return "volume", "volume is NaN"
	case math.IsInf(v, 0):
		return "volume", "volume is " + fmtNum(v)
	case v < 0:
		return "volume", fmt.Sprintf("volume %s is negative", fmtNum(v))
	}
	return "", "invalid candle"
}
