package trade

import "math"

// Policy makes the trading decisions of one run: which pair enters, on
// which side and with which stake ([Policy.Enter]), and when an open trade
// exits, why and with which order ([Policy.Exit]). It answers with intents
// and never with fills: a runner turns intents into exchange orders, the
// backtester into fills inside a candle through a [FillModel]. Both call
// it on every closed candle, so they make the same decisions.
type Policy struct {
	Rules Rules
	// AllowShort lets entry signals open short trades (futures with a
	// strategy that can short).
	AllowShort bool
}

// OrderType is how an intent reaches the market.
type OrderType uint8

const (
	// MarketOrder trades now at the market price; Price is the price the
	// decision saw (the next candle's open in a backtest).
	MarketOrder OrderType = iota
	// LimitOrder trades at Price or better (a ROI take-profit).
	LimitOrder
	// StopOrder trades at the market once the price reaches Price, the
	// trigger (a stop-loss, trailing stop or liquidation).
	StopOrder
)

func (o OrderType) String() string {
	switch o {
	case MarketOrder:
		return "market"
	case LimitOrder:
		return "limit"
	case StopOrder:
		return "stop"
	}
	return "unknown"
}

// Signals are a pair's signals on its latest closed candle.
type Signals struct {
	EnterLong, ExitLong, EnterShort, ExitShort bool
	Tag                                        string // enter_tag
}

// Enter is the intent to open a trade on a pair.
type Enter struct {
	Pair  string
	ID    PairID // the pair's handle in the portfolio
	Short bool
	Stake float64 // margin, in the stake currency
	Tag   string
	Order OrderType // MarketOrder
	Price float64   // the market price the decision saw
}

// Exit is the intent to close a trade: why, and with which order.
type Exit struct {
	Reason ExitReason
	Order  OrderType
	Price  float64 // market: the price seen; limit: the limit; stop: the trigger
}

// Exits are the exit intents one candle triggers for one trade, in the
// order the price reaches them. A runner acts on the first; a backtest
// fill model decides which of them fills within the candle (see
// [FillExit]). The zero value holds none; [Policy.Exit] fills it.
type Exits struct {
	list       [3]intent
	n          int
	stopAtOpen float64 // the stop in force before the candle moved it
}

// intent is an Exit held compactly: Exits is set on every candle of every
// open trade.
type intent struct {
	kind  intentKind
	price float64
}

// intentKind is an exit intent's reason and order type.
type intentKind uint8

const (
	signalExit intentKind = iota
	liquidationExit
	stopLossExit
	roiLimitExit
	roiMarketExit // ROI -1
	trailingExit
)

func (k intentKind) reason() ExitReason {
	switch k {
	case signalExit:
		return ExitSignal
	case liquidationExit:
		return ExitLiquidation
	case stopLossExit:
		return ExitStopLoss
	case roiLimitExit, roiMarketExit:
		return ExitROI
	}
	return ExitTrailingStop
}

func (k intentKind) order() OrderType {
	switch k {
	case signalExit, roiMarketExit:
		return MarketOrder
	case roiLimitExit:
		return LimitOrder
	}
	return StopOrder
}

func (x intent) exit() Exit {
	return Exit{Reason: x.kind.reason(), Order: x.kind.order(), Price: x.price}
}

// Len is the number of intents.
func (xs *Exits) Len() int { return xs.n }

// At returns intent i, 0 ≤ i < Len.
func (xs *Exits) At(i int) Exit { return xs.list[:xs.n][i].exit() }

// First returns the intent to act on, if any.
func (xs *Exits) First() (Exit, bool) {
	if xs.n == 0 {
		return Exit{}, false
	}
	return xs.list[0].exit(), true
}

func (xs *Exits) add(k intentKind, price float64) {
	xs.list[xs.n] = intent{k, price}
	xs.n++
}

// has reports whether one of the intents is of kind k.
func (xs *Exits) has(k intentKind) bool {
	for _, x := range xs.list[:xs.n] {
		if x.kind == k {
			return true
		}
	}
	return false
}

// Enter decides whether pair id of pf opens a trade on the signals of its
// latest closed candle, with the market at price: a long on an entry
// signal without an exit signal (a short likewise when AllowShort), none
// when both sides signal, and only when the portfolio gives the pair a
// stake ([Portfolio.Stake]: no open trade on the pair, a free slot, money
// to pay it). It changes nothing; [Rules.Open] and [Portfolio.Open]
// record the trade once it fills.
func (p *Policy) Enter(pf *Portfolio, id PairID, s Signals, price float64) (Enter, bool) {
	long := s.EnterLong && !s.ExitLong
	short := p.AllowShort && s.EnterShort && !s.ExitShort
	if long == short {
		return Enter{}, false
	}
	stake, ok := pf.Stake(id)
	if !ok {
		return Enter{}, false
	}
	return Enter{Pair: pf.Pair(id), ID: id, Short: short, Stake: stake, Tag: s.Tag, Order: MarketOrder, Price: price}, true
}

// Exit looks at the prices c traded since the last check (a backtest's
// candle, a runner's latest closed candle, or one price as a candle with
// four equal prices) with the signals of the latest closed candle in c,
// and sets xs to the exit intents they trigger for open trade t (xs is
// the caller's, reused from check to check: nothing is allocated). It
// moves t's trailing stop and its highest and lowest seen prices.
//
// Within the candle the open comes first, then the favourable extreme
// moves the trailing stop, then the adverse extreme reaches the stop. An
// exit signal exits at the market and comes alone; otherwise the intents
// are, in this order: the liquidation when it lies between the price and
// the stop (or there is no stop reached), the stop-loss, the ROI
// take-profit in force at the trade's age, the trailing stop.
func (p *Policy) Exit(t *Trade, c Candle, xs *Exits) {
	r := &p.Rules
	xs.n, xs.stopAtOpen = 0, t.StopLoss
	t.MaxRate = max(t.MaxRate, c.High)
	t.MinRate = min(t.MinRate, c.Low)

	short := t.IsShort
	bound := c.High
	if short {
		bound = c.Low
	}
	// Trailing: the favourable extreme of the candle moves the stop first.
	risk := &r.Risk
	if risk.TrailingStop && (short && t.StopLoss > c.High || !short && t.StopLoss < c.Low) {
		boundProfit := t.ProfitRatioAt(bound)
		offset := risk.TrailingStopPositiveOffset
		if !(risk.TrailingOnlyOffsetIsReached && boundProfit < offset) {
			sl := risk.Stoploss
			if risk.TrailingStopPositive > 0 && boundProfit > offset {
				sl = -risk.TrailingStopPositive
			}
			if ns := r.stopAt(short, bound, sl); short && ns < t.StopLoss || !short && ns > t.StopLoss {
				t.StopLoss = ns
				t.stopLossPct = sl
			}
		}
	}

	if r.UseExitSignal && c.Exit && !c.Enter &&
		(!r.ExitProfitOnly || t.ProfitRatioAt(c.Open) > r.ExitProfitOffset) {
		xs.add(signalExit, c.Open)
		return
	}
	stopHit := short && t.StopLoss <= c.High || !short && t.StopLoss >= c.Low
	trailing := stopHit && t.StopLoss != t.InitialStopLoss
	liq := t.LiquidationPrice
	liqHit := liq > 0 && (short && liq <= c.High || !short && liq >= c.Low)
	if liqHit && (!stopHit || short && liq < t.StopLoss || !short && liq > t.StopLoss) {
		xs.add(liquidationExit, liq)
	}
	if stopHit && !trailing {
		xs.add(stopLossExit, t.StopLoss)
	}
	if !(c.Enter && r.IgnoreROIIfEntrySignal) {
		dur := (c.Time - t.OpenTime) / 60_000
		if step, ok := risk.MinimalROI.At(dur); ok && t.ProfitRatioAt(bound) > step.Ratio {
			if step.Ratio == -1 {
				xs.add(roiMarketExit, c.Open)
			} else {
				xs.add(roiLimitExit, roiPrice(t, step.Ratio))
			}
		}
	}
	if trailing {
		xs.add(trailingExit, t.StopLoss)
	}
}

// ExitWatch answers cheaply, candle by candle, that a candle triggers no
// exit intent for an open trade, so that [Policy.Exit] need not be asked:
// a backtest checks millions of candles of open trades, and on most of
// them nothing happens. It remembers, for the ROI step in force over a
// range of the trade's ages, the extreme price at which the ROI does not
// trigger. A watch serves one trade: the zero value is ready for a new
// one.
type ExitWatch struct {
	// from and until are the trade ages in minutes, [from, until), over
	// which the ROI step is the same; until ≤ from before the first check.
	from, until int64
	// roi is false when no ROI step is in force over those ages.
	roi bool
	// bound is a price (a long's highest, a short's lowest, to a few ulps)
	// up to which the ROI step does not trigger; NaN when not known.
	bound float64
}

// Quiet reports whether candle c (as [Policy.Exit] takes it) certainly
// triggers no exit intent for open trade t under p. When it does, it has
// done all that Exit would have: moved t's highest and lowest seen prices.
// When it does not, it changed nothing and the caller asks Exit. It is
// conservative: with a trailing stop, an exit signal, or a stop or
// liquidation price the candle reaches, it leaves the answer to Exit.
func (w *ExitWatch) Quiet(p *Policy, t *Trade, c Candle) bool {
	r := &p.Rules
	if r.Risk.TrailingStop || r.UseExitSignal && c.Exit && !c.Enter {
		return false
	}
	short := t.IsShort
	if short && !(t.StopLoss > c.High) || !short && !(t.StopLoss < c.Low) {
		return false
	}
	if liq := t.LiquidationPrice; liq > 0 && (short && liq <= c.High || !short && liq >= c.Low) {
		return false
	}
	if !(c.Enter && r.IgnoreROIIfEntrySignal) {
		if dur := (c.Time - t.OpenTime) / 60_000; dur < w.from || dur >= w.until {
			w.watchROI(r, t, dur)
		}
		// Not (bound ≥ the candle's extreme) also when either is NaN.
		if w.roi && (short && !(c.Low >= w.bound) || !short && !(c.High <= w.bound)) {
			return false
		}
	}
	t.MaxRate = max(t.MaxRate, c.High)
	t.MinRate = min(t.MinRate, c.Low)
	return true
}

// SameQuiet reports whether [ExitWatch.Quiet] answers the same under p for
// open trades a and b on every candle, whatever their stakes: they opened
// at the same time on the same side, their stop and liquidation prices are
// equal, and so is the price up to which each step of the ROI table does
// not trigger. A trade's stake enters those bounds only through the
// rounding of its amount: a backtest scans a pair's candles ahead for a
// trade of a stand-in stake, and takes the scan for the trade that opens
// with the real one when they agree.
func (p *Policy) SameQuiet(a, b *Trade) bool {
	if a.IsShort != b.IsShort || a.OpenTime != b.OpenTime || a.OpenRate != b.OpenRate ||
		a.StopLoss != b.StopLoss || a.LiquidationPrice != b.LiquidationPrice {
		return false
	}
	for _, s := range p.Rules.Risk.MinimalROI {
		if math.Float64bits(roiBound(a, s.Ratio)) != math.Float64bits(roiBound(b, s.Ratio)) {
			return false
		}
	}
	return true
}

// QuietRun is [ExitWatch.Quiet] over candles in order, given as columns:
// candle k has time[k], high[k], low[k] and the signals enter[k], exit[k]
// (the other prices do not decide it). It returns how many of the leading
// candles are quiet, having done for them all that Quiet does; the next
// one, if any, changed nothing. The candles within one ROI step are
// checked in a tight loop against the trade's bounds.
func (w *ExitWatch) QuietRun(p *Policy, t *Trade, time []int64, high, low []float64, enter, exit []bool) int {
	n := len(time)
	high, low, enter, exit = high[:n], low[:n], enter[:n], exit[:n]
	r := &p.Rules
	if r.Risk.TrailingStop {
		return 0
	}
	short, useExit := t.IsShort, r.UseExitSignal
	// The stop and the liquidation price in one bound: a long's low must
	// be above both, a short's high below both (Quiet's first candle has
	// checked that neither is NaN).
	stop := t.StopLoss
	if liq := t.LiquidationPrice; liq > 0 {
		if short {
			stop = min(stop, liq)
		} else {
			stop = max(stop, liq)
		}
	}
	for k := 0; k < n; {
		// Quiet decides the candles the loop below does not: it moves
		// the watch to another ROI step.
		if !w.Quiet(p, t, Candle{Time: time[k], High: high[k], Low: low[k], Enter: enter[k], Exit: exit[k]}) {
			return k
		}
		k++
		// The loop takes the candles Quiet would without moving the
		// watch, and leaves it any other: the ROI step's ages as open
		// times, its bound a price (none above +Inf).
		from, until := ageTime(t.OpenTime, max(w.from, 0)), ageTime(t.OpenTime, w.until)
		if t.OpenTime < 0 {
			from = math.MaxInt64
		}
		bound := w.bound
		if !w.roi {
			bound = math.Inf(1)
			if short {
				bound = math.Inf(-1)
			}
		}
		maxRate, minRate := t.MaxRate, t.MinRate
		if short {
			for ; k < n; k++ {
				h, l, at := high[k], low[k], time[k]
				if !(stop > h) || !(l >= bound) || at < from || at >= until || useExit && exit[k] && !enter[k] {
					break
				}
				maxRate, minRate = max(maxRate, h), min(minRate, l)
			}
		} else {
			for ; k < n; k++ {
				h, l, at := high[k], low[k], time[k]
				if !(stop < l) || !(h <= bound) || at < from || at >= until || useExit && exit[k] && !enter[k] {
					break
				}
				maxRate, minRate = max(maxRate, h), min(minRate, l)
			}
		}
		t.MaxRate, t.MinRate = maxRate, minRate
	}
	return n
}

// ageTime returns the time at which a trade opened at open (≥ 0) is the
// given minutes old (≥ 0), MaxInt64 when that is later.
func ageTime(open, minutes int64) int64 {
	if minutes > (math.MaxInt64-max(open, 0))/60_000 {
		return math.MaxInt64
	}
	return open + minutes*60_000
}

// watchROI sets w to the ROI step in force at trade age dur (minutes), the
// ages over which it is, and the price bound of t's profit under it.
func (w *ExitWatch) watchROI(r *Rules, t *Trade, dur int64) {
	roi := r.Risk.MinimalROI
	// [ROITable.At] returns the same step for every age between two of
	// the table's ages.
	w.from, w.until = math.MinInt64, math.MaxInt64
	for _, s := range roi {
		if s.Minutes <= dur {
			w.from = max(w.from, s.Minutes)
		} else {
			w.until = min(w.until, s.Minutes)
		}
	}
	step, ok := roi.At(dur)
	w.roi = ok
	if ok {
		w.bound = roiBound(t, step.Ratio)
	}
}

// roiBound returns a price at which t's profit ratio is not above ratio,
// at most a few ulps from the extreme such price: the profit ratio grows
// with the price for a long (falls for a short), also as rounded, so no
// price below it (a short's: above it) reaches the ratio either. It starts
// at the price of that profit and backs off from it in doubling steps;
// NaN when that does not find one.
func roiBound(t *Trade, ratio float64) float64 {
	price := roiPrice(t, ratio)
	if math.IsNaN(price) || math.IsInf(price, 0) {
		return math.NaN()
	}
	// back is the price move towards less profit.
	back := -math.Abs(price) * 0x1p-52
	if t.IsShort {
		back = -back
	}
	for range 64 {
		if !(t.ProfitRatioAt(price) > ratio) {
			return price
		}
		price += back
		back *= 2
	}
	return math.NaN()
}
