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

// Shift returns s with every candle moved by offset ms (a multiple of the
// timeframe keeps the candles on its grid): history mapped onto another
// time, as the shifted replay maps it onto the present.
func (s Series) Shift(offset int64) Series {
	out := Series{Symbol: s.Symbol, Timeframe: s.Timeframe, Candles: slices.Clone(s.Candles)}
	for i := range out.Candles {
		out.Candles[i].Time += offset
	}
	return out
}

// Options are a feed's starting point and clock.
type Options struct {
	// Now is the simulation time to start at (Unix ms): every price point
	// at or before it counts as played — the engine's price is the last of
	// them, set without matching any order — and the next point is played
	// when the clock passes it. A restart passes the saved simulation time,
	// so it continues inside the candle where it stopped. Zero: the first
	// candle's open (its open is the price at once).
	Now int64
	// Clock is the wall clock Run follows (nil: the system clock).
	Clock clock.Clock
	// Speed is how much faster than the wall clock Run moves the
	// simulation clock (0: 1, real time); Paused stops it until Resume
	// (Step and AdvanceTo still move it).
	Speed  float64
	Paused bool
	// Live makes a feed of candles that arrive as the market makes them
	// (Append): the simulation clock is the wall clock (Speed 1, never
	// paused), a candle's price points are played when it arrives and
	// carry that time, the candle still forming shows as a flat one at the
	// last price, and the feed never ends.
	Live bool
	// Log receives the feed's messages (nil: discarded).
	Log *slog.Logger
}

// Feed replays series into an engine. It is safe for concurrent use.
type Feed struct {
	eng  *sim.Engine
	log  *slog.Logger
	clk  clock.Clock
	live bool

	mu     sync.Mutex
	now    int64 // simulation time, Unix ms: every price point at or before it has been played
	series map[string]*cursor
	order  []string // symbols, sorted
	ended  bool
	// changed is closed (and replaced) whenever price points are played,
	// so streams wait on it instead of polling.
	changed chan struct{}
	// The rate of the clock: from the wall time anchorWall, when the
	// simulation time was anchorSim, it moves speed times as fast as the
	// wall clock, unless paused. rateChanged wakes Run on a change.
	speed       float64
	paused      bool
	anchorWall  time.Time
	anchorSim   int64
	rateChanged chan struct{}
}

type cursor struct {
	Series
	dur  int64
	next int // index of the candle whose points are being played
	pt   int // next point of that candle: 0 open … 3 close, 4 done
}

// New returns a feed at the simulation time opt.Now: the points at or
// before it count as played, and the engine's price of each symbol is the
// last of them (none for a symbol whose data starts later).
func New(eng *sim.Engine, series []Series, opt Options) (*Feed, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Speed < 0 {
		return nil, fmt.Errorf("replay speed %v: want a positive factor", opt.Speed)
	}
	if opt.Speed == 0 || opt.Live {
		opt.Speed = 1
	}
	f := &Feed{eng: eng, log: opt.Log, clk: clock.Or(opt.Clock), live: opt.Live, series: map[string]*cursor{}, changed: make(chan struct{}),
		speed: opt.Speed, paused: opt.Paused && !opt.Live, rateChanged: make(chan struct{})}
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
	now := opt.Now
	if now == 0 {
		now = first
	}
	f.now = now
	for _, sym := range f.order {
		if err := f.series[sym].seek(eng, now); err != nil {
			return nil, err
		}
	}
	f.anchorWall, f.anchorSim = f.clk.Now(), f.now
	return f, nil
}

// seek positions c after its last point at or before now and sets the
// engine's market to that point.
func (c *cursor) seek(eng *sim.Engine, now int64) error {
	// The first candle that has a point after now.
	c.next, _ = slices.BinarySearchFunc(c.Candles, now, func(x sim.Candle, t int64) int {
		return cmp.Compare(x.Time+c.dur-1, t+1)
	})
	c.pt = 0
	if c.next < len(c.Candles) {
		for c.pt < 4 && sim.PathTimes(c.Candles[c.next].Time, c.dur)[c.pt] <= now {
			c.pt++
		}
	}
	switch {
	case c.pt > 0: // inside candle next
		cd := c.Candles[c.next]
		return eng.SetMarket(c.Symbol, cd, [4]fixed.Dec{cd.Open, cd.Low, cd.High, cd.Close}[c.pt-1])
	case c.next > 0: // between candles: the last close
		cd := c.Candles[c.next-1]
		return eng.SetMarket(c.Symbol, cd, cd.Close)
	}
	return nil
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

// Ended reports whether every series has been played to its end (never
// for a live feed).
func (f *Feed) Ended() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// Live reports whether the feed plays candles as they arrive (Options.Live).
func (f *Feed) Live() bool { return f.live }

// pointTime is the time of cursor c's next point, or MaxInt64 at its end.
func (c *cursor) pointTime() int64 {
	if c.next >= len(c.Candles) {
		return math.MaxInt64
	}
	return sim.PathTimes(c.Candles[c.next].Time, c.dur)[c.pt]
}

// AdvanceTo plays every price point up to time t, in time order across
// symbols, and sets the simulation time to t. Going back does nothing. A
// running clock goes on from there. A live feed refuses a time after the
// wall clock (ErrLiveClock).
func (f *Feed) AdvanceTo(t int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live && t > f.clk.Now().UnixMilli() {
		return ErrLiveClock
	}
	if err := f.advanceTo(t); err != nil {
		return err
	}
	f.anchor()
	return nil
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
			if best == nil && !f.ended && !f.live {
				f.ended = true
				f.log.Info("market data replay reached the end of the data; prices stay where they are")
			}
			break
		}
		played = true
		at := bt
		if f.live {
			at = max(t, f.now) // played as it arrives
		}
		if err := f.play(best, at); err != nil {
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
		open := cd
		if f.live {
			open.Time = at // the engine stamps the open with the candle's time
		}
		_, err = f.eng.OpenCandle(c.Symbol, open)
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
// clock moves to the close of the n-th candle not yet closed. A live feed
// refuses (ErrLiveClock).
func (f *Feed) Step(n int) error {
	if n < 1 {
		return fmt.Errorf("step %d candles: want at least 1", n)
	}
	if f.live {
		return ErrLiveClock
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
	if err := f.advanceTo(target); err != nil {
		return err
	}
	f.anchor()
	return nil
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// ErrLiveClock is returned when a live feed is asked to change its clock:
// it follows the wall clock. It carries Binance's code for an unsupported
// operation, so the API answers it as such.
var ErrLiveClock error = &sim.Error{Code: sim.CodeUnsupportedOpertn, Msg: "The clock of a live market follows the wall clock."}

// Rate is how the clock runs: its speed and whether it is paused.
func (f *Feed) Rate() (speed float64, paused bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.speed, f.paused
}

// SetRate changes how the clock runs from now on: speed times as fast as
// the wall clock (a positive factor), or paused. The time up to the
// change is played at the old rate first.
func (f *Feed) SetRate(speed float64, paused bool) error {
	if !(speed > 0) || math.IsInf(speed, 0) {
		return fmt.Errorf("replay speed %v: want a positive factor", speed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live {
		if speed != 1 || paused {
			return ErrLiveClock
		}
		return nil
	}
	if err := f.advanceTo(f.target()); err != nil {
		return err
	}
	f.speed, f.paused = speed, paused
	f.anchor()
	close(f.rateChanged)
	f.rateChanged = make(chan struct{})
	return nil
}

// target is where the clock's rate has taken the simulation time by now.
func (f *Feed) target() int64 {
	if f.paused {
		return f.now
	}
	elapsed := f.clk.Now().Sub(f.anchorWall).Milliseconds()
	return f.anchorSim + int64(float64(elapsed)*f.speed)
}

// anchor makes the clock's rate start from the present.
func (f *Feed) anchor() { f.anchorWall, f.anchorSim = f.clk.Now(), f.now }

// Run moves the simulation clock with the wall clock at the feed's rate,
// every tick (wall time), until ctx ends. It returns nil when ctx ends.
func (f *Feed) Run(ctx context.Context, tick time.Duration) error {
	t := f.clk.NewTicker(tick)
	defer t.Stop()
	for {
		f.mu.Lock()
		changed := f.rateChanged
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			continue
		case <-t.C():
		}
		f.mu.Lock()
		err := f.advanceTo(f.target())
		f.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Append adds candles of symbol that arrived from the market after those
// the feed has (a live feed's closed candles, oldest first) and plays them
// up to the simulation time. Candles at or before the last one are
// ignored, so a poller may hand over a page that overlaps.
func (f *Feed) Append(symbol string, candles []sim.Candle) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.series[symbol]
	if !ok {
		return 0, fmt.Errorf("append candles of %s: no such series", symbol)
	}
	n := 0
	for _, cd := range candles {
		if last := c.Candles[len(c.Candles)-1].Time; cd.Time <= last {
			continue
		} else if (cd.Time-last)%c.dur != 0 {
			return n, fmt.Errorf("append candles of %s: %d is not on the %s grid of the series", symbol, cd.Time, c.Timeframe)
		}
		c.Candles = append(c.Candles, cd)
		n++
	}
	if n == 0 {
		return 0, nil
	}
	now := f.now
	if f.live {
		now = max(now, f.clk.Now().UnixMilli())
	}
	if err := f.advanceTo(now); err != nil {
		return n, err
	}
	f.anchor()
	return n, nil
}

// Last is the open time of symbol's newest candle.
func (f *Feed) Last(symbol string) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.series[symbol]
	if !ok {
		return 0, false
	}
	return c.Candles[len(c.Candles)-1].Time, true
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
// ones from start when start is set, else the newest. A live feed's list
// ends at the newest candle it holds until every candle closed before now
// has arrived: never a forming candle after a hole.
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
	if f.live {
		now = c.heldNow(now)
	}
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
	if f.live && hi == len(c.Candles) && (end == 0 || tf.Floor(now) <= end) {
		// The candle forming now is not known until it closes: flat at the
		// last price, as a market shows a candle that has not traded yet.
		last := c.Candles[hi-1]
		if t := tf.Floor(now); t >= last.Time+c.dur && (len(out) == 0 || out[len(out)-1].Time < t) && (start == 0 || t >= start) {
			out = append(out, Kline{Candle: sim.Candle{Time: t, Open: last.Close, High: last.Close, Low: last.Close, Close: last.Close},
				CloseTime: tf.Next(t) - 1})
		}
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

// heldNow is the time a live series' klines are read at: now, unless a
// candle closed since the newest one held has not arrived yet (the
// poller fetches it a moment after its close), then the newest held
// one's close. So the list ends at the newest candle held, and a candle
// forming is shown only once every candle before it is held: a client
// asking just after a close sees no hole.
func (c *cursor) heldNow(now int64) int64 {
	last := c.Candles[len(c.Candles)-1].Time
	if now >= last+2*c.dur {
		return last + c.dur - 1
	}
	return now
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
