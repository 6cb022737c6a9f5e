// Package binanceapi serves the simulator over Binance's spot REST API
// (/api/v3): the same paths, parameters, JSON shapes, error codes, request
// weights and signing rules, so Binance clients work against it unchanged.
// Market data comes from a replay.Feed, orders go to a sim.Engine.
//
// Times: serverTime (/api/v3/time) and the timestamp/recvWindow check use
// the wall clock, because clients sign requests with theirs; market data,
// order and trade times are simulation time (the replayed candles' time).
package binanceapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
)

// Key is an API key: the account it acts for and the secret it signs with.
type Key struct {
	APIKey  string
	Secret  string
	Account string
}

// ErrUnknownKey is returned by Keys.Lookup for a key it does not know.
var ErrUnknownKey = errors.New("unknown API key")

// Keys finds API keys.
type Keys interface {
	Lookup(ctx context.Context, apiKey string) (Key, error)
}

// MemoryKeys is a Keys held in memory (tests, and a simulator without a
// database).
type MemoryKeys struct {
	mu   sync.RWMutex
	keys map[string]Key
}

// Add registers k.
func (m *MemoryKeys) Add(k Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]Key{}
	}
	m.keys[k.APIKey] = k
}

// Lookup implements Keys.
func (m *MemoryKeys) Lookup(_ context.Context, apiKey string) (Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.keys[apiKey]
	if !ok {
		return Key{}, ErrUnknownKey
	}
	return k, nil
}

// Query narrows History answers (zero fields are unset).
type Query struct {
	OrderID   int64 // orders: from this id on; trades: of this order only
	FromID    int64 // trades: from this trade id on
	StartTime int64
	EndTime   int64
	Limit     int
}

// History answers allOrders, myTrades and queries of old orders from the
// complete record (the database); without it the engine's in-memory
// history answers.
type History interface {
	Orders(ctx context.Context, account, symbol string, q Query) ([]sim.Order, error)
	Trades(ctx context.Context, account, symbol string, q Query) ([]sim.Fill, error)
	// Order returns one order; a *sim.Error with code -2013 when none.
	Order(ctx context.Context, account, symbol string, id int64, clientID string) (sim.Order, error)
}

// Config is what a Server needs. Engine and Keys are required.
type Config struct {
	Engine  *sim.Engine
	Feed    *replay.Feed // market data; nil: klines and tickers have none
	Keys    Keys
	History History
	// Sync, when set, is called after every order change and before the
	// answer, so an answered order is durable (the store's group commit).
	Sync  func(ctx context.Context) error
	Clock clock.Clock // wall clock, waits and tickers; nil: the system clock
	// WeightLimit is the REQUEST_WEIGHT limit per client IP and minute:
	// 0 means Binance's 6000, negative means none.
	WeightLimit int
	// OrderLimits are the ORDERS rate limits per account.
	OrderLimits OrderLimits
	// BanAfter requests answered 429 in one minute get the client banned
	// (418) for BanFor. Defaults 10 and 2 minutes.
	BanAfter int
	BanFor   time.Duration
	// Admin enables the /sim/v1 endpoints (step the clock, accounts);
	// with AdminToken set they need "Authorization: Bearer <AdminToken>".
	Admin      bool
	AdminToken string
	// Accounts, when set, creates accounts and keys for the admin endpoint
	// POST /sim/v1/accounts.
	Accounts AccountCreator
	// Faults injects failures (429s, 5xx after placing, latency, dropped
	// websocket connections); off by default. The admin endpoints are
	// spared.
	Faults Faults
	// Events feeds the user data streams; nil: they deliver nothing. It
	// must also be the engine's journal (or one of sim.Journals).
	Events *Events
	// Streams tunes the websocket streams, which Server.Run serves.
	Streams StreamOptions
	Log     *slog.Logger
}

// AccountCreator makes a new account with one API key.
type AccountCreator interface {
	CreateAccount(ctx context.Context, tenant, name string) (Key, error)
}

// Server is the Binance-compatible HTTP API.
type Server struct {
	cfg        Config
	mux        *http.ServeMux
	lim        *limiter
	orders     *orderLimiter
	methods    map[string]apiMethod // the WebSocket API's
	faults     *faults              // nil when off
	dropPeriod time.Duration
	hub        *hub
	log        *slog.Logger
}

// New builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil || cfg.Keys == nil {
		return nil, errors.New("binance API: an engine and an API key store are required")
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.WeightLimit == 0 {
		cfg.WeightLimit = 6000
	}
	if cfg.BanAfter == 0 {
		cfg.BanAfter = 10
	}
	if cfg.BanFor == 0 {
		cfg.BanFor = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Streams.defaults()
	cfg.OrderLimits.defaults()
	s := &Server{cfg: cfg, mux: http.NewServeMux(), lim: newLimiter(cfg.WeightLimit, cfg.BanAfter, cfg.BanFor), log: cfg.Log, dropPeriod: time.Minute,
		orders: newOrderLimiter(cfg.OrderLimits)}
	s.methods = s.apiMethods()
	s.hub = newHub(s)
	if cfg.Faults.on() {
		s.faults = newFaults(cfg.Faults)
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type security int

const (
	public security = iota
	signed
	apiKeyOnly
	admin
)

// call is one request being answered.
type call struct {
	ctx     context.Context
	p       params
	wall    time.Time
	account string
	header  http.Header
	conn    *conn // the WebSocket API connection; nil over REST
}

type handlerFunc func(c *call) (any, error)

func fixedWeight(n int) func(*params) int { return func(*params) int { return n } }

// maxBody bounds a request body.
const maxBody = 64 << 10

func (s *Server) handle(pattern string, sec security, weight func(*params) int, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if s.faults != nil && sec != admin {
			s.faults.delay(r.Context(), s.cfg.Clock)
			if s.faults.hit(s.faults.cfg.TooManyRequests) {
				s.writeInjected429(w)
				return
			}
		}
		wall := s.cfg.Clock.Now()
		var body string
		if r.Method != http.MethodGet && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || len(b) > maxBody {
				s.writeErr(w, &sim.Error{Code: sim.CodeTooManyParams, Msg: "Too many parameters sent for this endpoint."})
				return
			}
			body = string(b)
		}
		p, perr := parseParams(r.URL.RawQuery, body)
		wt := 1
		if perr == nil {
			wt = weight(&p)
		}
		if sec != admin {
			v := s.lim.take(clientIP(r), wt, wall)
			w.Header()["X-MBX-USED-WEIGHT-1M"] = []string{strconv.Itoa(v.used)}
			if v.status != 0 {
				s.writeLimited(w, v)
				return
			}
		}
		if perr != nil {
			s.writeErr(w, perr)
			return
		}
		c := &call{ctx: r.Context(), p: p, wall: wall, header: w.Header()}
		var err error
		switch sec {
		case signed:
			err = s.authSigned(c, r)
		case apiKeyOnly:
			_, err = s.apiKey(c, r)
		case admin:
			if s.cfg.AdminToken != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.AdminToken {
				err = &sim.Error{Code: -1002, Msg: "You are not authorized to execute this request."}
			}
		}
		if err != nil {
			s.writeErr(w, err)
			return
		}
		res, err := h(c)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":-1000,"msg":"An unknown error occurred while processing the request."}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}

type apiError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

func (s *Server) writeErr(w http.ResponseWriter, err error) {
	var e *sim.Error
	if !errors.As(err, &e) {
		s.log.Error("simulator request failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Code: sim.CodeUnknown, Msg: "An unknown error occurred while processing the request."})
		return
	}
	writeJSON(w, errStatus(e), apiError{Code: e.Code, Msg: e.Msg})
}

// errStatus is the HTTP status Binance answers a rejection with.
func errStatus(e *sim.Error) int {
	switch e.Code {
	case sim.CodeBadAPIKeyFormat, sim.CodeRejectedAPIKey, -1002:
		return http.StatusUnauthorized
	case errUnknownStatus.Code:
		return http.StatusServiceUnavailable
	case sim.CodeTooManyOrders:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

func (s *Server) writeLimited(w http.ResponseWriter, v verdict) {
	w.Header().Set("Retry-After", strconv.Itoa(v.retryAfter))
	if v.status == 418 {
		writeJSON(w, 418, apiError{Code: sim.CodeTooManyRequests, Msg: fmt.Sprintf("Way too much request weight used; IP banned until %d. Please use WebSocket Streams for live updates to avoid bans.", v.until.UnixMilli())})
		return
	}
	writeJSON(w, http.StatusTooManyRequests, apiError{Code: sim.CodeTooManyRequests, Msg: fmt.Sprintf("Too much request weight used; current limit is %d request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.", s.cfg.WeightLimit)})
}

// apiKey checks the X-MBX-APIKEY header.
func (s *Server) apiKey(c *call, r *http.Request) (Key, error) {
	return s.lookupKey(c, r.Header.Get("X-MBX-APIKEY"))
}

// lookupKey finds API key k and makes its account the call's.
func (s *Server) lookupKey(c *call, k string) (Key, error) {
	if k == "" || len(k) > 64 || strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return Key{}, &sim.Error{Code: sim.CodeBadAPIKeyFormat, Msg: "API-key format invalid."}
	}
	key, err := s.cfg.Keys.Lookup(c.ctx, k)
	if errors.Is(err, ErrUnknownKey) {
		return Key{}, &sim.Error{Code: sim.CodeRejectedAPIKey, Msg: "Invalid API-key, IP, or permissions for action."}
	}
	if err != nil {
		return Key{}, fmt.Errorf("look up API key: %w", err)
	}
	c.account = key.Account
	return key, nil
}

// authSigned checks the key, the timestamp window and the signature.
func (s *Server) authSigned(c *call, r *http.Request) error {
	key, err := s.apiKey(c, r)
	if err != nil {
		return err
	}
	return s.checkSigned(c, key)
}

// checkSigned checks a signed request's timestamp window and signature.
func (s *Server) checkSigned(c *call, key Key) error {
	ts, ok, err := c.p.long("timestamp")
	if err != nil {
		return err
	}
	if !ok {
		return sim.MandatoryParam("timestamp")
	}
	window, ok, err := c.p.long("recvWindow")
	if err != nil {
		return err
	}
	if !ok {
		window = 5000
	}
	if window > 60000 {
		return &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'recvWindow' is not valid."}
	}
	server := c.wall.UnixMilli()
	if ts >= server+1000 {
		return &sim.Error{Code: sim.CodeInvalidTimestamp, Msg: "Timestamp for this request was 1000ms ahead of the server's time."}
	}
	if server-ts > window {
		return &sim.Error{Code: sim.CodeInvalidTimestamp, Msg: "Timestamp for this request is outside of the recvWindow."}
	}
	if !c.p.hasSig || c.p.sig == "" {
		return sim.MandatoryParam("signature")
	}
	if !binance.Verify(key.Secret, c.p.payload, c.p.sig) {
		return &sim.Error{Code: sim.CodeInvalidSignature, Msg: "Signature for this request is not valid."}
	}
	return nil
}

// simNow is the simulation time orders are stamped with.
func (s *Server) simNow(c *call) int64 {
	if s.cfg.Feed != nil {
		return s.cfg.Feed.Now()
	}
	return c.wall.UnixMilli()
}

func (s *Server) sync(c *call) error {
	if s.cfg.Sync == nil {
		return nil
	}
	if err := s.cfg.Sync(c.ctx); err != nil {
		return fmt.Errorf("store the order: %w", err)
	}
	return nil
}

func (s *Server) routes() {
	s.handle("GET /api/v3/ping", public, fixedWeight(1), func(*call) (any, error) { return struct{}{}, nil })
	s.handle("GET /api/v3/time", public, fixedWeight(1), func(c *call) (any, error) {
		return map[string]int64{"serverTime": c.wall.UnixMilli()}, nil
	})
	s.handle("GET /api/v3/exchangeInfo", public, fixedWeight(20), s.exchangeInfo)
	s.handle("GET /api/v3/klines", public, fixedWeight(2), s.klines)
	s.handle("GET /api/v3/uiKlines", public, fixedWeight(2), s.klines)
	s.handle("GET /api/v3/depth", public, depthWeight, s.depth)
	s.handle("GET /api/v3/avgPrice", public, fixedWeight(2), s.avgPrice)
	s.handle("GET /api/v3/trades", public, fixedWeight(25), s.trades)
	s.handle("GET /api/v3/historicalTrades", public, fixedWeight(25), s.trades)
	s.handle("GET /api/v3/aggTrades", public, fixedWeight(4), s.aggTrades)
	s.handle("GET /api/v3/ticker/24hr", public, tickerWeight(2, 80), s.ticker24h)
	s.handle("GET /api/v3/ticker/price", public, tickerWeight(2, 4), s.tickerPrice)
	s.handle("GET /api/v3/ticker/bookTicker", public, tickerWeight(2, 4), s.bookTicker)

	s.handle("POST /api/v3/order", signed, fixedWeight(1), s.newOrder)
	s.handle("GET /api/v3/order", signed, fixedWeight(4), s.getOrder)
	s.handle("DELETE /api/v3/order", signed, fixedWeight(1), s.cancelOrder)
	s.handle("GET /api/v3/openOrders", signed, func(p *params) int {
		if p.has("symbol") {
			return 6
		}
		return 80
	}, s.openOrders)
	s.handle("DELETE /api/v3/openOrders", signed, fixedWeight(1), s.cancelAll)
	s.handle("GET /api/v3/allOrders", signed, fixedWeight(20), s.allOrders)
	s.handle("GET /api/v3/account", signed, fixedWeight(20), s.account)
	s.handle("GET /api/v3/myTrades", signed, fixedWeight(20), s.myTrades)
	s.userStreamRoutes()
	s.streamRoutes()
	s.sapiRoutes()

	if s.cfg.Admin {
		s.adminRoutes()
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("simulator: request for an endpoint it does not serve", "method", r.Method, "path", r.URL.Path)
		writeJSON(w, http.StatusNotFound, apiError{Code: sim.CodeUnsupportedOpertn, Msg: "This operation is not supported."})
	})
}

func depthWeight(p *params) int {
	n, _, _ := p.long("limit")
	switch {
	case n <= 100:
		return 5
	case n <= 500:
		return 25
	case n <= 1000:
		return 50
	}
	return 250
}

func tickerWeight(one, all int) func(*params) int {
	return func(p *params) int {
		if p.has("symbol") {
			return one
		}
		if list, err := p.symbolList(); err == nil && list != nil {
			return one * len(list)
		}
		return all
	}
}
