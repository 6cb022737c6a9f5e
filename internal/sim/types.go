package sim

import (
	"fmt"

	"github.com/tradai/tradai/internal/fixed"
)

// Side is BUY or SELL.
type Side uint8

const (
	Buy Side = iota + 1
	Sell
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "BUY"
	case Sell:
		return "SELL"
	}
	return ""
}

// ParseSide reads "BUY" or "SELL".
func ParseSide(s string) (Side, bool) {
	switch s {
	case "BUY":
		return Buy, true
	case "SELL":
		return Sell, true
	}
	return 0, false
}

// OrderType is one of Binance's spot order types.
type OrderType uint8

const (
	Limit OrderType = iota + 1
	Market
	StopLoss
	StopLossLimit
	TakeProfit
	TakeProfitLimit
	LimitMaker
)

var orderTypeNames = [...]string{"", "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}

func (t OrderType) String() string {
	if int(t) < len(orderTypeNames) {
		return orderTypeNames[t]
	}
	return ""
}

// OrderTypes lists every order type, as exchangeInfo shows them.
func OrderTypes() []OrderType {
	return []OrderType{Limit, LimitMaker, Market, StopLoss, StopLossLimit, TakeProfit, TakeProfitLimit}
}

// ParseOrderType reads an order type name such as "STOP_LOSS_LIMIT".
func ParseOrderType(s string) (OrderType, bool) {
	for i, n := range orderTypeNames {
		if i > 0 && n == s {
			return OrderType(i), true
		}
	}
	return 0, false
}

// IsStop reports whether t waits for its stop price before it works.
func (t OrderType) IsStop() bool {
	return t == StopLoss || t == StopLossLimit || t == TakeProfit || t == TakeProfitLimit
}

// hasPrice reports whether orders of type t carry a limit price.
func (t OrderType) hasPrice() bool {
	return t == Limit || t == LimitMaker || t == StopLossLimit || t == TakeProfitLimit
}

// isMarket reports whether t executes as a market order (at once or when
// its stop price is reached).
func (t OrderType) isMarket() bool { return t == Market || t == StopLoss || t == TakeProfit }

// TimeInForce is GTC, IOC or FOK; zero means none (MARKET, LIMIT_MAKER and
// the stop-market types have none, and Binance reports them as GTC).
type TimeInForce uint8

const (
	GTC TimeInForce = iota + 1
	IOC
	FOK
)

func (t TimeInForce) String() string {
	switch t {
	case IOC:
		return "IOC"
	case FOK:
		return "FOK"
	}
	return "GTC"
}

// ParseTimeInForce reads "GTC", "IOC" or "FOK".
func ParseTimeInForce(s string) (TimeInForce, bool) {
	switch s {
	case "GTC":
		return GTC, true
	case "IOC":
		return IOC, true
	case "FOK":
		return FOK, true
	}
	return 0, false
}

// Status is an order's state.
type Status uint8

const (
	StatusNew Status = iota + 1
	StatusPartiallyFilled
	StatusFilled
	StatusCanceled
	StatusRejected
	StatusExpired
)

var statusNames = [...]string{"", "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return ""
}

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if i > 0 && n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// Open reports whether an order in this status can still trade.
func (s Status) Open() bool { return s == StatusNew || s == StatusPartiallyFilled }

// Filters are a symbol's trading rules, with Binance's meaning: a zero
// bound or step disables that rule.
type Filters struct {
	// PRICE_FILTER, for price and stopPrice.
	MinPrice, MaxPrice, TickSize fixed.Dec
	// LOT_SIZE, for every order's quantity.
	MinQty, MaxQty, StepSize fixed.Dec
	// MARKET_LOT_SIZE, for MARKET orders' quantity in addition to LOT_SIZE.
	MarketMinQty, MarketMaxQty, MarketStepSize fixed.Dec
	// NOTIONAL (or MIN_NOTIONAL when LegacyMinNotional is set, which has no
	// maximum and one ApplyToMarket flag: ApplyMinToMarket). Market orders
	// are valued at the last price (avgPriceMins 0).
	MinNotional, MaxNotional           fixed.Dec
	ApplyMinToMarket, ApplyMaxToMarket bool
	LegacyMinNotional                  bool
	// PERCENT_PRICE_BY_SIDE: a buy's price must lie between BidDown and
	// BidUp times the weighted average price, a sell's between AskDown and
	// AskUp times it (orders with a price; avgPriceMins 0: the average is
	// the last price). Zero multipliers disable it.
	PercentPriceBySide
	// MAX_NUM_ORDERS: how many open orders (waiting stops included) an
	// account may have on the symbol; 0 is no limit.
	MaxNumOrders int
	// TRAILING_DELTA: the trailingDelta range of trailing stops; unset
	// (all zero), the symbol takes no trailing stops (allowTrailingStop
	// false).
	TrailingDelta TrailingDeltaFilter
}

// TrailingDeltaFilter is the TRAILING_DELTA filter, in BIPS (1 is
// 0.01 %): the range of trailingDelta for the orders that trigger on a
// rise (STOP_LOSS and STOP_LOSS_LIMIT buys, TAKE_PROFIT and
// TAKE_PROFIT_LIMIT sells: Above) and for those that trigger on a fall
// (the other four: Below).
type TrailingDeltaFilter struct {
	MinAbove, MaxAbove, MinBelow, MaxBelow int64
}

// On reports whether the filter is set: the symbol takes trailing stops.
func (f TrailingDeltaFilter) On() bool { return f != TrailingDeltaFilter{} }

// allows reports whether delta is in the range of an order of type t on
// side.
func (f TrailingDeltaFilter) allows(t OrderType, side Side, delta int64) bool {
	lo, hi := f.MinBelow, f.MaxBelow
	if (t == StopLoss || t == StopLossLimit) == (side == Buy) {
		// STOP_LOSS buys and TAKE_PROFIT sells: their stop price lies
		// above the market.
		lo, hi = f.MinAbove, f.MaxAbove
	}
	return delta >= lo && delta <= hi
}

// PercentPriceBySide is the PERCENT_PRICE_BY_SIDE filter's multipliers.
type PercentPriceBySide struct {
	BidUp, BidDown, AskUp, AskDown fixed.Dec
}

// On reports whether the filter is set.
func (p PercentPriceBySide) On() bool { return p != PercentPriceBySide{} }

// Symbol is a tradable pair.
type Symbol struct {
	Name  string // Binance's symbol, e.g. "BTCUSDT"
	Base  string // e.g. "BTC"
	Quote string // e.g. "USDT"
	Filters
}

func (s Symbol) validate() error {
	if s.Name == "" || s.Base == "" || s.Quote == "" || s.Base == s.Quote {
		return fmt.Errorf("symbol %q: needs a name and two different assets (base %q, quote %q)", s.Name, s.Base, s.Quote)
	}
	f := s.Filters
	pp := f.PercentPriceBySide
	for _, v := range []fixed.Dec{f.MinPrice, f.MaxPrice, f.TickSize, f.MinQty, f.MaxQty, f.StepSize, f.MarketMinQty, f.MarketMaxQty, f.MarketStepSize, f.MinNotional, f.MaxNotional,
		pp.BidUp, pp.BidDown, pp.AskUp, pp.AskDown} {
		if v < 0 {
			return fmt.Errorf("symbol %s: negative filter value %v", s.Name, v)
		}
	}
	if f.MaxNumOrders < 0 {
		return fmt.Errorf("symbol %s: negative MAX_NUM_ORDERS %d", s.Name, f.MaxNumOrders)
	}
	if td := f.TrailingDelta; td.On() && !(0 < td.MinAbove && td.MinAbove <= td.MaxAbove && td.MaxAbove < 10_000 &&
		0 < td.MinBelow && td.MinBelow <= td.MaxBelow && td.MaxBelow < 10_000) {
		return fmt.Errorf("symbol %s: TRAILING_DELTA needs 0 < min ≤ max < 10000 BIPS on both sides", s.Name)
	}
	if f.MaxPrice > 0 && f.MinPrice > f.MaxPrice || f.MaxQty > 0 && f.MinQty > f.MaxQty {
		return fmt.Errorf("symbol %s: a filter's minimum is above its maximum", s.Name)
	}
	if pp.On() && (pp.BidDown > pp.BidUp || pp.AskDown > pp.AskUp || pp.BidUp == 0 || pp.AskUp == 0) {
		return fmt.Errorf("symbol %s: PERCENT_PRICE_BY_SIDE needs each side's down multiplier at most its up multiplier, the up ones above zero", s.Name)
	}
	return nil
}

// OrderRequest is a new order. Zero decimals and an empty client order id
// mean "not sent", as for Binance's optional parameters.
type OrderRequest struct {
	Account       string
	Symbol        string
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce // zero: not sent
	Quantity      fixed.Dec
	QuoteOrderQty fixed.Dec // MARKET only: spend (buy) or receive (sell) this much quote
	Price         fixed.Dec
	StopPrice     fixed.Dec
	// TrailingDelta makes a stop order (STOP_LOSS, STOP_LOSS_LIMIT,
	// TAKE_PROFIT, TAKE_PROFIT_LIMIT) a trailing stop, in BIPS: a sell
	// triggers once the price falls this much from the highest price
	// since it started tracking, a buy once it rises this much from the
	// lowest. StopPrice is then optional: given, tracking starts when the
	// price meets it (from the stop price); omitted, at once (from the
	// last price). Zero: not a trailing stop.
	TrailingDelta int64
	ClientOrderID string // empty: the engine makes one
}

// Order is an order as clients see it (Binance's order fields).
type Order struct {
	Symbol        string
	ID            int64
	ClientOrderID string
	Account       string
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce
	Price         fixed.Dec
	StopPrice     fixed.Dec
	OrigQty       fixed.Dec
	OrigQuoteQty  fixed.Dec
	ExecutedQty   fixed.Dec
	CumQuote      fixed.Dec // cummulativeQuoteQty: the sum of the fills' quote amounts
	Status        Status
	Time          int64 // creation, Unix ms of the simulation clock
	UpdateTime    int64
	WorkingTime   int64 // when it started working: creation, or a stop's trigger; 0 while waiting
	TrailingDelta int64 // a trailing stop's delta in BIPS; 0 for other orders
	TrailingTime  int64 // when a trailing stop started tracking the price; 0 while not yet
}

// Working reports whether the order is in the book (not a waiting stop).
func (o *Order) Working() bool { return o.WorkingTime != 0 }

// Fill is one execution of an order: a trade against the market.
type Fill struct {
	Symbol          string
	TradeID         int64
	OrderID         int64
	Account         string
	Side            Side
	Price           fixed.Dec
	Qty             fixed.Dec
	QuoteQty        fixed.Dec // the quote paid (buy, rounded up) or received (sell, rounded down)
	Commission      fixed.Dec
	CommissionAsset string
	Time            int64
	Maker           bool
}

// Balance is one asset of an account.
type Balance struct {
	Asset  string
	Free   fixed.Dec
	Locked fixed.Dec
}

// ExecType says what happened to an order in an EventOrder (Binance's
// executionReport execution types).
type ExecType uint8

const (
	ExecNew ExecType = iota + 1
	ExecTrade
	ExecCanceled
	ExecExpired
	ExecTriggered // a stop order reached its stop price and started working
)

var execNames = [...]string{"", "NEW", "TRADE", "CANCELED", "EXPIRED", "TRIGGERED"}

func (e ExecType) String() string {
	if int(e) < len(execNames) {
		return execNames[e]
	}
	return ""
}

// EventKind says which part of an Event is set.
type EventKind uint8

const (
	EventOrder EventKind = iota + 1
	EventBalance
)

// Event is one change of state, in the order the engine made them: an
// order event or a balance event, as Kind says.
type Event struct {
	Kind    EventKind
	Order   OrderEvent
	Balance BalanceEvent
}

// OrderEvent is a new, traded, cancelled, expired or triggered order: its
// state after the change, and the fill for ExecTrade.
type OrderEvent struct {
	Exec  ExecType
	Order Order
	Fill  Fill // set for ExecTrade
	// Persisted internals, so a restart resumes the order exactly.
	Locked      fixed.Dec // what the order still holds locked
	CumQuoteRem int64     // the sub-10⁻⁸ remainder of the exact quote sum
	// TrailPeak is a tracking trailing stop's highest (sell) or lowest
	// (buy) price so far, as of this event: the engine journals no event
	// when only it moves.
	TrailPeak fixed.Dec
}

// BalanceEvent is an account's new balance of one asset.
type BalanceEvent struct {
	Account string
	Time    int64
	Balance
}

// Journal receives every change the engine makes. Record is called with the
// events of one operation, in order, while the engine's lock is held: it
// must be quick, must not call back into the engine, and must copy what it
// keeps — the slice is reused after Record returns.
type Journal interface {
	Record(events []Event)
}

// Journals sends every operation's events to each journal in turn (the
// store and the user data streams, for instance). Nil entries are skipped.
type Journals []Journal

// Record implements Journal.
func (js Journals) Record(events []Event) {
	for _, j := range js {
		if j != nil {
			j.Record(events)
		}
	}
}
