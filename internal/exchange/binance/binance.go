// Package binance implements exchange.Exchange over Binance's spot REST
// API (/api/v3): the real exchange (base URL https://api.binance.com) or
// TradAI's simulator (tradai sim, serve --sim) alike. Requests are signed
// as Binance documents (Sign); Binance's error codes become the typed
// errors of package exchange.
package binance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// Sign is the signature Binance expects for a request whose query string
// and body together are payload: hex HMAC-SHA256 keyed with the secret.
func Sign(secret, payload string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil))
}

// Config is what a Client needs. BaseURL is required; APIKey and Secret
// for the account's endpoints.
type Config struct {
	BaseURL        string // e.g. https://api.binance.com or http://127.0.0.1:8090
	APIKey, Secret string
	HTTP           *http.Client  // default: a client with a 30 s timeout
	Clock          clock.Clock   // signs timestamps; nil: the system clock
	RecvWindow     time.Duration // default 5 s (Binance's)
}

// Client is an exchange.Exchange on Binance's REST API.
type Client struct {
	cfg Config
}

var _ exchange.Exchange = (*Client)(nil)

// New returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("binance: base URL %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.RecvWindow == 0 {
		cfg.RecvWindow = 5 * time.Second
	}
	return &Client{cfg: cfg}, nil
}

// do sends one request and decodes a 200 answer into out; signed
// requests get timestamp, recvWindow and signature.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, signed bool, out any) error {
	if q == nil {
		q = url.Values{}
	}
	raw := q.Encode()
	if signed {
		if c.cfg.APIKey == "" || c.cfg.Secret == "" {
			return &exchange.Error{Kind: exchange.ErrAuth, Code: -2014, Msg: "an API key and secret are needed for this request"}
		}
		q.Set("timestamp", strconv.FormatInt(c.cfg.Clock.Now().UnixMilli(), 10))
		q.Set("recvWindow", strconv.FormatInt(c.cfg.RecvWindow.Milliseconds(), 10))
		raw = q.Encode()
		raw += "&signature=" + Sign(c.cfg.Secret, raw)
	}
	u := c.cfg.BaseURL + path
	if raw != "" {
		u += "?" + raw
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("binance %s %s: %w", method, path, err)
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("X-MBX-APIKEY", c.cfg.APIKey)
	}
	res, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("binance %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("binance %s %s: read the answer: %w", method, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return decodeError(res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("binance %s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// decodeError turns a non-200 answer into an *exchange.Error.
func decodeError(status int, retryAfter string, body []byte) error {
	var e struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(body, &e) != nil || e.Msg == "" {
		e.Msg = strings.TrimSpace(string(body))
		if len(e.Msg) > 200 {
			e.Msg = e.Msg[:200]
		}
	}
	out := &exchange.Error{HTTPStatus: status, Code: e.Code, Msg: e.Msg, Kind: kindOf(status, e.Code, e.Msg)}
	if s, err := strconv.Atoi(retryAfter); err == nil && s >= 0 && s < 86400 {
		out.RetryAfter = time.Duration(s) * time.Second
	}
	return out
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
	if err := c.do(ctx, "GET", "/api/v3/time", nil, false, &r); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(r.ServerTime), nil
}

type filter struct {
	FilterType  string    `json:"filterType"`
	MinPrice    fixed.Dec `json:"minPrice"`
	MaxPrice    fixed.Dec `json:"maxPrice"`
	TickSize    fixed.Dec `json:"tickSize"`
	MinQty      fixed.Dec `json:"minQty"`
	MaxQty      fixed.Dec `json:"maxQty"`
	StepSize    fixed.Dec `json:"stepSize"`
	MinNotional fixed.Dec `json:"minNotional"`
}

// Markets implements exchange.Exchange: the symbols that are TRADING.
func (c *Client) Markets(ctx context.Context) ([]exchange.Market, error) {
	var r struct {
		Symbols []struct {
			Symbol     string    `json:"symbol"`
			Status     string    `json:"status"`
			BaseAsset  string    `json:"baseAsset"`
			QuoteAsset string    `json:"quoteAsset"`
			Filters    []lenient `json:"filters"`
		} `json:"symbols"`
	}
	if err := c.do(ctx, "GET", "/api/v3/exchangeInfo", nil, false, &r); err != nil {
		return nil, err
	}
	var out []exchange.Market
	for _, s := range r.Symbols {
		if s.Status != "TRADING" {
			continue
		}
		m := exchange.Market{Symbol: s.Symbol, Base: s.BaseAsset, Quote: s.QuoteAsset}
		for _, lf := range s.Filters {
			f := lf.f
			switch f.FilterType {
			case "PRICE_FILTER":
				m.TickSize, m.MinPrice, m.MaxPrice = f.TickSize, f.MinPrice, f.MaxPrice
			case "LOT_SIZE":
				m.StepSize, m.MinQty, m.MaxQty = f.StepSize, f.MinQty, f.MaxQty
			case "NOTIONAL", "MIN_NOTIONAL":
				m.MinNotional = f.MinNotional
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// lenient decodes a filter, leaving a filter of a shape it does not know
// (Binance adds new ones) empty instead of failing.
type lenient struct{ f filter }

func (l *lenient) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &l.f); err != nil {
		var t struct {
			FilterType string `json:"filterType"`
		}
		json.Unmarshal(b, &t)
		l.f = filter{FilterType: "unknown:" + t.FilterType}
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
	if err := c.do(ctx, "GET", "/api/v3/account", nil, true, &r); err != nil {
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
		TimeInForce: exchange.TimeInForce(o.TimeInForce), Status: exchange.Status(o.Status), Price: o.Price, Quantity: o.OrigQty,
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
	q := url.Values{"symbol": {req.Symbol}, "side": {string(req.Side)}, "type": {string(req.Type)}, "newOrderRespType": {"RESULT"}}
	if req.Quantity != 0 {
		q.Set("quantity", req.Quantity.String())
	}
	if req.QuoteQuantity != 0 {
		q.Set("quoteOrderQty", req.QuoteQuantity.String())
	}
	if req.Type == exchange.LimitOrder {
		tif := req.TimeInForce
		if tif == "" {
			tif = exchange.GTC
		}
		q.Set("timeInForce", string(tif))
		q.Set("price", req.Price.String())
	}
	if req.ClientOrderID != "" {
		q.Set("newClientOrderId", req.ClientOrderID)
	}
	var o order
	if err := c.do(ctx, "POST", "/api/v3/order", q, true, &o); err != nil {
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
	if err := c.do(ctx, "DELETE", "/api/v3/order", q, true, &o); err != nil {
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
	if err := c.do(ctx, "GET", "/api/v3/order", q, true, &o); err != nil {
		return exchange.Order{}, err
	}
	return o.toExchange(), nil
}

// OpenOrders implements exchange.Exchange.
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	var os []order
	if err := c.do(ctx, "GET", "/api/v3/openOrders", url.Values{"symbol": {symbol}}, true, &os); err != nil {
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
	if err := c.do(ctx, "GET", "/api/v3/myTrades", q, true, &ts); err != nil {
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
	var rows [][]json.RawMessage
	if err := c.do(ctx, "GET", "/api/v3/klines", q, false, &rows); err != nil {
		return nil, err
	}
	return parseKlines(rows)
}

// parseKlines reads Binance's kline rows: [openTime, "open", "high",
// "low", "close", "volume", closeTime, …].
func parseKlines(rows [][]json.RawMessage) ([]exchange.Kline, error) {
	out := make([]exchange.Kline, 0, len(rows))
	for i, r := range rows {
		if len(r) < 6 {
			return nil, fmt.Errorf("binance klines: row %d has %d fields, want at least 6", i, len(r))
		}
		var t int64
		if err := json.Unmarshal(r[0], &t); err != nil {
			return nil, fmt.Errorf("binance klines: row %d open time: %w", i, err)
		}
		k := exchange.Kline{Time: time.UnixMilli(t)}
		for j, dst := range []*fixed.Dec{&k.Open, &k.High, &k.Low, &k.Close, &k.Volume} {
			var s string
			if err := json.Unmarshal(r[j+1], &s); err != nil {
				return nil, fmt.Errorf("binance klines: row %d field %d: %w", i, j+1, err)
			}
			v, err := fixed.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("binance klines: row %d field %d %q: %w", i, j+1, s, err)
			}
			*dst = v
		}
		out = append(out, k)
	}
	return out, nil
}
