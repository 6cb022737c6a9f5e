package report

import (
	"math"
	"sync"

	"github.com/tradai/tradai/internal/trade"
)

// EarlyTrades formats the numbers of a backtest's trades that both its
// files write (see Files) while the backtest still runs, on a core the
// simulation leaves idle: Closed, the backtest's hook
// (backtest.Settings.Closed), copies each trade's numbers as it closes,
// and a goroutine makes their texts a chunk of tradesPerPiece trades at a
// time. Files given it use those texts when its trades' numbers are the
// result's, as they are when Closed saw the whole run; else they make
// them as without it.
type EarlyTrades struct {
	cur    []float64 // the numbers of the chunk being gathered, numberFields a trade
	chunks chan []float64
	done   chan struct{}
	finish func()

	// Made by the goroutine, read after done.
	values  [][]float64
	numbers []numberChunk
}

// NewEarlyTrades starts the goroutine of an EarlyTrades; Close stops it.
func NewEarlyTrades() *EarlyTrades {
	e := &EarlyTrades{chunks: make(chan []float64, 64), done: make(chan struct{})}
	e.finish = sync.OnceFunc(func() {
		if len(e.cur) > 0 {
			e.chunks <- e.cur
			e.cur = nil
		}
		close(e.chunks)
		<-e.done
	})
	go func() {
		defer close(e.done)
		for xs := range e.chunks {
			c := newNumberChunk(len(xs) / numberFields)
			for i := 0; i < len(xs); i += numberFields {
				c.add([numberFields]float64(xs[i : i+numberFields]))
			}
			e.values = append(e.values, xs)
			e.numbers = append(e.numbers, c)
		}
	}()
	return e
}

// Closed copies the numbers of t, the backtest's next trade; it is called
// on one goroutine, and not after Close.
func (e *EarlyTrades) Closed(t *trade.Trade) {
	if e.cur == nil {
		e.cur = make([]float64, 0, tradesPerPiece*numberFields)
	}
	xs := tradeNumberValues(t)
	e.cur = append(e.cur, xs[:]...)
	if len(e.cur) == cap(e.cur) {
		e.chunks <- e.cur
		e.cur = nil
	}
}

// Close waits for the texts of the numbers Closed was given; it may be
// called more than once, and on nil.
func (e *EarlyTrades) Close() {
	if e != nil {
		e.finish()
	}
}

// numbersOf returns, after Close, the texts of the numbers of ts (as
// tradeNumbers makes them) when Closed was given trades with the same
// numbers, in order; nil when it was not (or e is nil).
func (e *EarlyTrades) numbersOf(ts []trade.Trade) []numberChunk {
	if e == nil {
		return nil
	}
	e.Close()
	i := 0
	for _, xs := range e.values {
		if len(xs) != min(tradesPerPiece, len(ts)-i)*numberFields {
			return nil
		}
		for j := 0; j < len(xs); j, i = j+numberFields, i+1 {
			for k, x := range tradeNumberValues(&ts[i]) {
				if math.Float64bits(x) != math.Float64bits(xs[j+k]) {
					return nil
				}
			}
		}
	}
	if i != len(ts) {
		return nil
	}
	return e.numbers
}
