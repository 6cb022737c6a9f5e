package binanceapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strconv"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

type ackResp struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"orderId"`
	OrderListID   int64  `json:"orderListId"`
	ClientOrderID string `json:"clientOrderId"`
	TransactTime  int64  `json:"transactTime"`
}

// orderFields are what every answer about an order carries.
type orderFields struct {
	Price               fixed.Dec `json:"price"`
	OrigQty             fixed.Dec `json:"origQty"`
	ExecutedQty         fixed.Dec `json:"executedQty"`
	OrigQuoteOrderQty   fixed.Dec `json:"origQuoteOrderQty"`
	CummulativeQuoteQty fixed.Dec `json:"cummulativeQuoteQty"`
	Status              string    `json:"status"`
	TimeInForce         string    `json:"timeInForce"`
	Type                string    `json:"type"`
	Side                string    `json:"side"`
	// Trailing stops only: the delta, and when tracking started (-1 not
	// yet).
	TrailingDelta *int64 `json:"trailingDelta,omitempty"`
	TrailingTime  *int64 `json:"trailingTime,omitempty"`
}

func fieldsOf(o *sim.Order) orderFields {
	f := orderFields{Price: o.Price, OrigQty: o.OrigQty, ExecutedQty: o.ExecutedQty, OrigQuoteOrderQty: o.OrigQuoteQty,
		CummulativeQuoteQty: o.CumQuote, Status: o.Status.String(), TimeInForce: o.TimeInForce.String(), Type: o.Type.String(), Side: o.Side.String()}
	if o.TrailingDelta > 0 {
		d, at := o.TrailingDelta, trailingTime(o)
		f.TrailingDelta, f.TrailingTime = &d, &at
	}
	return f
}

// trailingTime is when trailing stop o started tracking the price, -1
// while it has not.
func trailingTime(o *sim.Order) int64 {
	if o.TrailingTime == 0 {
		return -1
	}
	return o.TrailingTime
}

type resultResp struct {
	ackResp
	orderFields
	StopPrice               *fixed.Dec `json:"stopPrice,omitempty"`
	WorkingTime             int64      `json:"workingTime"`
	SelfTradePreventionMode string     `json:"selfTradePreventionMode"`
}

type fillResp struct {
	Price           fixed.Dec `json:"price"`
	Qty             fixed.Dec `json:"qty"`
	Commission      fixed.Dec `json:"commission"`
	CommissionAsset string    `json:"commissionAsset"`
	TradeID         int64     `json:"tradeId"`
}

type fullResp struct {
	resultResp
	Fills []fillResp `json:"fills"`
}

type orderResp struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"orderId"`
	OrderListID   int64  `json:"orderListId"`
	ClientOrderID string `json:"clientOrderId"`
	orderFields
	StopPrice               fixed.Dec `json:"stopPrice"`
	IcebergQty              fixed.Dec `json:"icebergQty"`
	Time                    int64     `json:"time"`
	UpdateTime              int64     `json:"updateTime"`
	IsWorking               bool      `json:"isWorking"`
	WorkingTime             int64     `json:"workingTime"`
	SelfTradePreventionMode string    `json:"selfTradePreventionMode"`
}

type cancelResp struct {
	Symbol            string `json:"symbol"`
	OrigClientOrderID string `json:"origClientOrderId"`
	OrderID           int64  `json:"orderId"`
	OrderListID       int64  `json:"orderListId"`
	ClientOrderID     string `json:"clientOrderId"`
	TransactTime      int64  `json:"transactTime"`
	orderFields
	StopPrice               *fixed.Dec `json:"stopPrice,omitempty"`
	SelfTradePreventionMode string     `json:"selfTradePreventionMode"`
}

type tradeResp struct {
	Symbol          string    `json:"symbol"`
	ID              int64     `json:"id"`
	OrderID         int64     `json:"orderId"`
	OrderListID     int64     `json:"orderListId"`
	Price           fixed.Dec `json:"price"`
	Qty             fixed.Dec `json:"qty"`
	QuoteQty        fixed.Dec `json:"quoteQty"`
	Commission      fixed.Dec `json:"commission"`
	CommissionAsset string    `json:"commissionAsset"`
	Time            int64     `json:"time"`
	IsBuyer         bool      `json:"isBuyer"`
	IsMaker         bool      `json:"isMaker"`
	IsBestMatch     bool      `json:"isBestMatch"`
}

func workingTime(o *sim.Order) int64 {
	if o.Working() {
		return o.WorkingTime
	}
	return -1
}

func stopPtr(o *sim.Order) *fixed.Dec {
	if o.Type.IsStop() {
		v := o.StopPrice
		return &v
	}
	return nil
}

func result(o *sim.Order) resultResp {
	return resultResp{
		ackResp:     ackResp{Symbol: o.Symbol, OrderID: o.ID, OrderListID: -1, ClientOrderID: o.ClientOrderID, TransactTime: o.Time},
		orderFields: fieldsOf(o), StopPrice: stopPtr(o), WorkingTime: workingTime(o), SelfTradePreventionMode: "NONE",
	}
}

func orderJSON(o *sim.Order) orderResp {
	return orderResp{
		Symbol: o.Symbol, OrderID: o.ID, OrderListID: -1, ClientOrderID: o.ClientOrderID, orderFields: fieldsOf(o),
		StopPrice: o.StopPrice, Time: o.Time, UpdateTime: o.UpdateTime, IsWorking: o.Working(), WorkingTime: workingTime(o),
		SelfTradePreventionMode: "NONE",
	}
}

func tradeJSON(f *sim.Fill) tradeResp {
	return tradeResp{Symbol: f.Symbol, ID: f.TradeID, OrderID: f.OrderID, OrderListID: -1, Price: f.Price, Qty: f.Qty,
		QuoteQty: f.QuoteQty, Commission: f.Commission, CommissionAsset: f.CommissionAsset, Time: f.Time,
		IsBuyer: f.Side == sim.Buy, IsMaker: f.Maker, IsBestMatch: true}
}

func (s *Server) newOrder(c *call) (any, error) {
	p := &c.p
	sym, err := p.symbol()
	if err != nil {
		return nil, err
	}
	req := sim.OrderRequest{Account: c.account, Symbol: sym}
	switch v := p.str("side"); v {
	case "":
		return nil, sim.MandatoryParam("side")
	default:
		side, ok := sim.ParseSide(v)
		if !ok {
			return nil, &sim.Error{Code: sim.CodeInvalidSide, Msg: "Invalid side."}
		}
		req.Side = side
	}
	switch v := p.str("type"); v {
	case "":
		return nil, sim.MandatoryParam("type")
	default:
		t, ok := sim.ParseOrderType(v)
		if !ok {
			return nil, &sim.Error{Code: sim.CodeInvalidOrderType, Msg: "Invalid orderType."}
		}
		req.Type = t
	}
	if v := p.str("timeInForce"); v != "" {
		tif, ok := sim.ParseTimeInForce(v)
		if !ok {
			return nil, &sim.Error{Code: sim.CodeInvalidTIF, Msg: "Invalid timeInForce."}
		}
		req.TimeInForce = tif
	}
	for _, f := range []struct {
		name string
		dst  *fixed.Dec
	}{{"quantity", &req.Quantity}, {"quoteOrderQty", &req.QuoteOrderQty}, {"price", &req.Price}, {"stopPrice", &req.StopPrice}} {
		if *f.dst, err = p.dec(f.name); err != nil {
			return nil, err
		}
	}
	if req.ClientOrderID, err = p.clientID("newClientOrderId"); err != nil {
		return nil, err
	}
	if ice, err := p.dec("icebergQty"); err != nil {
		return nil, err
	} else if ice > 0 {
		return nil, &sim.Error{Code: sim.CodeNewOrderRejected, Msg: "Iceberg orders are not supported for this symbol."}
	}
	if req.TrailingDelta, err = trailingDelta(p); err != nil {
		return nil, err
	}
	resp := "ACK"
	if req.Type == sim.Market || req.Type == sim.Limit {
		resp = "FULL"
	}
	if v := p.str("newOrderRespType"); v != "" {
		if v != "ACK" && v != "RESULT" && v != "FULL" {
			return nil, illegal("newOrderRespType", "ACK, RESULT, FULL")
		}
		resp = v
	}
	if _, ok := s.cfg.Engine.Symbol(sym); !ok {
		return nil, badSymbol()
	}
	counts, wait, err := s.orders.take(c.account, c.wall)
	counts.set(c.header)
	if err != nil {
		c.header.Set("Retry-After", strconv.Itoa(wait))
		return nil, err
	}
	o, fills, err := s.cfg.Engine.Place(s.simNow(c), req)
	if err != nil || len(fills) > 0 {
		s.orders.giveBack(c.account, c.wall).set(c.header)
	}
	if err != nil {
		return nil, err
	}
	if err := s.sync(c); err != nil {
		return nil, err
	}
	if s.faults != nil && s.faults.hit(s.faults.cfg.ErrorAfterOrder) {
		return nil, errUnknownStatus
	}
	switch resp {
	case "ACK":
		return ackResp{Symbol: o.Symbol, OrderID: o.ID, OrderListID: -1, ClientOrderID: o.ClientOrderID, TransactTime: o.Time}, nil
	case "RESULT":
		return result(&o), nil
	}
	full := fullResp{resultResp: result(&o), Fills: make([]fillResp, 0, len(fills))}
	for _, f := range fills {
		full.Fills = append(full.Fills, fillResp{Price: f.Price, Qty: f.Qty, Commission: f.Commission, CommissionAsset: f.CommissionAsset, TradeID: f.TradeID})
	}
	return full, nil
}

// trailingDelta reads the optional trailingDelta (BIPS): sent, it must
// be a positive whole number (0 is below every TRAILING_DELTA minimum).
func trailingDelta(p *params) (int64, error) {
	v, ok, err := p.long("trailingDelta")
	switch {
	case err != nil:
		return 0, err
	case ok && v == 0:
		return 0, &sim.Error{Code: sim.CodeInvalidMessage, Msg: "Filter failure: TRAILING_DELTA"}
	}
	return v, nil
}

// orderRef reads orderId or origClientOrderId, one of which is mandatory.
func orderRef(p *params) (int64, string, error) {
	id, hasID, err := p.long("orderId")
	if err != nil {
		return 0, "", err
	}
	cid, err := p.clientID("origClientOrderId")
	if err != nil {
		return 0, "", err
	}
	if !hasID && cid == "" {
		return 0, "", &sim.Error{Code: sim.CodeMandatoryParam, Msg: "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"}
	}
	return id, cid, nil
}

func (s *Server) getOrder(c *call) (any, error) {
	sym, err := c.p.symbol()
	if err != nil {
		return nil, err
	}
	id, cid, err := orderRef(&c.p)
	if err != nil {
		return nil, err
	}
	o, err := s.cfg.Engine.Order(c.account, sym, id, cid)
	if sim.IsCode(err, sim.CodeNoSuchOrder) && s.cfg.History != nil {
		o, err = s.cfg.History.Order(c.ctx, c.account, sym, id, cid)
	}
	if err != nil {
		return nil, err
	}
	return orderJSON(&o), nil
}

func newCancelID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:22]
}

func cancelJSON(o *sim.Order, cancelID string) cancelResp {
	return cancelResp{Symbol: o.Symbol, OrigClientOrderID: o.ClientOrderID, OrderID: o.ID, OrderListID: -1, ClientOrderID: cancelID,
		TransactTime: o.UpdateTime, orderFields: fieldsOf(o), StopPrice: stopPtr(o), SelfTradePreventionMode: "NONE"}
}

func (s *Server) cancelOrder(c *call) (any, error) {
	sym, err := c.p.symbol()
	if err != nil {
		return nil, err
	}
	id, cid, err := orderRef(&c.p)
	if err != nil {
		return nil, err
	}
	cancelID, err := c.p.clientID("newClientOrderId")
	if err != nil {
		return nil, err
	}
	if cancelID == "" {
		cancelID = newCancelID()
	}
	o, err := s.cfg.Engine.Cancel(s.simNow(c), c.account, sym, id, cid)
	if err != nil {
		return nil, err
	}
	if err := s.sync(c); err != nil {
		return nil, err
	}
	return cancelJSON(&o, cancelID), nil
}

func (s *Server) cancelAll(c *call) (any, error) {
	sym, err := c.p.symbol()
	if err != nil {
		return nil, err
	}
	open, err := s.cfg.Engine.OpenOrders(c.account, sym)
	if err != nil {
		return nil, err
	}
	out := []cancelResp{}
	for _, o := range open {
		done, err := s.cfg.Engine.Cancel(s.simNow(c), c.account, sym, o.ID, "")
		if err != nil {
			continue // filled or cancelled meanwhile
		}
		out = append(out, cancelJSON(&done, newCancelID()))
	}
	if len(out) == 0 {
		return nil, &sim.Error{Code: sim.CodeCancelRejected, Msg: sim.MsgUnknownOrder}
	}
	if err := s.sync(c); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) openOrders(c *call) (any, error) {
	sym := ""
	if c.p.has("symbol") {
		var err error
		if sym, err = c.p.symbol(); err != nil {
			return nil, err
		}
	}
	open, err := s.cfg.Engine.OpenOrders(c.account, sym)
	if err != nil {
		return nil, err
	}
	return jsonOf(open, orderJSON), nil
}

func (s *Server) historyQuery(p *params, def, maxLimit int64) (Query, error) {
	var q Query
	var err error
	if q.OrderID, _, err = p.long("orderId"); err != nil {
		return q, err
	}
	if q.FromID, _, err = p.long("fromId"); err != nil {
		return q, err
	}
	if q.StartTime, _, err = p.long("startTime"); err != nil {
		return q, err
	}
	if q.EndTime, _, err = p.long("endTime"); err != nil {
		return q, err
	}
	if q.StartTime > 0 && q.EndTime > 0 && q.EndTime-q.StartTime > 24*3600*1000 {
		return q, &sim.Error{Code: -1127, Msg: "More than 24 hours between startTime and endTime."}
	}
	q.Limit, err = p.limit(def, maxLimit)
	return q, err
}

func (s *Server) allOrders(c *call) (any, error) {
	return history(s, c, History.Orders, func(account, sym string, q Query) ([]sim.Order, error) {
		orders, _, err := s.cfg.Engine.History(account, sym)
		return window(orders, q.OrderID, q, func(o sim.Order) (int64, int64) { return o.ID, o.Time }), err
	}, orderJSON)
}

func (s *Server) myTrades(c *call) (any, error) {
	return history(s, c, History.Trades, func(account, sym string, q Query) ([]sim.Fill, error) {
		_, fills, err := s.cfg.Engine.History(account, sym)
		if q.OrderID > 0 {
			fills = slices.DeleteFunc(fills, func(f sim.Fill) bool { return f.OrderID != q.OrderID })
		}
		return window(fills, q.FromID, q, func(f sim.Fill) (int64, int64) { return f.TradeID, f.Time }), err
	}, tradeJSON)
}

// history answers a history request (allOrders, myTrades): the records of
// c's symbol its query selects, from the History store (stored) when the
// server has one, else from the engine's (held); each as its JSON.
func history[T, R any](s *Server, c *call, stored func(History, context.Context, string, string, Query) ([]T, error),
	held func(account, symbol string, q Query) ([]T, error), toJSON func(*T) R) (any, error) {
	sym, err := c.p.symbol()
	if err != nil {
		return nil, err
	}
	q, err := s.historyQuery(&c.p, 500, 1000)
	if err != nil {
		return nil, err
	}
	var items []T
	if s.cfg.History != nil {
		items, err = stored(s.cfg.History, c.ctx, c.account, sym, q)
	} else {
		items, err = held(c.account, sym, q)
	}
	if err != nil {
		return nil, err
	}
	return jsonOf(items, toJSON), nil
}

// jsonOf is the JSON of each item.
func jsonOf[T, R any](items []T, toJSON func(*T) R) []R {
	out := make([]R, 0, len(items))
	for i := range items {
		out = append(out, toJSON(&items[i]))
	}
	return out
}

// window applies Binance's history rules to items sorted by id: from
// fromID on (the oldest limit of them), else within the time range (the
// oldest from startTime, the newest before endTime), else the newest limit.
func window[T any](items []T, fromID int64, q Query, key func(T) (id, t int64)) []T {
	var out []T
	for _, it := range items {
		id, t := key(it)
		if fromID > 0 && id < fromID || q.StartTime > 0 && t < q.StartTime || q.EndTime > 0 && t > q.EndTime {
			continue
		}
		out = append(out, it)
	}
	if len(out) > q.Limit {
		if fromID > 0 || q.StartTime > 0 {
			out = out[:q.Limit]
		} else {
			out = out[len(out)-q.Limit:]
		}
	}
	return out
}

type balanceResp struct {
	Asset  string    `json:"asset"`
	Free   fixed.Dec `json:"free"`
	Locked fixed.Dec `json:"locked"`
}

func (s *Server) account(c *call) (any, error) {
	bs, err := s.cfg.Engine.Balances(c.account)
	if err != nil {
		return nil, errNoKeyAccount()
	}
	omitZero := c.p.str("omitZeroBalances") == "true"
	balances := make([]balanceResp, 0, len(bs))
	for _, b := range bs {
		if omitZero && b.Free == 0 && b.Locked == 0 {
			continue
		}
		balances = append(balances, balanceResp{Asset: b.Asset, Free: b.Free, Locked: b.Locked})
	}
	cfg := s.cfg.Engine.Config()
	bps := func(rate fixed.Dec) int64 { return int64(rate) / (int64(fixed.One) / 10000) }
	return map[string]any{
		"makerCommission": bps(cfg.MakerFee), "takerCommission": bps(cfg.TakerFee), "buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": map[string]fixed.Dec{"maker": cfg.MakerFee, "taker": cfg.TakerFee, "buyer": 0, "seller": 0},
		"canTrade":        true, "canWithdraw": false, "canDeposit": false, "brokered": false,
		"requireSelfTradePrevention": false, "preventSor": false, "updateTime": s.simNow(c), "accountType": "SPOT",
		"balances": balances, "permissions": []string{"SPOT"}, "uid": 0,
	}, nil
}
