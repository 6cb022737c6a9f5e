package checks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// sample picks the candles the lookahead and startup checks test: candles
// j with S <= j <= n-2 (S = declared startup count: the backtester never
// trades earlier candles; the last candle has no future to remove). For each
// of the four signal columns, up to Samples candles where it fires on the
// full data, evenly spread over them; then up to Samples other candles drawn
// with a PRNG seeded from Options.Seed and the pair. It returns how many were
// picked for their signals.
func (c *frameCheck) sample() (withSignal int) {
	lo, hi := c.spec.StartupCandles, c.src.Len()-2
	if hi < lo {
		return 0
	}
	N := c.opts.Samples
	set := map[int]bool{}
	for _, col := range signalColumns[:4] {
		var firing []int
		for j := lo; j <= hi; j++ {
			if fires(c.full, col, j) {
				firing = append(firing, j)
			}
		}
		if len(firing) <= N {
			for _, j := range firing {
				set[j] = true
			}
			continue
		}
		for k := range N {
			set[firing[k*(len(firing)-1)/max(N-1, 1)]] = true
		}
	}
	withSignal = len(set)
	width := hi - lo + 1
	rng := rand.New(rand.NewPCG(c.seed(), 0x5eed))
	for added := 0; added < N && len(set) < width; {
		if j := lo + rng.IntN(width); !set[j] {
			set[j] = true
			added++
		}
	}
	c.samples = make([]int, 0, len(set))
	for j := range set {
		c.samples = append(c.samples, j)
	}
	slices.Sort(c.samples)
	return withSignal
}

// errPopulate marks a Populate failure inside a parallel run, as opposed to
// the context's error.
type errPopulate struct{ err error }

func (e errPopulate) Error() string { return e.err.Error() }
func (e errPopulate) Unwrap() error { return e.err }

// lookahead is the lookahead check. A sampled candle j is biased when any
// of its signals (the four columns or the enter tag) computed on candles
// 0..j differs from the one computed on all candles: the strategy's
// decision at j then depends on candles after j.
func (c *frameCheck) lookahead() (Result, error) {
	r := Result{Name: Lookahead, Pair: c.src.Pair}
	withSignal := c.sample()
	if len(c.samples) == 0 {
		return skipped(Lookahead, c.src.Pair, fmt.Sprintf("%d candles leave none to test after the %d startup candles (need at least %d)",
			c.src.Len(), c.spec.StartupCandles, c.spec.StartupCandles+2)), nil
	}
	r.Sampled = len(c.samples)
	prefix := make([]signals, len(c.samples))
	err := parallel(c.ctx, c.opts.Workers, len(c.samples), func(k int) error {
		j := c.samples[k]
		s, err := populateRange(c.s, c.src, 0, j+1, c.params)
		if err != nil {
			return errPopulate{err}
		}
		prefix[k] = s
		return nil
	})
	var pe errPopulate
	if errors.As(err, &pe) {
		r.Status, r.Summary = Fail, "Populate failed on a truncated frame: "+pe.err.Error()
		return r, nil
	}
	if err != nil {
		return r, err
	}
	c.prefix = prefix
	r.Differences = map[string]int{}
	biased := 0
	for k, j := range c.samples {
		want := signalsAt(c.full, j)
		d := diff(want, prefix[k])
		if d == nil {
			continue
		}
		biased++
		for _, col := range d {
			r.Differences[col]++
			if len(r.Examples) < c.opts.Examples {
				r.Examples = append(r.Examples, c.example(j, col, want.value(col), prefix[k].value(col), "full data vs candles up to this one"))
			}
		}
	}
	tested := fmt.Sprintf("%d sampled candles (%d where a signal fires, %d others)", len(c.samples), withSignal, len(c.samples)-withSignal)
	if biased == 0 {
		r.Differences = nil
		r.Status, r.Summary = Pass, "no signal changes when later candles are removed, at "+tested
		return r, nil
	}
	r.Status = Fail
	r.Summary = fmt.Sprintf("look-ahead bias: signals change when later candles are removed on %d of %s: %s",
		biased, tested, countsText(r.Differences))
	r.Details = []string{
		"the signal at a candle must depend only on that candle and earlier ones; look for indexing i+1, shifting a column backwards, centred windows, or statistics over the whole frame",
	}
	return r, nil
}

// countsText formats per-column counts in column order.
func countsText(m map[string]int) string {
	var parts []string
	for _, col := range signalColumns {
		if m[col] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", col, m[col]))
		}
	}
	return strings.Join(parts, ", ")
}

// window is the outcome of the startup comparison at one startup count.
type window struct {
	checked, differing int
	columns            map[string]int
	examples           []Example
}

// tryStartup compares, at every sampled candle j > count, the signals
// computed on candles j-count..j (count candles of history before j) with
// those computed on candles 0..j. Samples with j <= count have no more
// history than that and are not tested.
func (c *frameCheck) tryStartup(count int) (window, error) {
	var ks []int
	for k, j := range c.samples {
		if j > count {
			ks = append(ks, k)
		}
	}
	got := make([]signals, len(ks))
	err := parallel(c.ctx, c.opts.Workers, len(ks), func(x int) error {
		j := c.samples[ks[x]]
		s, err := populateRange(c.s, c.src, j-count, j+1, c.params)
		if err != nil {
			return errPopulate{err}
		}
		got[x] = s
		return nil
	})
	if err != nil {
		return window{}, err
	}
	w := window{checked: len(ks), columns: map[string]int{}}
	for x, k := range ks {
		d := diff(c.prefix[k], got[x])
		if d == nil {
			continue
		}
		w.differing++
		j := c.samples[k]
		for _, col := range d {
			w.columns[col]++
			if len(w.examples) < c.opts.Examples {
				w.examples = append(w.examples, c.example(j, col, c.prefix[k].value(col), got[x].value(col),
					fmt.Sprintf("all history vs %d startup candles", count)))
			}
		}
	}
	return w, nil
}

// startup is the startup sufficiency check. A startup count is sufficient
// when every sampled candle's signals computed with that many candles
// before it equal those computed with all the history before it. The
// declared count must be sufficient; when it is not, the smallest sufficient
// count is searched for by doubling from the declared count and then
// bisecting, on the same samples (which assumes more history never makes a
// difference reappear).
func (c *frameCheck) startup() (Result, error) {
	r := Result{Name: Startup, Pair: c.src.Pair}
	if len(c.samples) == 0 || c.prefix == nil {
		why := "the lookahead check had nothing to test or failed to populate, so there is no reference"
		if len(c.samples) == 0 {
			why = fmt.Sprintf("%d candles leave none to test after the %d startup candles", c.src.Len(), c.spec.StartupCandles)
		}
		return skipped(Startup, c.src.Pair, why), nil
	}
	S := c.spec.StartupCandles
	fail := func(err error) (Result, error) {
		var pe errPopulate
		if errors.As(err, &pe) {
			r.Status, r.Summary = Fail, "Populate failed on a startup window: "+pe.err.Error()
			return r, nil
		}
		return r, err
	}
	at, err := c.tryStartup(S)
	if err != nil {
		return fail(err)
	}
	r.Sampled = at.checked
	find := &StartupFinding{Declared: S, Differing: at.differing, Sufficient: S, CheckedAt: at.checked}
	r.Startup = find
	if at.differing == 0 {
		r.Status = Pass
		r.Summary = fmt.Sprintf("with %d startup candles, signals match those with all history at %d sampled candles", S, at.checked)
		return r, nil
	}
	r.Differences, r.Examples = at.columns, at.examples
	// Doubling, then bisection between the last insufficient count (lo)
	// and the first sufficient one (hi).
	maxJ := c.samples[len(c.samples)-1]
	lo, hi := S, -1
	var hiWin window
	for hi < 0 {
		next := min(max(1, 2*lo), maxJ-1)
		if next <= lo {
			break
		}
		w, err := c.tryStartup(next)
		if err != nil {
			return fail(err)
		}
		if w.differing == 0 {
			hi, hiWin = next, w
		} else {
			lo = next
		}
	}
	for hi >= 0 && hi-lo > 1 {
		mid := lo + (hi-lo)/2
		w, err := c.tryStartup(mid)
		if err != nil {
			return fail(err)
		}
		if w.differing == 0 {
			hi, hiWin = mid, w
		} else {
			lo = mid
		}
	}
	r.Status = Fail
	head := fmt.Sprintf("declared startup_candle_count %d is not enough: %d of %d sampled candles get other signals than with all history (%s)",
		S, at.differing, at.checked, countsText(at.columns))
	if hi < 0 {
		find.Sufficient, find.CheckedAt = -1, 0
		r.Summary = head + fmt.Sprintf("; signals still differ with %d startup candles, the most the data allows to test", lo)
		r.Details = []string{"an indicator with long or infinite memory (EMA, Wilder RSI) can flip a signal that sits near a threshold whatever the warm-up; see the differing candles"}
		return r, nil
	}
	find.Sufficient, find.CheckedAt = hi, hiWin.checked
	r.Summary = head + fmt.Sprintf("; smallest sufficient startup count: %d (all %d sampled candles with more history match)", hi, hiWin.checked)
	r.Details = []string{fmt.Sprintf("set startup_candle_count to at least %d; the longest indicator period plus the candles a signal looks back (e.g. 1 for a cross) is the usual need", hi)}
	return r, nil
}
