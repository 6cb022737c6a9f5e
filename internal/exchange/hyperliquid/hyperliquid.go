// Package hyperliquid implements exchange.Exchange over Hyperliquid's
// perpetuals (internal/hyperliquid is the REST client and the signing).
// It was written from the venue's documentation and proven against a
// local test server that answers with the documented payloads; it was
// never run against the real venue here.
//
// A perpetual is shown as a spot-like market COIN/USDC: Symbol and Base
// are the coin ("BTC"), Quote is USDC. Balances are the cash view of the
// account: the coin's balance is the signed position size (negative:
// short), USDC's is the raw USD balance (marginSummary.totalRawUsd: the
// account value less the positions' value), so that a buy of q at p moves
// them by +q and −p×q−fee, as on a spot venue. The amounts open orders
// commit (price × size of buys in USDC, the size of sells in the coin)
// are shown Locked; the margin the venue actually holds depends on the
// leverage and is in Positions.
//
// Rules: StepSize is 10^−szDecimals; TickSize is the venue's price rule
// at the current mark price (five significant figures, at most
// 6−szDecimals decimals, integers always allowed), so it changes when the
// price crosses a power of ten; MinNotional is the venue's 10 USDC.
// Market orders are sent as IOC limit orders 5% through the mid price
// (Hyperliquid has no market order type); FOK is not offered. Stop orders
// are the venue's trigger orders with tpsl "sl" (STOP_LOSS: isMarket, its
// limit 5% through the trigger; STOP_LOSS_LIMIT: its limit price); a stop
// sell is reduce-only, so it never opens a short; one the mid price has
// already passed is refused instead of triggering at once. Client order ids become cloids: one that is already 0x and 32
// hex digits is sent as is, any other is hashed (Keccak-256, first 16
// bytes) and remembered by this adapter to be shown back.
package hyperliquid

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	hl "github.com/tradai/tradai/internal/hyperliquid"
	"github.com/tradai/tradai/sdk"
	"golang.org/x/crypto/sha3"
)

// Quote is the asset perpetuals settle in.
const Quote = "USDC"

// minNotional is the venue's smallest order value.
var minNotional = fixed.MustParse("10")

// marketSlippage is how far through the mid price a market order's IOC
// limit goes.
var marketSlippage = fixed.MustParse("0.05")

// stopTypes are the stop orders the venue takes (trigger orders).
var stopTypes = []exchange.OrderType{exchange.StopLossOrder, exchange.StopLossLimitOrder}

// Exchange is an exchange.Exchange on one Hyperliquid account.
type Exchange struct {
	c     *hl.Client
	clock clock.Clock

	mu     sync.Mutex
	assets map[string]assetInfo // by coin
	names  map[string]string    // cloid → the client order id it was made from
}

type assetInfo struct {
	index      int
	szDecimals int
}

var _ exchange.Exchange = (*Exchange)(nil)

// New returns the exchange of c's account; clk is the clock candles are
// asked up to (nil: clock.Real).
func New(c *hl.Client, clk clock.Clock) *Exchange {
	if clk == nil {
		clk = clock.Real()
	}
	return &Exchange{c: c, clock: clk, assets: map[string]assetInfo{}, names: map[string]string{}}
}

// venueError turns the client's errors into *exchange.Error.
func venueError(err error) error {
	var e *hl.APIError
	if !errors.As(err, &e) {
		return err
	}
	return &exchange.Error{Kind: kindOf(e.HTTPStatus, e.Msg), HTTPStatus: e.HTTPStatus, Msg: e.Msg, RetryAfter: e.RetryAfter}
}

// kindOf classifies the venue's messages (its documented order and
// cancel errors).
func kindOf(status int, msg string) error {
	m := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests || strings.Contains(m, "rate limit"):
		return exchange.ErrRateLimited
	case status >= 500:
		return exchange.ErrUnknownStatus
	case strings.Contains(m, "does not exist") || strings.Contains(m, "signature"):
		return exchange.ErrAuth
	case strings.Contains(m, "never placed") || strings.Contains(m, "unknown order") || strings.Contains(m, "unknownoid"):
		return exchange.ErrUnknownOrder
	case strings.Contains(m, "duplicate"):
		return exchange.ErrDuplicateOrder
	case strings.Contains(m, "insufficient margin") || strings.Contains(m, "insufficient balance"):
		return exchange.ErrInsufficientBalance
	case strings.Contains(m, "invalid price") || strings.Contains(m, "invalid size") || strings.Contains(m, "tick size") ||
		strings.Contains(m, "minimum value") || strings.Contains(m, "too many decimals"):
		return exchange.ErrFilter
	case strings.Contains(m, "unknown asset") || strings.Contains(m, "unknown coin"):
		return exchange.ErrUnknownSymbol
	case strings.Contains(m, "could not immediately match") || strings.Contains(m, "post only") || strings.Contains(m, "reduce only"):
		return exchange.ErrRejected
	}
	if status == http.StatusOK {
		return exchange.ErrRejected
	}
	return nil
}

func (x *Exchange) info(ctx context.Context, req hl.Obj, out any) error {
	return venueError(x.c.Info(ctx, req, out))
}

func (x *Exchange) user() hl.KV { return hl.KV{K: "user", V: x.c.Account()} }

// ServerTime implements exchange.Exchange: the time of the account's
// clearinghouse state.
func (x *Exchange) ServerTime(ctx context.Context) (time.Time, error) {
	var st hl.ClearinghouseState
	if err := x.info(ctx, hl.Obj{{K: "type", V: "clearinghouseState"}, x.user()}, &st); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(st.Time), nil
}

// TickSize is the price step of a perpetual with szDecimals at price px:
// five significant figures, at most 6−szDecimals decimals, never coarser
// than 1 (integer prices are always allowed).
func TickSize(px fixed.Dec, szDecimals int) fixed.Dec {
	minTick := pow10(-(6 - szDecimals))
	if px <= 0 {
		return minTick
	}
	e := int(math.Floor(math.Log10(px.Float())))
	return min(max(pow10(e-4), minTick), fixed.One)
}

// pow10 is 10^e as a Dec, 10^−8 at the smallest.
func pow10(e int) fixed.Dec {
	d := fixed.Dec(1)
	for i := -fixed.Decimals; i < e; i++ {
		d *= 10
	}
	return d
}

// Markets implements exchange.Exchange: the listed perpetuals, their
// rules at the current mark price.
func (x *Exchange) Markets(ctx context.Context) ([]exchange.Market, error) {
	var mc hl.MetaAndCtxs
	if err := x.info(ctx, hl.Obj{{K: "type", V: "metaAndAssetCtxs"}}, &mc); err != nil {
		return nil, fmt.Errorf("read the perpetuals: %w", err)
	}
	x.remember(mc.Meta)
	out := make([]exchange.Market, 0, len(mc.Meta.Universe))
	for i, a := range mc.Meta.Universe {
		if a.IsDelisted || a.SzDecimals < 0 || a.SzDecimals > 6 {
			continue
		}
		var px fixed.Dec
		if i < len(mc.Ctxs) {
			px = mc.Ctxs[i].MarkPx
		}
		step := pow10(-a.SzDecimals)
		out = append(out, exchange.Market{Symbol: a.Name, Base: a.Name, Quote: Quote, TickSize: TickSize(px, a.SzDecimals),
			StepSize: step, MinQty: step, MinNotional: minNotional, OrderTypes: stopTypes})
	}
	return out, nil
}

func (x *Exchange) remember(m hl.Meta) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, a := range m.Universe {
		x.assets[a.Name] = assetInfo{index: i, szDecimals: a.SzDecimals}
	}
}

// asset is coin's asset id, from the meta read once (again on a miss).
func (x *Exchange) asset(ctx context.Context, coin string) (assetInfo, error) {
	x.mu.Lock()
	a, ok := x.assets[coin]
	x.mu.Unlock()
	if ok {
		return a, nil
	}
	var m hl.Meta
	if err := x.info(ctx, hl.Obj{{K: "type", V: "meta"}}, &m); err != nil {
		return a, fmt.Errorf("read the perpetuals: %w", err)
	}
	x.remember(m)
	x.mu.Lock()
	a, ok = x.assets[coin]
	x.mu.Unlock()
	if !ok {
		return a, &exchange.Error{Kind: exchange.ErrUnknownSymbol, Msg: fmt.Sprintf("no perpetual %q on Hyperliquid", coin)}
	}
	return a, nil
}

var cloidRE = regexp.MustCompile(`^0x[0-9a-f]{32}$`)

// cloid is the venue's client order id for id.
func (x *Exchange) cloid(id string) string {
	if cloidRE.MatchString(id) {
		return id
	}
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(id))
	c := "0x" + hex.EncodeToString(h.Sum(nil)[:16])
	x.mu.Lock()
	x.names[c] = id
	x.mu.Unlock()
	return c
}

// clientID is the client order id a cloid was made from, if this
// adapter made it, else the cloid.
func (x *Exchange) clientID(cloid *string) string {
	if cloid == nil {
		return ""
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if id, ok := x.names[*cloid]; ok {
		return id
	}
	return *cloid
}

// Wire is an amount as the venue wants it: no trailing zeros.
func Wire(d fixed.Dec) string {
	s := d.String()
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Balances implements exchange.Exchange: the cash view described in the
// package comment.
func (x *Exchange) Balances(ctx context.Context) ([]exchange.Balance, error) {
	var st hl.ClearinghouseState
	if err := x.info(ctx, hl.Obj{{K: "type", V: "clearinghouseState"}, x.user()}, &st); err != nil {
		return nil, fmt.Errorf("read the account: %w", err)
	}
	var open []hl.OpenOrder
	if err := x.info(ctx, hl.Obj{{K: "type", V: "frontendOpenOrders"}, x.user()}, &open); err != nil {
		return nil, fmt.Errorf("read the open orders: %w", err)
	}
	bal := map[string]*exchange.Balance{Quote: {Asset: Quote, Free: st.MarginSummary.TotalRawUsd}}
	get := func(a string) *exchange.Balance {
		if bal[a] == nil {
			bal[a] = &exchange.Balance{Asset: a}
		}
		return bal[a]
	}
	for _, p := range st.AssetPositions {
		get(p.Position.Coin).Free += p.Position.Szi
	}
	for _, o := range open {
		if o.Side == "B" {
			lock := fixed.MulCeil(o.LimitPx, o.Sz)
			q := get(Quote)
			q.Free -= lock
			q.Locked += lock
		} else {
			b := get(o.Coin)
			b.Free -= o.Sz
			b.Locked += o.Sz
		}
	}
	out := make([]exchange.Balance, 0, len(bal))
	for _, b := range bal {
		if b.Free != 0 || b.Locked != 0 || b.Asset == Quote {
			out = append(out, *b)
		}
	}
	slices.SortFunc(out, func(a, b exchange.Balance) int { return strings.Compare(a.Asset, b.Asset) })
	return out, nil
}

// Positions is the account's perpetual positions and margin (a
// capability beyond exchange.Exchange).
func (x *Exchange) Positions(ctx context.Context) (hl.ClearinghouseState, error) {
	var st hl.ClearinghouseState
	if err := x.info(ctx, hl.Obj{{K: "type", V: "clearinghouseState"}, x.user()}, &st); err != nil {
		return st, fmt.Errorf("read the positions: %w", err)
	}
	return st, nil
}

// PlaceOrder implements exchange.Exchange.
func (x *Exchange) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	a, err := x.asset(ctx, req.Symbol)
	if err != nil {
		return exchange.Order{}, err
	}
	refuse := func(msg string) (exchange.Order, error) {
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrRejected, Msg: msg}
	}
	if req.Side != exchange.Buy && req.Side != exchange.Sell {
		return refuse(fmt.Sprintf("unknown side %q", req.Side))
	}
	if req.Quantity <= 0 {
		return refuse("Hyperliquid orders give their size in the coin (no quote quantity)")
	}
	if req.TrailingDelta != 0 {
		return refuse("Hyperliquid has no trailing stops (a trailing delta): the runner manages the stop")
	}
	px, tif := req.Price, "Gtc"
	var trigger hl.Obj // a stop's
	switch req.Type {
	case exchange.LimitOrder:
		switch req.TimeInForce {
		case "", exchange.GTC:
		case exchange.IOC:
			tif = "Ioc"
		default:
			return refuse(fmt.Sprintf("Hyperliquid has no %s orders", req.TimeInForce))
		}
	case exchange.MarketOrder:
		tif = "Ioc"
		mid, err := x.mid(ctx, req.Symbol)
		if err != nil {
			return exchange.Order{}, err
		}
		px = through(mid, a, req.Side)
	case exchange.StopLossOrder, exchange.StopLossLimitOrder:
		if req.StopPrice <= 0 || (req.Type == exchange.StopLossLimitOrder && px <= 0) {
			return refuse("a stop order needs its stop price (and a stop-limit its limit price)")
		}
		mid, err := x.mid(ctx, req.Symbol)
		if err != nil {
			return exchange.Order{}, err
		}
		if (req.Side == exchange.Sell && req.StopPrice >= mid) || (req.Side == exchange.Buy && req.StopPrice <= mid) {
			return refuse(fmt.Sprintf("the stop %s would trigger at once (the mid price is %s)", req.StopPrice, mid))
		}
		market := req.Type == exchange.StopLossOrder
		if market {
			px = through(req.StopPrice, a, req.Side)
		}
		trigger = hl.Obj{{K: "isMarket", V: market}, {K: "triggerPx", V: Wire(req.StopPrice)}, {K: "tpsl", V: "sl"}}
	default:
		return refuse(fmt.Sprintf("order type %s is not offered on Hyperliquid", req.Type))
	}
	t := hl.Obj{{K: "limit", V: hl.Obj{{K: "tif", V: tif}}}}
	if trigger != nil {
		t = hl.Obj{{K: "trigger", V: trigger}}
	}
	reduce := trigger != nil && req.Side == exchange.Sell
	w := hl.Obj{{K: "a", V: a.index}, {K: "b", V: req.Side == exchange.Buy}, {K: "p", V: Wire(px)}, {K: "s", V: Wire(req.Quantity)},
		{K: "r", V: reduce}, {K: "t", V: t}}
	if req.ClientOrderID != "" {
		w = append(w, hl.KV{K: "c", V: x.cloid(req.ClientOrderID)})
	}
	action := hl.Obj{{K: "type", V: "order"}, {K: "orders", V: []any{w}}, {K: "grouping", V: "na"}}
	var r hl.Statuses
	if err := venueError(x.c.Exchange(ctx, action, &r)); err != nil {
		return exchange.Order{}, fmt.Errorf("place the %s order: %w", req.Symbol, err)
	}
	if len(r.Data.Statuses) != 1 {
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownStatus, HTTPStatus: http.StatusOK, Msg: fmt.Sprintf("%d statuses for one order", len(r.Data.Statuses))}
	}
	s := r.Data.Statuses[0]
	var ref exchange.OrderRef
	switch {
	case s.Error != nil && waiting(*s.Error):
		// A trigger order answered with a bare status, no oid: found by
		// its cloid.
		if req.ClientOrderID == "" {
			return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownStatus, HTTPStatus: http.StatusOK,
				Msg: "the order is " + *s.Error + " without an order id, and has no client order id to be found by"}
		}
		ref.ClientID = req.ClientOrderID
	case s.Error != nil:
		return exchange.Order{}, &exchange.Error{Kind: kindOf(http.StatusOK, *s.Error), HTTPStatus: http.StatusOK, Msg: *s.Error}
	case s.Resting != nil:
		ref.ID = s.Resting.Oid
	case s.Filled != nil:
		ref.ID = s.Filled.Oid
	}
	o, err := x.Order(ctx, req.Symbol, ref)
	if err != nil {
		return o, fmt.Errorf("order %s was placed; reading it back: %w", refString(ref), err)
	}
	if req.Type == exchange.MarketOrder {
		o.Type, o.Price, o.TimeInForce = exchange.MarketOrder, 0, ""
	}
	return o, nil
}

// waiting reports whether an order's status is one of the bare strings
// the venue answers for a trigger order waiting (for its trigger, or for
// the fill of the order it belongs to).
func waiting(status string) bool { return status == "waitingForTrigger" || status == "waitingForFill" }

// mid is coin's mid price.
func (x *Exchange) mid(ctx context.Context, coin string) (fixed.Dec, error) {
	var mids map[string]fixed.Dec
	if err := x.info(ctx, hl.Obj{{K: "type", V: "allMids"}}, &mids); err != nil {
		return 0, fmt.Errorf("read the mid price of %s: %w", coin, err)
	}
	mid := mids[coin]
	if mid <= 0 {
		return 0, &exchange.Error{Kind: exchange.ErrRejected, Msg: "no mid price for " + coin}
	}
	return mid, nil
}

// through is the limit of an order that must trade at once at about
// price (a market order at the mid, a stop market at its trigger): 5%
// through it, on the venue's price rule.
func through(price fixed.Dec, a assetInfo, side exchange.Side) fixed.Dec {
	if side == exchange.Buy {
		p := fixed.MulCeil(price, fixed.One+marketSlippage)
		return p.CeilTo(TickSize(p, a.szDecimals))
	}
	p := fixed.MulFloor(price, fixed.One-marketSlippage)
	return p.FloorTo(TickSize(p, a.szDecimals))
}

// cancel sends a cancel action and returns the order's state after it.
func (x *Exchange) cancel(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	a, err := x.asset(ctx, symbol)
	if err != nil {
		return exchange.Order{}, err
	}
	var action hl.Obj
	if ref.ClientID != "" {
		action = hl.Obj{{K: "type", V: "cancelByCloid"}, {K: "cancels", V: []any{hl.Obj{{K: "asset", V: a.index}, {K: "cloid", V: x.cloid(ref.ClientID)}}}}}
	} else {
		action = hl.Obj{{K: "type", V: "cancel"}, {K: "cancels", V: []any{hl.Obj{{K: "a", V: a.index}, {K: "o", V: ref.ID}}}}}
	}
	var r hl.Statuses
	if err := venueError(x.c.Exchange(ctx, action, &r)); err != nil {
		return exchange.Order{}, err
	}
	if len(r.Data.Statuses) != 1 {
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownStatus, HTTPStatus: http.StatusOK, Msg: fmt.Sprintf("%d statuses for one cancel", len(r.Data.Statuses))}
	}
	if e := r.Data.Statuses[0].Error; e != nil {
		return exchange.Order{}, &exchange.Error{Kind: kindOf(http.StatusOK, *e), HTTPStatus: http.StatusOK, Msg: *e}
	}
	return x.Order(ctx, symbol, ref)
}

// CancelOrder implements exchange.Exchange (cancel, or cancelByCloid).
func (x *Exchange) CancelOrder(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	o, err := x.cancel(ctx, symbol, ref)
	if err != nil {
		return o, fmt.Errorf("cancel the %s order %s: %w", symbol, refString(ref), err)
	}
	return o, nil
}

func refString(ref exchange.OrderRef) string {
	if ref.ClientID != "" {
		return ref.ClientID
	}
	return fmt.Sprint(ref.ID)
}

// Order implements exchange.Exchange: orderStatus by oid or cloid, the
// quote amount from the order's fills.
func (x *Exchange) Order(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	req := hl.Obj{{K: "type", V: "orderStatus"}, x.user()}
	if ref.ClientID != "" {
		req = append(req, hl.KV{K: "oid", V: x.cloid(ref.ClientID)})
	} else {
		req = append(req, hl.KV{K: "oid", V: ref.ID})
	}
	var st hl.OrderStatus
	if err := x.info(ctx, req, &st); err != nil {
		return exchange.Order{}, fmt.Errorf("read the %s order %s: %w", symbol, refString(ref), err)
	}
	if st.Status != "order" || st.Order == nil || st.Order.Order.Coin != symbol {
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownOrder, HTTPStatus: http.StatusOK,
			Msg: fmt.Sprintf("%s: no %s order %s", st.Status, symbol, refString(ref))}
	}
	o := x.order(st.Order.Order, st.Order.Status, st.Order.StatusTimestamp)
	if ref.ClientID != "" {
		o.ClientOrderID = ref.ClientID
	}
	if o.Executed > 0 {
		fills, err := x.fills(ctx)
		if err != nil {
			return o, err
		}
		for _, f := range fills {
			if f.Oid == o.ID {
				o.QuoteExecuted += fixed.MulCeil(f.Px, f.Sz)
			}
		}
	}
	return o, nil
}

// order maps the venue's order and status.
func (x *Exchange) order(v hl.OpenOrder, status string, at int64) exchange.Order {
	o := exchange.Order{Symbol: v.Coin, ID: v.Oid, ClientOrderID: x.clientID(v.Cloid), Side: exchange.Buy, Type: exchange.LimitOrder,
		TimeInForce: exchange.GTC, Price: v.LimitPx, Quantity: v.OrigSz, Executed: v.OrigSz - v.Sz,
		Time: time.UnixMilli(v.Timestamp), UpdateTime: time.UnixMilli(max(at, v.Timestamp))}
	if v.Side == "A" {
		o.Side = exchange.Sell
	}
	if o.Quantity == 0 { // openOrders answers have no origSz
		o.Quantity, o.Executed = v.Sz, 0
	}
	ioc := v.Tif != nil && *v.Tif == "Ioc"
	if ioc {
		o.TimeInForce = exchange.IOC
	}
	switch v.OrderType { // a trigger order keeps its type once triggered
	case "Stop Market":
		o.Type, o.StopPrice, o.Price, o.TimeInForce = exchange.StopLossOrder, v.TriggerPx, 0, ""
	case "Stop Limit":
		o.Type, o.StopPrice = exchange.StopLossLimitOrder, v.TriggerPx
	}
	switch status {
	case "open", "triggered", "":
		o.Status = exchange.StatusNew
		if o.Executed > 0 {
			o.Status = exchange.StatusPartiallyFilled
		}
	case "filled":
		o.Status, o.Executed = exchange.StatusFilled, o.Quantity
	case "rejected":
		o.Status = exchange.StatusRejected
	default: // canceled, marginCanceled, reduceOnlyCanceled, …
		o.Status = exchange.StatusCanceled
		if ioc {
			o.Status = exchange.StatusExpired
		}
	}
	return o
}

// OpenOrders implements exchange.Exchange (frontendOpenOrders).
func (x *Exchange) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	var open []hl.OpenOrder
	if err := x.info(ctx, hl.Obj{{K: "type", V: "frontendOpenOrders"}, x.user()}, &open); err != nil {
		return nil, fmt.Errorf("read the open orders: %w", err)
	}
	var out []exchange.Order
	for _, v := range open {
		if v.Coin == symbol {
			out = append(out, x.order(v, "open", v.Timestamp))
		}
	}
	slices.SortFunc(out, func(a, b exchange.Order) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func (x *Exchange) fills(ctx context.Context) ([]hl.Fill, error) {
	var fs []hl.Fill
	if err := x.info(ctx, hl.Obj{{K: "type", V: "userFills"}, x.user()}, &fs); err != nil {
		return nil, fmt.Errorf("read the fills: %w", err)
	}
	return fs, nil
}

// Trade maps one of the venue's fills.
func Trade(f hl.Fill) exchange.Trade {
	t := exchange.Trade{Symbol: f.Coin, ID: f.Tid, OrderID: f.Oid, Side: exchange.Buy, Price: f.Px, Qty: f.Sz,
		QuoteQty: fixed.MulCeil(f.Px, f.Sz), Commission: f.Fee, CommissionAsset: f.FeeToken, Maker: !f.Crossed, Time: time.UnixMilli(f.Time)}
	if f.Side == "A" {
		t.Side = exchange.Sell
	}
	if t.CommissionAsset == "" {
		t.CommissionAsset = Quote
	}
	return t
}

// MyTrades implements exchange.Exchange (userFills: the venue's newest
// 2,000).
func (x *Exchange) MyTrades(ctx context.Context, symbol string, limit int) ([]exchange.Trade, error) {
	fs, err := x.fills(ctx)
	if err != nil {
		return nil, err
	}
	var out []exchange.Trade
	for _, f := range fs {
		if f.Coin == symbol {
			out = append(out, Trade(f))
		}
	}
	slices.SortStableFunc(out, func(a, b exchange.Trade) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// intervals are the candle intervals the venue serves.
var intervals = []sdk.Timeframe{"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "3d", "1w", "1M"}

// Klines implements exchange.Exchange (candleSnapshot).
func (x *Exchange) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	if !slices.Contains(intervals, tf) {
		return nil, fmt.Errorf("hyperliquid has no %s candles", tf)
	}
	if limit <= 0 {
		limit = 500
	}
	end := x.clock.Now().UnixMilli()
	start := tf.Floor(end) - int64(limit-1)*tf.Millis()
	var cs []hl.Candle
	req := hl.Obj{{K: "type", V: "candleSnapshot"}, {K: "req", V: hl.Obj{{K: "coin", V: symbol}, {K: "interval", V: string(tf)}, {K: "startTime", V: start}, {K: "endTime", V: end}}}}
	if err := x.info(ctx, req, &cs); err != nil {
		return nil, fmt.Errorf("read the %s %s candles: %w", symbol, tf, err)
	}
	out := make([]exchange.Kline, 0, len(cs))
	for _, c := range cs {
		out = append(out, exchange.Kline{Time: time.UnixMilli(c.T), Open: c.O, High: c.H, Low: c.L, Close: c.C, Volume: c.V})
	}
	slices.SortFunc(out, func(a, b exchange.Kline) int { return a.Time.Compare(b.Time) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// StreamFills calls fn with each new fill of the account, as the venue's
// userFills WebSocket subscription sends it, until ctx ends or the
// connection drops (the error that ended it). The snapshot of past fills
// the subscription starts with is not delivered: MyTrades has them. fn
// must not block.
func (x *Exchange) StreamFills(ctx context.Context, fn func(exchange.Trade)) error {
	return x.c.SubscribeUserFills(ctx, func(m hl.FillsMessage) {
		if m.IsSnapshot {
			return
		}
		for _, f := range m.Fills {
			fn(Trade(f))
		}
	})
}
