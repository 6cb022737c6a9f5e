// Package exchange is what TradAI's paper and live runners need of a spot
// exchange, declared by its consumers: markets with their trading rules,
// balances, orders (market and limit, with client order ids), trades,
// candles and the server's clock. Implementations: internal/exchange/binance
// (Binance's REST API — the real exchange or the simulator) and
// internal/sim/simexchange (the simulator in-process). Every
// implementation runs the contract suite in internal/exchange/exchangetest.
//
// Amounts are fixed.Dec (exact, 8 decimals); Market.Order is where a
// decision's float64 price and quantity become them, on the market's tick
// and step and within its rules. Failures that a runner acts
// on are typed: errors.Is(err, ErrUnknownOrder), ErrInsufficientBalance,
// ErrFilter, ErrDuplicateOrder, ErrUnknownSymbol, ErrRateLimited,
// ErrUnknownStatus, ErrAuth; the *Error carries the exchange's own code and
// message.
package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// Exchange is one account on one spot exchange.
type Exchange interface {
	// ServerTime is the exchange's clock.
	ServerTime(ctx context.Context) (time.Time, error)
	// Markets lists the tradable symbols with their rules.
	Markets(ctx context.Context) ([]Market, error)
	// Balances lists the account's assets (those with a balance).
	Balances(ctx context.Context) ([]Balance, error)
	// PlaceOrder places a new order and returns its state after placing.
	PlaceOrder(ctx context.Context, req OrderRequest) (Order, error)
	// CancelOrder cancels an open order; ErrUnknownOrder when there is no
	// such open order.
	CancelOrder(ctx context.Context, symbol string, ref OrderRef) (Order, error)
	// Order returns one order's state; ErrUnknownOrder when there is none.
	Order(ctx context.Context, symbol string, ref OrderRef) (Order, error)
	// OpenOrders lists the account's open orders on symbol.
	OpenOrders(ctx context.Context, symbol string) ([]Order, error)
	// MyTrades lists the account's trades on symbol, oldest first (at
	// most limit, the newest; 0: the exchange's default).
	MyTrades(ctx context.Context, symbol string, limit int) ([]Trade, error)
	// Klines returns the newest limit candles of symbol at tf, oldest
	// first; the last may still be forming.
	Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]Kline, error)
}

// Market is a tradable symbol and its rules. A zero bound or step means
// the rule does not apply.
type Market struct {
	Symbol      string // the exchange's name, e.g. BTCUSDT
	Base, Quote string
	TickSize    fixed.Dec // prices are multiples of it
	MinPrice    fixed.Dec
	MaxPrice    fixed.Dec
	StepSize    fixed.Dec // quantities are multiples of it
	MinQty      fixed.Dec
	MaxQty      fixed.Dec
	MinNotional fixed.Dec // price × quantity at least this
	// OrderTypes are the order types the venue takes on the symbol;
	// empty: market and limit orders only.
	OrderTypes []OrderType
	// TrailingBelow and TrailingAbove are the trailing deltas (BIPS) the
	// venue takes on stop orders that trigger on a fall (stop-loss sells)
	// and on a rise (stop-loss buys); zero: it takes no trailing stops.
	TrailingBelow, TrailingAbove DeltaRange
}

// DeltaRange is a range of trailing deltas in BIPS (1 is 0.01 %).
type DeltaRange struct{ Min, Max int64 }

// Has reports whether delta lies in r (a zero range has none).
func (r DeltaRange) Has(delta int64) bool { return r.Max > 0 && delta >= r.Min && delta <= r.Max }

// Takes reports whether the venue takes orders of type t on m.
func (m Market) Takes(t OrderType) bool {
	if t == MarketOrder || t == LimitOrder {
		return true
	}
	return slices.Contains(m.OrderTypes, t)
}

// Balance is one asset of the account.
type Balance struct {
	Asset  string
	Free   fixed.Dec
	Locked fixed.Dec // held by open orders
}

// Side is Buy or Sell.
type Side string

const (
	Buy  Side = "BUY"
	Sell Side = "SELL"
)

// OrderType is how an order trades: at once (MarketOrder), at a price or
// better (LimitOrder), or, once the price reaches the stop price, as a
// market order (StopLossOrder, TakeProfitOrder) or a limit order
// (StopLossLimitOrder). A stop-loss sell triggers when the price trades
// at or below its stop price, a buy at or above it; a take-profit the
// other way round (a trailing one starts tracking there).
type OrderType string

const (
	MarketOrder        OrderType = "MARKET"
	LimitOrder         OrderType = "LIMIT"
	StopLossOrder      OrderType = "STOP_LOSS"
	StopLossLimitOrder OrderType = "STOP_LOSS_LIMIT"
	TakeProfitOrder    OrderType = "TAKE_PROFIT"
)

// IsStop reports whether orders of type t wait for their stop price.
func (t OrderType) IsStop() bool {
	return t == StopLossOrder || t == StopLossLimitOrder || t == TakeProfitOrder
}

// HasPrice reports whether orders of type t carry a limit price.
func (t OrderType) HasPrice() bool { return t == LimitOrder || t == StopLossLimitOrder }

// TimeInForce says how long a limit order works.
type TimeInForce string

const (
	GTC TimeInForce = "GTC" // until cancelled
	IOC TimeInForce = "IOC" // what fills at once, the rest expires
	FOK TimeInForce = "FOK" // all at once or nothing
)

// Status is an order's state.
type Status string

const (
	StatusNew             Status = "NEW"
	StatusPartiallyFilled Status = "PARTIALLY_FILLED"
	StatusFilled          Status = "FILLED"
	StatusCanceled        Status = "CANCELED"
	StatusRejected        Status = "REJECTED"
	StatusExpired         Status = "EXPIRED"
)

// Open reports whether an order in status s can still trade.
func (s Status) Open() bool { return s == StatusNew || s == StatusPartiallyFilled }

// OrderRequest is a new order. Quantity is in the base asset; a market
// buy may give QuoteQuantity (spend this much) instead. ClientOrderID,
// when set, names the order: the exchange refuses a second open order
// with the same id (ErrDuplicateOrder), so a placement retried after a
// lost answer cannot make two orders.
type OrderRequest struct {
	Symbol        string
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce // limit and stop-limit orders; default GTC
	Quantity      fixed.Dec
	QuoteQuantity fixed.Dec
	Price         fixed.Dec // limit and stop-limit orders
	StopPrice     fixed.Dec // stop orders: the trigger
	// TrailingDelta makes a stop order a trailing stop (BIPS, 1 is
	// 0.01 %): a sell triggers once the price falls this much from the
	// highest price since it started tracking — from StopPrice once the
	// price meets it, or at once without one — a buy once it rises this
	// much from the lowest. Zero: a plain stop. Venues that have no
	// trailing stops refuse it (Market.TrailingBelow is zero).
	TrailingDelta int64
	ClientOrderID string
}

// OrderRef names an order by the exchange's id or by the client order id.
type OrderRef struct {
	ID       int64
	ClientID string
}

// Order is an order's state.
type Order struct {
	Symbol        string
	ID            int64
	ClientOrderID string
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce
	Status        Status
	Price         fixed.Dec
	StopPrice     fixed.Dec // stop orders
	TrailingDelta int64     // trailing stops (BIPS)
	Quantity      fixed.Dec
	Executed      fixed.Dec // base quantity filled
	QuoteExecuted fixed.Dec // quote amount of the fills
	Time          time.Time // created
	UpdateTime    time.Time
}

// Trade is one fill of one of the account's orders.
type Trade struct {
	Symbol          string
	ID              int64
	OrderID         int64
	Side            Side
	Price           fixed.Dec
	Qty             fixed.Dec
	QuoteQty        fixed.Dec
	Commission      fixed.Dec
	CommissionAsset string
	Maker           bool
	Time            time.Time
}

// Kline is a candle.
type Kline struct {
	Time                           time.Time // open time
	Open, High, Low, Close, Volume fixed.Dec
}

// The kinds of failure a runner acts on; test with errors.Is.
var (
	ErrUnknownOrder        = errors.New("no such order")
	ErrInsufficientBalance = errors.New("insufficient balance")
	ErrFilter              = errors.New("order breaks the market's rules")
	ErrDuplicateOrder      = errors.New("an open order already has this client order id")
	ErrUnknownSymbol       = errors.New("unknown symbol")
	ErrRateLimited         = errors.New("rate limited")
	ErrUnknownStatus       = errors.New("the order's fate is unknown: query it")
	ErrAuth                = errors.New("authentication refused")
	ErrRejected            = errors.New("order rejected")
)

// Error is a failure the exchange reported: its kind (one of the Err
// values, or nil), the HTTP status, the exchange's code and message.
type Error struct {
	Kind       error
	HTTPStatus int
	Code       int
	Msg        string
	RetryAfter time.Duration // rate limits: when to try again, if said
}

func (e *Error) Error() string {
	if e.Kind != nil {
		return fmt.Sprintf("%v: %s (code %d)", e.Kind, e.Msg, e.Code)
	}
	return fmt.Sprintf("exchange error %d: %s (HTTP %d)", e.Code, e.Msg, e.HTTPStatus)
}

// Unwrap lets errors.Is find the kind.
func (e *Error) Unwrap() error { return e.Kind }

// KlineStreamer is an Exchange that streams candles as they close (an
// optional capability: test with a type assertion). A runner ticks on it
// and polls Klines when it drops.
type KlineStreamer interface {
	// StreamKlines calls fn with the newest closed candle of each of the
	// symbols at tf (when the venue has it at once), then with each
	// candle as it closes, in the order they close, until ctx ends (ctx's
	// error) or the stream drops (the error that ended it). fn must not
	// block.
	StreamKlines(ctx context.Context, symbols []string, tf sdk.Timeframe, fn func(symbol string, k Kline)) error
}
