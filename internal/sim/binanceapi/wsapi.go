package binanceapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/sim"
)

// Binance's WebSocket API (/ws-api/v3): requests
// {"id":…,"method":"order.place","params":{…}} answered on the same
// connection as {"id":…,"status":200,"result":…,"rateLimits":[…]} (or
// "error":{"code","msg"}), with the REST endpoints' rules, weights and
// answers. Signed methods carry apiKey, timestamp and signature in their
// params; the signed text is the other params sorted by name, as
// name=value joined by &. userDataStream.subscribe.signature makes the
// connection receive the account's executionReport and
// outboundAccountPosition events as {"subscriptionId":N,"event":{…}} —
// what ccxt's watchOrders and watchBalance use for spot accounts.

// apiMethod is one WebSocket API method.
type apiMethod struct {
	sec    security
	weight func(*params) int
	h      handlerFunc
}

func (s *Server) apiMethods() map[string]apiMethod {
	openOrdersWeight := func(p *params) int {
		if p.has("symbol") {
			return 6
		}
		return 80
	}
	return map[string]apiMethod{
		"ping":                               {public, fixedWeight(1), func(*call) (any, error) { return struct{}{}, nil }},
		"time":                               {public, fixedWeight(1), func(c *call) (any, error) { return map[string]int64{"serverTime": c.wall.UnixMilli()}, nil }},
		"exchangeInfo":                       {public, fixedWeight(20), s.exchangeInfo},
		"depth":                              {public, depthWeight, s.depth},
		"klines":                             {public, fixedWeight(2), s.klines},
		"avgPrice":                           {public, fixedWeight(2), s.avgPrice},
		"trades.recent":                      {public, fixedWeight(25), s.trades},
		"trades.historical":                  {public, fixedWeight(25), s.trades},
		"trades.aggregate":                   {public, fixedWeight(4), s.aggTrades},
		"ticker.price":                       {public, tickerWeight(2, 4), s.tickerPrice},
		"ticker.book":                        {public, tickerWeight(2, 4), s.bookTicker},
		"order.place":                        {signed, fixedWeight(1), s.newOrder},
		"order.status":                       {signed, fixedWeight(4), s.getOrder},
		"order.cancel":                       {signed, fixedWeight(1), s.cancelOrder},
		"openOrders.status":                  {signed, openOrdersWeight, s.openOrders},
		"openOrders.cancelAll":               {signed, fixedWeight(1), s.cancelAll},
		"allOrders":                          {signed, fixedWeight(20), s.allOrders},
		"myTrades":                           {signed, fixedWeight(20), s.myTrades},
		"account.status":                     {signed, fixedWeight(20), s.account},
		"userDataStream.subscribe.signature": {signed, fixedWeight(2), s.subscribeUser},
		"userDataStream.unsubscribe":         {public, fixedWeight(2), s.unsubscribeUser},
		"session.subscriptions":              {public, fixedWeight(2), s.userSubscriptions},
	}
}

// apiReq is one parsed WebSocket API request.
type apiReq struct {
	ID     json.RawMessage // echoed as sent: a number, a string or null
	Method string
	Params params
}

// maxAPIIDLen bounds a request id given as a string (Binance: 36).
const maxAPIIDLen = 36

// parseAPIRequest reads a WebSocket API request. Parameter values are
// strings, numbers or booleans; the signed text is every parameter but
// the signature, sorted by name, as name=value joined by &.
func parseAPIRequest(data []byte) (apiReq, *sim.Error) {
	var raw struct {
		ID     json.RawMessage            `json:"id"`
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return apiReq{}, &sim.Error{Code: -1000, Msg: "Malformed request: not a JSON object."}
	}
	req := apiReq{ID: raw.ID, Method: raw.Method, Params: params{vals: map[string]string{}}}
	if len(req.ID) > 0 {
		var id any
		d := json.NewDecoder(bytes.NewReader(req.ID))
		d.UseNumber()
		_ = d.Decode(&id)
		switch v := id.(type) {
		case json.Number:
			if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
				return apiReq{}, &sim.Error{Code: -1000, Msg: "Malformed request: 'id' must be an integer or a string."}
			}
		case string:
			if len(v) > maxAPIIDLen {
				return apiReq{}, &sim.Error{Code: -1000, Msg: "Malformed request: 'id' is longer than 36 characters."}
			}
		case nil:
		default:
			return apiReq{}, &sim.Error{Code: -1000, Msg: "Malformed request: 'id' must be an integer or a string."}
		}
	}
	if req.Method == "" {
		return req, &sim.Error{Code: -1000, Msg: "Malformed request: 'method' is missing."}
	}
	if len(raw.Params) > maxParams {
		return req, &sim.Error{Code: sim.CodeTooManyParams, Msg: "Too many parameters sent for this endpoint."}
	}
	names := make([]string, 0, len(raw.Params))
	for k, v := range raw.Params {
		var val any
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		if err := d.Decode(&val); err != nil {
			return req, &sim.Error{Code: sim.CodeIllegalChars, Msg: "Illegal characters found in a parameter."}
		}
		var str string
		switch x := val.(type) {
		case string:
			str = x
		case json.Number:
			str = x.String()
		case bool:
			str = strconv.FormatBool(x)
		default:
			return req, &sim.Error{Code: sim.CodeIllegalChars, Msg: "Illegal characters found in parameter '" + k + "'."}
		}
		if k == "" {
			return req, &sim.Error{Code: sim.CodeIllegalChars, Msg: "Illegal characters found in a parameter."}
		}
		if k == "signature" {
			req.Params.sig, req.Params.hasSig = str, true
			continue
		}
		req.Params.vals[k] = str
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(req.Params.vals[k])
	}
	req.Params.payload = b.String()
	return req, nil
}

type apiRateLimit struct {
	RateLimitType string `json:"rateLimitType"`
	Interval      string `json:"interval"`
	IntervalNum   int    `json:"intervalNum"`
	Limit         int    `json:"limit"`
	Count         int    `json:"count"`
}

type apiAnswer struct {
	ID         json.RawMessage `json:"id"`
	Status     int             `json:"status"`
	Result     any             `json:"result,omitempty"`
	Error      *apiError       `json:"error,omitempty"`
	RateLimits []apiRateLimit  `json:"rateLimits,omitempty"`
}

// apiRequest answers one WebSocket API request on connection cn.
func (s *Server) apiRequest(ctx context.Context, cn *conn, data []byte) []byte {
	wall := s.cfg.Clock.Now()
	req, perr := parseAPIRequest(data)
	ans := apiAnswer{ID: req.ID, Status: http.StatusOK}
	if len(ans.ID) == 0 {
		ans.ID = json.RawMessage("null")
	}
	fail := func(err error) []byte {
		var e *sim.Error
		if !errors.As(err, &e) {
			s.log.Error("simulator websocket API request failed", "method", req.Method, "err", err)
			e = &sim.Error{Code: sim.CodeUnknown, Msg: "An unknown error occurred while processing the request."}
			ans.Status = http.StatusInternalServerError
		} else {
			ans.Status = errStatus(e)
		}
		ans.Result, ans.Error = nil, &apiError{Code: e.Code, Msg: e.Msg}
		b, _ := json.Marshal(ans)
		return b
	}
	if perr != nil {
		return fail(perr)
	}
	m, ok := s.methods[req.Method]
	if !ok {
		return fail(&sim.Error{Code: -1020, Msg: "Unknown method '" + req.Method + "'."})
	}
	v := s.lim.take(cn.ip, m.weight(&req.Params), wall)
	if s.cfg.WeightLimit > 0 {
		ans.RateLimits = []apiRateLimit{{RateLimitType: "REQUEST_WEIGHT", Interval: "MINUTE", IntervalNum: 1, Limit: s.cfg.WeightLimit, Count: v.used}}
	}
	if v.status != 0 {
		return fail(&sim.Error{Code: sim.CodeTooManyRequests, Msg: "Too much request weight used; please wait " + strconv.Itoa(v.retryAfter) + " seconds."})
	}
	c := &call{ctx: ctx, p: req.Params, wall: wall, header: http.Header{}, conn: cn}
	if m.sec == signed {
		key, err := s.lookupKey(c, c.p.str("apiKey"))
		if err == nil {
			err = s.checkSigned(c, key)
		}
		if err != nil {
			return fail(err)
		}
	}
	res, err := m.h(c)
	ans.RateLimits = append(ans.RateLimits, s.orderCountLimits(c.header)...)
	if err != nil {
		return fail(err)
	}
	ans.Result = res
	b, err := json.Marshal(ans)
	if err != nil {
		return fail(err)
	}
	return b
}

// subscribeUser is userDataStream.subscribe.signature: the signing key's
// account's user data events on this connection.
func (s *Server) subscribeUser(c *call) (any, error) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := c.conn.userSubs[c.account]
	if !ok {
		id = c.conn.nextSub
		c.conn.nextSub++
		c.conn.userSubs[c.account] = id
		h.follow(c.conn, c.account)
	}
	return map[string]int64{"subscriptionId": id}, nil
}

// unsubscribeUser is userDataStream.unsubscribe: one subscription
// (subscriptionId) or all of the connection's.
func (s *Server) unsubscribeUser(c *call) (any, error) {
	id, one, err := c.p.long("subscriptionId")
	if err != nil {
		return nil, err
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	found := false
	for account, sub := range c.conn.userSubs {
		if !one || sub == id {
			delete(c.conn.userSubs, account)
			h.unfollow(c.conn, account)
			found = true
		}
	}
	if one && !found {
		return nil, &sim.Error{Code: -2035, Msg: "User Data Stream subscription not found."}
	}
	return struct{}{}, nil
}

// userSubscriptions is session.subscriptions.
func (s *Server) userSubscriptions(c *call) (any, error) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []map[string]int64{}
	for _, id := range c.conn.userSubs {
		out = append(out, map[string]int64{"subscriptionId": id})
	}
	slices.SortFunc(out, func(a, b map[string]int64) int { return int(a["subscriptionId"] - b["subscriptionId"]) })
	return out, nil
}
