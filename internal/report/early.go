package report

import (
	"slices"
	"sync"

	"github.com/tradai/tradai/internal/trade"
)

// EarlyTrades formats a backtest's trades for its files while the
// backtest still runs, on a core the simulation leaves idle: Closed, the
// backtest's hook (backtest.Settings.Closed), gathers each trade as it
// closes, and a goroutine makes each piece of tradesPerPiece trades' texts
// (the numbers both files write, the export's text) as it fills. Files
// given it use those texts when its trades are the result's, as they are
// when Closed saw the whole run; else they make them as without it.
type EarlyTrades struct {
	cur    []trade.Trade // the piece being gathered
	pieces chan []trade.Trade
	done   chan struct{}
	finish func()

	// Made by the goroutine, read after done.
	trades  [][]trade.Trade
	numbers []numberChunk
	texts   [][]byte
}

// NewEarlyTrades starts the goroutine of an EarlyTrades; Close stops it.
func NewEarlyTrades() *EarlyTrades {
	e := &EarlyTrades{pieces: make(chan []trade.Trade, 64), done: make(chan struct{})}
	e.finish = sync.OnceFunc(func() {
		if len(e.cur) > 0 {
			e.pieces <- e.cur
			e.cur = nil
		}
		close(e.pieces)
		<-e.done
	})
	go func() {
		defer close(e.done)
		for ts := range e.pieces {
			k := len(e.trades)
			nums := numbersOf(ts)
			e.trades = append(e.trades, ts)
			e.numbers = append(e.numbers, nums)
			e.texts = append(e.texts, appendPiece(make([]byte, 0, len(ts)*700), ts, k, &nums))
		}
	}()
	return e
}

// Closed takes a copy of t, the backtest's next trade; it is called on
// one goroutine, and not after Close.
func (e *EarlyTrades) Closed(t *trade.Trade) {
	if e.cur == nil {
		e.cur = make([]trade.Trade, 0, tradesPerPiece)
	}
	e.cur = append(e.cur, *t)
	if len(e.cur) == tradesPerPiece {
		e.pieces <- e.cur
		e.cur = nil
	}
}

// Close waits for the texts of the trades Closed was given; it may be
// called more than once, and on nil.
func (e *EarlyTrades) Close() {
	if e != nil {
		e.finish()
	}
}

// earlyTexts is what EarlyTrades made of the trades of a run.
type earlyTexts struct {
	numbers []numberChunk
	pieces  [][]byte
}

// of returns, after Close, the texts of ts when they are the trades Closed
// was given, in order; nil when they are not (or e is nil).
func (e *EarlyTrades) of(ts []trade.Trade) *earlyTexts {
	if e == nil {
		return nil
	}
	e.Close()
	n := 0
	for _, piece := range e.trades {
		if len(piece) != min(tradesPerPiece, len(ts)-n) || !slices.Equal(piece, ts[n:n+len(piece)]) {
			return nil
		}
		n += len(piece)
	}
	if n != len(ts) {
		return nil
	}
	return &earlyTexts{numbers: e.numbers, pieces: e.texts}
}
