package external

import (
	"hash/maphash"

	"github.com/tradai/tradai/sdk"
)

// DefaultFrameBytes bounds the candle column bytes a process keeps for
// TradAI (protocol version 2): 20 pairs × a year of 5m candles × six
// columns is about 100 MiB.
const DefaultFrameBytes = 512 << 20

// frameKey identifies the columns of a frame by content: what the
// strategy was sent, not where it lies in TradAI's memory (a backtest's
// data may be freed and other data loaded at the same address).
type frameKey struct {
	pair, timeframe string
	n               int
	sum             uint64
}

// frames is what a process keeps of the frames it was sent (protocol
// version 2): their numbers and sizes, least recently used first out when
// their bytes exceed the budget. Not safe for concurrent use (the
// Strategy's lock guards it).
type frames struct {
	seed   maphash.Seed
	budget int64
	held   map[frameKey]*keptFrame
	bytes  int64
	next   int64 // the last number given
	tick   uint64
	forget []int64 // dropped, not yet told to the process
}

type keptFrame struct {
	id    int64
	bytes int64
	used  uint64
}

func newFrames(budget int64) *frames {
	return &frames{seed: maphash.MakeSeed(), budget: budget, held: map[frameKey]*keptFrame{}}
}

// key returns the key of frame f whose columns, as sent, are cols.
func (t *frames) key(f *sdk.Frame, cols [][]byte) frameKey {
	var h maphash.Hash
	h.SetSeed(t.seed)
	for _, c := range cols {
		_, _ = h.Write(c)
	}
	return frameKey{pair: f.Pair, timeframe: string(f.Timeframe), n: f.Len(), sum: h.Sum64()}
}

// use returns the number of the frame of key k whose columns take size
// bytes, whether the process keeps it already, and the frames the
// process may drop first. A frame larger than the budget is given a
// number all the same (the process keeps it until the next one).
func (t *frames) use(k frameKey, size int64) (id int64, cached bool, forget []int64) {
	t.tick++
	if e, ok := t.held[k]; ok {
		e.used = t.tick
		return e.id, true, t.takeForget()
	}
	t.next++
	e := &keptFrame{id: t.next, bytes: size, used: t.tick}
	t.held[k] = e
	t.bytes += size
	for t.bytes > t.budget && len(t.held) > 1 {
		t.evictOldest()
	}
	return e.id, false, t.takeForget()
}

func (t *frames) takeForget() []int64 {
	f := t.forget
	t.forget = nil
	return f
}

// evictOldest drops the least recently used frame.
func (t *frames) evictOldest() {
	var oldest frameKey
	var at uint64 = 1<<64 - 1
	for k, e := range t.held {
		if e.used < at {
			oldest, at = k, e.used
		}
	}
	e := t.held[oldest]
	t.bytes -= e.bytes
	delete(t.held, oldest)
	t.forget = append(t.forget, e.id)
}
