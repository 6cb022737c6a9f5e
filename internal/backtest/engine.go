package backtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/hugepage"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Settings are the resolved account and trade rules of one simulation.
// The account fields are a [trade.Account]'s (see [Settings.Account]).
type Settings struct {
	Rules trade.Rules
	// Fill turns the policy's exit intents into fills inside a candle;
	// nil means trade.Realistic, the fill_model default.
	Fill                 trade.FillModel
	StartingBalance      float64
	StakeAmount          float64 // fixed stake per trade; 0 means "unlimited"
	TradableBalanceRatio float64
	MaxOpenTrades        int // -1 = unlimited
	AllowShort           bool
	// ScanAhead lets a run of several pairs scan them ahead of the
	// ordered pass on the other cores (see [Simulate]): for a backtest
	// that has the machine to itself. An optimiser, which runs its trials
	// in parallel, leaves it off: the scans cost CPU time of their own.
	ScanAhead bool
	// Closed, when not nil, is called with each trade as it closes, in
	// the order of the result's trade list (the forced exits at the end
	// last), on the simulating goroutine: for work on a trade that can
	// begin before the run ends. The trade is the result's (the last of
	// its trade list so far), which the run does not change again: Closed
	// may keep the pointer and read it on another goroutine, until the
	// result is reused (SimulateReusing).
	Closed func(*trade.Trade)
}

// NewSettings returns the settings of a simulation that trades with rules
// and acct, taking short entries when allowShort.
func NewSettings(rules trade.Rules, acct trade.Account, allowShort bool) Settings {
	return Settings{
		Rules:                rules,
		StartingBalance:      acct.StartingBalance,
		StakeAmount:          acct.StakeAmount,
		TradableBalanceRatio: acct.TradableBalanceRatio,
		MaxOpenTrades:        acct.MaxOpenTrades,
		AllowShort:           allowShort,
	}
}

// Account returns the portfolio settings of s.
func (s *Settings) Account() trade.Account {
	return trade.Account{
		StartingBalance:      s.StartingBalance,
		StakeAmount:          s.StakeAmount,
		TradableBalanceRatio: s.TradableBalanceRatio,
		MaxOpenTrades:        s.MaxOpenTrades,
	}
}

// Series is one pair's candles with signals populated. Candles [From, To)
// are the backtested range; the candle at From is traded only through its
// signals (a signal acts on the next candle's open), exactly as Freqtrade
// drops the first row of the range after shifting the signals.
type Series struct {
	Frame    *sdk.Frame
	From, To int
}

// pairState is the simulation state of one pair.
type pairState struct {
	f         *sdk.Frame
	j, to     int
	id        trade.PairID    // in the portfolio
	tr        *trade.Trade    // the pair's open trade in the portfolio, or nil
	watch     trade.ExitWatch // tr's, for the candles that trigger nothing
	lastClose float64
	// firstClose is the close of the range's first candle, where buy and
	// hold of the pair starts.
	firstClose float64
	// entry is the pair's next candle from j on that may open a trade
	// (see nextEntry), to when there is none; below j when not yet found.
	entry int
	// streamed sums the open prices of the quiet candles an open trade
	// rode through, read only so that the processor's prefetcher streams
	// the open column on, as it does the columns read candle by candle:
	// the candle after the ride reads its open, which would otherwise wait
	// for memory (about 100 ns a trade; a sixth of the simulation's CPU).
	// It is kept so that the reads are made.
	streamed float64
	// ahead is the pair's scan ahead (nil when the run has none), and
	// quietTo the end of tr's candles that it found quiet: checkExit
	// steps through them without asking the policy.
	ahead   *aheadScan
	quietTo int
}

// nextEntry returns the pair's first candle from p.j on that may open a
// trade: one after an entry signal on a side the policy trades (short
// too when short), not the range's last; p.to when there is none.
func (p *pairState) nextEntry(short bool) int {
	if p.entry >= p.j {
		return p.entry
	}
	p.entry = p.to
	// The signals of candles j-1 … to-3 act on candles j … to-2.
	lo, hi := p.j-1, p.to-2
	if lo >= hi {
		return p.entry
	}
	var shorts []bool
	if short {
		shorts = p.f.EnterShort[lo:hi]
	}
	if x := firstTrue(p.f.EnterLong[lo:hi], shorts); x < hi-lo {
		p.entry = lo + x + 1
	}
	return p.entry
}

// takeAhead takes the scan ahead's quiet run for the trade just opened on
// the pair's candle j from entry x, when the trade's quiet candles are the
// scan's stand-in trade's.
func (p *pairState) takeAhead(pol *trade.Policy, x trade.Enter, j int) {
	r, ok := p.ahead.at(j)
	if !ok || r.end <= j {
		return
	}
	tr := p.tr
	stand := pol.Rules.Open(x.Pair, x.Short, tr.OpenTime, x.Price, p.ahead.stake, x.Tag)
	if pol.SameQuiet(&stand, tr) {
		tr.MaxRate, tr.MinRate = r.maxRate, r.minRate
		p.quietTo = r.end
	}
}

// advance moves the pair through its candles before index k (> p.j), on
// which nothing happens but the bookkeeping of the last close, and returns
// the time of the last of them.
func (p *pairState) advance(k int) int64 {
	p.lastClose = p.f.Close[k-1]
	p.j = k
	return p.f.Time[k-1]
}

// firstFrom returns the index of the pair's first candle from p.j on at or
// after time t (p.to when there is none). It searches the candles close to
// p.j first: the stretches skipped are short, the series long.
func (p *pairState) firstFrom(t int64) int {
	// Idle stretches end at the pair's next entry, already found.
	if e := p.entry; e >= p.j && e < p.to && p.f.Time[e] == t {
		return e
	}
	times := p.f.Time[p.j:p.to]
	lo, hi := 0, 1
	for hi < len(times) && times[hi-1] < t {
		lo, hi = hi, 2*hi
	}
	hi = min(hi, len(times))
	k, _ := slices.BinarySearch(times[lo:hi], t)
	return p.j + lo + k
}

// Simulate runs the portfolio simulation over series, processed together
// in time order: on each candle the trade policy decides (entry and exit
// intents from the previous candle's signals and this candle's prices),
// the fill model s.Fill fills the exits inside the candle and entries at
// its open, and the portfolio records them. Within one candle time, the
// pairs holding an open trade go first, in the order their trades opened,
// each checked for an exit; then the other pairs in the order given, each
// taking a pending entry (into a slot an exit at this time may have freed)
// and checking the new trade for an exit on its entry candle. This is
// Freqtrade's order. Only those pairs are visited at a candle time: a pair
// without a trade is visited at its candles that may open one (after an
// entry signal), its other candles change nothing but its last close,
// brought up to date before each daily equity point.
//
// With s.ScanAhead, a run of several pairs on more than one core, spot and
// without a trailing stop, scans each pair's candles ahead of that ordered pass in a
// goroutine of its own (see aheadScan): the candles on which a trade
// entered at each possible entry triggers no exit, which do not depend on
// the wallet or the slots. The ordered pass then takes slots and money,
// records trades and tracks the equity, and asks the policy only on the
// candles after those. Futures runs (the liquidation price depends on the
// stake), runs with a trailing stop (it moves on every candle) and
// one-pair runs keep the ordered pass alone. The results are the same; the
// scans cost about a quarter more CPU time (each possible entry is scanned,
// taken or not) for less wall time.
func Simulate(ctx context.Context, s Settings, series []Series) (*result.Result, error) {
	return simulate(ctx, s, series, aheadFor(s, series), nil)
}

// aheadFor says whether a run of s on series scans ahead (see Simulate).
func aheadFor(s Settings, series []Series) bool {
	return s.ScanAhead && len(series) > 1 && runtime.GOMAXPROCS(0) > 1 && !s.Rules.Futures && !s.Rules.Risk.TrailingStop
}

// simulate is Simulate, with the scans ahead when ahead, writing the
// result into old's memory (see Prepared.SimulateReusing) when old is not
// nil.
func simulate(ctx context.Context, s Settings, series []Series, ahead bool, old *result.Result) (*result.Result, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("backtest: no pairs to simulate")
	}
	tfMs := s.Rules.TimeframeMinutes * 60_000
	pf, err := trade.NewPortfolio(s.Account())
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	states := make([]pairState, len(series))
	res := old
	var trades []trade.Trade
	var equityPoints, benchmark []result.EquityPoint
	if res != nil {
		trades, equityPoints, benchmark = res.Trades, res.Equity, res.Benchmark
	} else {
		res = &result.Result{}
	}
	*res = result.Result{StartingBalance: s.StartingBalance, MaxOpenTrades: s.MaxOpenTrades, Start: math.MaxInt64, End: math.MinInt64,
		MinimalROI: reuseClone(res.MinimalROI, s.Rules.Risk.MinimalROI), Params: res.Params, Pairs: res.Pairs}
	var change float64
	for k, sr := range series {
		f := sr.Frame
		if !f.HasSignals() {
			return nil, fmt.Errorf("backtest: %s has no signal columns", f.Pair)
		}
		if sr.From < 0 || sr.To > f.Len() || sr.From >= sr.To {
			return nil, fmt.Errorf("backtest: %s: no candles in the selected range", f.Pair)
		}
		id, err := pf.Add(f.Pair)
		if err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		states[k] = pairState{f: f, j: sr.From + 1, to: sr.To, id: id, lastClose: f.Close[sr.From], firstClose: f.Close[sr.From]}
		res.Start = min(res.Start, f.Time[sr.From])
		res.End = max(res.End, f.Time[sr.To-1])
		res.Candles += sr.To - sr.From
		change += f.Close[sr.To-1]/f.Close[sr.From] - 1
	}
	res.MarketChange = change / float64(len(series))
	if old != nil {
		// A reused result's list grows as trades close and keeps its
		// largest size for the next simulation: an optimiser's trials
		// close far fewer trades than the bound, which would hold that
		// much memory per trial in flight.
		res.Trades = trades[:0]
	} else {
		res.Trades = make([]trade.Trade, 0, tradesBound(s, series))
		hugepage.AdviseSlice(res.Trades) // filled as trades close: a fault per 2 MB, not per 4 KB
	}
	// One equity and benchmark point a UTC day and one at the end: the
	// lists are made that long once, not grown.
	points := int(clock.Day(res.End)-clock.Day(res.Start)) + 2
	res.Equity, res.Benchmark = reuseCap(equityPoints, points), reuseCap(benchmark, points)

	// hold is the benchmark's equity: the starting balance split equally
	// over the pairs, each bought at its first close and held.
	hold := func() float64 {
		var sum float64
		for k := range states {
			sum += states[k].lastClose / states[k].firstClose
		}
		return s.StartingBalance * sum / float64(len(states))
	}

	fill := s.Fill
	if fill == nil {
		fill = trade.Realistic{}
	}
	pol := &trade.Policy{Rules: s.Rules, AllowShort: s.AllowShort}
	if ahead {
		// The scans read the frames: they end before Simulate returns.
		var wg sync.WaitGroup
		done := make(chan struct{})
		defer wg.Wait()
		defer close(done)
		stake := standInStake(s)
		for k := range states {
			states[k].ahead = startAhead(&wg, done, pol, series[k], stake)
		}
	}
	var (
		rules    = &pol.Rules
		peak     = s.StartingBalance
		peakTime = res.Start
		equity   = s.StartingBalance
		// nextDay is the start of the UTC day after the previous step's;
		// MinInt64 before the first step.
		nextDay = int64(math.MinInt64)
		prevT   int64
		steps   int
	)
	// ddFloor is an equity at or above which the drawdown from the current
	// peak is not above the largest so far (the drawdown falls as the
	// equity rises, also as rounded): most candles need no division.
	ddFloor := math.Inf(1)
	// mark records the equity at the close of the candle at t in the peak
	// and the largest drawdown.
	mark := func(t int64) {
		if equity > peak {
			peak, peakTime, ddFloor = equity, t+tfMs, math.Inf(1)
		} else if equity < ddFloor {
			if dd := (peak - equity) / peak; dd > res.MaxDrawdownEquity {
				res.MaxDrawdownEquity = dd
				res.MaxDrawdownEquityAbs = peak - equity
				res.MaxDrawdownEquityPeak = peakTime
				res.MaxDrawdownEquityTrough = t + tfMs
			}
			ddFloor = equity
		}
	}
	// newDay records the daily points of the day before the step at t,
	// which starts a day.
	newDay := func(t int64) {
		if nextDay != math.MinInt64 {
			res.Equity = append(res.Equity, result.EquityPoint{Time: prevT + tfMs, Equity: equity})
			res.Benchmark = append(res.Benchmark, result.EquityPoint{Time: prevT + tfMs, Equity: hold()})
		}
		nextDay = (clock.Day(t) + 1) * clock.DayMs
	}
	// held lists the pairs holding an open trade, in the order the trades
	// opened.
	held := make([]int, 0, len(states))
	// checkExit checks pair p's open trade, if any, for an exit on its
	// candle at time t, and moves p to its next candle.
	checkExit := func(p *pairState, t int64) error {
		j, f := p.j, p.f
		if tr := p.tr; tr != nil {
			if j < p.quietTo { // quiet, as the scan ahead found
				p.lastClose = f.Close[j]
				p.j++
				return nil
			}
			i := j - 1 // the candle whose signals act now
			c := trade.Candle{Time: t, Open: f.Open[j], High: f.High[j], Low: f.Low[j], Close: f.Close[j]}
			if tr.IsShort {
				c.Enter, c.Exit = f.EnterShort[i], f.ExitShort[i]
			} else {
				c.Enter, c.Exit = f.EnterLong[i], f.ExitLong[i]
			}
			if p.watch.Quiet(pol, tr, c) {
				p.lastClose = f.Close[j]
				p.j++
				return nil
			}
			var xs trade.Exits
			if pol.Exit(tr, c, &xs); xs.Len() > 0 {
				if x, rate, ok := trade.FillExit(fill, rules, tr, c, &xs); ok {
					rules.Close(tr, t, rate, x.Reason)
					closed, err := pf.Close(p.id)
					if err != nil {
						return fmt.Errorf("backtest: %w", err)
					}
					res.Trades = append(res.Trades, *closed)
					if s.Closed != nil {
						s.Closed(&res.Trades[len(res.Trades)-1])
					}
					p.tr = nil
				}
			}
		}
		p.lastClose = f.Close[j]
		p.j++
		return nil
	}
	// The ordered pass visits, at each candle time, only the pairs whose
	// candle then can change something: those holding an open trade (in
	// held), and those whose candle may open one (after an entry signal on
	// a side the policy trades, see nextEntry), at wake[k], the candle's
	// time (MaxInt64 for a pair holding a trade or without such a candle).
	// The other pairs are left behind (parked): on their candles nothing
	// happens but the bookkeeping of their last close, and the equity stays
	// as at the step before (it counts the open trades' pairs only), so the
	// peak and drawdown cannot change. catchUp brings them to a time; it
	// runs before the daily points (the benchmark counts every pair's last
	// close), and dayStart keeps a step at the first candle of each UTC
	// day, of any pair, so that the points fall as they would with every
	// candle time stepped.
	wake := make([]int64, len(states))
	// parkAt returns the time of the pair's next candle that may open a
	// trade, MaxInt64 when none does.
	parkAt := func(p *pairState) int64 {
		if p.j < p.to {
			if e := p.nextEntry(pol.AllowShort); e < p.to {
				return p.f.Time[e]
			}
		}
		return math.MaxInt64
	}
	// minWake is the earliest of wake.
	minWake := int64(math.MaxInt64)
	for k := range states {
		wake[k] = parkAt(&states[k])
		minWake = min(minWake, wake[k])
	}
	// catchUp moves every pair without an open trade through its candles
	// before time t, noting the last as the step before.
	catchUp := func(t int64) {
		for k := range states {
			if p := &states[k]; p.tr == nil && p.j < p.to {
				i := p.to
				if t != math.MaxInt64 {
					i = p.firstFrom(t)
				}
				if i > p.j {
					prevT = max(prevT, p.advance(i))
				}
			}
		}
	}
	// dayStart is the time of the first candle of any pair at or after
	// nextDay (MaxInt64 when none), for dayFor = nextDay.
	dayStart, dayFor := int64(math.MaxInt64), int64(math.MinInt64)
	nextDayStart := func() int64 {
		if dayFor != nextDay {
			dayStart, dayFor = math.MaxInt64, nextDay
			for k := range states {
				if p := &states[k]; p.j < p.to {
					if i := p.firstFrom(nextDay); i < p.to {
						dayStart = min(dayStart, p.f.Time[i])
					}
				}
			}
		}
		return dayStart
	}
	// opened lists the pairs holding an open trade in the pairs' order:
	// the mark to market adds their profits in that order.
	opened := make([]int, 0, len(states))
	// ride steps the open trade of a backtest of one pair from its next
	// candle through the candles that trigger no exit (see trade.ExitWatch):
	// on those the step is the trade's mark to market. It returns the time
	// of the first candle that may trigger one, MaxInt64 after the last.
	ride := func() int64 {
		p := &states[0]
		f, tr, j := p.f, p.tr, p.j
		enter, exit := f.EnterLong, f.ExitLong
		if tr.IsShort {
			enter, exit = f.EnterShort, f.ExitShort
		}
		n := p.watch.QuietRun(pol, tr, f.Time[j:p.to], f.High[j:p.to], f.Low[j:p.to], enter[j-1:p.to-1], exit[j-1:p.to-1])
		// The mark to market of those candles, tr.ProfitAbsAt's terms with
		// the fixed ones computed once: the profit at a zero price is
		// minus the entry's cost (a short's: plus its proceeds), and the
		// conversions keep the products rounded as ProfitAbsAt's (unfused).
		balance, amount, base := pf.Balance(), tr.Amount, tr.ProfitAbsAt(0)
		short, fee := tr.IsShort, 1-tr.FeeClose
		if short {
			fee = 1 + tr.FeeClose
		}
		times, closes, opens := f.Time[j:j+n], f.Close[j:j+n], f.Open[j:j+n]
		last := p.lastClose
		// The open prices are read only for the prefetcher (see
		// pairState.streamed).
		var streamed float64
		for k, c := range closes {
			streamed += opens[k]
			if t := times[k]; t >= nextDay {
				p.lastClose = last
				newDay(t)
			}
			if short {
				equity = balance + (base - float64(amount*c*fee))
			} else {
				equity = balance + (float64(amount*c*fee) + base)
			}
			mark(times[k])
			prevT, last = times[k], c
		}
		p.lastClose, p.streamed = last, p.streamed+streamed
		steps += n
		p.j = j + n
		if p.j == p.to {
			return math.MaxInt64
		}
		return f.Time[p.j]
	}
	t := int64(math.MaxInt64)
	for k := range states {
		if p := &states[k]; p.j < p.to {
			t = min(t, p.f.Time[p.j])
		}
	}
	for nextCheck := 0; t != math.MaxInt64; {
		if steps++; steps >= nextCheck {
			nextCheck = steps + 1<<16
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("backtest cancelled: %w", err)
			}
		}
		if len(held) == 1 && len(states) == 1 {
			if t = ride(); t == math.MaxInt64 {
				break
			}
		}
		if t >= nextDay { // a new UTC day (the times increase)
			catchUp(t)
			newDay(t)
		}
		next := int64(math.MaxInt64) // the following time to step, found on the way
		// Pairs holding an open trade go first, in the order their trades
		// opened: their exits free slots and money for the entries that
		// follow at this time (Freqtrade's order).
		kept := held[:0]
		for _, k := range held {
			p := &states[k]
			if p.j < p.to && p.f.Time[p.j] == t {
				if err := checkExit(p, t); err != nil {
					return nil, err
				}
			}
			if p.tr == nil {
				opened = slices.DeleteFunc(opened, func(o int) bool { return o == k })
				wake[k] = parkAt(p)
				minWake = min(minWake, wake[k])
				continue
			}
			kept = append(kept, k)
			if p.j < p.to {
				next = min(next, p.f.Time[p.j])
			}
		}
		held = kept
		// Then the pairs whose candle at this time may open a trade, in the
		// order given.
		if t == minWake {
			minWake = math.MaxInt64
			for k, w := range wake {
				if w != t {
					minWake = min(minWake, w)
					continue
				}
				p := &states[k]
				f := p.f
				j := p.entry // the candle at t, found by parkAt
				if j > p.j {
					p.advance(j)
				}
				i := j - 1 // the candle whose signals act now
				sig := trade.Signals{EnterLong: f.EnterLong[i], ExitLong: f.ExitLong[i]}
				if pol.AllowShort { // else the short columns are not read (nor faulted in)
					sig.EnterShort, sig.ExitShort = f.EnterShort[i], f.ExitShort[i]
				}
				if f.EnterTag != nil {
					sig.Tag = f.EnterTag[i]
				}
				// The order goes at this candle's open and fills there.
				if x, ok := pol.Enter(pf, p.id, sig, f.Open[j]); ok {
					tr, err := pf.Open(p.id, rules.Open(x.Pair, x.Short, t, x.Price, x.Stake, x.Tag))
					if err != nil {
						return nil, fmt.Errorf("backtest: %w", err)
					}
					p.tr, p.watch, p.quietTo = tr, trade.ExitWatch{}, 0
					if p.ahead != nil {
						p.takeAhead(pol, x, j)
					}
				}
				// A trade entered on this candle is checked on it too.
				if err := checkExit(p, t); err != nil {
					return nil, err
				}
				if p.tr != nil {
					held = append(held, k)
					at, _ := slices.BinarySearch(opened, k)
					opened = slices.Insert(opened, at, k)
					wake[k] = math.MaxInt64
					if p.j < p.to {
						next = min(next, f.Time[p.j])
					}
				} else {
					wake[k] = parkAt(p)
				}
				minWake = min(minWake, wake[k])
			}
		}
		next = min(next, minWake)
		// Mark to market at this candle's close.
		equity = pf.Balance()
		for _, k := range opened {
			p := &states[k]
			equity += p.tr.ProfitAbsAt(p.lastClose)
		}
		mark(t)
		prevT, t = t, min(next, nextDayStart())
	}
	catchUp(math.MaxInt64)
	// Trades still open close at their pair's last close.
	for k := range states {
		p := &states[k]
		if p.tr == nil {
			continue
		}
		last := p.to - 1
		rules.Close(p.tr, p.f.Time[last], p.f.Close[last], trade.ExitForce)
		closed, err := pf.Close(p.id)
		if err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		res.Trades = append(res.Trades, *closed)
		if s.Closed != nil {
			s.Closed(&res.Trades[len(res.Trades)-1])
		}
		p.tr = nil
	}
	res.FinalBalance = pf.Balance()
	if nextDay != math.MinInt64 {
		res.Equity = append(res.Equity, result.EquityPoint{Time: prevT + tfMs, Equity: res.FinalBalance})
		res.Benchmark = append(res.Benchmark, result.EquityPoint{Time: prevT + tfMs, Equity: hold()})
	} else {
		res.Equity, res.Benchmark = nil, nil // no step: none, as before
	}
	return res, nil
}

// reuseCap returns s emptied when it holds n values, else a new empty
// slice that does.
func reuseCap[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:0]
	}
	return make([]E, 0, n)
}

// maxTradesCap and candlesPerTradeCap limit the trade list allocated up
// front: to 2^17 trades (about 26 MB of address space), or in a longer run
// one trade for every 64 candles (4 MB per million candles: 7% of the
// candle columns' bytes). Either is only touched as trades close.
const (
	maxTradesCap       = 1 << 17
	candlesPerTradeCap = 64
)

// tradesBound is the capacity the trade list starts with: each trade opens
// on a candle after an entry signal, so there are at most as many trades
// as candles with one (up to the caps above). Growing the list instead
// would copy it about twice over, into freshly faulted memory, and leave
// the old copies to the collector: with 20 pairs of 5M candles, about 1 GB.
func tradesBound(s Settings, series []Series) int {
	var candles int
	for _, sr := range series {
		candles += sr.To - sr.From
	}
	limit := max(maxTradesCap, candles/candlesPerTradeCap)
	var n int
	for _, sr := range series {
		f := sr.Frame
		n += countTrue(f.EnterLong[sr.From : sr.To-1])
		if s.AllowShort {
			n += countTrue(f.EnterShort[sr.From : sr.To-1])
		}
		if n >= limit {
			return limit
		}
	}
	return n
}

// countTrue counts the true values of b, eight at a time.
func countTrue(b []bool) int {
	s := boolBytes(b)
	var n int
	for ; len(s) >= 8; s = s[8:] {
		// Each byte is 0 or 1: the top byte of the product sums them.
		n += int(binary.LittleEndian.Uint64(s) * 0x0101010101010101 >> 56)
	}
	for _, v := range s {
		n += int(v)
	}
	return n
}

// firstTrue returns the first index at which a, or b (nil, or as long as
// a), is true; len(a) when there is none. It reads eight values at a time.
func firstTrue(a, b []bool) int {
	sa, sb := boolBytes(a), boolBytes(b)
	if sb != nil {
		sb = sb[:len(sa)]
	}
	k := 0
	for ; k+8 <= len(sa); k += 8 {
		w := binary.LittleEndian.Uint64(sa[k:])
		if sb != nil {
			w |= binary.LittleEndian.Uint64(sb[k:])
		}
		if w != 0 {
			return k + bits.TrailingZeros64(w)/8
		}
	}
	for ; k < len(sa); k++ {
		if sa[k] != 0 || sb != nil && sb[k] != 0 {
			return k
		}
	}
	return len(sa)
}

// boolBytes is b as it lies in memory: a byte a value, 0 or 1; nil for nil.
func boolBytes(b []bool) []byte {
	if b == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}
