package checks

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/tradai/tradai/sdk"
)

// Signal column names, as in Freqtrade.
const (
	colEnterLong  = "enter_long"
	colExitLong   = "exit_long"
	colEnterShort = "enter_short"
	colExitShort  = "exit_short"
	colEnterTag   = "enter_tag"
)

// signalColumns lists the columns compared, in report order.
var signalColumns = [...]string{colEnterLong, colExitLong, colEnterShort, colExitShort, colEnterTag}

// signals are a frame's signals at one candle.
type signals struct {
	enterLong, exitLong, enterShort, exitShort bool
	tag                                        string
}

// signalsAt returns the signals of populated frame f at candle i.
func signalsAt(f *sdk.Frame, i int) signals {
	s := signals{enterLong: f.EnterLong[i], exitLong: f.ExitLong[i], enterShort: f.EnterShort[i], exitShort: f.ExitShort[i]}
	if f.EnterTag != nil {
		s.tag = f.EnterTag[i]
	}
	return s
}

// value returns column col of s formatted for a report.
func (s signals) value(col string) string {
	switch col {
	case colEnterLong:
		return strconv.FormatBool(s.enterLong)
	case colExitLong:
		return strconv.FormatBool(s.exitLong)
	case colEnterShort:
		return strconv.FormatBool(s.enterShort)
	case colExitShort:
		return strconv.FormatBool(s.exitShort)
	}
	return strconv.Quote(s.tag)
}

// diff returns the columns in which a and b differ.
func diff(a, b signals) []string {
	if a == b {
		return nil
	}
	var out []string
	for _, col := range signalColumns {
		if a.value(col) != b.value(col) {
			out = append(out, col)
		}
	}
	return out
}

// fires reports whether column col (one of the four booleans) is set in f
// at candle i.
func fires(f *sdk.Frame, col string, i int) bool {
	switch col {
	case colEnterLong:
		return f.EnterLong[i]
	case colExitLong:
		return f.ExitLong[i]
	case colEnterShort:
		return f.EnterShort[i]
	case colExitShort:
		return f.ExitShort[i]
	}
	return false
}

// candles returns a copy of candles [from, to) of f with no signal
// columns: fresh slices (capacity = length), so a strategy can neither see
// beyond them nor write into f.
func candles(f *sdk.Frame, from, to int) *sdk.Frame {
	cp := func(x []float64) []float64 { return append(make([]float64, 0, to-from), x[from:to]...) }
	return &sdk.Frame{
		Pair: f.Pair, Timeframe: f.Timeframe,
		Time:   append(make([]int64, 0, to-from), f.Time[from:to]...),
		Open:   cp(f.Open),
		High:   cp(f.High),
		Low:    cp(f.Low),
		Close:  cp(f.Close),
		Volume: cp(f.Volume),
	}
}

// populate runs the strategy on f, turning a panic into an error, and
// checks the signal columns it leaves.
func populate(s sdk.Strategy, f *sdk.Frame, p sdk.Values) (err error) {
	n := f.Len()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if err := s.Populate(f, p); err != nil {
		return err
	}
	if !f.HasSignals() {
		return fmt.Errorf("signal columns missing or not %d long after Populate (call f.EnsureSignals)", n)
	}
	if f.EnterTag != nil && len(f.EnterTag) != n {
		return fmt.Errorf("enter_tag has %d values for %d candles after Populate", len(f.EnterTag), n)
	}
	return nil
}

// populateRange copies candles [from, to) of src, populates them and
// returns the signals at the last one.
func populateRange(s sdk.Strategy, src *sdk.Frame, from, to int, p sdk.Values) (signals, error) {
	f := candles(src, from, to)
	if err := populate(s, f, p); err != nil {
		return signals{}, fmt.Errorf("Populate on candles %d..%d (%s to %s): %w", from, to-1, fmtTime(src.Time[from]), fmtTime(src.Time[to-1]), err)
	}
	return signalsAt(f, to-from-1), nil
}

// parallel calls fn(k) for k in [0, n) on up to workers goroutines. It
// stops handing out work at the first error or when ctx is done, and
// returns the first error (ctx's error wins).
func parallel(ctx context.Context, workers, n int, fn func(k int) error) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n || ctx.Err() != nil || stop() {
					return
				}
				if err := fn(k); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}
