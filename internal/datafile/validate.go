package datafile

import (
	"fmt"
	"math"
	"runtime"
	"strconv"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/sdk"
)

// minSpacing returns the smallest allowed distance in milliseconds between
// two candles of timeframe tf: one candle length, except for "1M", whose
// calendar months can be as short as 28 days.
func minSpacing(tf sdk.Timeframe) int64 {
	if tf == "1M" {
		return 28 * clock.DayMs
	}
	return tf.Millis()
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Kind says which checks apply to a file's values: the one candle rule set,
// keyed by the kind of series (market.CandleType.Kind maps candle types).
type Kind int

// The kinds of series.
const (
	// Candles are traded candles (spot, futures): positive finite prices
	// with low <= open, close <= high and a finite volume >= 0.
	Candles Kind = iota
	// Indicative series are premium-index prices and funding rates: prices
	// finite, of any sign, no OHLC ordering rule; volume finite and >= 0.
	// The readers ([LoadRange]) read a null or NaN volume as 0, and the
	// spacing check tolerates timestamps up to one second off the
	// timeframe's grid, as exchanges stamp funding events a few
	// milliseconds late.
	Indicative
	// IndicativePrices are mark and index prices: positive finite prices
	// with low <= high (open and close may lie outside [low, high]: the
	// exchange samples them apart) and a finite volume >= 0. The readers
	// and the spacing check treat them as [Indicative].
	IndicativePrices
)

// String returns "candles", "indicative" or "indicative prices".
func (k Kind) String() string {
	switch k {
	case Candles:
		return "candles"
	case Indicative:
		return "indicative"
	case IndicativePrices:
		return "indicative prices"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) valid() bool { return k == Candles || k == Indicative || k == IndicativePrices }

// indicative reports whether the series is derived by the exchange rather
// than traded: its readers take a missing volume for 0 and its times may
// be a little off the grid.
func (k Kind) indicative() bool { return k == Indicative || k == IndicativePrices }

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

// ValidateKind checks f like [Validate] with the value rules of kind (see
// [CheckCandle]; a NaN volume is an error here, the readers turn it into 0
// for the indicative kinds), the spacing check of the indicative kinds
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
	if kind.indicative() && tf != "" {
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
	for i := range op {
		o, h, l, c, v := op[i], hi[i], lo[i], cl[i], vo[i]
		// candleOK's rule for Candles written out: the hot path of every
		// load stays inlined.
		if kind == Candles && l > 0 && h >= l && o >= l && o <= h && c >= l && c <= h && h <= math.MaxFloat64 && v >= 0 && v <= math.MaxFloat64 ||
			kind != Candles && candleOK(kind, o, h, l, c, v) {
			continue
		}
		col, msg := CheckCandle(kind, o, h, l, c, v)
		return rowErr(source, first+a+i, col, msg)
	}
	return nil
}

// candleOK is the fast check of CheckCandle: it reports whether the candle
// passes every rule of kind (NaN fails every comparison).
func candleOK(kind Kind, o, h, l, c, v float64) bool {
	volOK := v >= 0 && v <= math.MaxFloat64
	switch kind {
	case Candles:
		return l > 0 && h >= l && o >= l && o <= h && c >= l && c <= h && h <= math.MaxFloat64 && volOK
	case IndicativePrices:
		return l > 0 && h >= l && o > 0 && c > 0 && h <= math.MaxFloat64 && o <= math.MaxFloat64 && c <= math.MaxFloat64 && volOK
	}
	// x-x is 0 for finite x and NaN for NaN and ±Inf.
	return o-o+h-h+l-l+c-c == 0 && volOK
}

// CheckCandle checks one candle's values by the rules of kind and returns
// the column and what is wrong, or "", "" when the candle is fine:
//   - [Candles]: open, high, low and close finite and positive, open and
//     close within [low, high];
//   - [IndicativePrices]: open, high, low and close finite and positive,
//     low <= high;
//   - [Indicative]: open, high, low and close finite, of any sign;
//   - all kinds: volume finite and not negative.
//
// It is the one candle rule set: [Validate], the file readers, the
// importer and the downloader apply it.
func CheckCandle(kind Kind, o, h, l, c, v float64) (column, msg string) {
	if candleOK(kind, o, h, l, c, v) {
		return "", ""
	}
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
		case p.v <= 0 && kind != Indicative:
			return p.name, fmt.Sprintf("%s %s is not a positive price", p.name, fmtNum(p.v))
		}
	}
	switch {
	case kind != Indicative && h < l:
		return "high", fmt.Sprintf("high %s is below low %s", fmtNum(h), fmtNum(l))
	case kind == Candles && (o < l || o > h):
		return "open", fmt.Sprintf("open %s is outside the candle's low-high range [%s, %s]", fmtNum(o), fmtNum(l), fmtNum(h))
	case kind == Candles && (c < l || c > h):
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

// rowErr builds the error for the 0-based row i.
func rowErr(source string, i int, column, msg string) *RowError {
	return &RowError{File: source, Row: i + 1, Column: column, Msg: msg}
}
