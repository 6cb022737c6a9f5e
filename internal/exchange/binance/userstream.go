package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coder/websocket"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// KeepAlive is how often StreamFills keeps its listen key alive: Binance
// closes a user data stream whose key went 60 minutes without a keepalive
// and advises one every 30.
const KeepAlive = 30 * time.Minute

// ErrListenKeyExpired ends a user data stream whose listen key the venue
// let expire (its listenKeyExpired event): the next StreamFills opens a
// new one.
var ErrListenKeyExpired = errors.New("the user data stream's listen key expired")

// StreamFills calls fn with each fill of the account's orders (each
// executionReport of execution type TRADE, on any symbol) until ctx ends
// (ctx's error) or the stream drops (the error that ended it: the
// connection closed, ErrListenKeyExpired, a keepalive refused). Each call
// opens the account's listen key (POST /api/v3/userDataStream: the active
// key, or a new one once the old expired) and the stream /ws/<listenKey>,
// and keeps the key alive every KeepAlive on the client's clock. A fill's
// Trade.ID is the venue's trade id: a caller that reconnects after a drop
// dedupes by it, and reads the fills it missed meanwhile with MyTrades.
// fn must not block.
func (s *Streaming) StreamFills(ctx context.Context, fn func(exchange.Trade)) error {
	key, err := s.listenKey(ctx, "POST", "")
	if err != nil {
		return fmt.Errorf("binance user data stream: open a listen key: %w", err)
	}
	conn, _, err := websocket.Dial(ctx, s.url+"/ws/"+key, nil)
	if err != nil {
		return fmt.Errorf("binance user data stream: connect: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	kctx, stop := context.WithCancel(ctx)
	kdone := make(chan struct{})
	var kerr error
	go func() {
		defer close(kdone)
		if kerr = s.keepAlive(kctx, key); kerr != nil {
			conn.CloseNow() // ends the read below
		}
	}()
	defer func() { stop(); <-kdone }()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			stop()
			<-kdone
			if kerr != nil {
				return fmt.Errorf("binance user data stream: keep the listen key alive: %w", kerr)
			}
			return fmt.Errorf("binance user data stream: %w", err)
		}
		t, fill, expired, err := parseUserEvent(b)
		switch {
		case err != nil:
			return fmt.Errorf("binance user data stream: %w", err)
		case expired:
			return fmt.Errorf("binance user data stream: %w", ErrListenKeyExpired)
		case fill:
			fn(t)
		}
	}
}

// keepAlive sends the listen key's keepalive (PUT) every KeepAlive until
// ctx ends (nil) or the venue refuses one (the error).
func (s *Streaming) keepAlive(ctx context.Context, key string) error {
	return clock.Every(ctx, s.rest.Clock(), KeepAlive, func(ctx context.Context) error {
		if _, err := s.listenKey(ctx, "PUT", key); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	})
}

// listenKey sends a user data stream request (POST: open, PUT: keep key
// alive), weight 2, with the API key only; POST answers the key.
func (s *Streaming) listenKey(ctx context.Context, method, key string) (string, error) {
	var q url.Values
	if key != "" {
		q = url.Values{"listenKey": {key}}
	}
	var r struct {
		ListenKey string `json:"listenKey"`
	}
	if err := s.do(ctx, method, "/api/v3/userDataStream", 2, q, false, &r); err != nil {
		return "", err
	}
	if method == "POST" && r.ListenKey == "" {
		return "", fmt.Errorf("%w: no listenKey in the answer", rest.ErrUndecodable)
	}
	return r.ListenKey, nil
}

// userEvent is the part of a user data event StreamFills reads: the
// executionReport's fill fields. encoding/json matches keys regardless of
// case when no field has the exact key, so every key of the event that
// differs from a read one in case only has a field too.
type userEvent struct {
	Event           string    `json:"e"`
	EventTime       int64     `json:"E"`
	Symbol          string    `json:"s"`
	Side            string    `json:"S"`
	ClientOrderID   string    `json:"c"`
	OrigClientID    string    `json:"C"`
	ExecType        string    `json:"x"`
	Status          string    `json:"X"`
	OrderID         int64     `json:"i"`
	ExecID          int64     `json:"I"`
	LastQty         fixed.Dec `json:"l"`
	LastPrice       fixed.Dec `json:"L"`
	Commission      fixed.Dec `json:"n"`
	CommissionAsset string    `json:"N"`
	TradeID         int64     `json:"t"`
	TransactTime    int64     `json:"T"`
	Maker           bool      `json:"m"`
	Ignore          bool      `json:"M"`
	LastQuote       fixed.Dec `json:"Y"`
}

// parseUserEvent reads one user data event: a fill (an executionReport of
// a TRADE) as fill true, the listen key's expiry as expired true; other
// events (outboundAccountPosition, an order placed or cancelled) neither.
func parseUserEvent(b []byte) (t exchange.Trade, fill, expired bool, err error) {
	var e userEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return exchange.Trade{}, false, false, fmt.Errorf("%w: user data event: %w", rest.ErrUndecodable, err)
	}
	switch {
	case e.Event == "listenKeyExpired":
		return exchange.Trade{}, false, true, nil
	case e.Event != "executionReport" || e.ExecType != "TRADE":
		return exchange.Trade{}, false, false, nil
	}
	if e.Symbol == "" || (e.Side != string(exchange.Buy) && e.Side != string(exchange.Sell)) || e.LastQty <= 0 {
		return exchange.Trade{}, false, false, fmt.Errorf("%w: a fill without symbol, side or quantity: %.200s", rest.ErrUndecodable, b)
	}
	return exchange.Trade{Symbol: e.Symbol, ID: e.TradeID, OrderID: e.OrderID, Side: exchange.Side(e.Side), Price: e.LastPrice,
		Qty: e.LastQty, QuoteQty: e.LastQuote, Commission: e.Commission, CommissionAsset: e.CommissionAsset, Maker: e.Maker,
		Time: time.UnixMilli(e.TransactTime)}, true, false, nil
}
