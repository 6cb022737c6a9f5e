package checks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/tradai/tradai/sdk"
)

// populate is the populate check: Populate succeeds on a copy of the whole
// frame and leaves four signal columns of the frame's length (and an
// enter_tag column of that length or none). The populated copy is the
// reference the other checks compare with.
func (c *frameCheck) populate() Result {
	r := Result{Name: Populate, Pair: c.src.Pair}
	n := c.src.Len()
	if n == 0 {
		r.Status, r.Summary = Fail, "the frame has no candles"
		return r
	}
	c.full = candles(c.src, 0, n)
	if err := populate(c.s, c.full, c.params); err != nil {
		r.Status, r.Summary = Fail, fmt.Sprintf("Populate failed on all %d candles: %v", n, err)
		return r
	}
	counts := map[string]int{}
	for i := range n {
		for _, col := range signalColumns[:4] {
			if fires(c.full, col, i) {
				counts[col]++
			}
		}
		if c.full.EnterTag != nil && c.full.EnterTag[i] != "" {
			counts[colEnterTag]++
		}
	}
	var parts []string
	for _, col := range signalColumns {
		if counts[col] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", col, counts[col]))
		}
	}
	r.Status = Pass
	if len(parts) == 0 {
		r.Summary = fmt.Sprintf("%d candles; no signal fires", n)
		r.Details = []string{"no signal fires on this data, so the lookahead check can only test candles without signals"}
	} else {
		r.Summary = fmt.Sprintf("%d candles; signals: %s", n, strings.Join(parts, ", "))
	}
	return r
}

// mutation is the mutation check: after Populate, the copy it worked on
// still holds the source's pair, timeframe and candle columns, bit for bit.
func (c *frameCheck) mutation() Result {
	r := Result{Name: Mutation, Pair: c.src.Pair, Differences: map[string]int{}}
	var problems []string
	if c.full.Pair != c.src.Pair || c.full.Timeframe != c.src.Timeframe {
		problems = append(problems, fmt.Sprintf("Populate changed the frame's pair/timeframe from %s %s to %s %s",
			c.src.Pair, c.src.Timeframe, c.full.Pair, c.full.Timeframe))
	}
	if len(c.full.Time) != len(c.src.Time) {
		problems = append(problems, fmt.Sprintf("Populate replaced time with a column of %d values (was %d)", len(c.full.Time), len(c.src.Time)))
	} else {
		for i, t := range c.src.Time {
			if c.full.Time[i] != t {
				r.Differences["time"]++
				if len(r.Examples) < c.opts.Examples {
					r.Examples = append(r.Examples, c.example(i, "time", strconv.FormatInt(t, 10), strconv.FormatInt(c.full.Time[i], 10), ""))
				}
			}
		}
	}
	cols := []struct {
		name      string
		was, left []float64
	}{
		{"open", c.src.Open, c.full.Open}, {"high", c.src.High, c.full.High}, {"low", c.src.Low, c.full.Low},
		{"close", c.src.Close, c.full.Close}, {"volume", c.src.Volume, c.full.Volume},
	}
	for _, col := range cols {
		if len(col.left) != len(col.was) {
			problems = append(problems, fmt.Sprintf("Populate replaced %s with a column of %d values (was %d)", col.name, len(col.left), len(col.was)))
			continue
		}
		for i, v := range col.was {
			if math.Float64bits(col.left[i]) != math.Float64bits(v) {
				r.Differences[col.name]++
				if len(r.Examples) < c.opts.Examples {
					r.Examples = append(r.Examples, c.example(i, col.name, fmtFloat(v), fmtFloat(col.left[i]), ""))
				}
			}
		}
	}
	for _, name := range []string{"time", "open", "high", "low", "close", "volume"} {
		if k := r.Differences[name]; k > 0 {
			problems = append(problems, fmt.Sprintf("Populate overwrote %s on %s", name, plural(k, "candle", "candles")))
		}
	}
	if len(r.Differences) == 0 {
		r.Differences = nil
	}
	if len(problems) == 0 {
		r.Status, r.Summary = Pass, "candle columns unchanged by Populate"
		return r
	}
	r.Status = Fail
	r.Summary = "Populate modifies the candles: " + strings.Join(problems, "; ")
	r.Details = []string{"a strategy must write only the signal columns; compute indicators into new slices instead of overwriting open/high/low/close/volume/time"}
	return r
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// determinism is the determinism check: Populate on three more fresh copies
// of the frame — one after the other, then two at once on separate
// goroutines — gives signals and tags identical to the reference run at
// every candle.
func (c *frameCheck) determinism() (Result, error) {
	r := Result{Name: Determinism, Pair: c.src.Pair, Differences: map[string]int{}}
	n := c.src.Len()
	runs := make([]*sdk.Frame, 3)
	errs := make([]error, 3)
	runs[0] = candles(c.src, 0, n)
	errs[0] = populate(c.s, runs[0], c.params)
	var wg sync.WaitGroup
	for k := 1; k < 3; k++ {
		runs[k] = candles(c.src, 0, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = populate(c.s, runs[k], c.params)
		}()
	}
	wg.Wait()
	if err := c.ctx.Err(); err != nil {
		return r, err
	}
	notes := []string{"second run", "concurrent run A", "concurrent run B"}
	var problems []string
	differing := 0
	for k, f := range runs {
		if errs[k] != nil {
			problems = append(problems, fmt.Sprintf("the %s failed where the first succeeded: %v", notes[k], errs[k]))
			continue
		}
		runDiff := 0
		for i := range n {
			d := diff(signalsAt(c.full, i), signalsAt(f, i))
			if d == nil {
				continue
			}
			runDiff++
			for _, col := range d {
				r.Differences[col]++
				if len(r.Examples) < c.opts.Examples {
					r.Examples = append(r.Examples, c.example(i, col, signalsAt(c.full, i).value(col), signalsAt(f, i).value(col), notes[k]))
				}
			}
		}
		if runDiff > 0 {
			problems = append(problems, fmt.Sprintf("the %s differs on %s", notes[k], plural(runDiff, "candle", "candles")))
		}
		differing = max(differing, runDiff)
	}
	if len(r.Differences) == 0 {
		r.Differences = nil
	}
	if len(problems) == 0 {
		r.Status, r.Summary = Pass, "identical signals and tags on 3 reruns (1 sequential, 2 concurrent)"
		return r, nil
	}
	r.Status = Fail
	r.Summary = "signals differ between runs on the same candles: " + strings.Join(problems, "; ")
	r.Details = []string{"look for unseeded randomness, map iteration order, time.Now, or state kept in the strategy value between or across calls"}
	return r, nil
}
