package datafile

import (
	"fmt"
	"math"
	"runtime"
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

// Kind says which checks apply to a file's values.
type Kind int

// The kinds of series.
const (
	// Candles are traded candles: positive finite prices with
	// low <= open, close <= high and a finite volume >= 0.
	Candles Kind = iota
	// Indicative series are mark, index and premium-index prices and
	// funding rates: every value finite, of any sign, no OHLC ordering
	// rule. The readers ([LoadRange]) read a null or NaN volume as 0, and
	// the spacing check tolerates timestamps up to one second off the
	// timeframe's grid, as exchanges stamp funding events a few
	// milliseconds late.
	Indicative
)

// String returns "candles" or "indicative".
func (k Kind) String() string {
	switch k {
	case Candles:
		return "candles"
	case Indicative:
		return "indicative"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) valid() bool { return k == Candles || k == Indicative }

// indicativeJitter is how much closer than one timeframe two rows of an
// Indicative series may be.
const indicativeJitter = 1000

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
// The spacing check is skipped when f.Timeframe is empty. Validate is
// ValidateKind with [Candles].
func Validate(f *sdk.Frame, source string) error {
	return validate(f, source, Candles, 0)
}

// ValidateKind checks f like [Validate] with the value rules of kind: for
// [Candles] those of Validate; for [Indicative] only that open, high, low,
// close and volume are finite (any sign, no ordering; a NaN volume is an
// error here, the readers turn it into 0), with the spacing check
// tolerating one second of clock jitter.
func ValidateKind(f *sdk.Frame, source string, kind Kind) error {
	return validate(f, source, kind, 0)
}

// validate checks f as ValidateKind does; f's first candle is row first+1
// of source, which the errors report.
func validate(f *sdk.Frame, source string, kind Kind, first int) error {
	if f == nil {
		return &RowError{File: source, Msg: "no data (nil frame)", Err: ErrEmpty}
	}
	if !kind.valid() {
		return &RowError{File: source, Msg: fmt.Sprintf("unknown series kind %d", int(kind))}
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

	gap := minGap(f.Timeframe, kind)
	workers := 1
	if n >= 2*parallelRows {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := (n + parallelRows - 1) / parallelRows
	return parallel(workers, chunks, func(c int) error {
		a := c * parallelRows
		return checkRows(f, source, kind, gap, first, max(a-1, 0), a, min(n, a+parallelRows))
	})
}

// minGap returns the least distance in milliseconds between two rows of a
// series of kind and timeframe tf.
func minGap(tf sdk.Timeframe, kind Kind) int64 {
	gap := minSpacing(tf)
	if kind == Indicative && tf != "" {
		gap -= min(indicativeJitter, gap/2)
	}
	return gap
}

// parallelRows is the fewest rows per goroutine when checking or reading
// a frame in parallel.
const parallelRows = 1 << 15

// checkRows checks rows [a, b) of f, and the dates from row from (a or
// a-1) on, and returns the error for the first bad row.
func checkRows(f *sdk.Frame, source string, kind Kind, gap int64, first, from, a, b int) error {
	terr := checkTimes(f.Time[from:b], gap, f.Timeframe, source, first+from)
	if terr != nil {
		// Look for a bad value only in the rows before the bad date.
		b = max(terr.Row-1-first, a)
	}
	if verr := checkValues(f, source, kind, first, a, b); verr != nil {
		return verr
	}
	if terr != nil {
		return terr
	}
	return nil
}

// checkValues checks the prices and volume of rows [a, b) of f by kind.
func checkValues(f *sdk.Frame, source string, kind Kind, first, a, b int) *RowError {
	op, hi, lo, cl, vo := f.Open[a:b], f.High[a:b], f.Low[a:b], f.Close[a:b], f.Volume[a:b]
	if kind == Indicative {
		for i := range op {
			// x-x is 0 for finite x and NaN for NaN and ±Inf.
			if s := op[i] - op[i] + hi[i] - hi[i] + lo[i] - lo[i] + cl[i] - cl[i] + vo[i] - vo[i]; s == 0 {
				continue
			}
			col, msg := nonFinite(op[i], hi[i], lo[i], cl[i], vo[i])
			return rowErr(source, first+a+i, col, msg)
		}
		return nil
	}
	for i := range op {
		o, h, l, c, v := op[i], hi[i], lo[i], cl[i], vo[i]
		// Fast path: every check passes (NaN fails every comparison).
		if l > 0 && h >= l && o >= l && o <= h && c >= l && c <= h && h <= math.MaxFloat64 && v >= 0 && v <= math.MaxFloat64 {
			continue
		}
		col, msg := candleProblem(o, h, l, c, v)
		return rowErr(source, first+a+i, col, msg)
	}
	return nil
}

// checkTimes checks that the timestamps tm are in range, strictly
// increasing and at least gap apart (tf names the timeframe in messages).
// tm[0] is row first+1 of source.
func checkTimes(tm []int64, gap int64, tf sdk.Timeframe, source string, first int) *RowError {
	prev := int64(math.MinInt64)
	for i, t := range tm {
		if t < minMillis || t > maxMillis {
			return rowErr(source, first+i, "date", fmt.Sprintf("date %d ms is outside the supported range 1677-09-21..2262-04-11 (seconds or nanoseconds instead of milliseconds?)", t))
		}
		if i > 0 && (t <= prev || t-prev < gap) {
			switch {
			case t < prev:
				return rowErr(source, first+i, "date", fmt.Sprintf("date %s is before the previous row's %s: candles must be sorted by date", fmtTime(t), fmtTime(prev)))
			case t == prev:
				return rowErr(source, first+i, "date", fmt.Sprintf("duplicate date %s (same as row %d)", fmtTime(t), first+i))
			default:
				return rowErr(source, first+i, "date", fmt.Sprintf("date %s is only %s after the previous candle (%s) but the timeframe is %s: is this a file of a shorter timeframe?", fmtTime(t), fmtGap(t-prev), fmtTime(prev), tf))
			}
		}
		prev = t
	}
	return nil
}

// nonFinite describes the first value that is NaN or infinite.
func nonFinite(o, h, l, c, v float64) (column, msg string) {
	vals := [...]struct {
		name string
		v    float64
	}{{"open", o}, {"high", h}, {"low", l}, {"close", c}, {"volume", v}}
	for _, p := range vals {
		switch {
		case math.IsNaN(p.v):
			return p.name, p.name + " is NaN"
		case math.IsInf(p.v, 0):
			return p.name, p.name + " is " + fmtNum(p.v)
		}
	}
	return "", "invalid value"
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
