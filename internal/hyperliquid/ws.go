package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/clock"
)

// pingEvery keeps the WebSocket alive: the venue closes a connection that
// sent nothing for a minute ("Timeouts and heartbeats").
const pingEvery = 50 * time.Second

// WSURL is the WebSocket endpoint of the client's API (/ws).
func (c *Client) WSURL() string { return "ws" + strings.TrimPrefix(c.base, "http") + "/ws" }

// FillsMessage is the data of a userFills channel message: the fills
// already made (IsSnapshot, first) or new ones.
type FillsMessage struct {
	IsSnapshot bool   `json:"isSnapshot"`
	User       string `json:"user"`
	Fills      []Fill `json:"fills"`
}

// ParseWS reads one WebSocket message: its channel and, for userFills,
// the fills.
func ParseWS(b []byte) (channel string, fills *FillsMessage, err error) {
	var m struct {
		Channel string          `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	if m.Channel != "userFills" {
		return m.Channel, nil, nil
	}
	var f FillsMessage
	if err := json.Unmarshal(m.Data, &f); err != nil {
		return m.Channel, nil, fmt.Errorf("%w: userFills: %w", ErrUndecodable, err)
	}
	return m.Channel, &f, nil
}

// SubscribeUserFills follows the account's fills over the WebSocket
// (subscription userFills): fn gets each message's fills, the snapshot
// first, until ctx ends (its error) or the connection drops. It pings
// while it waits. fn must not block.
func (c *Client) SubscribeUserFills(ctx context.Context, fn func(FillsMessage)) error {
	if c.account == "" {
		return errors.New("hyperliquid fills stream: no account")
	}
	conn, _, err := websocket.Dial(ctx, c.WSURL(), &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		return fmt.Errorf("hyperliquid fills stream: connect: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	sub, _ := json.Marshal(map[string]any{"method": "subscribe", "subscription": map[string]string{"type": "userFills", "user": c.account}})
	if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
		return fmt.Errorf("hyperliquid fills stream: subscribe: %w", err)
	}
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A failed ping ends the pings: the read below sees the connection fail.
		_ = clock.Every(pctx, c.clock, pingEvery, func(ctx context.Context) error {
			return conn.Write(ctx, websocket.MessageText, []byte(`{"method":"ping"}`))
		})
	}()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("hyperliquid fills stream: %w", err)
		}
		ch, f, err := ParseWS(b)
		if err != nil {
			return fmt.Errorf("hyperliquid fills stream: %w", err)
		}
		if ch == "error" {
			return fmt.Errorf("hyperliquid fills stream: the venue said %s", b)
		}
		if f != nil && strings.EqualFold(f.User, c.account) {
			fn(*f)
		}
	}
}
