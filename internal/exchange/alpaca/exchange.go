package alpaca

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// Account is what the test-connection reads of the account.
type Account struct {
	Number         string
	Status         string // ACTIVE when it may trade
	Currency       string
	TradingBlocked bool
	AccountBlocked bool
}

// Account reads the account: GET /v2/account.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var a account
	if err := c.do(ctx, request{path: "/v2/account"}, &a); err != nil {
		return Account{}, err
	}
	if a.Status == "" {
		return Account{}, errors.New("alpaca: the account answer has no status")
	}
	return Account{Number: a.AccountNumber, Status: a.Status, Currency: a.Currency, TradingBlocked: a.TradingBlocked, AccountBlocked: a.AccountBlocked}, nil
}

// ServerTime implements exchange.Exchange: the market clock's timestamp.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	var mc marketClock
	if err := c.do(ctx, request{path: "/v2/clock"}, &mc); err != nil {
		return time.Time{}, err
	}
	return mc.Timestamp, nil
}

// Markets implements exchange.Exchange: the active, tradable US equities.
func (c *Client) Markets(ctx context.Context) ([]exchange.Market, error) {
	var as []asset
	if err := c.do(ctx, request{path: "/v2/assets", query: url.Values{"status": {"active"}, "asset_class": {"us_equity"}}}, &as); err != nil {
		return nil, err
	}
	out := make([]exchange.Market, 0, len(as))
	for i := range as {
		if as[i].Tradable && as[i].Status == "active" && as[i].Symbol != "" {
			out = append(out, as[i].toMarket())
		}
	}
	return out, nil
}

// Balances implements exchange.Exchange: USD (the cash; what open buy
// orders hold is Locked) and each position (qty_available free, the rest
// held by open sell orders).
func (c *Client) Balances(ctx context.Context) ([]exchange.Balance, error) {
	var a account
	if err := c.do(ctx, request{path: "/v2/account"}, &a); err != nil {
		return nil, err
	}
	var ps []position
	if err := c.do(ctx, request{path: "/v2/positions"}, &ps); err != nil {
		return nil, err
	}
	open, err := c.orders(ctx, "open", "")
	if err != nil {
		return nil, err
	}
	var held fixed.Dec
	for i := range open {
		o := &open[i]
		if o.Side != "buy" || o.LimitPrice == 0 {
			continue
		}
		held += fixed.MulCeil(fixed.Dec(o.LimitPrice), fixed.Dec(o.Qty-o.FilledQty))
	}
	cur := a.Currency
	if cur == "" {
		cur = "USD"
	}
	out := []exchange.Balance{{Asset: cur, Free: fixed.Dec(a.Cash) - held, Locked: held}}
	for _, p := range ps {
		if p.Qty != 0 {
			out = append(out, exchange.Balance{Asset: p.Symbol, Free: fixed.Dec(p.QtyAvailable), Locked: fixed.Dec(p.Qty - p.QtyAvailable)})
		}
	}
	return out, nil
}

// orders lists the account's orders of status (open, closed, all), on
// symbol ("": every symbol), oldest first: at most Alpaca's 500.
func (c *Client) orders(ctx context.Context, status, symbol string) ([]order, error) {
	q := url.Values{"status": {status}, "limit": {"500"}, "direction": {"asc"}}
	if symbol != "" {
		q.Set("symbols", symbol)
	}
	var os []order
	if err := c.do(ctx, request{path: "/v2/orders", query: q}, &os); err != nil {
		return nil, err
	}
	c.remember(os...)
	return os, nil
}

// remember keeps the UUIDs of os by their OrderID.
func (c *Client) remember(os ...order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range os {
		if os[i].ID != "" {
			c.ids[OrderID(os[i].ID)] = os[i].ID
		}
	}
}

// PlaceOrder implements exchange.Exchange. A market order is waited for
// (Config.SettleWait) until it has filled or failed.
func (c *Client) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	typ, ok := alpacaType(req.Type)
	if !ok {
		return exchange.Order{}, fmt.Errorf("alpaca: order type %q is not taken", req.Type)
	}
	if req.TrailingDelta != 0 {
		// Alpaca's trailing stops trail by a percent from the order's
		// placement, with no stop price to start from: not this request.
		return exchange.Order{}, &exchange.Error{Kind: exchange.ErrRejected, Msg: "alpaca: trailing stops (a trailing delta) are not taken; the runner manages the stop"}
	}
	if req.Side != exchange.Buy && req.Side != exchange.Sell {
		return exchange.Order{}, fmt.Errorf("alpaca: unknown side %q", req.Side)
	}
	s, err := c.session(ctx)
	if err != nil {
		return exchange.Order{}, err
	}
	ext, err := s.admit(c.clk.Now(), req, c.cfg.ExtendedHours)
	if err != nil {
		return exchange.Order{}, err
	}
	body := map[string]any{"symbol": req.Symbol, "side": strings.ToLower(string(req.Side)), "type": typ, "time_in_force": timeInForce(req, ext)}
	if req.QuoteQuantity != 0 {
		body["notional"] = req.QuoteQuantity.String()
	} else {
		body["qty"] = req.Quantity.String()
	}
	if req.Type.HasPrice() {
		body["limit_price"] = req.Price.String()
	}
	if req.Type.IsStop() {
		body["stop_price"] = req.StopPrice.String()
	}
	if req.ClientOrderID != "" {
		body["client_order_id"] = req.ClientOrderID
	}
	if ext {
		body["extended_hours"] = true
	}
	var o order
	if err := c.do(ctx, request{method: "POST", path: "/v2/orders", body: body}, &o); err != nil {
		return exchange.Order{}, err
	}
	c.remember(o)
	if req.Type == exchange.MarketOrder {
		return c.settle(ctx, o, func(o *order) bool { return o.status().Open() })
	}
	return c.settle(ctx, o, (*order).pending)
}

// timeInForce is the order's: market orders and everything fractional,
// notional or in the extended sessions are day orders (Alpaca takes them
// so only); others as asked, GTC by default.
func timeInForce(req exchange.OrderRequest, ext bool) string {
	if req.Type == exchange.MarketOrder || ext || req.QuoteQuantity != 0 || req.Quantity%fixed.One != 0 {
		return "day"
	}
	if req.TimeInForce == "" {
		return "gtc"
	}
	return strings.ToLower(string(req.TimeInForce))
}

// settle looks at o again while waiting(o), up to SettleWait. The request
// that made o has succeeded: when looking again fails, o is returned as it
// was last seen (still open), not an error that could make the caller
// think it did not happen.
func (c *Client) settle(ctx context.Context, o order, waiting func(*order) bool) (exchange.Order, error) {
	deadline := c.clk.Now().Add(c.cfg.SettleWait)
	for waiting(&o) && c.clk.Now().Before(deadline) {
		if err := c.clk.Sleep(ctx, c.cfg.SettlePoll); err != nil {
			break
		}
		var next order
		if err := c.do(ctx, request{path: "/v2/orders/" + url.PathEscape(o.ID)}, &next); err != nil {
			c.log.Warn("alpaca: the order was sent; looking at it again failed", "order", o.ID, "client_order_id", o.ClientOrderID, "error", err)
			break
		}
		o = next
	}
	return o.toExchange(), nil
}

// find returns the order ref names.
func (c *Client) find(ctx context.Context, symbol string, ref exchange.OrderRef) (order, error) {
	var o order
	switch {
	case ref.ClientID != "":
		if err := c.do(ctx, request{path: "/v2/orders:by_client_order_id", query: url.Values{"client_order_id": {ref.ClientID}}}, &o); err != nil {
			return o, err
		}
	case ref.ID != 0:
		c.mu.Lock()
		id, ok := c.ids[ref.ID]
		c.mu.Unlock()
		if !ok {
			if _, err := c.orders(ctx, "all", symbol); err != nil {
				return o, err
			}
			c.mu.Lock()
			id, ok = c.ids[ref.ID]
			c.mu.Unlock()
			if !ok {
				return o, errNoSuchOrder(fmt.Sprintf("no order %d among the newest 500 of %s", ref.ID, symbol))
			}
		}
		if err := c.do(ctx, request{path: "/v2/orders/" + url.PathEscape(id)}, &o); err != nil {
			return o, err
		}
	default:
		return o, errors.New("alpaca: an order reference needs an id or a client order id")
	}
	if symbol != "" && o.Symbol != symbol {
		return o, errNoSuchOrder(fmt.Sprintf("the order is on %s, not %s", o.Symbol, symbol))
	}
	c.remember(o)
	return o, nil
}

// CancelOrder implements exchange.Exchange: DELETE /v2/orders/{id}, then
// the order waited for (Config.SettleWait) until the cancel is done.
func (c *Client) CancelOrder(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	o, err := c.find(ctx, symbol, ref)
	if err != nil {
		return exchange.Order{}, err
	}
	if err := c.do(ctx, request{method: "DELETE", path: "/v2/orders/" + url.PathEscape(o.ID)}, nil); err != nil {
		return exchange.Order{}, err
	}
	o.Status = "pending_cancel"
	return c.settle(ctx, o, (*order).pending)
}

// Order implements exchange.Exchange.
func (c *Client) Order(ctx context.Context, symbol string, ref exchange.OrderRef) (exchange.Order, error) {
	o, err := c.find(ctx, symbol, ref)
	if err != nil {
		return exchange.Order{}, err
	}
	return o.toExchange(), nil
}

// OpenOrders implements exchange.Exchange.
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	os, err := c.orders(ctx, "open", symbol)
	if err != nil {
		return nil, err
	}
	out := make([]exchange.Order, 0, len(os))
	for i := range os {
		if os[i].Symbol == symbol {
			out = append(out, os[i].toExchange())
		}
	}
	return out, nil
}

// maxFillPages bounds how far back MyTrades pages the FILL activities.
const maxFillPages = 10

// MyTrades implements exchange.Exchange: the account's FILL activities on
// symbol (GET /v2/account/activities/FILL, newest first, paged).
func (c *Client) MyTrades(ctx context.Context, symbol string, limit int) ([]exchange.Trade, error) {
	if limit <= 0 {
		limit = 500
	}
	var out []exchange.Trade
	token := ""
	for page := 0; page < maxFillPages && len(out) < limit; page++ {
		q := url.Values{"direction": {"desc"}, "page_size": {"100"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var fs []fill
		if err := c.do(ctx, request{path: "/v2/account/activities/FILL", query: q}, &fs); err != nil {
			return nil, err
		}
		for i := range fs {
			if fs[i].Symbol == symbol && len(out) < limit {
				out = append(out, fs[i].toExchange())
			}
		}
		if len(fs) < 100 {
			break
		}
		token = fs[len(fs)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}

// barTimeframe is Alpaca's name of tf: 1Min … 59Min, 1Hour … 23Hour,
// 1Day, 1Week, 1Month.
func barTimeframe(tf sdk.Timeframe) (string, error) {
	s := string(tf)
	if len(s) < 2 {
		return "", fmt.Errorf("alpaca: timeframe %q", tf)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return "", fmt.Errorf("alpaca: timeframe %q", tf)
	}
	switch unit := s[len(s)-1]; {
	case unit == 'm' && n < 60:
		return strconv.Itoa(n) + "Min", nil
	case unit == 'h' && n < 24:
		return strconv.Itoa(n) + "Hour", nil
	case unit == 'd' && n == 1:
		return "1Day", nil
	case unit == 'w' && n == 1:
		return "1Week", nil
	case unit == 'M' && n == 1:
		return "1Month", nil
	}
	return "", fmt.Errorf("alpaca: timeframe %q has no Alpaca bars", tf)
}

// Klines implements exchange.Exchange: the newest limit bars (GET
// /v2/stocks/{symbol}/bars, sorted newest first, then reversed), from
// far enough back to span weekends and holidays.
func (c *Client) Klines(ctx context.Context, symbol string, tf sdk.Timeframe, limit int) ([]exchange.Kline, error) {
	atf, err := barTimeframe(tf)
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 10000)
	now := c.clk.Now()
	back := time.Duration(limit)*tf.Duration()*3 + 7*24*time.Hour
	q := url.Values{"timeframe": {atf}, "limit": {strconv.Itoa(limit)}, "sort": {"desc"}, "adjustment": {"raw"},
		"start": {now.Add(-back).UTC().Format(time.RFC3339)}}
	if c.cfg.Feed != "" {
		q.Set("feed", c.cfg.Feed)
	}
	var p barsPage
	if err := c.do(ctx, request{data: true, path: "/v2/stocks/" + url.PathEscape(symbol) + "/bars", query: q}, &p); err != nil {
		return nil, err
	}
	out := barsToKlines(tf, p.Bars)
	slices.Reverse(out)
	return out, nil
}

// Bars returns symbol's bars at tf opening in [start, end), oldest first:
// the first limit of them (at most 10,000, Alpaca's page), raw prices,
// stamped as barsToKlines says. st, when set, counts the requests and
// waits.
func (c *Client) Bars(ctx context.Context, symbol string, tf sdk.Timeframe, start, end time.Time, limit int, st *Stats) ([]exchange.Kline, error) {
	atf, err := barTimeframe(tf)
	if err != nil {
		return nil, err
	}
	q := url.Values{"timeframe": {atf}, "limit": {strconv.Itoa(min(max(limit, 1), 10000))}, "sort": {"asc"}, "adjustment": {"raw"},
		"start": {start.UTC().Format(time.RFC3339Nano)}, "end": {end.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano)}}
	if c.cfg.Feed != "" {
		q.Set("feed", c.cfg.Feed)
	}
	var p barsPage
	if err := c.do(ctx, request{data: true, path: "/v2/stocks/" + url.PathEscape(symbol) + "/bars", query: q, stats: st}, &p); err != nil {
		return nil, err
	}
	return barsToKlines(tf, p.Bars), nil
}

// barsToKlines converts bars of tf. Daily and longer bars, which Alpaca
// stamps at midnight New York time (04:00 or 05:00 UTC), are stamped at
// midnight UTC of their date, on TradAI's candle grid.
func barsToKlines(tf sdk.Timeframe, bs []bar) []exchange.Kline {
	out := make([]exchange.Kline, len(bs))
	for i, b := range bs {
		t := b.T
		if tf.Duration() >= 24*time.Hour {
			t = time.UnixMilli(tf.Floor(t.Add(12 * time.Hour).UnixMilli())).UTC()
		}
		out[i] = exchange.Kline{Time: t, Open: fixed.Dec(b.O), High: fixed.Dec(b.H), Low: fixed.Dec(b.L), Close: fixed.Dec(b.C), Volume: fixed.Dec(b.V)}
	}
	return out
}
