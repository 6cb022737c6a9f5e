package alpaca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// streamMessage is a message of the trade updates stream:
// {"stream": …, "data": …}.
type streamMessage struct {
	Stream string          `json:"stream"`
	Data   json.RawMessage `json:"data"`
}

// tradeUpdate is a trade_updates event.
type tradeUpdate struct {
	Event       string    `json:"event"` // new, fill, partial_fill, canceled, …
	ExecutionID string    `json:"execution_id"`
	Order       order     `json:"order"`
	Price       dec       `json:"price"`
	Qty         dec       `json:"qty"`
	Timestamp   time.Time `json:"timestamp"`
}

// StreamFills calls fn with each fill of the account's orders as Alpaca's
// trade updates stream sends it (the fill and partial_fill events of the
// trade_updates stream at the trading API's /stream), until ctx ends
// (ctx's error) or the stream drops (the error that ended it). A key the
// stream refuses is exchange.ErrAuth. A fill's Trade.ID is a hash of its
// execution id, not of the FILL activity's id MyTrades reads: read the
// order (Order) for what filled, not the trade ids. fn must not block.
func (c *Client) StreamFills(ctx context.Context, fn func(exchange.Trade)) error {
	u := "ws" + strings.TrimPrefix(c.cfg.BaseURL, "http") + "/stream"
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return fmt.Errorf("alpaca trade updates: connect: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("alpaca trade updates: %w", err)
	}
	auth, _ := json.Marshal(map[string]string{"action": "auth", "key": c.cfg.KeyID, "secret": c.cfg.Secret})
	if err := conn.Write(ctx, websocket.MessageText, auth); err != nil {
		return fail(err)
	}
	var status struct{ Action, Status string }
	if err := readMessage(ctx, conn, "authorization", &status); err != nil {
		return fail(err)
	}
	if status.Status != "authorized" {
		return fail(fmt.Errorf("%w: the stream answered %q to the key", exchange.ErrAuth, status.Status))
	}
	listen := []byte(`{"action":"listen","data":{"streams":["trade_updates"]}}`)
	if err := conn.Write(ctx, websocket.MessageText, listen); err != nil {
		return fail(err)
	}
	var ack struct{ Streams []string }
	if err := readMessage(ctx, conn, "listening", &ack); err != nil {
		return fail(err)
	}
	if !slices.Contains(ack.Streams, "trade_updates") {
		return fail(errors.New("the stream does not serve trade_updates"))
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return fail(err)
		}
		t, o, ok, err := parseTradeUpdate(b)
		if err != nil {
			return fail(err)
		}
		if ok {
			c.remember(o)
			fn(t)
		}
	}
}

// readMessage reads the next message, which must be of stream, into data.
func readMessage(ctx context.Context, conn *websocket.Conn, stream string, data any) error {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	var m streamMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("a %s message: %w", stream, err)
	}
	if m.Stream != stream {
		return fmt.Errorf("a %q message where %q was expected: %.200s", m.Stream, stream, b)
	}
	if err := json.Unmarshal(m.Data, data); err != nil {
		return fmt.Errorf("a %s message: %w", stream, err)
	}
	return nil
}

// parseTradeUpdate reads a stream message: a fill (ok true: a fill or
// partial_fill event of trade_updates) with its order; other messages
// and events are not fills.
func parseTradeUpdate(b []byte) (t exchange.Trade, o order, ok bool, err error) {
	var m streamMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return exchange.Trade{}, order{}, false, fmt.Errorf("a stream message: %w", err)
	}
	if m.Stream != "trade_updates" {
		return exchange.Trade{}, order{}, false, nil
	}
	var u tradeUpdate
	if err := json.Unmarshal(m.Data, &u); err != nil {
		return exchange.Trade{}, order{}, false, fmt.Errorf("a trade update: %w", err)
	}
	if u.Event != "fill" && u.Event != "partial_fill" {
		return exchange.Trade{}, order{}, false, nil
	}
	if u.Order.ID == "" || u.Order.Symbol == "" || u.Qty <= 0 {
		return exchange.Trade{}, order{}, false, fmt.Errorf("a %s without order, symbol or quantity: %.200s", u.Event, b)
	}
	side := exchange.Buy
	if u.Order.Side != "buy" {
		side = exchange.Sell
	}
	var quote fixed.Dec
	if e, ok := fixed.Mul(fixed.Dec(u.Price), fixed.Dec(u.Qty)); ok {
		quote = e.Round()
	}
	id := u.ExecutionID
	if id == "" {
		id = u.Order.ID + "@" + fixed.Dec(u.Order.FilledQty).String()
	}
	return exchange.Trade{Symbol: u.Order.Symbol, ID: OrderID(id), OrderID: OrderID(u.Order.ID), Side: side, Price: fixed.Dec(u.Price),
		Qty: fixed.Dec(u.Qty), QuoteQty: quote, CommissionAsset: "USD", Time: u.Timestamp}, u.Order, true, nil
}
