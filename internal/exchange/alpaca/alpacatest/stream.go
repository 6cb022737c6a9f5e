package alpacatest

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/fixed"
)

// listenerQueue is how many trade updates wait for a slow stream before
// it is dropped.
const listenerQueue = 256

// stream serves the trade updates stream (GET /stream): the auth message
// with the account's key, the listen message, then a trade_updates event
// of each fill, in binary frames as Alpaca's paper host sends them. A
// wrong key is answered unauthorized and the connection closed.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	var auth struct{ Action, Key, Secret string }
	if readJSON(ctx, c, &auth) != nil || auth.Action != "auth" {
		c.Close(websocket.StatusPolicyViolation, "auth first")
		return
	}
	m := template("stream_authorization.json")
	if auth.Key != s.cfg.KeyID || auth.Secret != s.cfg.Secret {
		m["data"] = map[string]any{"action": "authenticate", "status": "unauthorized"}
		_ = writeJSON(ctx, c, m)
		c.Close(websocket.StatusPolicyViolation, "unauthorized")
		return
	}
	if writeJSON(ctx, c, m) != nil {
		return
	}
	var listen struct {
		Action string
		Data   struct{ Streams []string }
	}
	if readJSON(ctx, c, &listen) != nil || listen.Action != "listen" {
		c.Close(websocket.StatusPolicyViolation, "listen next")
		return
	}
	ack := template("stream_listening.json")
	streams := []string{}
	if slices.Contains(listen.Data.Streams, "trade_updates") {
		streams = append(streams, "trade_updates")
	}
	ack["data"] = map[string]any{"streams": streams}
	ch := make(chan []byte, listenerQueue)
	s.mu.Lock()
	s.listeners[ch] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ch)
		s.mu.Unlock()
	}()
	if writeJSON(ctx, c, ack) != nil || len(streams) == 0 {
		return
	}
	ctx = c.CloseRead(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-ch:
			if !ok {
				c.Close(websocket.StatusTryAgainLater, "too slow")
				return
			}
			if c.Write(ctx, websocket.MessageBinary, b) != nil {
				return
			}
		}
	}
}

// DropStreams closes every trade updates stream, as a venue's restart
// would.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.listeners {
		close(ch)
		delete(s.listeners, ch)
	}
}

// tradeUpdate sends the trade_updates event of a fill of q at p of o to
// the streams (s.mu held).
func (s *Server) tradeUpdate(o *order, kind, execID string, p, q fixed.Dec, now time.Time) {
	if len(s.listeners) == 0 {
		return
	}
	m := template("trade_update_fill.json")
	data := maps.Clone(m["data"].(map[string]any))
	maps.Copy(data, map[string]any{"event": kind, "execution_id": execID, "order": s.render(o), "position_qty": s.positions[o.symbol].String(),
		"price": p.String(), "qty": q.String(), "timestamp": now.UTC().Format(time.RFC3339Nano)})
	m["data"] = data
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	for ch := range s.listeners {
		select {
		case ch <- b:
		default:
			close(ch)
			delete(s.listeners, ch)
		}
	}
}

func readJSON(ctx context.Context, c *websocket.Conn, v any) error {
	_, b, err := c.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageBinary, b)
}

// Listening is how many trade updates streams are listening.
func (s *Server) Listening() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}
