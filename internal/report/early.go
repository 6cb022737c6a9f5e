package report

import (
	"encoding/binary"
	"hash/maphash"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/tradai/tradai/internal/trade"
)

// EarlyTrades does the work of a backtest's files on its trades while the
// backtest still runs, on a core the simulation leaves idle: Closed, the
// backtest's hook (backtest.Settings.Closed), is given each trade of the
// result as it closes, and a goroutine takes them a chunk of
// tradesPerPiece trades at a time and makes the text of the export's
// trade list, as WriteJSON would, in memory (a spool), so that after the
// run WriteJSON writes it rather than making it. When the files begin,
// the goroutine stops after the chunk in hand, and it stops at spoolMax
// bytes: the files make what it had not done, on every core. They use
// what it made when its trades are the result's first trades, as they are
// when Closed saw the run; else they make it all as without it.
type EarlyTrades struct {
	cur    []*trade.Trade // the chunk being gathered
	chunks chan []*trade.Trade
	free   chan []*trade.Trade // chunks done with, for reuse
	stop   chan struct{}       // closed when the files begin
	done   chan struct{}
	halt   func() // closes stop
	wait   func()
	seed   maphash.Seed

	// Made by the goroutine, read after done.
	spool spool
}

// earlyBacklog is how many chunks Closed may hand over before the
// goroutine takes them (about a million trades, 2 KB a chunk): past it Closed
// waits.
const earlyBacklog = 1 << 12

// spool is the text of an export's trade list, without its brackets, made
// as the trades close: blocks of spoolBlock bytes, the last in the making.
type spool struct {
	blocks []string
	cur    strings.Builder // the block being filled
	size   int             // bytes in blocks and cur
	trades int             // trades in it
	sum    uint64          // tradesSum of them
}

const (
	// spoolBlock is the size of a spool's blocks. A block is allocated
	// without being cleared (strings.Builder), so only the text written
	// touches memory.
	spoolBlock = 4 << 20
	// spoolMax is where a spool stops: about 90,000 trades; the files
	// make the trades after them. It bounds the memory of a long run's
	// spool, which its files would only copy.
	spoolMax = 64 << 20
)

// add appends text, the text of n trades whose tradesSum is sum, or
// reports false, adding nothing, when the spool would pass spoolMax.
func (s *spool) add(text []byte, n int, sum uint64) bool {
	if s.size+len(text) > spoolMax {
		return false
	}
	if s.cur.Cap()-s.cur.Len() < len(text) {
		if s.cur.Len() > 0 {
			s.blocks = append(s.blocks, s.cur.String())
		}
		s.cur = strings.Builder{}
		s.cur.Grow(max(spoolBlock, len(text)))
	}
	s.cur.Write(text)
	s.size += len(text)
	s.trades += n
	s.sum = sum
	return true
}

// writeTo writes the spool's text to w.
func (s *spool) writeTo(w io.Writer) error {
	for _, b := range s.blocks {
		if _, err := io.WriteString(w, b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, s.cur.String())
	return err
}

// NewEarlyTrades starts the goroutine of an EarlyTrades for a backtest's
// export. Close stops it and lets its spool go.
func NewEarlyTrades() *EarlyTrades {
	e := &EarlyTrades{
		chunks: make(chan []*trade.Trade, earlyBacklog),
		free:   make(chan []*trade.Trade, 8),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		seed:   maphash.MakeSeed(),
	}
	e.halt = sync.OnceFunc(func() { close(e.stop) })
	e.wait = func() {
		e.halt()
		<-e.done
	}
	go e.run()
	return e
}

// run takes the chunks Closed sends until the files begin or the spool is
// full.
func (e *EarlyTrades) run() {
	defer close(e.done)
	var text []byte // a chunk's text in the export, reused
	var sum maphash.Hash
	sum.SetSeed(e.seed)
	for k := 0; ; k++ {
		var ts []*trade.Trade
		select {
		case <-e.stop:
			return
		default:
		}
		select {
		case <-e.stop:
			return
		case c, ok := <-e.chunks:
			if !ok {
				return
			}
			ts = c
		}
		text = appendPiece(text[:0], len(ts), func(i int) *trade.Trade { return ts[i] }, k > 0)
		for _, t := range ts {
			addTradeSum(&sum, t)
		}
		if !e.spool.add(text, len(ts), sum.Sum64()) {
			e.halt() // full: Closed drops the chunks from now on
			return
		}
		select {
		case e.free <- ts[:0]:
		default:
		}
	}
}

// Closed takes t, the backtest's next trade, which must not change
// after (the result's, as backtest.Settings.Closed gives it); it is called
// on one goroutine, and not after the files begin.
func (e *EarlyTrades) Closed(t *trade.Trade) {
	if e.cur == nil {
		select {
		case e.cur = <-e.free:
		default:
			e.cur = make([]*trade.Trade, 0, tradesPerPiece)
		}
	}
	e.cur = append(e.cur, t)
	if len(e.cur) == tradesPerPiece {
		select {
		case <-e.stop: // the spool is full: its chunks are not needed
			e.cur = e.cur[:0]
		default:
			e.chunks <- e.cur
			e.cur = nil
		}
	}
}

// stopTaking has the goroutine stop after the chunk in hand, without
// waiting for it: when the run is over, so that the files have the cores.
func (e *EarlyTrades) stopTaking() {
	if e != nil {
		e.halt()
	}
}

// Close stops the goroutine and lets its spool go: after the files are
// written, or when the run failed. It may be called more than once, and
// on nil.
func (e *EarlyTrades) Close() {
	if e == nil {
		return
	}
	e.wait()
	e.spool = spool{}
}

// spooled stops the goroutine and returns the spool of the export's trade
// list and how many trades it holds (whole pieces of tradesPerPiece, or all
// of ts), when those are the first trades of ts: Closed was given trades equal to
// them in every field the export writes, in order; nil and 0 when not (or
// e is nil, or nothing was spooled). Equal is by a 64-bit hash of the
// fields, seeded afresh for each EarlyTrades: the chance that other trades
// pass is 2^-64.
func (e *EarlyTrades) spooled(ts []trade.Trade) (*spool, int) {
	if e == nil {
		return nil, 0
	}
	e.wait()
	s := &e.spool
	if s.trades == 0 || s.trades > len(ts) || s.trades%tradesPerPiece != 0 && s.trades != len(ts) {
		return nil, 0
	}
	var sum maphash.Hash
	sum.SetSeed(e.seed)
	for i := range ts[:s.trades] {
		addTradeSum(&sum, &ts[i])
	}
	if sum.Sum64() != s.sum {
		return nil, 0
	}
	return s, s.trades
}

// addTradeSum adds to h every field of t that the export writes, each
// float by its bits (so 0 and -0 differ, as their texts do), the strings'
// lengths before them.
func addTradeSum(h *maphash.Hash, t *trade.Trade) {
	var b [20 * 8]byte
	w := b[:0]
	for _, x := range [...]float64{
		t.Leverage, t.OpenRate, t.Amount, t.Stake, t.FeeOpen, t.FeeClose, t.CloseRate, t.ProfitRatio, t.ProfitAbs,
		t.StopLoss, t.InitialStopLoss, t.LiquidationPrice, t.MaxRate, t.MinRate,
	} {
		w = binary.LittleEndian.AppendUint64(w, math.Float64bits(x))
	}
	var short uint64
	if t.IsShort {
		short = 1
	}
	for _, v := range [...]uint64{
		uint64(t.OpenTime), uint64(t.CloseTime), short, uint64(len(t.Pair)), uint64(len(t.EnterTag)), uint64(len(t.ExitReason)),
	} {
		w = binary.LittleEndian.AppendUint64(w, v)
	}
	h.Write(w)
	h.WriteString(t.Pair)
	h.WriteString(t.EnterTag)
	h.WriteString(string(t.ExitReason))
}
