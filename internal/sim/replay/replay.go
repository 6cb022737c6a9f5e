// Package replay feeds stored candles into the simulator's matching engine
// on a simulation clock. Each candle is played as four price points — the
// open at its start, the low a third in, the high two thirds in, the close
// at its last millisecond (sim.PathTimes) — so resting orders see the same
// path the backtest engine assumes. The clock runs in real time, ×N faster,
// or only when told (Step, AdvanceTo: for tests and the admin endpoint).
// Every account trades against the same feed: one series per symbol.
//
// The feed also answers the market data endpoints: candles up to the
// simulation time (the current one partial, as an exchange shows a candle
// still forming), at the replayed timeframe or any longer one.
package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/sdk"
)

// Series is the candles of one symbol, exact, in time order.
type Series struct {
	Symbol    string
	Timeframe sdk.Timeframe
	Candles   []sim.Candle
}

// FromFrame converts a stored frame to a Series, rounding prices to tick
// (when positive) and volumes to 8 decimals.
func FromFrame(symbol string, f *sdk.Frame, tick fixed.Dec) (Series, error) {
	s := Series{Symbol: symbol, Timeframe: f.Timeframe, Candles: make([]sim.Candle, 0, f.Len())}
	for i := 0; i < f.Len(); i++ {
		c := sim.Candle{Time: f.Time[i]}
		for j, dst := range []*fixed.Dec{&c.Open, &c.High, &c.Low, &c.Close, &c.Volume} {
			v := []float64{f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i]}[j]
			x, err := fixed.FromFloat(v)
			if err != nil || x < 0 {
				return Series{}, fmt.Errorf("%s candle at %s: value %v is not a usable number", symbol, time.UnixMilli(f.Time[i]).UTC().Format(time.RFC3339), v)
			}
			if dst != &c.Volume {
				x = max(x.RoundTo(tick), tick, 1)
			}
			*dst = x
		}
		c.High = max(c.High, c.Open, c.Close)
		c.Low = min(c.Low, c.Open, c.Close)
		s.Candles = append(s.Candles, c)
	}
	if len(s.Candles) == 0 {
		return Series{}, fmt.Errorf("%s: no candles to replay", symbol)
	}
	return s, nil
}

// Feed replays series into an engine. It is safe for concurrent use.
type Feed struct {
	eng *sim.Engine
	log *slog.Logger

	mu     sync.Mutex
	now    int64 // simulation time, Unix ms: every price point at or before it has been played
	series map[string]*cursor
	order  []string // symbols, sorted
	ended  bool
	// changed is closed (and replaced) whenever price points are played,
	// so streams wait on it instead of polling.
	changed chan struct{}
}

type cursor struct {
	Series
	dur  int64
	next int // index of the candle whose points are being played
	pt   int // next point of that candle: 0 open … 3 close, 4 done
}

// New returns a feed positioned just before start: nothing is played until
// the clock reaches a point. A zero start begins at the earliest candle.
func New(eng *sim.Engine, series []Series, start int64, log *slog.Logger) (*Feed, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Feed{eng: eng, log: log, series: map[string]*cursor{}, changed: make(chan struct{})}
	first := int64(math.MaxInt64)
	for _, s := range series {
		if _, ok := eng.Symbol(s.Symbol); !ok {
			return nil, fmt.Errorf("replay %s: the engine does not trade this symbol", s.Symbol)
		}
		if _, dup := f.series[s.Symbol]; dup {
			return nil, fmt.Errorf("replay %s: two series for one symbol", s.Symbol)
		}
		if !s.Timeframe.Valid() || len(s.Candles) == 0 {
			return nil, fmt.Errorf("replay %s: needs candles and a valid timeframe", s.Symbol)
		}
		c := &cursor{Series: s, dur: s.Timeframe.Millis()}
		f.series[s.Symbol] = c
		f.order = append(f.order, s.Symbol)
		first = min(first, s.Candles[0].Time)
	}
	if len(f.series) == 0 {
		return nil, errors.New("replay: no series")
	}
	slices.Sort(f.order)
	if start == 0 {
		start = first
	}
	f.now = start - 1
	// Skip what lies wholly before start.
	for _, c := range f.series {
		c.next, _ = slices.BinarySearchFunc(c.Candles, start, func(x sim.Candle, t int64) int {
			return cmp.Compare(x.Time+c.dur, t+1)
		})
	}
	return f, nil
}

// Now is the simulation time (Unix ms).
func (f *Feed) Now() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Changed returns a channel that is closed the next time price points are
// played (by Run, Step or AdvanceTo). Take a new one after each wake-up.
func (f *Feed) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Ended reports whether every series has been played to its end.
func (f *Feed) Ended() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// pointTime is the time of cursor c's next point, or MaxInt64 at its end.
func (c *cursor) pointTime() int64 {
	if c.next >= len(c.Candles) {
		return math.MaxInt64
	}
	return sim.PathTimes(c.Candles[c.next].Time, c.dur)[c.pt]
}

// AdvanceTo plays every price point up to time t, in time order across
// symbols, and sets the simulation time to t. Going back does nothing.
func (f *Feed) AdvanceTo(t int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.advanceTo(t)
}

func (f *Feed) advanceTo(t int64) error {
	played := false
	defer func() {
		if played {
			close(f.changed)
			f.changed = make(chan struct{})
		}
	}()
	for {
		var best *cursor
		bt := int64(math.MaxInt64)
		for _, sym := range f.order {
			c := f.series[sym]
			if pt := c.pointTime(); pt < bt {
				best, bt = c, pt
			}
		}
		if best == nil || bt > t {
			if best == nil && !f.ended {
				f.ended = true
				f.log.Info("market data replay reached the end of the data; prices stay where they are")
			}
			break
		}
		played = true
		if err := f.play(best, bt); err != nil {
			return err
		}
	}
	if t > f.now {
		f.now = t
	}
	return nil
}

func (f *Feed) play(c *cursor, at int64) error {
	cd := c.Candles[c.next]
	var err error
	switch c.pt {
	case 0:
		_, err = f.eng.OpenCandle(c.Symbol, cd)
	case 1:
		_, err = f.eng.MoveTo(c.Symbol, at, cd.Low)
	case 2:
		_, err = f.eng.MoveTo(c.Symbol, at, cd.High)
	case 3:
		_, err = f.eng.MoveTo(c.Symbol, at, cd.Close)
	}
	if err != nil {
		return fmt.Errorf("replay %s: %w", c.Symbol, err)
	}
	c.pt++
	if c.pt == 4 {
		c.pt = 0
		c.next++
	}
	return nil
}

// Step plays n more whole candles of the shortest replayed timeframe: the
// clock moves to the close of the n-th candle not yet closed.
func (f *Feed) Step(n int) error {
	if n < 1 {
		return fmt.Errorf("step %d candles: want at least 1", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var dur int64 = math.MaxInt64
	for _, c := range f.series {
		dur = min(dur, c.dur)
	}
	// The close point of the candle containing now+1, then n-1 more.
	t := f.now + 1
	target := t - mod(t, dur) + dur - 1 + int64(n-1)*dur
	return f.advanceTo(target)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Run moves the simulation clock with the wall clock, speed times faster,
// every tick (wall time), until ctx ends. It returns nil when ctx ends.
func (f *Feed) Run(ctx context.Context, clk clock.Clock, speed float64, tick time.Duration) error {
	if speed <= 0 {
		return fmt.Errorf("replay speed %v: want a positive factor", speed)
	}
	wall0 := clk.Now()
	sim0 := f.Now()
	t := clk.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		elapsed := clk.Now().Sub(wall0)
		if err := f.AdvanceTo(sim0 + int64(float64(elapsed.Milliseconds())*speed)); err != nil {
			return err
		}
	}
}

// Timeframe is the replayed timeframe of symbol.
func (f *Feed) Timeframe(symbol string) (sdk.Timeframe, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.series[symbol]
	if !ok {
		return "", false
	}
	return c.Timeframe, true
}

// Kline is a candle as the klines endpoint shows it.
type Kline struct {
	sim.Candle
	CloseTime   int64
	QuoteVolume fixed.Dec // Σ volume × close of the source candles (an estimate)
	Trades      int64     // source price points played (an exchange counts trades)
	Closed      bool      // its last point has been played: it will not change again
}

// ErrInterval is returned by Klines for a timeframe shorter than the
// replayed one, or one the replayed timeframe does not divide.
var ErrInterval = errors.New("interval not available")

// Klines returns symbol's candles of timeframe tf whose open time is in
// [start, end] (zero: open) and not after the simulation time, the last
// one partial when it is still forming, at most limit of them: the first
// ones from start when start is set, else the newest.
func (f *Feed) Klines(symbol string, tf sdk.Timeframe, start, end int64, limit int) ([]Kline, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.series[symbol]
	if !ok {
		return nil, fmt.Errorf("klines for %s: no data", symbol)
	}
	if tf != c.Timeframe && !divides(c.Timeframe, tf) {
		return nil, fmt.Errorf("klines for %s at %s from %s data: %w", symbol, tf, c.Timeframe, ErrInterval)
	}
	now := f.now
	lo := 0
	if start > 0 {
		lo, _ = slices.BinarySearchFunc(c.Candles, tf.Floor(start), func(x sim.Candle, t int64) int { return cmp.Compare(x.Time, t) })
	}
	var out []Kline
	hi := lo
	for hi < len(c.Candles) && c.Candles[hi].Time <= now {
		hi++
	}
	if start == 0 && limit > 0 {
		// Newest first: walk back far enough for limit target candles.
		n := int(int64(limit)*tf.Millis()/c.dur) + 2
		lo = max(0, hi-n)
	}
	for i := lo; i < hi; i++ {
		src := c.partial(i, now)
		t := tf.Floor(src.Time)
		if end > 0 && t > end {
			break
		}
		if start > 0 && t < start {
			continue
		}
		if len(out) > 0 && out[len(out)-1].Time == t {
			k := &out[len(out)-1]
			k.High, k.Low, k.Close = max(k.High, src.High), min(k.Low, src.Low), src.Close
			k.Volume += src.Volume
			k.QuoteVolume += fixed.MulFloor(src.Volume, src.Close)
			k.Trades += 4
			continue
		}
		out = append(out, Kline{Candle: sim.Candle{Time: t, Open: src.Open, High: src.High, Low: src.Low, Close: src.Close, Volume: src.Volume},
			CloseTime: tf.Next(t) - 1, QuoteVolume: fixed.MulFloor(src.Volume, src.Close), Trades: 4})
	}
	for i := range out {
		out[i].Closed = out[i].CloseTime <= now
	}
	if limit > 0 && len(out) > limit {
		if start > 0 {
			out = out[:limit]
		} else {
			out = out[len(out)-limit:]
		}
	}
	return out, nil
}

// partial is candle i as seen at time now: whole once closed, else the
// points played so far, its volume in proportion to the time elapsed.
func (c *cursor) partial(i int, now int64) sim.Candle {
	cd := c.Candles[i]
	pts := sim.PathTimes(cd.Time, c.dur)
	if now >= pts[3] {
		return cd
	}
	p := sim.Candle{Time: cd.Time, Open: cd.Open, High: cd.Open, Low: cd.Open, Close: cd.Open}
	if now >= pts[1] {
		p.Low, p.Close = cd.Low, cd.Low
	}
	if now >= pts[2] {
		p.High, p.Close = cd.High, cd.High
	}
	p.Volume = fixed.Dec(float64(cd.Volume) * float64(now-cd.Time+1) / float64(c.dur)).FloorTo(1)
	return p
}

func divides(from, to sdk.Timeframe) bool {
	day := sdk.Timeframe("1d").Millis()
	switch to {
	case "1w", "1M":
		return from.Millis() <= day && day%from.Millis() == 0
	}
	return to.Millis() > from.Millis() && to.Millis()%from.Millis() == 0 && from != "1w" && from != "1M"
}

// Stats24h is the rolling 24-hour ticker of a symbol at the simulation time.
type Stats24h struct {
	Open, High, Low, Last, PrevClose, Volume, QuoteVolume fixed.Dec
	OpenTime, CloseTime                                   int64
	Count                                                 int64
}

// Ticker returns symbol's statistics over the 24 hours before the
// simulation time, from the candles played so far.
func (f *Feed) Ticker(symbol string) (Stats24h, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.series[symbol]
	if !ok {
		return Stats24h{}, false
	}
	now := f.now
	from := now - 24*time.Hour.Milliseconds()
	var s Stats24h
	first := true
	for i := len(c.Candles) - 1; i >= 0; i-- {
		cd := c.Candles[i]
		if cd.Time > now {
			continue
		}
		if cd.Time+c.dur <= from {
			if !first {
				s.PrevClose = cd.Close
			}
			break
		}
		p := c.partial(i, now)
		if first {
			s.Last, s.High, s.Low, s.CloseTime = p.Close, p.High, p.Low, now
			first = false
		}
		s.Open, s.OpenTime = p.Open, p.Time
		s.High, s.Low = max(s.High, p.High), min(s.Low, p.Low)
		s.Volume += p.Volume
		s.QuoteVolume += fixed.MulFloor(p.Volume, p.Close)
		s.Count += 4
	}
	return s, !first
}
