// Package simexchange is the paper exchange simulator as an
// exchange.Exchange in-process: one account of a sim.Engine, with market
// data from its replay.Feed, called directly instead of through the
// Binance HTTP API (internal/sim/binanceapi and the adapter
// internal/exchange/binance). A runner in the same process as the
// simulator, or a test, trades it exactly as it trades over HTTP: the same
// engine decides, and the same contract suite (exchangetest) holds.
//
// Times follow the HTTP API: ServerTime is the wall clock, orders, trades
// and candles are simulation time. Rejections are *exchange.Error with the
// engine's Binance code and message and the kind a runner acts on.
package simexchange

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/sdk"
)

// Config is one account on a simulator.
type Config struct {
	// Engine decides; Account is the engine's account this Exchange acts
	// for.
	Engine  *sim.Engine
	Account string
	// Feed gives the simulation time and the candles (required).
	Feed *replay.Feed
	// Sync, when set, makes a placed order durable before PlaceOrder
	// returns (simstore.Store.Sync), as the HTTP API does.
	Sync func(ctx context.Context) error
	// Clock is the wall clock ServerTime reads (nil: the system clock).
	Clock clock.Clock
}

// Exchange is Config's account as an exchange.Exchange; safe for
// concurrent use (the engine and the feed lock).
type Exchange struct {
	cfg Config
}

var _ exchange.Exchange = (*Exchange)(nil)

// New checks cfg.
func New(cfg Config) (*Exchange, error) {
	if cfg.Engine == nil || cfg.Feed == nil {
		return nil, errors.New("simexchange: an engine and its feed are required")
	}
	if cfg.Account == "" {
		return nil, errors.New("simexchange: an account is required")
	}
	cfg.Clock = clock.Or(cfg.Clock)
	return &Exchange{cfg: cfg}, nil
}

// Binance's defaults and bounds for the number of trades and candles.
const (
	defaultLimit = 500
	maxLimit     = 1000
)

// kindOf is the kind of failure a runner acts on for the engine's
// rejections.
func kindOf(e *sim.Error) error {
	switch e.Code {
	case sim.CodeNoSuchOrder, sim.CodeCancelRejected:
		return exchange.ErrUnknownOrder
	case sim.CodeInvalidMessage, sim.CodeBadPrecision:
		return exchange.ErrFilter
	case sim.CodeBadSymbol:
		return exchange.ErrUnknownSymbol
	case sim.CodeRejectedAPIKey, sim.CodeBadAPIKeyFormat:
		return exchange.ErrAuth
	case sim.CodeTooManyRequests:
		return exchange.ErrRateLimited
	case sim.CodeNewOrderRejected:
		switch e.Msg {
		case sim.MsgInsufficientBalance:
			return exchange.ErrInsufficientBalance
		case sim.MsgDuplicateOrder:
			return exchange.ErrDuplicateOrder
		}
		return exchange.ErrRejected
	}
	return nil
}

// wrap turns the engine's rejections into *exchange.Error.
func wrap(err error) error {
	var e *sim.Error
	if errors.As(err, &e) {
		return &exchange.Error{Kind: kindOf(e), Code: e.Code, Msg: e.Msg}
	}
	return err
}

func unknownSymbol() error {
	return wrap(&sim.Error{Code: sim.CodeBadSymbol, Msg: sim.MsgInvalidSymbol})
}

// ServerTime implements exchange.Exchange: the wall clock.
func (x *Exchange) ServerTime(context.Context) (time.Time, error) {
	return x.cfg.Clock.Now(), nil
}

// Markets implements exchange.Exchange.
func (x *Exchange) Markets(context.Context) ([]exchange.Market, error) {
	syms := x.cfg.Engine.Symbols()
	var orderTypes []exchange.OrderType
	for _, t := range sim.OrderTypes() {
		orderTypes = append(orderTypes, exchange.OrderType(t.String()))
	}
	out := make([]exchange.Market, 0, len(syms))
	for _, s := range syms {
		out = append(out, exchange.Market{Symbol: s.Name, Base: s.Base, Quote: s.Quote,
			TickSize: s.TickSize, MinPrice: s.MinPrice, MaxPrice: s.MaxPrice,
			StepSize: s.StepSize, MinQty: s.MinQty, MaxQty: s.MaxQty, MinNotional: s.MinNotional, OrderTypes: orderTypes,
			TrailingBelow: exchange.DeltaRange{Min: s.TrailingDelta.MinBelow, Max: s.TrailingDelta.MaxBelow},
			TrailingAbove: exchange.DeltaRange{Min: s.TrailingDelta.MinAbove, Max: s.TrailingDelta.MaxAbove}})
	}
	return out, nil
}

// Balances implements exchange.Exchange: the assets with a balance.
func (x *Exchange) Balances(context.Context) ([]exchange.Balance, error) {
	bs, err := x.cfg.Engine.Balances(x.cfg.Account)
	if err != nil {
		// No such account: what the HTTP API answers for it.
		return nil, wrap(&sim.Error{Code: sim.CodeRejectedAPIKey, Msg: "Invalid API-key, IP, or permissions for action."})
	}
	out := make([]exchange.Balance, 0, len(bs))
	for _, b := range bs {
		if b.Free != 0 || b.Locked != 0 {
			out = append(out, exchange.Balance{Asset: b.Asset, Free: b.Free, Locked: b.Locked})
		}
	}
	return out, nil
}

func toExchange(o *sim.Order) exchange.Order {
	return exchange.Order{Symbol: o.Symbol, ID: o.ID, ClientOrderID: o.ClientOrderID, Side: exchange.Side(o.Side.String()),
		Type: exchange.OrderType(o.Type.String()), TimeInForce: exchange.TimeInForce(o.TimeInForce.String()), Status: exchange.Status(o.Status.String()),
		Price: o.Price, StopPrice: o.StopPrice, TrailingDelta: o.TrailingDelta, Quantity: o.OrigQty, Executed: o.ExecutedQty, QuoteExecuted: o.CumQuote,
		Time: time.UnixMilli(o.Time), UpdateTime: time.UnixMilli(max(o.UpdateTime, o.Time))}
}

// PlaceOrder implements exchange.Exchange.
func (x *Exchange) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if _, ok := x.cfg.Engine.Symbol(req.Symbol); !ok {
		return exchange.Order{}, unknownSymbol()
	}
	r := sim.OrderRequest{Account: x.cfg.Account, Symbol: req.Symbol, Quantity: req.Quantity, QuoteOrderQty: req.QuoteQuantity, ClientOrderID: req.ClientOrderID,
		TrailingDelta: req.TrailingDelta}
	var ok bool
	if r.Side, ok = sim.ParseSide(string(req.Side)); !ok {
		return exchange.Order{}, wrap(&sim.Error{Code: sim.CodeInvalidSide, Msg: "Invalid side."})
	}
	switch req.Type {
	case exchange.MarketOrder:
		r.Type = sim.Market
	case exchange.StopLossOrder:
		r.Type, r.StopPrice = sim.StopLoss, req.StopPrice
	case exchange.TakeProfitOrder:
		r.Type, r.StopPrice = sim.TakeProfit, req.StopPrice
	case exchange.LimitOrder, exchange.StopLossLimitOrder:
		r.Type, r.Price = sim.Limit, req.Price
		if req.Type == exchange.StopLossLimitOrder {
			r.Type, r.StopPrice = sim.StopLossLimit, req.StopPrice
		}
		tif := req.TimeInForce
		if tif == "" {
			tif = exchange.GTC
		}
		if r.TimeInForce, ok = sim.ParseTimeInForce(string(tif)); !ok {
			return exchange.Order{}, wrap(&sim.Error{Code: sim.CodeInvalidTIF, Msg: "Invalid timeInForce."})
		}
	default:
		return exchange.Order{}, wrap(&sim.Error{Code: sim.CodeInvalidOrderType, Msg: "Invalid orderType."})
	}
	o, _, err := x.cfg.Engine.Place(x.cfg.Feed.Now(), r)
	if err != nil {
		return exchange.Order{}, wrap(err)
	}
	if x.cfg.Sync != nil {
		if err := x.cfg.Sync(ctx); err != nil {
			// Placed in the engine, not known to be stored: the caller
			// queries the order, as after a lost answer.
			return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownStatus, Code: sim.CodeUnknown, Msg: fmt.Sprintf("store the order: %v", err)}
		}
	}
	return toExchange(&o), nil
}

func checkRef(ref exchange.OrderRef) error {
	if ref.ID == 0 && ref.ClientID == "" {
		return errors.New("simexchange: an order reference needs an id or a client order id")
	}
	return nil
}

// CancelOrder implements exchange.Exchange.
func (x *Exchange) CancelOrder(_ context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	if err := checkRef(ref); err != nil {
		return exchange.Order{}, err
	}
	o, err := x.cfg.Engine.Cancel(x.cfg.Feed.Now(), x.cfg.Account, symbol, ref.ID, ref.ClientID)
	if err != nil {
		return exchange.Order{}, wrap(err)
	}
	return toExchange(&o), nil
}

// Order implements exchange.Exchange: open orders and the closed ones the
// engine keeps (its HistoryLimit newest).
func (x *Exchange) Order(_ context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	if err := checkRef(ref); err != nil {
		return exchange.Order{}, err
	}
	o, err := x.cfg.Engine.Order(x.cfg.Account, symbol, ref.ID, ref.ClientID)
	if err != nil {
		return exchange.Order{}, wrap(err)
	}
	return toExchange(&o), nil
}

// OpenOrders implements exchange.Exchange.
func (x *Exchange) OpenOrders(_ context.Context, symbol string) ([]exchange.Order, error) {
	if symbol == "" {
		return nil, unknownSymbol()
	}
	os, err := x.cfg.Engine.OpenOrders(x.cfg.Account, symbol)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]exchange.Order, len(os))
	for i := range os {
		out[i] = toExchange(&os[i])
	}
	return out, nil
}

// limitOf is limit with Binance's default and bound.
func limitOf(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return min(limit, maxLimit)
}

// MyTrades implements exchange.Exchange: of the trades the engine keeps
// (its HistoryLimit newest), the newest limit.
func (x *Exchange) MyTrades(_ context.Context, symbol string, limit int) ([]exchange.Trade, error) {
	_, fills, err := x.cfg.Engine.History(x.cfg.Account, symbol)
	if err != nil {
		return nil, wrap(err)
	}
	fills = fills[max(0, len(fills)-limitOf(limit)):]
	out := make([]exchange.Trade, len(fills))
	for i, f := range fills {
		out[i] = exchange.Trade{Symbol: f.Symbol, ID: f.TradeID, OrderID: f.OrderID, Side: exchange.Side(f.Side.String()), Price: f.Price, Qty: f.Qty,
			QuoteQty: f.QuoteQty, Commission: f.Commission, CommissionAsset: f.CommissionAsset, Maker: f.Maker, Time: time.UnixMilli(f.Time)}
	}
	return out, nil
}

// Klines implements exchange.Exchange.
func (x *Exchange) Klines(_ context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	if _, ok := x.cfg.Engine.Symbol(symbol); !ok {
		return nil, unknownSymbol()
	}
	if !tf.Valid() {
		return nil, wrap(&sim.Error{Code: sim.CodeBadInterval, Msg: "Invalid interval."})
	}
	ks, err := x.cfg.Feed.Klines(symbol, tf, 0, 0, limitOf(limit))
	if errors.Is(err, replay.ErrInterval) {
		return nil, wrap(&sim.Error{Code: sim.CodeBadInterval, Msg: "Invalid interval."})
	}
	if err != nil {
		return nil, nil // a symbol without data has no candles
	}
	out := make([]exchange.Kline, len(ks))
	for i, k := range ks {
		out[i] = exchange.Kline{Time: time.UnixMilli(k.Time), Open: k.Open, High: k.High, Low: k.Low, Close: k.Close, Volume: k.Volume}
	}
	return out, nil
}

var _ exchange.KlineStreamer = (*Exchange)(nil)

// StreamKlines implements exchange.KlineStreamer: the newest closed
// candle of each symbol at once, then the candles each move of the
// simulation clock closes (at most the newest three per symbol after a
// jump: a runner reads the rest with Klines).
func (x *Exchange) StreamKlines(ctx context.Context, symbols []string, tf sdk.Timeframe, fn func(symbol string, k exchange.Kline)) error {
	if !tf.Valid() {
		return wrap(&sim.Error{Code: sim.CodeBadInterval, Msg: "Invalid interval."})
	}
	for _, s := range symbols {
		if _, ok := x.cfg.Engine.Symbol(s); !ok {
			return unknownSymbol()
		}
	}
	// sent is the open time of the newest candle delivered per symbol: at
	// first none, so the one closed by now is delivered at once.
	sent := map[string]int64{}
	for _, s := range symbols {
		sent[s] = tf.Floor(x.cfg.Feed.Now()) - 2*tf.Millis()
	}
	for {
		changed := x.cfg.Feed.Changed()
		now := x.cfg.Feed.Now()
		for _, s := range symbols {
			ks, err := x.cfg.Feed.Klines(s, tf, 0, 0, 4)
			if err != nil {
				continue // no data (yet)
			}
			for _, k := range ks {
				if k.Time > sent[s] && tf.Next(k.Time) <= now {
					sent[s] = k.Time
					fn(s, exchange.Kline{Time: time.UnixMilli(k.Time), Open: k.Open, High: k.High, Low: k.Low, Close: k.Close, Volume: k.Volume})
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
