package hyperliquid_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/fixed"
	hl "github.com/tradai/tradai/internal/hyperliquid"
)

// server is a Hyperliquid API for the tests: /info and /exchange with
// the documented request and answer shapes (testdata/README.md cites the
// doc sections), keeping accounts, orders, fills and positions. It
// recovers the signer of every action (testnet signing) and acts for the
// account that approved it as an agent, so a signing bug fails as on
// the venue. Orders that cross the mark price fill at it (taker fee
// 0.045%), in two fills when they can, at most depth of them (IOC: the
// rest is cancelled, the partial fill); others rest. Trigger orders
// (tpsl "sl" only) wait until move takes the mark through their trigger,
// then trade as a limit order (IOC when isMarket); reduce-only ones never
// grow a position. Leverage is 1: an order needs its notional free in
// margin (a reduce-only one none).
type server struct {
	mu      sync.Mutex
	coins   []coin
	users   map[string]*account // master address → account
	agents  map[string]string   // agent address → master address
	nextOid int64
	nextTid int64
	// limited: the next so many requests are answered 429.
	limited int
	// depth: the most a crossing order fills (0: all).
	depth fixed.Dec
	// waiting: trigger orders are answered with the bare status
	// "waitingForTrigger" instead of resting with their oid.
	waiting bool
	// subs are the userFills subscribers, by user; subscribed hears of
	// each new one.
	subs       map[string]chan []byte
	subscribed chan string
}

type coin struct {
	name       string
	szDecimals int
	mark       fixed.Dec
}

type account struct {
	rawUsd fixed.Dec
	pos    map[string]fixed.Dec
	orders []*order
	fills  []map[string]any
}

type order struct {
	coin               string
	buy                bool
	px, orig, sz       fixed.Dec
	oid                int64
	cloid, tif, status string
	ts, statusTs       int64
	reduce             bool
	// A trigger order's: its trigger, whether it trades as a market
	// order, whether it triggered.
	trigger           *fixed.Dec
	market, triggered bool
}

// orderReq is one order of an order action, as the Exchange endpoint's
// Place an order section documents it.
type orderReq struct {
	A int    `json:"a"`
	B bool   `json:"b"`
	P string `json:"p"`
	S string `json:"s"`
	R bool   `json:"r"`
	T struct {
		Limit *struct {
			Tif string `json:"tif"`
		} `json:"limit"`
		Trigger *struct {
			IsMarket  *bool  `json:"isMarket"`
			TriggerPx string `json:"triggerPx"`
			Tpsl      string `json:"tpsl"`
		} `json:"trigger"`
	} `json:"t"`
	C string `json:"c"`
}

var (
	takerFee = fixed.MustParse("0.00045")
	minValue = fixed.MustParse("10")
)

func newServer() *server {
	return &server{
		coins: []coin{
			{"BTC", 5, fixed.MustParse("60000")},
			{"ETH", 4, fixed.MustParse("3000.5")},
		},
		users: map[string]*account{}, agents: map[string]string{}, nextOid: 77738300, nextTid: 118906512037719,
		subs: map[string]chan []byte{}, subscribed: make(chan string, 10),
	}
}

func nowMs() int64 { return time.Now().UnixMilli() }

// num writes an amount as the docs show them: no trailing zeros but one.
func num(d fixed.Dec) string {
	s := strings.TrimRight(d.String(), "0")
	if strings.HasSuffix(s, ".") {
		s += "0"
	}
	return s
}

// newAccount makes an account funded with usd and an approved API wallet;
// it returns the wallet's key and the account's address.
func (s *server) newAccount(t testing.TB, usd string) (key, master string) {
	var k, m [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(m[:]); err != nil {
		t.Fatal(err)
	}
	key = "0x" + hex.EncodeToString(k[:])
	signer, err := hl.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	master = "0x" + hex.EncodeToString(m[:20])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[master] = &account{rawUsd: fixed.MustParse(usd), pos: map[string]fixed.Dec{}}
	s.agents[signer.Address().String()] = master
	return key, master
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" {
		s.ws(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limited > 0 {
		s.limited--
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, "null")
		return
	}
	var out any
	switch r.URL.Path {
	case "/info":
		out, err = s.info(body)
	case "/exchange":
		out = s.exchange(body)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// The venue answers a request it cannot read with 422 and a text.
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, "Failed to deserialize the JSON body into the target type: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *server) info(body []byte) (any, error) {
	var req struct {
		Type string          `json:"type"`
		User string          `json:"user"`
		Oid  json.RawMessage `json:"oid"`
		Req  struct {
			Coin      string `json:"coin"`
			Interval  string `json:"interval"`
			StartTime int64  `json:"startTime"`
			EndTime   int64  `json:"endTime"`
		} `json:"req"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	acct := s.users[req.User]
	switch req.Type {
	case "meta":
		return s.meta(), nil
	case "metaAndAssetCtxs":
		var ctxs []any
		for _, c := range s.coins {
			ctxs = append(ctxs, map[string]any{"dayNtlVlm": "1169046.29406", "funding": "0.0000125", "impactPxs": []string{num(c.mark), num(c.mark)},
				"markPx": num(c.mark), "midPx": num(c.mark), "openInterest": "688.11", "oraclePx": num(c.mark), "premium": "0.0", "prevDayPx": num(c.mark)})
		}
		return []any{s.meta(), ctxs}, nil
	case "allMids":
		m := map[string]string{}
		for _, c := range s.coins {
			m[c.name] = num(c.mark)
		}
		return m, nil
	case "candleSnapshot":
		return s.candles(req.Req.Coin, req.Req.Interval, req.Req.StartTime, req.Req.EndTime)
	case "userRole":
		switch {
		case s.agents[req.User] != "":
			return map[string]any{"role": "agent", "data": map[string]string{"user": s.agents[req.User]}}, nil
		case acct != nil:
			return map[string]any{"role": "user"}, nil
		}
		return map[string]any{"role": "missing"}, nil
	}
	if acct == nil {
		acct = &account{pos: map[string]fixed.Dec{}}
	}
	switch req.Type {
	case "clearinghouseState":
		return s.state(acct), nil
	case "frontendOpenOrders", "openOrders":
		out := []any{}
		for _, o := range acct.orders {
			if o.status == "open" {
				out = append(out, frontend(o))
			}
		}
		return out, nil
	case "userFills":
		out := []any{}
		for i := len(acct.fills) - 1; i >= 0; i-- { // newest first
			out = append(out, acct.fills[i])
		}
		return out, nil
	case "orderStatus":
		var oid int64
		var cloid string
		if json.Unmarshal(req.Oid, &oid) != nil && json.Unmarshal(req.Oid, &cloid) != nil {
			return nil, fmt.Errorf("oid %s", req.Oid)
		}
		for _, o := range acct.orders {
			if (cloid == "" && o.oid == oid) || (cloid != "" && o.cloid == cloid) {
				status := o.status
				if status == "open" && o.triggered {
					status = "triggered"
				}
				return map[string]any{"status": "order", "order": map[string]any{"order": frontend(o), "status": status, "statusTimestamp": o.statusTs}}, nil
			}
		}
		return map[string]any{"status": "unknownOid"}, nil
	}
	return nil, fmt.Errorf("unknown request type %q", req.Type)
}

func (s *server) meta() any {
	var u []any
	for _, c := range s.coins {
		u = append(u, map[string]any{"name": c.name, "szDecimals": c.szDecimals, "maxLeverage": 50, "onlyIsolated": false})
	}
	return map[string]any{"universe": u}
}

func (s *server) coin(name string) (int, *coin) {
	for i := range s.coins {
		if s.coins[i].name == name {
			return i, &s.coins[i]
		}
	}
	return -1, nil
}

// candles are flat at the mark, a little range around it.
func (s *server) candles(name, interval string, start, end int64) (any, error) {
	_, c := s.coin(name)
	minutes := map[string]int64{"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}[interval]
	if c == nil || minutes == 0 || end < start || (end-start)/(minutes*60_000) > 5000 {
		return []any{}, nil
	}
	step := minutes * 60_000
	out := []any{}
	for t := start - start%step; t <= end; t += step {
		out = append(out, map[string]any{"T": t + step - 1, "c": num(c.mark), "h": num(c.mark + fixed.One), "i": interval, "l": num(c.mark - fixed.One),
			"n": 113, "o": num(c.mark), "s": name, "t": t, "v": "12.345"})
	}
	return out, nil
}

func frontend(o *order) map[string]any {
	side := "A"
	if o.buy {
		side = "B"
	}
	m := map[string]any{"coin": o.coin, "isPositionTpsl": false, "isTrigger": false, "limitPx": num(o.px), "oid": o.oid, "orderType": "Limit",
		"origSz": num(o.orig), "reduceOnly": o.reduce, "side": side, "sz": num(o.sz), "timestamp": o.ts, "triggerCondition": "N/A", "triggerPx": "0.0", "tif": o.tif}
	if o.trigger != nil {
		m["isTrigger"], m["triggerPx"], m["tif"], m["orderType"] = !o.triggered, num(*o.trigger), nil, "Stop Limit"
		if o.market {
			m["orderType"] = "Stop Market"
		}
		m["triggerCondition"] = "Price below " + num(*o.trigger)
		if o.buy {
			m["triggerCondition"] = "Price above " + num(*o.trigger)
		}
	}
	if o.cloid != "" {
		m["cloid"] = o.cloid
	}
	return m
}

func (s *server) state(a *account) any {
	var ntl, value fixed.Dec
	positions := []any{}
	for _, c := range s.coins {
		szi := a.pos[c.name]
		if szi == 0 {
			continue
		}
		v := fixed.MulCeil(szi, c.mark)
		value += v
		ntl += abs(v)
		positions = append(positions, map[string]any{"type": "oneWay", "position": map[string]any{"coin": c.name, "szi": num(szi),
			"leverage": map[string]any{"type": "cross", "value": 1}, "entryPx": num(c.mark), "positionValue": num(abs(v)), "unrealizedPnl": "0.0",
			"returnOnEquity": "0.0", "liquidationPx": nil, "marginUsed": num(abs(v)), "maxLeverage": 50,
			"cumFunding": map[string]string{"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}}})
	}
	summary := map[string]string{"accountValue": num(a.rawUsd + value), "totalNtlPos": num(ntl), "totalRawUsd": num(a.rawUsd), "totalMarginUsed": num(ntl)}
	return map[string]any{"assetPositions": positions, "crossMaintenanceMarginUsed": "0.0", "crossMarginSummary": summary, "marginSummary": summary,
		"time": nowMs(), "withdrawable": num(a.rawUsd + value - ntl)}
}

func abs(d fixed.Dec) fixed.Dec { return max(d, -d) }

func errAnswer(msg string) any { return map[string]any{"status": "err", "response": msg} }

func statuses(typ string, st []any) any {
	return map[string]any{"status": "ok", "response": map[string]any{"type": typ, "data": map[string]any{"statuses": st}}}
}

func (s *server) exchange(body []byte) any {
	var req hl.ExchangeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer("Failed to deserialize the JSON body: " + err.Error())
	}
	action, err := hl.ParseObj(req.Action)
	if err != nil {
		return errAnswer("invalid action: " + err.Error())
	}
	signer, err := hl.RecoverL1(action, req.Nonce, nil, false, req.Signature)
	if err != nil {
		return errAnswer("Invalid signature: " + err.Error())
	}
	master := s.agents[signer.String()]
	acct := s.users[master]
	if acct == nil {
		return errAnswer(fmt.Sprintf("User or API Wallet %s does not exist.", signer))
	}
	typ, _ := action.Get("type").(string)
	switch typ {
	case "order":
		var a struct {
			Orders []orderReq `json:"orders"`
		}
		if err := json.Unmarshal(req.Action, &a); err != nil {
			return errAnswer(err.Error())
		}
		var st []any
		for _, o := range a.Orders {
			st = append(st, s.place(acct, o))
		}
		return statuses("order", st)
	case "cancel", "cancelByCloid":
		var a struct {
			Cancels []struct {
				A     int    `json:"a"`
				Asset int    `json:"asset"`
				O     int64  `json:"o"`
				Cloid string `json:"cloid"`
			} `json:"cancels"`
		}
		if err := json.Unmarshal(req.Action, &a); err != nil {
			return errAnswer(err.Error())
		}
		var st []any
		for _, c := range a.Cancels {
			st = append(st, s.cancel(acct, c.O, c.Cloid))
		}
		return statuses("cancel", st)
	}
	return errAnswer(fmt.Sprintf("unknown action %q", typ))
}

func orderErr(msg string) any { return map[string]string{"error": msg} }

// priceOK is the venue's price rule: at most 5 significant figures
// (integers always), at most 6−szDecimals decimals.
func priceOK(p fixed.Dec, szDecimals int) bool {
	if p%fixed.One == 0 {
		return true
	}
	s := strings.TrimRight(p.String(), "0")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6-szDecimals {
		return false
	}
	digits := strings.TrimLeft(whole+frac, "0")
	return len(digits) <= 5
}

func (s *server) place(a *account, r orderReq) any {
	if r.A < 0 || r.A >= len(s.coins) {
		return orderErr("Order has invalid asset.")
	}
	buy, cloid := r.B, r.C
	c := &s.coins[r.A]
	px, err1 := fixed.Parse(r.P)
	sz, err2 := fixed.Parse(r.S)
	if err1 != nil || err2 != nil || px <= 0 || sz <= 0 {
		return orderErr("Order has invalid price or size.")
	}
	var tif string
	var trigger *fixed.Dec
	market := false
	switch t := r.T; {
	case t.Limit != nil && t.Trigger == nil:
		tif = t.Limit.Tif
	case t.Trigger != nil && t.Limit == nil:
		tp, err := fixed.Parse(t.Trigger.TriggerPx)
		if err != nil || tp <= 0 || t.Trigger.IsMarket == nil || !priceOK(tp, c.szDecimals) {
			return orderErr("Order has invalid trigger price.")
		}
		if t.Trigger.Tpsl != "sl" { // the test server keeps stop losses only
			return orderErr("Order has invalid tpsl.")
		}
		trigger, market = &tp, *t.Trigger.IsMarket
	default:
		return orderErr("Order has invalid order type.")
	}
	if !sz.OnGrid(fixed.Dec(math.Pow10(fixed.Decimals - c.szDecimals))) {
		return orderErr("Order has invalid size.")
	}
	if !priceOK(px, c.szDecimals) {
		return orderErr("Price must be divisible by tick size.")
	}
	if fixed.MulFloor(px, sz) < minValue {
		return orderErr("Order must have minimum value of $10.")
	}
	for _, o := range a.orders {
		if cloid != "" && o.cloid == cloid {
			return orderErr("Duplicate cloid: an order with this cloid exists.")
		}
	}
	// Margin at leverage 1: what the order adds to the exposure must be
	// free.
	var used, value fixed.Dec
	for _, k := range s.coins {
		v := fixed.MulCeil(a.pos[k.name], k.mark)
		value += v
		used += abs(v)
	}
	for _, o := range a.orders {
		if o.status == "open" && !o.reduce {
			used += fixed.MulCeil(o.px, o.sz)
		}
	}
	signed := sz
	if !buy {
		signed = -sz
	}
	cur := a.pos[c.name]
	if grow := abs(cur+signed) - abs(cur); !r.R && grow > 0 && fixed.MulCeil(grow, px) > a.rawUsd+value-used {
		return orderErr("Insufficient margin to place order.")
	}
	now := nowMs()
	o := &order{coin: c.name, buy: buy, px: px, orig: sz, sz: sz, cloid: cloid, tif: tif, ts: now, statusTs: now, reduce: r.R, trigger: trigger, market: market}
	if trigger != nil {
		s.nextOid++
		o.oid, o.status = s.nextOid, "open"
		a.orders = append(a.orders, o)
		s.triggerAt(a, o, c)
		if s.waiting {
			return "waitingForTrigger"
		}
		return map[string]any{"resting": restingOf(o)}
	}
	return s.trade(a, o, c)
}

// trade makes o, an order placed or a trigger order that triggered,
// trade at c's mark: it fills when it crosses, else rests (an IOC one is
// refused, or cancelled once triggered).
func (s *server) trade(a *account, o *order, c *coin) any {
	buy, px, tif := o.buy, o.px, o.tif
	if o.market {
		tif = "Ioc"
	}
	sz := o.sz
	if o.reduce { // never more than the position it reduces
		cur := a.pos[c.name]
		if (buy && cur >= 0) || (!buy && cur <= 0) {
			o.status, o.statusTs = "reduceOnlyCanceled", nowMs()
			return orderErr("Reduce only order would increase position.")
		}
		sz = min(sz, abs(cur))
	}
	crosses := (buy && px >= c.mark) || (!buy && px <= c.mark)
	placed := o.oid != 0
	if !crosses {
		if tif == "Ioc" {
			if placed {
				o.status, o.statusTs = "canceled", nowMs()
			}
			return orderErr("Order could not immediately match against any resting orders.")
		}
		if !placed {
			s.nextOid++
			o.oid, o.status = s.nextOid, "open"
			a.orders = append(a.orders, o)
		}
		return map[string]any{"resting": restingOf(o)}
	}
	if !placed {
		s.nextOid++
		o.oid = s.nextOid
	}
	fill := sz
	if s.depth > 0 {
		fill = min(fill, s.depth)
	}
	step := fixed.Dec(math.Pow10(fixed.Decimals - c.szDecimals))
	first := (fill / 2).FloorTo(step)
	for _, part := range []fixed.Dec{first, fill - first} {
		if part > 0 {
			s.fill(a, o, c, part)
		}
	}
	switch {
	case o.sz == 0:
		o.status = "filled"
	case tif == "Ioc":
		o.status = "canceled"
	default:
		o.status = "open"
	}
	o.statusTs = nowMs()
	if !placed {
		a.orders = append(a.orders, o)
	}
	if o.status == "open" {
		return map[string]any{"resting": restingOf(o)}
	}
	f := map[string]any{"totalSz": num(o.orig - o.sz), "avgPx": num(c.mark), "oid": o.oid}
	if o.cloid != "" {
		f["cloid"] = o.cloid
	}
	return map[string]any{"filled": f}
}

func restingOf(o *order) map[string]any {
	r := map[string]any{"oid": o.oid}
	if o.cloid != "" {
		r["cloid"] = o.cloid
	}
	return r
}

// fill trades sz of o at the mark, as taker.
func (s *server) fill(a *account, o *order, c *coin, sz fixed.Dec) {
	quote := fixed.MulCeil(c.mark, sz)
	fee := fixed.MulCeil(quote, takerFee).CeilTo(fixed.MustParse("0.000001"))
	start := a.pos[c.name]
	side, dir := "B", "Open Long"
	if o.buy {
		a.rawUsd -= quote + fee
		a.pos[c.name] += sz
	} else {
		side, dir = "A", "Close Long"
		a.rawUsd += quote - fee
		a.pos[c.name] -= sz
	}
	o.sz -= sz
	s.nextTid++
	f := map[string]any{"closedPnl": "0.0", "coin": c.name, "crossed": true, "dir": dir, "hash": fmt.Sprintf("0x%064x", s.nextTid), "oid": o.oid,
		"px": num(c.mark), "side": side, "startPosition": num(start), "sz": num(sz), "time": nowMs(), "fee": num(fee), "feeToken": "USDC", "tid": s.nextTid}
	if o.cloid != "" {
		f["cloid"] = o.cloid
	}
	a.fills = append(a.fills, f)
	for user, acct := range s.users {
		if acct == a && s.subs[user] != nil {
			msg, _ := json.Marshal(map[string]any{"channel": "userFills", "data": map[string]any{"isSnapshot": false, "user": user, "fills": []any{f}}})
			select {
			case s.subs[user] <- msg:
			default:
			}
		}
	}
}

// ws serves the WebSocket: a userFills subscription gets the
// subscriptionResponse, the snapshot of the user's fills, then each new
// fill; a ping gets a pong.
func (s *server) ws(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	_, b, err := conn.Read(ctx)
	if err != nil {
		return
	}
	var sub struct {
		Method       string `json:"method"`
		Subscription struct {
			Type string `json:"type"`
			User string `json:"user"`
		} `json:"subscription"`
	}
	if json.Unmarshal(b, &sub) != nil || sub.Method != "subscribe" || sub.Subscription.Type != "userFills" {
		_ = conn.Write(ctx, websocket.MessageText, []byte(`{"channel":"error","data":"Invalid subscription"}`))
		return
	}
	user := sub.Subscription.User
	s.mu.Lock()
	ch := make(chan []byte, 100)
	s.subs[user] = ch
	var past []any
	if a := s.users[user]; a != nil {
		for _, f := range a.fills {
			past = append(past, f)
		}
	}
	s.mu.Unlock()
	ack, _ := json.Marshal(map[string]any{"channel": "subscriptionResponse", "data": map[string]any{"method": "subscribe", "subscription": sub.Subscription}})
	snap, _ := json.Marshal(map[string]any{"channel": "userFills", "data": map[string]any{"isSnapshot": true, "user": user, "fills": past}})
	if conn.Write(ctx, websocket.MessageText, ack) != nil || conn.Write(ctx, websocket.MessageText, snap) != nil {
		return
	}
	s.subscribed <- user
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // pings; the client's close ends the handler
		defer cancel()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if strings.Contains(string(b), `"ping"`) {
				_ = conn.Write(ctx, websocket.MessageText, []byte(`{"channel":"pong"}`))
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-ch:
			if conn.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
		}
	}
}

func (s *server) cancel(a *account, oid int64, cloid string) any {
	for _, o := range a.orders {
		if o.status == "open" && ((cloid == "" && o.oid == oid) || (cloid != "" && o.cloid == cloid)) {
			o.status, o.statusTs = "canceled", nowMs()
			return "success"
		}
	}
	return orderErr("Order was never placed, already canceled, or filled.")
}

// triggerAt triggers o, a trigger order of a, when c's mark is through
// its trigger (a stop loss sell at or below it, a buy at or above), and
// trades it.
func (s *server) triggerAt(a *account, o *order, c *coin) {
	if o.triggered || (o.buy && c.mark < *o.trigger) || (!o.buy && c.mark > *o.trigger) {
		return
	}
	o.triggered = true
	s.trade(a, o, c)
}

// move sets coin's mark to p, as the market moving there: trigger orders
// it passes trigger, and the open orders it crosses fill.
func (s *server) move(coin string, p fixed.Dec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c := s.coin(coin)
	c.mark = p
	for _, a := range s.users {
		for _, o := range a.orders {
			if o.status != "open" || o.coin != coin {
				continue
			}
			if o.trigger != nil && !o.triggered {
				s.triggerAt(a, o, c)
			} else if (o.buy && o.px >= p) || (!o.buy && o.px <= p) {
				s.trade(a, o, c)
			}
		}
	}
}
