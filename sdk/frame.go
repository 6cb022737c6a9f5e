package sdk

// Frame is a series of candles for one pair and timeframe, stored as columns.
// Time holds each candle's open time in Unix milliseconds, UTC, strictly
// increasing. All columns have the same length.
//
// The signal columns are filled by a strategy's Populate (or loaded from a
// data file by the "signals" strategy). They are nil until [Frame.EnsureSignals]
// allocates them. EnterTag is optional: nil unless a strategy tags entries,
// in which case it has one (possibly empty) tag per candle.
type Frame struct {
	Pair      string
	Timeframe Timeframe

	Time   []int64
	Open   []float64
	High   []float64
	Low    []float64
	Close  []float64
	Volume []float64

	EnterLong  []bool
	ExitLong   []bool
	EnterShort []bool
	ExitShort  []bool
	EnterTag   []string
}

// Len returns the number of candles.
func (f *Frame) Len() int { return len(f.Time) }

// EnsureSignals allocates the four signal columns (all false) if they are
// missing or of the wrong length. Existing signals of the right length are
// kept.
func (f *Frame) EnsureSignals() {
	n := f.Len()
	if len(f.EnterLong) != n {
		f.EnterLong = make([]bool, n)
	}
	if len(f.ExitLong) != n {
		f.ExitLong = make([]bool, n)
	}
	if len(f.EnterShort) != n {
		f.EnterShort = make([]bool, n)
	}
	if len(f.ExitShort) != n {
		f.ExitShort = make([]bool, n)
	}
}

// SetEnterTag records tag for candle i, allocating the tag column on first
// use.
func (f *Frame) SetEnterTag(i int, tag string) {
	if f.EnterTag == nil {
		f.EnterTag = make([]string, f.Len())
	}
	f.EnterTag[i] = tag
}

// HasSignals reports whether the signal columns are present.
func (f *Frame) HasSignals() bool {
	n := f.Len()
	return len(f.EnterLong) == n && len(f.ExitLong) == n && len(f.EnterShort) == n && len(f.ExitShort) == n
}

// Slice returns a frame viewing candles [from, to) of f. Columns share memory
// with f; nil columns stay nil.
func (f *Frame) Slice(from, to int) *Frame {
	s := &Frame{Pair: f.Pair, Timeframe: f.Timeframe}
	s.Time = f.Time[from:to]
	s.Open, s.High, s.Low, s.Close, s.Volume = f.Open[from:to], f.High[from:to], f.Low[from:to], f.Close[from:to], f.Volume[from:to]
	if f.HasSignals() {
		s.EnterLong, s.ExitLong = f.EnterLong[from:to], f.ExitLong[from:to]
		s.EnterShort, s.ExitShort = f.EnterShort[from:to], f.ExitShort[from:to]
	}
	if f.EnterTag != nil {
		s.EnterTag = f.EnterTag[from:to]
	}
	return s
}

// Search returns the index of the first candle whose open time is at or
// after ms (Len() if there is none).
func (f *Frame) Search(ms int64) int {
	lo, hi := 0, len(f.Time)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.Time[m] < ms {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
