// Package alpacatest is a local stand-in for Alpaca's trading API v2 and
// the stock bars of its market data API v2, for tests: an http.Handler
// that keeps one account's cash, orders, fills and positions, fills
// market orders and marketable limit orders at the symbol's price, rests
// the others until the price moves through them (Move) or a test fills
// them in part (Fill), enforces Alpaca's rules (sub-penny prices, whole
// shares of non-fractionable assets, the $1 minimum of fractional orders,
// buying power, unique client order ids), and answers with the documented
// payloads of testdata/ (its README cites the doc section of each) as
// templates, error shapes and rate-limit headers included. Scripted
// failures (Script) answer a path with a given status, body and headers.
package alpacatest

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/fixed"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Fixture returns the fixture file name (e.g. "order.json").
func Fixture(name string) []byte {
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

// template decodes an object fixture (the first element of a list).
func template(name string) map[string]any {
	var v any
	if err := json.Unmarshal(Fixture(name), &v); err != nil {
		panic(err)
	}
	if l, ok := v.([]any); ok {
		v = l[0]
	}
	return v.(map[string]any)
}

// Day is one day of the exchange calendar, as GET /v2/calendar writes it.
type Day struct {
	Open, Close, SessionOpen, SessionClose string // "09:30", "0400"
}

// Asset is a symbol the server trades.
type Asset struct {
	Symbol       string
	Fractionable bool
	Price        fixed.Dec // the last price: market orders fill at it
}

// Config sets the server up.
type Config struct {
	KeyID, Secret string
	Cash          fixed.Dec
	Assets        []Asset
	// Clock is the server's time (nil: the system clock).
	Clock clock.Clock
	// Location is New York's time zone (nil: a fixed UTC-5).
	Location *time.Location
	// Calendar is the trading day of date (2006-01-02); false: closed.
	// Nil: weekdays, 09:30–16:00, extended 04:00–20:00.
	Calendar func(date string) (Day, bool)
}

// Scripted is an answer Script makes the server give.
type Scripted struct {
	Status  int
	Body    string
	Headers map[string]string
}

// Server is the stand-in. Use it as an http.Handler (httptest.NewServer).
type Server struct {
	cfg Config
	clk clock.Clock

	mu        sync.Mutex
	cash      fixed.Dec
	assets    map[string]*Asset
	orders    []*order // in placement order
	byID      map[string]*order
	clientIDs map[string]bool
	positions map[string]fixed.Dec
	fills     []map[string]any // newest last
	// listeners are the trade_updates streams: each gets every trade
	// update (a full one is dropped).
	listeners map[chan []byte]bool
	script    map[string][]Scripted
	seq       int
	requests  int
	// The account's flags (SetAccount), for the test-connection.
	status                         string
	tradingBlocked, accountBlocked bool
}

// SetAccount sets the account's status (ACTIVE when New made it) and
// whether trading or the whole account is blocked.
func (s *Server) SetAccount(status string, tradingBlocked, accountBlocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.tradingBlocked, s.accountBlocked = status, tradingBlocked, accountBlocked
}

type order struct {
	id, clientID, symbol, side, typ, tif, status string
	qty, filled, quote, limit, stop              fixed.Dec
	ext                                          bool
	created, updated                             time.Time
}

func (o *order) open() bool {
	switch o.status {
	case "new", "accepted", "partially_filled", "pending_new":
		return true
	}
	return false
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, clk: clock.Or(cfg.Clock), cash: cfg.Cash, assets: map[string]*Asset{}, byID: map[string]*order{},
		clientIDs: map[string]bool{}, positions: map[string]fixed.Dec{}, script: map[string][]Scripted{}, status: "ACTIVE",
		listeners: map[chan []byte]bool{}}
	for _, a := range cfg.Assets {
		s.assets[a.Symbol] = &a
	}
	if s.cfg.Location == nil {
		s.cfg.Location = time.FixedZone("EST", -5*3600)
	}
	if s.cfg.Calendar == nil {
		s.cfg.Calendar = func(date string) (Day, bool) {
			d, err := time.Parse(time.DateOnly, date)
			if err != nil || d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				return Day{}, false
			}
			return Day{Open: "09:30", Close: "16:00", SessionOpen: "0400", SessionClose: "2000"}, true
		}
	}
	return s
}

// Script makes the next answers to path (e.g. "/v2/orders") these, in
// turn, before the server answers it itself again.
func (s *Server) Script(path string, answers ...Scripted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[path] = append(s.script[path], answers...)
}

// Requests is how many requests the server has had.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Move sets symbol's price to p and fills what it reaches: resting limit
// buys at or above p and sells at or below it, at their limit; stops
// whose stop price p reached, at p (stop-limits as limits from then on).
func (s *Server) Move(symbol string, p fixed.Dec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assets[symbol]
	if a == nil {
		return
	}
	a.Price = p
	now := s.clk.Now()
	for _, o := range s.orders {
		if o.symbol != symbol || !o.open() {
			continue
		}
		if o.stop > 0 && (o.side == "sell" && p <= o.stop || o.side == "buy" && p >= o.stop) {
			o.stop = 0 // triggered
			if o.typ == "stop" {
				o.typ = "market"
			}
		}
		if o.stop > 0 {
			continue
		}
		switch {
		case o.typ == "market", o.typ == "stop":
			s.fill(o, o.qty-o.filled, p, now)
		case o.side == "buy" && p <= o.limit, o.side == "sell" && p >= o.limit:
			s.fill(o, o.qty-o.filled, o.limit, now)
		}
	}
}

// Fill fills qty of the open order id (its UUID) at its limit price: a
// partial fill when some is left.
func (s *Server) Fill(id string, qty fixed.Dec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byID[id]
	if o == nil || !o.open() || qty > o.qty-o.filled {
		return fmt.Errorf("alpacatest: order %s cannot fill %s", id, qty)
	}
	s.fill(o, qty, o.limit, s.clk.Now())
	return nil
}

// fill books a fill of q at p: cash, position, the order and a FILL
// activity.
func (s *Server) fill(o *order, q, p fixed.Dec, now time.Time) {
	e, _ := fixed.Mul(p, q)
	v := e.Round()
	if o.side == "buy" {
		s.cash -= v
		s.positions[o.symbol] += q
	} else {
		s.cash += v
		s.positions[o.symbol] -= q
	}
	o.filled += q
	o.quote += v
	o.updated = now
	kind := "fill"
	o.status = "filled"
	if o.filled < o.qty {
		kind, o.status = "partial_fill", "partially_filled"
	}
	f := template("activities_fill.json")
	s.seq++
	maps.Copy(f, map[string]any{"id": fmt.Sprintf("%s::%s", now.UTC().Format("20060102150405000"), uuid(s.seq)),
		"transaction_time": now.UTC().Format(time.RFC3339Nano), "type": kind, "price": p.String(), "qty": q.String(),
		"side": o.side, "symbol": o.symbol, "leaves_qty": (o.qty - o.filled).String(), "order_id": o.id,
		"cum_qty": o.filled.String(), "order_status": o.status})
	s.fills = append(s.fills, f)
	s.tradeUpdate(o, kind, uuid(s.seq), p, q, now)
}

func uuid(n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", n*2654435761%(1<<32), n)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "GET" && r.URL.Path == "/stream" {
		s.stream(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if sc := s.script[r.URL.Path]; len(sc) > 0 {
		a := sc[0]
		s.script[r.URL.Path] = sc[1:]
		for k, v := range a.Headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = w.Write([]byte(a.Body))
		return
	}
	if r.Header.Get("APCA-API-KEY-ID") != s.cfg.KeyID || r.Header.Get("APCA-API-SECRET-KEY") != s.cfg.Secret {
		fail(w, http.StatusUnauthorized, 40110000, "request is not authorized")
		return
	}
	w.Header().Set("X-RateLimit-Limit", "200")
	w.Header().Set("X-RateLimit-Remaining", "199")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.clk.Now().Add(time.Minute).Unix(), 10))
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == "/v2/account":
		s.account(w)
	case r.Method == "GET" && p == "/v2/clock":
		s.clock(w)
	case r.Method == "GET" && p == "/v2/calendar":
		s.calendar(w, r)
	case r.Method == "GET" && p == "/v2/assets":
		s.assetList(w)
	case r.Method == "GET" && p == "/v2/positions":
		s.positionList(w)
	case r.Method == "GET" && p == "/v2/orders":
		s.orderList(w, r)
	case r.Method == "POST" && p == "/v2/orders":
		s.place(w, r)
	case r.Method == "GET" && p == "/v2/orders:by_client_order_id":
		s.orderBy(w, func(o *order) bool { return o.clientID == r.URL.Query().Get("client_order_id") })
	case r.Method == "GET" && strings.HasPrefix(p, "/v2/orders/"):
		s.orderBy(w, func(o *order) bool { return o.id == strings.TrimPrefix(p, "/v2/orders/") })
	case r.Method == "DELETE" && strings.HasPrefix(p, "/v2/orders/"):
		s.cancel(w, strings.TrimPrefix(p, "/v2/orders/"))
	case r.Method == "GET" && p == "/v2/account/activities/FILL":
		s.fillList(w, r)
	case r.Method == "GET" && strings.HasPrefix(p, "/v2/stocks/") && strings.HasSuffix(p, "/bars"):
		s.bars(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/v2/stocks/"), "/bars"))
	default:
		fail(w, http.StatusNotFound, 40410000, "endpoint not found")
	}
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// held is the cash open buy limits hold and each symbol's shares open
// sells hold.
func (s *Server) held() (fixed.Dec, map[string]fixed.Dec) {
	var cash fixed.Dec
	shares := map[string]fixed.Dec{}
	for _, o := range s.orders {
		if !o.open() {
			continue
		}
		if o.side == "buy" && o.limit > 0 {
			cash += fixed.MulCeil(o.limit, o.qty-o.filled)
		}
		if o.side == "sell" {
			shares[o.symbol] += o.qty - o.filled
		}
	}
	return cash, shares
}

func (s *Server) account(w http.ResponseWriter) {
	a := template("account.json")
	cash, _ := s.held()
	maps.Copy(a, map[string]any{"status": s.status, "trading_blocked": s.tradingBlocked, "account_blocked": s.accountBlocked,
		"cash": s.cash.String(), "buying_power": (s.cash - cash).String(), "multiplier": "1"})
	answer(w, a)
}

func (s *Server) clock(w http.ResponseWriter) {
	now := s.clk.Now().In(s.cfg.Location)
	d := s.day(now)
	open := d.trading && !now.Before(d.open) && now.Before(d.shut)
	c := template("clock.json")
	maps.Copy(c, map[string]any{"timestamp": now.Format(time.RFC3339Nano), "is_open": open,
		"next_open": d.open.Format(time.RFC3339), "next_close": d.shut.Format(time.RFC3339)})
	answer(w, c)
}

type day struct {
	trading               bool
	open, shut, pre, post time.Time
	o, c, so, sc, date    string
}

func (s *Server) day(t time.Time) day {
	date := t.Format(time.DateOnly)
	cd, ok := s.cfg.Calendar(date)
	d := day{trading: ok, date: date, o: cd.Open, c: cd.Close, so: cd.SessionOpen, sc: cd.SessionClose}
	if !ok {
		return d
	}
	base, _ := time.ParseInLocation(time.DateOnly, date, s.cfg.Location)
	at := func(v string) time.Time {
		v = strings.ReplaceAll(v, ":", "")
		h, _ := strconv.Atoi(v[:2])
		m, _ := strconv.Atoi(v[2:])
		return base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	d.open, d.shut, d.pre, d.post = at(cd.Open), at(cd.Close), at(cd.SessionOpen), at(cd.SessionClose)
	return d
}

func (s *Server) calendar(w http.ResponseWriter, r *http.Request) {
	start, err1 := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("start"), s.cfg.Location)
	end, err2 := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("end"), s.cfg.Location)
	if err1 != nil || err2 != nil {
		fail(w, http.StatusUnprocessableEntity, 42210000, "invalid start or end")
		return
	}
	out := []map[string]any{}
	for t := start; !t.After(end); t = t.AddDate(0, 0, 1) {
		d := s.day(t)
		if !d.trading {
			continue
		}
		e := template("calendar.json")
		maps.Copy(e, map[string]any{"date": d.date, "open": d.o, "close": d.c, "session_open": d.so, "session_close": d.sc,
			"settlement_date": t.AddDate(0, 0, 1).Format(time.DateOnly)})
		out = append(out, e)
	}
	answer(w, out)
}

func (s *Server) assetList(w http.ResponseWriter) {
	out := []map[string]any{}
	for _, sym := range slices.Sorted(maps.Keys(s.assets)) {
		a := template("assets.json")
		maps.Copy(a, map[string]any{"id": uuid(len(sym) * 7919), "symbol": sym, "name": sym, "fractionable": s.assets[sym].Fractionable})
		out = append(out, a)
	}
	answer(w, out)
}

func (s *Server) positionList(w http.ResponseWriter) {
	_, shares := s.held()
	out := []map[string]any{}
	for _, sym := range slices.Sorted(maps.Keys(s.positions)) {
		q := s.positions[sym]
		if q == 0 {
			continue
		}
		price := s.assets[sym].Price
		v := fixed.MulFloor(price, q)
		p := template("positions.json")
		maps.Copy(p, map[string]any{"symbol": sym, "qty": q.String(), "qty_available": (q - shares[sym]).String(), "current_price": price.String(),
			"market_value": v.String(), "side": "long"})
		out = append(out, p)
	}
	answer(w, out)
}

// render is o as Alpaca writes an order.
func (s *Server) render(o *order) map[string]any {
	m := template("order.json")
	null := func(d fixed.Dec) any {
		if d == 0 {
			return nil
		}
		return d.String()
	}
	var avg any
	if o.filled > 0 {
		avg = fixed.QuoFloor(o.quote, o.filled).String()
	}
	var filledAt any
	if o.status == "filled" {
		filledAt = o.updated.UTC().Format(time.RFC3339Nano)
	}
	maps.Copy(m, map[string]any{"id": o.id, "client_order_id": o.clientID, "created_at": o.created.UTC().Format(time.RFC3339Nano),
		"updated_at": o.updated.UTC().Format(time.RFC3339Nano), "submitted_at": o.created.UTC().Format(time.RFC3339Nano), "filled_at": filledAt,
		"symbol": o.symbol, "qty": o.qty.String(), "filled_qty": o.filled.String(), "filled_avg_price": avg, "order_type": o.typ, "type": o.typ,
		"side": o.side, "time_in_force": o.tif, "limit_price": null(o.limit), "stop_price": null(o.stop), "status": o.status, "extended_hours": o.ext,
		"position_intent": map[string]string{"buy": "buy_to_open", "sell": "sell_to_close"}[o.side]})
	return m
}

func (s *Server) orderList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	syms := map[string]bool{}
	for _, sym := range strings.Split(q.Get("symbols"), ",") {
		if sym != "" {
			syms[sym] = true
		}
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 50
	}
	out := []map[string]any{}
	for _, o := range s.orders {
		if (status == "open" || status == "") && !o.open() || status == "closed" && o.open() || len(syms) > 0 && !syms[o.symbol] {
			continue
		}
		out = append(out, s.render(o))
	}
	if q.Get("direction") != "asc" {
		slices.Reverse(out)
	}
	answer(w, out[:min(limit, len(out))])
}

func (s *Server) orderBy(w http.ResponseWriter, match func(*order) bool) {
	for _, o := range s.orders {
		if match(o) {
			answer(w, s.render(o))
			return
		}
	}
	fail(w, http.StatusNotFound, 40410000, "order not found")
}

func (s *Server) cancel(w http.ResponseWriter, id string) {
	o := s.byID[id]
	switch {
	case o == nil:
		fail(w, http.StatusNotFound, 40410000, "order not found for "+id)
	case !o.open():
		fail(w, http.StatusUnprocessableEntity, 42210000, "order is not cancelable")
	default:
		o.status, o.updated = "canceled", s.clk.Now()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) fillList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("page_size"))
	if err != nil || size <= 0 {
		size = 100
	}
	fs := slices.Clone(s.fills)
	if q.Get("direction") != "asc" {
		slices.Reverse(fs)
	}
	if tok := q.Get("page_token"); tok != "" {
		i := slices.IndexFunc(fs, func(f map[string]any) bool { return f["id"] == tok })
		fs = fs[i+1:]
	}
	answer(w, fs[:min(size, len(fs))])
}

// bars answers bars at the asset's price: the newest limit up to now
// (sort=desc without start), or the first limit opening in [start, end]
// (end inclusive, as Alpaca's): intraday bars at every step, daily bars
// on the calendar's trading days, stamped at midnight New York time.
func (s *Server) bars(w http.ResponseWriter, r *http.Request, symbol string) {
	a := s.assets[symbol]
	if a == nil {
		fail(w, http.StatusNotFound, 40410000, "asset not found for "+symbol)
		return
	}
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 1000
	}
	step := map[string]time.Duration{"1Min": time.Minute, "5Min": 5 * time.Minute, "15Min": 15 * time.Minute, "1Hour": time.Hour, "1Day": 24 * time.Hour}[q.Get("timeframe")]
	if step == 0 {
		fail(w, http.StatusBadRequest, 40010001, "invalid timeframe")
		return
	}
	now := s.clk.Now()
	end := now
	if e, err := time.Parse(time.RFC3339Nano, q.Get("end")); err == nil && e.Before(now) {
		end = e
	}
	start, err := time.Parse(time.RFC3339Nano, q.Get("start"))
	if err != nil {
		start = end.Add(-time.Duration(limit+1) * step)
	}
	var times []time.Time
	if step == 24*time.Hour {
		for d := start.In(s.cfg.Location); !d.After(end); d = d.AddDate(0, 0, 1) {
			t, _ := time.ParseInLocation(time.DateOnly, d.Format(time.DateOnly), s.cfg.Location)
			if _, ok := s.cfg.Calendar(t.Format(time.DateOnly)); ok && !t.Before(start) && !t.After(end) {
				times = append(times, t)
			}
		}
	} else {
		for t := start.Truncate(step); !t.After(end); t = t.Add(step) {
			if !t.Before(start) {
				times = append(times, t)
			}
		}
	}
	if q.Get("sort") == "desc" {
		slices.Reverse(times)
	}
	var page struct {
		Bars          []map[string]any `json:"bars"`
		Symbol        string           `json:"symbol"`
		NextPageToken *string          `json:"next_page_token"`
	}
	page.Symbol = symbol
	p, _ := strconv.ParseFloat(a.Price.String(), 64)
	for i, t := range times[:min(limit, len(times))] {
		page.Bars = append(page.Bars, map[string]any{"t": t.UTC().Format(time.RFC3339), "o": p, "h": p, "l": p, "c": p, "v": 1000 + i, "n": 10, "vw": p})
	}
	if len(times) > limit {
		tok := "more"
		page.NextPageToken = &tok
	}
	answer(w, page)
}

// onTick reports whether p is on Alpaca's price grid: cents from $1,
// hundredths of a cent below.
func onTick(p fixed.Dec) bool {
	tick := fixed.MustParse("0.01")
	if p < fixed.One {
		tick = fixed.MustParse("0.0001")
	}
	return p%tick == 0
}

func (s *Server) place(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Symbol        string `json:"symbol"`
		Qty           string `json:"qty"`
		Notional      string `json:"notional"`
		Side          string `json:"side"`
		Type          string `json:"type"`
		TimeInForce   string `json:"time_in_force"`
		LimitPrice    string `json:"limit_price"`
		StopPrice     string `json:"stop_price"`
		ClientOrderID string `json:"client_order_id"`
		ExtendedHours bool   `json:"extended_hours"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, 40010000, "request body format is invalid")
		return
	}
	dec := func(v string) fixed.Dec {
		if v == "" {
			return 0
		}
		d, err := fixed.Parse(v)
		if err != nil {
			return -1
		}
		return d
	}
	a := s.assets[req.Symbol]
	qty, notional, limit, stop := dec(req.Qty), dec(req.Notional), dec(req.LimitPrice), dec(req.StopPrice)
	reject := func(status, code int, format string, args ...any) {
		fail(w, status, code, fmt.Sprintf(format, args...))
	}
	switch {
	case a == nil:
		reject(422, 40010001, "asset %q not found", req.Symbol)
		return
	case req.Side != "buy" && req.Side != "sell":
		reject(422, 40010001, "invalid side %q", req.Side)
		return
	case req.Type != "market" && req.Type != "limit" && req.Type != "stop" && req.Type != "stop_limit":
		reject(422, 40010001, "invalid order type %q", req.Type)
		return
	case qty < 0 || notional < 0 || limit < 0 || stop < 0:
		reject(422, 40010001, "invalid decimal in the order")
		return
	}
	if notional > 0 {
		if req.Type != "market" || qty != 0 {
			reject(422, 40010001, "notional is only allowed for market orders, without qty")
			return
		}
		qty = fixed.QuoFloor(notional, a.Price)
	}
	hasLimit, hasStop := req.Type == "limit" || req.Type == "stop_limit", req.Type == "stop" || req.Type == "stop_limit"
	fractional := qty%fixed.One != 0
	_, shares := s.held()
	heldCash, _ := s.held()
	price := a.Price
	if hasLimit {
		price = limit
	}
	switch {
	case qty <= 0:
		reject(422, 40010001, "qty must be > 0")
	case hasLimit && limit == 0, hasStop && stop == 0:
		reject(422, 40010001, "limit_price and stop_price are required for %s orders", req.Type)
	case fractional && !a.Fractionable:
		reject(422, 42210000, "asset %q is not fractionable", req.Symbol)
	case fractional && req.TimeInForce != "day":
		reject(422, 42210000, "fractional orders must be DAY orders")
	case hasLimit && !onTick(limit):
		reject(422, 42210000, "invalid limit_price %s. sub-penny increment does not fulfill minimum pricing criteria", limit)
	case hasStop && !onTick(stop):
		reject(422, 42210000, "invalid stop_price %s. sub-penny increment does not fulfill minimum pricing criteria", stop)
	case req.ExtendedHours && (req.Type != "limit" || req.TimeInForce != "day"):
		reject(422, 42210000, "extended hours order must be DAY limit orders")
	case req.ClientOrderID != "" && s.clientIDs[req.ClientOrderID]:
		reject(422, 40010001, "client_order_id must be unique")
	case fractional && fixed.MulFloor(price, qty) < fixed.One:
		reject(403, 40310000, "cost basis must be >= 1")
	case req.Side == "buy" && fixed.MulCeil(price, qty) > s.cash-heldCash:
		reject(403, 40310000, "insufficient buying power")
	case req.Side == "sell" && qty > s.positions[req.Symbol]-shares[req.Symbol]:
		reject(403, 40310000, "insufficient qty available for order (requested: %s, available: %s)", qty, s.positions[req.Symbol]-shares[req.Symbol])
	case hasStop && req.Side == "sell" && stop >= a.Price:
		reject(422, 42210000, "stop price must not be greater than base price / 1.001 (%s)", fixed.QuoFloor(a.Price, fixed.MustParse("1.001")).FloorTo(fixed.MustParse("0.01")))
	case hasStop && req.Side == "buy" && stop <= a.Price:
		reject(422, 42210000, "stop price must not be less than base price * 1.001 (%s)", fixed.MulCeil(a.Price, fixed.MustParse("1.001")).CeilTo(fixed.MustParse("0.01")))
	default:
		s.accept(w, req.Symbol, req.Side, req.Type, req.TimeInForce, req.ClientOrderID, qty, limit, stop, req.ExtendedHours)
	}
}

// accept books a valid order, answers it as accepted, then makes it live:
// market orders and marketable limits fill at once at the price.
func (s *Server) accept(w http.ResponseWriter, symbol, side, typ, tif, clientID string, qty, limit, stop fixed.Dec, ext bool) {
	now := s.clk.Now()
	s.seq++
	o := &order{id: uuid(s.seq), clientID: clientID, symbol: symbol, side: side, typ: typ, tif: tif, status: "accepted", qty: qty,
		limit: limit, stop: stop, ext: ext, created: now, updated: now}
	if o.clientID == "" {
		o.clientID = uuid(s.seq + 1<<20)
	}
	s.orders = append(s.orders, o)
	s.byID[o.id] = o
	s.clientIDs[o.clientID] = true
	answer(w, s.render(o))
	o.status = "new"
	p := s.assets[symbol].Price
	switch {
	case typ == "market":
		s.fill(o, qty, p, now)
	case typ == "limit" && (side == "buy" && limit >= p || side == "sell" && limit <= p):
		s.fill(o, qty, p, now)
	}
}
