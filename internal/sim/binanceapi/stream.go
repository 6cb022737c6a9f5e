package binanceapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/sdk"
)

// StreamOptions tune the websocket streams (/ws, /stream).
type StreamOptions struct {
	// PingInterval is how often the server pings each connection
	// (default 20 s, as Binance); PongTimeout is how long it waits for the
	// pong before it drops the connection (default one minute).
	PingInterval, PongTimeout time.Duration
	// SendBuffer is how many events may wait for one slow connection
	// before it is dropped (default 1024). The replay never waits for a
	// client.
	SendBuffer int
	// WriteTimeout bounds one write to a connection (default 10 s).
	WriteTimeout time.Duration
}

func (o *StreamOptions) defaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = time.Minute
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
}

// hub is the streams' state: the kline topics with their subscribers, the
// user data subscribers per account, the listen keys.
type hub struct {
	s *Server

	mu      sync.Mutex
	stopped bool // Run has ended: connections are refused
	conns   map[*conn]struct{}
	topics  map[string]*topic          // stream name → topic
	users   map[string]map[*conn]int   // account → connections (and how many of its keys each follows)
	keys    map[string]*listenKeyState // listen key → state
	keyOf   map[string]string          // account → its listen key
	execID  int64                      // the executionReport's "I" (an execution counter)
	wg      sync.WaitGroup             // connection handlers
}

func newHub(s *Server) *hub {
	return &hub{s: s, conns: map[*conn]struct{}{}, topics: map[string]*topic{}, users: map[string]map[*conn]int{},
		keys: map[string]*listenKeyState{}, keyOf: map[string]string{}}
}

// topic is one market data stream shared by every connection that
// follows it.
type topic struct {
	name   string
	symbol string
	kind   streamKind
	tf     sdk.Timeframe // kline
	levels int           // partial depth: 5, 10 or 20
	from   int64         // kline: open time to read klines from (the newest one sent, or the one forming at subscription)
	sent   replay.Kline
	has    bool // sent is set
	market marketState
	subs   map[*conn]struct{}
}

// conn is one websocket connection.
type conn struct {
	ws       *websocket.Conn
	combined bool // payloads wrapped as {"stream":…,"data":…}
	api      bool // a WebSocket API connection (/ws-api/v3): messages are API requests
	ip       string
	userSubs map[string]int64 // WebSocket API: account → user data subscription id (guarded by hub.mu)
	nextSub  int64            // guarded by hub.mu
	out      chan []byte
	quit     chan struct{}
	once     sync.Once
	streams  map[string]bool // subscribed names (guarded by hub.mu)

	mu     sync.Mutex
	code   websocket.StatusCode // how to close, once decided
	reason string
}

// closing records how the connection is to be closed; the first call wins.
func (c *conn) closing(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.code == 0 {
		c.code, c.reason = code, reason
	}
}

// close closes the websocket as decided.
func (c *conn) close() {
	c.mu.Lock()
	code, reason := c.code, c.reason
	c.mu.Unlock()
	if code == 0 {
		code = websocket.StatusNormalClosure
	}
	c.ws.Close(code, reason)
}

// stop closes the connection with code and reason; the writer does it.
func (c *conn) stop(code websocket.StatusCode, reason string) {
	c.closing(code, reason)
	c.once.Do(func() { close(c.quit) })
}

// enqueue hands payload to the writer, or drops a connection that cannot
// keep up. It never blocks.
func (c *conn) enqueue(payload []byte) {
	select {
	case c.out <- payload:
	default:
		c.stop(websocket.StatusPolicyViolation, "too slow: events were not read in time")
	}
}

// Run serves the websocket streams until ctx ends: it follows the replay
// for kline streams, the engine's events (Config.Events) for user data
// streams and the listen keys' expiry; then it closes every connection and
// returns once their handlers are done. Connections are accepted from New
// on (so a listener may start before Run's goroutine does) and refused once
// Run has ended.
func (s *Server) Run(ctx context.Context) {
	h := s.hub
	var wg sync.WaitGroup
	if s.cfg.Feed != nil {
		wg.Go(func() {
			for {
				ch := s.cfg.Feed.Changed()
				h.publish()
				select {
				case <-ctx.Done():
					return
				case <-ch:
				}
			}
		})
	}
	wg.Go(func() { h.userLoop(ctx) })
	<-ctx.Done()
	h.mu.Lock()
	h.stopped = true
	for c := range h.conns {
		c.stop(websocket.StatusGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	h.wg.Wait()
	wg.Wait()
}

// streamRoutes mounts /ws, /ws/<name> and /stream.
func (s *Server) streamRoutes() {
	s.mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) { s.hub.serve(w, r, nil, streamConn) })
	s.mux.HandleFunc("GET /ws/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.hub.serve(w, r, []string{r.PathValue("name")}, streamConn)
	})
	s.mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		var names []string
		if v := r.URL.Query().Get("streams"); v != "" {
			names = strings.Split(v, "/")
		}
		s.hub.serve(w, r, names, combinedConn)
	})
	s.mux.HandleFunc("GET /ws-api/v3", func(w http.ResponseWriter, r *http.Request) { s.hub.serve(w, r, nil, apiConn) })
}

type connKind int

const (
	streamConn   connKind = iota // /ws: raw stream payloads
	combinedConn                 // /stream: payloads in {"stream":…,"data":…}
	apiConn                      // /ws-api/v3: API requests and answers
)

// serve upgrades one connection and runs it until it ends.
func (h *hub) serve(w http.ResponseWriter, r *http.Request, names []string, kind connKind) {
	h.mu.Lock()
	stopped := h.stopped
	h.mu.Unlock()
	if stopped {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: -1000, Msg: "Streams are not available."})
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		h.s.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	opts := h.s.cfg.Streams
	c := &conn{ws: ws, combined: kind == combinedConn, api: kind == apiConn, ip: clientIP(r), out: make(chan []byte, opts.SendBuffer),
		quit: make(chan struct{}), streams: map[string]bool{}, userSubs: map[string]int64{}}
	ws.SetReadLimit(maxBody)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	for _, n := range names {
		h.subscribe(c, n)
	}
	h.mu.Unlock()
	defer h.wg.Done()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.writer(ctx, c) })
	wg.Go(func() { h.pinger(ctx, c) })
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			break
		}
		switch {
		case typ != websocket.MessageText:
		case c.api:
			c.enqueue(h.s.apiRequest(ctx, c, data))
		default:
			c.enqueue(h.request(c, data))
		}
	}
	c.stop(websocket.StatusNormalClosure, "")
	cancel()
	wg.Wait()
	ws.CloseNow()
	h.mu.Lock()
	for n := range c.streams {
		h.unsubscribe(c, n)
	}
	for account := range c.userSubs {
		h.unfollow(c, account)
	}
	delete(h.conns, c)
	h.mu.Unlock()
}

// writer sends queued payloads; a nil payload closes the connection after
// what was queued before it.
func (h *hub) writer(ctx context.Context, c *conn) {
	for {
		select {
		case b := <-c.out:
			if b == nil {
				c.close()
				return
			}
			wctx, cancel := context.WithTimeout(ctx, h.s.cfg.Streams.WriteTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
		case <-c.quit:
			c.close()
			return
		}
	}
}

// pinger pings the client, drops it when no pong comes back, and injects
// dropped connections when Faults.DropStreams asks for them.
func (h *hub) pinger(ctx context.Context, c *conn) {
	opts := h.s.cfg.Streams
	ping := h.s.cfg.Clock.NewTicker(opts.PingInterval)
	defer ping.Stop()
	var drop <-chan time.Time
	if f := h.s.faults; f != nil && f.cfg.DropStreams > 0 {
		t := h.s.cfg.Clock.NewTicker(h.s.dropPeriod)
		defer t.Stop()
		drop = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.quit:
			return
		case <-ping.C():
			pctx, cancel := context.WithTimeout(ctx, opts.PongTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				// A peer that answers no ping answers no close handshake
				// either: close at once, before the writer would start one
				// and wait 5 s for its answer.
				c.ws.CloseNow()
				c.stop(websocket.StatusPolicyViolation, "pong timeout")
				return
			}
		case <-drop:
			if h.s.faults.hit(h.s.faults.cfg.DropStreams) {
				h.s.log.Debug("fault injection: dropping a websocket connection")
				c.ws.CloseNow() // as a network failure: no close frame
				return
			}
		}
	}
}

// newTopic starts the topic of stream n, or returns nil for a stream this
// server cannot deliver (h.mu held).
func (h *hub) newTopic(n string) *topic {
	sn, ok := parseStream(n)
	if !ok || h.s.cfg.Feed == nil {
		return nil
	}
	if _, ok := h.s.cfg.Engine.Symbol(sn.symbol); !ok {
		return nil
	}
	t := &topic{name: n, symbol: sn.symbol, kind: sn.kind, tf: sn.tf, levels: sn.levels, subs: map[*conn]struct{}{}}
	if sn.kind != streamKline {
		h.startMarket(t)
		return t
	}
	ks, err := h.s.cfg.Feed.Klines(sn.symbol, sn.tf, 0, 0, 1)
	if err != nil {
		return nil
	}
	if len(ks) == 1 {
		t.from, t.sent, t.has = ks[0].Time, ks[0], true
	}
	return t
}

// subscribe adds stream n to c (h.mu held). Unknown names are accepted
// and deliver nothing, as on Binance. It reports whether n is a stream
// this server can deliver.
func (h *hub) subscribe(c *conn, n string) bool {
	if c.streams[n] {
		return true
	}
	if st, ok := h.keys[n]; ok {
		c.streams[n] = true
		h.follow(c, st.account)
		return true
	}
	t := h.topics[n]
	if t == nil {
		t = h.newTopic(n)
		if t == nil {
			c.streams[n] = true // listed, delivers nothing
			return false
		}
		h.topics[n] = t
	}
	t.subs[c] = struct{}{}
	c.streams[n] = true
	return true
}

// unsubscribe removes stream n from c (h.mu held).
func (h *hub) unsubscribe(c *conn, n string) {
	if !c.streams[n] {
		return
	}
	delete(c.streams, n)
	if t := h.topics[n]; t != nil {
		delete(t.subs, c)
		if len(t.subs) == 0 {
			delete(h.topics, n)
		}
		return
	}
	if st, ok := h.keys[n]; ok {
		h.unfollow(c, st.account)
	}
}

// follow adds one user data subscription of c to account (h.mu held).
func (h *hub) follow(c *conn, account string) {
	m := h.users[account]
	if m == nil {
		m = map[*conn]int{}
		h.users[account] = m
	}
	m[c]++
	if h.s.cfg.Events != nil {
		h.s.cfg.Events.watch(account, 1)
	}
}

// unfollow drops one user data subscription of c to account (h.mu held).
func (h *hub) unfollow(c *conn, account string) {
	m := h.users[account]
	if m == nil || m[c] == 0 {
		return
	}
	if m[c]--; m[c] == 0 {
		delete(m, c)
	}
	if len(m) == 0 {
		delete(h.users, account)
	}
	if h.s.cfg.Events != nil {
		h.s.cfg.Events.watch(account, -1)
	}
}

// klineEvent is Binance's kline stream payload.
type klineEvent struct {
	Type   string    `json:"e"`
	Time   int64     `json:"E"`
	Symbol string    `json:"s"`
	K      klineBody `json:"k"`
}

type klineBody struct {
	Open          int64     `json:"t"`
	Close         int64     `json:"T"`
	Symbol        string    `json:"s"`
	Interval      string    `json:"i"`
	FirstTradeID  int64     `json:"f"`
	LastTradeID   int64     `json:"L"`
	OpenPrice     fixed.Dec `json:"o"`
	ClosePrice    fixed.Dec `json:"c"`
	High          fixed.Dec `json:"h"`
	Low           fixed.Dec `json:"l"`
	Volume        fixed.Dec `json:"v"`
	Trades        int64     `json:"n"`
	Closed        bool      `json:"x"`
	QuoteVolume   fixed.Dec `json:"q"`
	TakerBuyBase  fixed.Dec `json:"V"`
	TakerBuyQuote fixed.Dec `json:"Q"`
	Ignore        string    `json:"B"`
}

// maxKlinesPerRead bounds one read of a topic's new klines; a longer jump
// of the clock is read in several.
const maxKlinesPerRead = 1000

// publish sends every topic's events since the last call.
func (h *hub) publish() {
	now := h.s.cfg.Feed.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		if t.kind == streamKline {
			h.publishKlines(t, now)
		} else {
			h.publishMarket(t, now)
		}
	}
}

// publishKlines sends the topic's klines that changed since the last call:
// each candle that closed in between (x=true) and the one forming (h.mu
// held).
func (h *hub) publishKlines(t *topic, now int64) {
	feed := h.s.cfg.Feed
	from := t.from
	if !t.has {
		from = 1 // everything played so far: nothing was when it was subscribed
	}
	for {
		ks, err := feed.Klines(t.symbol, t.tf, from, 0, maxKlinesPerRead)
		if err != nil {
			return
		}
		for _, k := range ks {
			if t.has && k == t.sent {
				continue
			}
			t.from, t.sent, t.has = k.Time, k, true
			h.sendTopic(t, now, k)
		}
		if len(ks) < maxKlinesPerRead || ks[len(ks)-1].Time == from {
			return
		}
		from = ks[len(ks)-1].Time
	}
}

func (h *hub) sendTopic(t *topic, now int64, k replay.Kline) {
	ev := klineEvent{Type: "kline", Time: max(now, k.Time), Symbol: t.symbol, K: klineBody{
		Open: k.Time, Close: k.CloseTime, Symbol: t.symbol, Interval: string(t.tf), FirstTradeID: -1, LastTradeID: -1,
		OpenPrice: k.Open, ClosePrice: k.Close, High: k.High, Low: k.Low, Volume: k.Volume, Trades: k.Trades, Closed: k.Closed,
		QuoteVolume: k.QuoteVolume, TakerBuyBase: k.Volume / 2, TakerBuyQuote: k.QuoteVolume / 2, Ignore: "0"}}
	raw, err := json.Marshal(ev)
	if err != nil {
		h.s.log.Error("encode a kline event", "err", err)
		return
	}
	fanOut(t.subs, t.name, raw)
}

// fanOut queues one encoded event on every connection of conns, wrapped
// in the combined streams' envelope (made once) for those that want it.
func fanOut[V any](conns map[*conn]V, name string, raw []byte) {
	var wrapped []byte
	for c := range conns {
		if !c.combined {
			c.enqueue(raw)
			continue
		}
		if wrapped == nil {
			wrapped = envelope(name, raw)
		}
		c.enqueue(wrapped)
	}
}

// envelope is the combined streams' wrapping: {"stream":name,"data":raw}.
func envelope(name string, raw []byte) []byte {
	n, _ := json.Marshal(name)
	b := make([]byte, 0, len(raw)+len(n)+20)
	b = append(b, `{"stream":`...)
	b = append(b, n...)
	b = append(b, `,"data":`...)
	b = append(b, raw...)
	return append(b, '}')
}
