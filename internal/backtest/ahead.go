package backtest

import (
	"sync"

	"github.com/tradai/tradai/internal/trade"
)

// quietRun is what a pair's scan ahead found for a trade entered on candle
// entry with the scan's stand-in stake: candles [entry, end) trigger no
// exit for it ([trade.ExitWatch.Quiet]), leaving it the extreme prices
// maxRate and minRate.
type quietRun struct {
	entry, end       int
	maxRate, minRate float64
}

// aheadChunk is how many quiet runs a scan hands over at a time.
const aheadChunk = 256

// aheadScan scans one pair's candles ahead of the ordered pass of
// Simulate, in its own goroutine: for each candle that may open a trade
// (after an entry signal on one side only), the quiet run of a trade
// entered there with a stand-in stake. A trade's quiet candles depend on
// the stake only through the rounding of its amount, which
// [trade.Policy.SameQuiet] checks when the real trade opens; then the
// ordered pass steps through those candles without asking the policy, and
// asks it on the first candle after them, as the trade's own watch would
// have. The scan runs in chunks a few ahead of the pass, so its memory is
// bounded.
type aheadScan struct {
	runs <-chan []quietRun
	// free takes the chunks read back to the scan, to fill again.
	free chan<- []quietRun
	buf  []quietRun
	k    int
	// stake is the stand-in stake (the fixed stake when there is one).
	stake float64
}

// standInStake is the stake of the trades the scans ahead enter: the fixed
// stake, or else the first trade's.
func standInStake(s Settings) float64 {
	if s.StakeAmount > 0 {
		return s.StakeAmount
	}
	return s.StartingBalance * s.TradableBalanceRatio / float64(max(s.MaxOpenTrades, 1))
}

// aheadWork caps the scan's work at this many times the pair's candles:
// each quiet run it finds is at most aheadWork times the candles between
// two possible entries long on average (a longer one is cut short, and
// the ordered pass asks the policy from where it ends).
const aheadWork = 8

// startAhead starts the scan of series sr's candles under pol with the
// stand-in stake, which stops when done closes; wg waits for it.
func startAhead(wg *sync.WaitGroup, done <-chan struct{}, pol *trade.Policy, sr Series, stake float64) *aheadScan {
	ch, free := make(chan []quietRun, 4), make(chan []quietRun, 4)
	// newChunk is a chunk read back, or a new one.
	newChunk := func() []quietRun {
		select {
		case c := <-free:
			return c[:0]
		default:
			return make([]quietRun, 0, aheadChunk)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		f := sr.Frame
		to := sr.To
		var entries int
		if to-2 > sr.From {
			entries = countTrue(f.EnterLong[sr.From : to-2])
			if pol.AllowShort {
				entries += countTrue(f.EnterShort[sr.From : to-2])
			}
		}
		limit := max(64, aheadWork*(to-sr.From)/max(entries, 1))
		chunk := newChunk()
		// The signals of candles From … to-3 act on candles From+1 … to-2:
		// the last candle opens no trade.
		for e := sr.From + 1; e < to-1; e++ {
			var shorts []bool
			if pol.AllowShort {
				shorts = f.EnterShort[e-1 : to-2]
			}
			e += firstTrue(f.EnterLong[e-1:to-2], shorts)
			if e >= to-1 {
				break
			}
			i := e - 1
			long := f.EnterLong[i] && !f.ExitLong[i]
			short := pol.AllowShort && f.EnterShort[i] && !f.ExitShort[i]
			if long == short {
				continue
			}
			tr := pol.Rules.Open(f.Pair, short, f.Time[e], f.Open[e], stake, "")
			enter, exit := f.EnterLong, f.ExitLong
			if short {
				enter, exit = f.EnterShort, f.ExitShort
			}
			end := min(to, e+limit)
			var w trade.ExitWatch
			n := w.QuietRun(pol, &tr, f.Time[e:end], f.High[e:end], f.Low[e:end], enter[i:end-1], exit[i:end-1])
			chunk = append(chunk, quietRun{entry: e, end: e + n, maxRate: tr.MaxRate, minRate: tr.MinRate})
			if len(chunk) == aheadChunk {
				select {
				case ch <- chunk:
				case <-done:
					return
				}
				chunk = newChunk()
			}
		}
		if len(chunk) > 0 {
			select {
			case ch <- chunk:
			case <-done:
			}
		}
	}()
	return &aheadScan{runs: ch, free: free, stake: stake}
}

// at returns the quiet run of a trade entered on candle e, which is after
// the entries of the runs asked for before; false when the scan has none.
func (a *aheadScan) at(e int) (quietRun, bool) {
	for {
		for ; a.k < len(a.buf); a.k++ {
			if r := a.buf[a.k]; r.entry >= e {
				return r, r.entry == e
			}
		}
		if a.buf != nil {
			select {
			case a.free <- a.buf:
			default:
			}
		}
		buf, ok := <-a.runs
		if !ok {
			a.buf, a.k = nil, 0
			return quietRun{}, false
		}
		a.buf, a.k = buf, 0
	}
}
