// Package binance implements exchange.Exchange over Binance's spot REST
// API (/api/v3): the real exchange (base URL https://api.binance.com) or
// TradAI's simulator (tradai sim, serve --sim) alike. Requests go through
// the Binance client core (internal/binance): signed, within the request
// weight, HTTP 429 waited out and retried, GET requests retried on server
// and network errors; Binance's error codes become the typed errors of
// package exchange.
package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// Client is an exchange.Exchange on Binance's REST API.
type Client struct {
	rest *rest.Client
	// check, when set, checks each order against its symbol's filters
	// before sending it (CheckingFilters).
	check *filterCheck
}

var _ exchange.Exchange = (*Client)(nil)

// New returns an exchange over the API that c talks to (base URL, key and
// secret, rate limits: see rest.Config).
func New(c *rest.Client) *Client { return &Client{rest: c} }

// Weight is the request weight the client sent, and the venue's last
// count of its minute (binance.Client.Weight).
func (c *Client) Weight() (sent int64, minute int) { return c.rest.Weight() }

// CheckingFilters returns c checking every order against its symbol's
// exchange filters before sending it (PRICE_FILTER, PERCENT_PRICE_BY_SIDE,
// LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL or MIN_NOTIONAL, MAX_NUM_ORDERS): one
// the venue would refuse is refused without a request, as the venue would
// (an *exchange.Error of kind exchange.ErrFilter, code -1013;
// MAX_NUM_ORDERS exchange.ErrRejected, -2010). The filters
// are read from exchangeInfo at the first order of a symbol and kept for
// the client's life; the price and the open orders only when a filter
// needs them. Live deployments trade through it, so a real account does
// not collect filter failures (which Binance counts against the key).
func (c *Client) CheckingFilters() *Client {
	return &Client{rest: c.rest, check: &filterCheck{}}
}

// do sends one request of the given weight and decodes a 200 answer into
// out; signed requests get timestamp, recvWindow and signature.
func (c *Client) do(ctx context.Context, method, path string, weight int, q url.Values, signed bool, out any) error {
	return c.call(ctx, rest.Request{Method: method, Path: path, Query: q, Signed: signed, Weight: weight}, func(body []byte) error {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%w: %w", rest.ErrUndecodable, err)
		}
		return nil
	})
}

// call sends r through the core; errors of the exchange become
// *exchange.Error.
func (c *Client) call(ctx context.Context, r rest.Request, decode func([]byte) error) error {
	_, err := c.rest.Do(ctx, r, decode)
	var apiErr *rest.APIError
	if errors.As(err, &apiErr) {
		return exchangeError(apiErr)
	}
	return err
}

// exchangeError turns an error answer into an *exchange.Error.
func exchangeError(e *rest.APIError) *exchange.Error {
	return &exchange.Error{HTTPStatus: e.Status, Code: e.Code, Msg: e.Msg, Kind: kindOf(e.Status, e.Code, e.Msg), RetryAfter: e.RetryAfter}
}

// kindOf maps Binance's codes to the kinds of failure.
func kindOf(status, code int, msg string) error {
	switch {
	case status == http.StatusTooManyRequests || status == 418 || code == -1003:
		return exchange.ErrRateLimited
	case code == -2013 || code == -2011:
		return exchange.ErrUnknownOrder
	case code == -1013 || code == -1111:
		return exchange.ErrFilter
	case code == -1121:
		return exchange.ErrUnknownSymbol
	case code == -2014 || code == -2015 || code == -1022 || code == -1021 || code == -1002:
		return exchange.ErrAuth
	case code == -1007 || code == -1006 || status == http.StatusServiceUnavailable:
		return exchange.ErrUnknownStatus
	case code == -2010:
		switch {
		case strings.Contains(msg, "insufficient balance"):
			return exchange.ErrInsufficientBalance
		case strings.Contains(msg, "Duplicate order"):
			return exchange.ErrDuplicateOrder
		}
		return exchange.ErrRejected
	}
	return nil
}

// ServerTime implements exchange.Exchange.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	var r struct {
		ServerTime int64 `json:"serverTime"`
	}
	if err := c.do(ctx, "GET", "/api/v3/time", 1, nil, false, &r); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(r.ServerTime), nil
}

// Markets implements exchange.Exchange: the symbols that are TRADING.
func (c *Client) Markets(ctx context.Context) ([]exchange.Market, error) {
	var r struct {
		Symbols []struct {
			Symbol     string    `json:"symbol"`
			Status     string    `json:"status"`
			BaseAsset  string    `json:"baseAsset"`
			QuoteAsset string    `json:"quoteAsset"`
			OrderTypes []string  `json:"orderTypes"`
			Trailing   bool      `json:"allowTrailingStop"`
			Filters    []lenient `json:"filters"`
		} `json:"symbols"`
	}
	if err := c.do(ctx, "GET", "/api/v3/exchangeInfo", 20, nil, false, &r); err != nil {
		return nil, err
	}
	var out []exchange.Market
	for _, s := range r.Symbols {
		if s.Status != "TRADING" {
			continue
		}
		m := exchange.Market{Symbol: s.Symbol, Base: s.BaseAsset, Quote: s.QuoteAsset}
		for _, t := range s.OrderTypes {
			m.OrderTypes = append(m.OrderTypes, exchange.OrderType(t))
		}
		for _, lf := range s.Filters {
			f := lf.f
			switch f.FilterType {
			case "PRICE_FILTER":
				m.TickSize, m.MinPrice, m.MaxPrice = f.TickSize, f.MinPrice, f.MaxPrice
			case "LOT_SIZE":
				m.StepSize, m.MinQty, m.MaxQty = f.StepSize, f.MinQty, f.MaxQty
			case "NOTIONAL", "MIN_NOTIONAL":
				m.MinNotional = f.MinNotional
			case "TRAILING_DELTA":
				if s.Trailing {
					m.TrailingBelow = exchange.DeltaRange{Min: f.MinTrailingBelow, Max: f.MaxTrailingBelow}
					m.TrailingAbove = exchange.DeltaRange{Min: f.MinTrailingAbove, Max: f.MaxTrailingAbove}
				}
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// lenient decodes a filter, leaving a filter of a shape it does not know
// (Binance adds new ones) empty instead of failing.
type lenient struct{ f rawFilter }

func (l *lenient) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &l.f); err != nil {
		var t struct {
			FilterType string `json:"filterType"`
		}
		json.Unmarshal(b, &t)
		l.f = rawFilter{FilterType: "unknown:" + t.FilterType}
	}
	return nil
}

// Balances implements exchange.Exchange.
func (c *Client) Balances(ctx context.Context) ([]exchange.Balance, error) {
	var r struct {
		Balances []struct {
			Asset  string    `json:"asset"`
			Free   fixed.Dec `json:"free"`
			Locked fixed.Dec `json:"locked"`
		} `json:"balances"`
	}
	if err := c.do(ctx, "GET", "/api/v3/account", 20, nil, true, &r); err != nil {
		return nil, err
	}
	out := make([]exchange.Balance, 0, len(r.Balances))
	for _, b := range r.Balances {
		if b.Free != 0 || b.Locked != 0 {
			out = append(out, exchange.Balance{Asset: b.Asset, Free: b.Free, Locked: b.Locked})
		}
	}
	return out, nil
}

// order is Binance's order answer (RESULT, queries, cancels).
type order struct {
	Symbol              string    `json:"symbol"`
	OrderID             int64     `json:"orderId"`
	ClientOrderID       string    `json:"clientOrderId"`
	OrigClientOrderID   string    `json:"origClientOrderId"`
	Price               fixed.Dec `json:"price"`
	StopPrice           fixed.Dec `json:"stopPrice"`
	TrailingDelta       int64     `json:"trailingDelta"`
	OrigQty             fixed.Dec `json:"origQty"`
	ExecutedQty         fixed.Dec `json:"executedQty"`
	CummulativeQuoteQty fixed.Dec `json:"cummulativeQuoteQty"`
	Status              string    `json:"status"`
	TimeInForce         string    `json:"timeInForce"`
	Type                string    `json:"type"`
	Side                string    `json:"side"`
	Time                int64     `json:"time"`
	TransactTime        int64     `json:"transactTime"`
	UpdateTime          int64     `json:"updateTime"`
}

func (o *order) toExchange() exchange.Order {
	id := o.ClientOrderID
	if o.OrigClientOrderID != "" { // a cancel's answer: clientOrderId is the cancel's own
		id = o.OrigClientOrderID
	}
	created, updated := o.Time, o.UpdateTime
	if created == 0 {
		created = o.TransactTime
	}
	if updated == 0 {
		updated = max(o.TransactTime, created)
	}
	return exchange.Order{Symbol: o.Symbol, ID: o.OrderID, ClientOrderID: id, Side: exchange.Side(o.Side), Type: exchange.OrderType(o.Type),
		TimeInForce: exchange.TimeInForce(o.TimeInForce), Status: exchange.Status(o.Status), Price: o.Price, StopPrice: o.StopPrice, TrailingDelta: o.TrailingDelta, Quantity: o.OrigQty,
		Executed: o.ExecutedQty, QuoteExecuted: o.CummulativeQuoteQty, Time: time.UnixMilli(created), UpdateTime: time.UnixMilli(updated)}
}

func refParams(symbol string, ref exchange.OrderRef) (url.Values, error) {
	q := url.Values{"symbol": {symbol}}
	switch {
	case ref.ID != 0:
		q.Set("orderId", strconv.FormatInt(ref.ID, 10))
	case ref.ClientID != "":
		q.Set("origClientOrderId", ref.ClientID)
	default:
		return nil, errors.New("binance: an order reference needs an id or a client order id")
	}
	return q, nil
}

// PlaceOrder implements exchange.Exchange.
func (c *Client) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if c.check != nil {
		if err := c.checkFilters(ctx, req); err != nil {
			return exchange.Order{}, err
		}
	}
	q := url.Values{"symbol": {req.Symbol}, "side": {string(req.Side)}, "type": {string(req.Type)}, "newOrderRespType": {"RESULT"}}
	if req.Quantity != 0 {
		q.Set("quantity", req.Quantity.String())
	}
	if req.QuoteQuantity != 0 {
		q.Set("quoteOrderQty", req.QuoteQuantity.String())
	}
	if req.Type.HasPrice() {
		tif := req.TimeInForce
		if tif == "" {
			tif = exchange.GTC
		}
		q.Set("timeInForce", string(tif))
		q.Set("price", req.Price.String())
	}
	if req.Type.IsStop() && (req.StopPrice != 0 || req.TrailingDelta == 0) {
		q.Set("stopPrice", req.StopPrice.String())
	}
	if req.TrailingDelta != 0 {
		q.Set("trailingDelta", strconv.FormatInt(req.TrailingDelta, 10))
	}
	if req.ClientOrderID != "" {
		q.Set("newClientOrderId", req.ClientOrderID)
	}
	var o order
	if err := c.do(ctx, "POST", "/api/v3/order", 1, q, true, &o); err != nil {
		return exchange.Order{}, err
	}
	return o.toExchange(), nil
}

// CancelOrder implements exchange.Exchange.
func (c *Client) CancelOrder(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	q, err := refParams(symbol, ref)
	if err != nil {
		return exchange.Order{}, err
	}
	var o order
	if err := c.do(ctx, "DELETE", "/api/v3/order", 1, q, true, &o); err != nil {
		return exchange.Order{}, err
	}
	return o.toExchange(), nil
}

// Order implements exchange.Exchange.
func (c *Client) Order(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	q, err := refParams(symbol, ref)
	if err != nil {
		return exchange.Order{}, err
	}
	var o order
	if err := c.do(ctx, "GET", "/api/v3/order", 4, q, true, &o); err != nil {
		return exchange.Order{}, err
	}
	return o.toExchange(), nil
}

// OpenOrders implements exchange.Exchange.
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	var os []order
	if err := c.do(ctx, "GET", "/api/v3/openOrders", 6, url.Values{"symbol": {symbol}}, true, &os); err != nil {
		return nil, err
	}
	out := make([]exchange.Order, len(os))
	for i := range os {
		out[i] = os[i].toExchange()
	}
	return out, nil
}

// MyTrades implements exchange.Exchange.
func (c *Client) MyTrades(ctx context.Context, symbol string, limit int) ([]exchange.Trade, error) {
	q := url.Values{"symbol": {symbol}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var ts []struct {
		Symbol          string    `json:"symbol"`
		ID              int64     `json:"id"`
		OrderID         int64     `json:"orderId"`
		Price           fixed.Dec `json:"price"`
		Qty             fixed.Dec `json:"qty"`
		QuoteQty        fixed.Dec `json:"quoteQty"`
		Commission      fixed.Dec `json:"commission"`
		CommissionAsset string    `json:"commissionAsset"`
		Time            int64     `json:"time"`
		IsBuyer         bool      `json:"isBuyer"`
		IsMaker         bool      `json:"isMaker"`
	}
	if err := c.do(ctx, "GET", "/api/v3/myTrades", 20, q, true, &ts); err != nil {
		return nil, err
	}
	out := make([]exchange.Trade, len(ts))
	for i, t := range ts {
		side := exchange.Sell
		if t.IsBuyer {
			side = exchange.Buy
		}
		out[i] = exchange.Trade{Symbol: t.Symbol, ID: t.ID, OrderID: t.OrderID, Side: side, Price: t.Price, Qty: t.Qty, QuoteQty: t.QuoteQty,
			Commission: t.Commission, CommissionAsset: t.CommissionAsset, Maker: t.IsMaker, Time: time.UnixMilli(t.Time)}
	}
	return out, nil
}

// Klines implements exchange.Exchange.
func (c *Client) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	q := url.Values{"symbol": {symbol}, "interval": {string(tf)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []exchange.Kline
	err := c.call(ctx, rest.Request{Path: "/api/v3/klines", Query: q, Weight: 2}, func(body []byte) (err error) {
		out, err = parseKlines(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseKlines reads a klines answer into exact decimals.
func parseKlines(body []byte) ([]exchange.Kline, error) {
	ks, err := rest.DecodeKlines(body)
	if err != nil {
		return nil, err
	}
	out := make([]exchange.Kline, 0, ks.Len())
	for i := range ks.Len() {
		r, err := ks.Row(i)
		if err != nil {
			return nil, err
		}
		k := exchange.Kline{Time: time.UnixMilli(r.OpenTime)}
		for j, v := range [...]struct {
			dst *fixed.Dec
			src []byte
		}{{&k.Open, r.Open}, {&k.High, r.High}, {&k.Low, r.Low}, {&k.Close, r.Close}, {&k.Volume, r.Volume}} {
			if *v.dst, err = fixed.Parse(string(v.src)); err != nil {
				return nil, fmt.Errorf("%w: row %d value %d %q: %w", rest.ErrUndecodable, i+1, j+2, v.src, err)
			}
		}
		out = append(out, k)
	}
	return out, nil
}
