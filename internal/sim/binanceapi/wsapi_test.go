package binanceapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// apiCall is a WebSocket API request with its params signed as Binance
// wants: every param but the signature, sorted, as k=v joined by &.
func apiCall(id, method string, p map[string]string) string {
	p["apiKey"] = testKey
	if p["timestamp"] == "" {
		p["timestamp"] = ms(wall)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	p["signature"] = sign(strings.Join(parts, "&"))
	b, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": p})
	return string(b)
}

// answer reads messages until the answer to request id, collecting the
// user data events read meanwhile.
func (w *wsClient) answer(id string, events *[]map[string]any) map[string]any {
	w.t.Helper()
	for {
		m := w.next()
		if m["id"] == id {
			return m
		}
		if m["subscriptionId"] == nil {
			w.t.Fatalf("unexpected message %v", m)
		}
		*events = append(*events, m)
	}
}

func TestWebSocketAPI(t *testing.T) {
	e := setup(t, nil)
	c := e.dial(t, "/ws-api/v3")
	var events []map[string]any

	c.send(`{"id":7,"method":"ping"}`)
	if a := c.answer2(float64(7)); a["status"] != float64(200) || keys(a) != "id,rateLimits,result,status" {
		t.Fatalf("ping: %v", a)
	}
	c.send(apiCall("s1", "userDataStream.subscribe.signature", map[string]string{}))
	a := c.answer("s1", &events)
	if a["status"] != float64(200) || a["result"].(map[string]any)["subscriptionId"] != float64(0) {
		t.Fatalf("subscribe: %v", a)
	}
	c.send(`{"id":"l","method":"session.subscriptions"}`)
	if a := c.answer("l", &events); len(a["result"].([]any)) != 1 {
		t.Fatalf("subscriptions: %v", a)
	}

	// An order placed over the API: its FULL answer, and the NEW, TRADE
	// and position events wrapped with the subscription id.
	c.send(apiCall("o1", "order.place", map[string]string{"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1", "newClientOrderId": "ws-1"}))
	a = c.answer("o1", &events)
	res, _ := a["result"].(map[string]any)
	if a["status"] != float64(200) || res["status"] != "FILLED" || res["clientOrderId"] != "ws-1" || len(res["fills"].([]any)) != 1 {
		t.Fatalf("order.place: %v", a)
	}
	// The rate limits: the weight, and the ORDERS counts (0: it filled).
	var limits []string
	for _, l := range a["rateLimits"].([]any) {
		m := l.(map[string]any)
		limits = append(limits, fmt.Sprint(m["rateLimitType"], "/", m["interval"], "/", m["intervalNum"], "/", m["limit"], "/", m["count"]))
	}
	if len(limits) != 3 || !strings.HasPrefix(limits[0], "REQUEST_WEIGHT/MINUTE/1/6000/") || limits[1] != "ORDERS/SECOND/10/50/0" || limits[2] != "ORDERS/DAY/1/160000/0" {
		t.Fatalf("order.place rateLimits = %v", limits)
	}
	for len(events) < 3 {
		events = append(events, c.next())
	}
	var kinds []string
	for _, ev := range events {
		body := ev["event"].(map[string]any)
		if ev["subscriptionId"] != float64(0) || keys(ev) != "event,subscriptionId" {
			t.Fatalf("event = %v", ev)
		}
		kinds = append(kinds, body["e"].(string)+":"+stringOr(body["x"]))
	}
	if strings.Join(kinds, " ") != "executionReport:NEW executionReport:TRADE outboundAccountPosition:" {
		t.Fatalf("events = %v", kinds)
	}
	c.send(apiCall("q", "order.status", map[string]string{"symbol": "BTCUSDT", "origClientOrderId": "ws-1"}))
	if a := c.answer("q", &events); a["result"].(map[string]any)["status"] != "FILLED" {
		t.Fatalf("order.status: %v", a)
	}

	// Rejections: Binance's codes and statuses.
	for _, tc := range []struct {
		req  string
		code float64
	}{
		{`{"id":"x","method":"nope"}`, -1020},
		{strings.Replace(apiCall("x", "account.status", map[string]string{}), `"signature":"`, `"signature":"0`, 1), -1022},
		{apiCall("x", "order.place", map[string]string{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT"}), -1102},
		{`{"id":"x","method":"order.place","params":{"symbol":["BTCUSDT"]}}`, -1100},
	} {
		c.send(tc.req)
		a := c.answer("x", &events)
		if a["status"] != float64(400) || a["error"].(map[string]any)["code"] != tc.code {
			t.Errorf("%s: %v", tc.req, a)
		}
	}
	c.send(`{"id":`)
	if a := c.answer2(nil); a["status"] != float64(400) {
		t.Fatalf("malformed: %v", a)
	}

	c.send(`{"id":"u","method":"userDataStream.unsubscribe","params":{"subscriptionId":0}}`)
	if a := c.answer("u", &events); a["status"] != float64(200) {
		t.Fatalf("unsubscribe: %v", a)
	}
	waitFor(t, "unfollowed", func() bool {
		e.s.hub.mu.Lock()
		defer e.s.hub.mu.Unlock()
		return len(e.s.hub.users) == 0
	})
	c.send(`{"id":"u","method":"userDataStream.unsubscribe","params":{"subscriptionId":0}}`)
	if a := c.answer("u", &events); a["error"].(map[string]any)["code"] != float64(-2035) {
		t.Fatalf("unsubscribe again: %v", a)
	}
}

func stringOr(v any) string {
	s, _ := v.(string)
	return s
}

// answer2 reads the next message, which must be the answer with this id.
func (w *wsClient) answer2(id any) map[string]any {
	w.t.Helper()
	m := w.next()
	if m["id"] != id {
		w.t.Fatalf("got %v, want the answer to %v", m, id)
	}
	return m
}

func FuzzAPIRequest(f *testing.F) {
	f.Add([]byte(`{"id":1,"method":"order.place","params":{"symbol":"BTCUSDT","quantity":0.1,"test":true}}`))
	f.Add([]byte(`{"id":"a","method":"ping"}`))
	f.Add([]byte(`{"id":null,"method":"x","params":{"signature":"ab","apiKey":"k"}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"id":1e400,"method":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseAPIRequest(data)
		if err != nil {
			return
		}
		if req.Method == "" || len(req.Params.vals) > maxParams {
			t.Fatalf("accepted %q as %+v", data, req)
		}
		// The signed text is every parameter but the signature, k=v joined by &.
		size := max(0, len(req.Params.vals)-1)
		for k, v := range req.Params.vals {
			size += len(k) + 1 + len(v)
			if !strings.Contains(req.Params.payload, k+"="+v) {
				t.Fatalf("payload %q misses %s=%s", req.Params.payload, k, v)
			}
		}
		if len(req.Params.payload) != size {
			t.Fatalf("payload %q is not the parameters %v", req.Params.payload, req.Params.vals)
		}
		if _, ok := req.Params.vals["signature"]; ok {
			t.Fatalf("the signature is a parameter: %v", req.Params.vals)
		}
	})
}
