package binanceapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

// Events is the engine's journal for the user data streams: pass it to
// sim.New (with the store, as sim.Journals{store, events}) and to
// Config.Events. It keeps only the events of accounts that someone
// follows, and hands them to Server.Run, which turns them into
// executionReport and outboundAccountPosition events.
type Events struct {
	mu       sync.Mutex
	watched  map[string]int // account → user data subscriptions
	batches  [][]sim.Event  // one per engine operation, in order
	queued   int
	overflow bool
	wake     chan struct{}
}

// maxQueuedEvents bounds what waits for Server.Run; past it the user data
// connections are dropped (their clients reconnect and read the state
// over REST), never the engine held up.
const maxQueuedEvents = 1 << 16

// NewEvents returns an empty journal.
func NewEvents() *Events {
	return &Events{watched: map[string]int{}, wake: make(chan struct{}, 1)}
}

func eventAccount(ev *sim.Event) string {
	if ev.Kind == sim.EventOrder {
		return ev.Order.Order.Account
	}
	return ev.Balance.Account
}

// Record implements sim.Journal.
func (e *Events) Record(events []sim.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.watched) == 0 {
		return
	}
	var batch []sim.Event
	for i := range events {
		if e.watched[eventAccount(&events[i])] > 0 {
			batch = append(batch, events[i])
		}
	}
	if len(batch) == 0 {
		return
	}
	if e.queued+len(batch) > maxQueuedEvents {
		e.overflow = true
	} else {
		e.batches = append(e.batches, batch)
		e.queued += len(batch)
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Events) watch(account string, delta int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.watched[account] += delta; e.watched[account] <= 0 {
		delete(e.watched, account)
	}
}

// take returns what is queued.
func (e *Events) take() ([][]sim.Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, o := e.batches, e.overflow
	e.batches, e.queued, e.overflow = nil, 0, false
	return b, o
}

// listenKeyState is one user data stream key.
type listenKeyState struct {
	account string
	expires time.Time
}

// listenKeyLife is how long a listen key lives without a keepalive (PUT).
const listenKeyLife = 60 * time.Minute

func newListenKey() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 60)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

var errNoListenKey = &sim.Error{Code: -1125, Msg: "This listenKey does not exist."}

func (s *Server) userStreamRoutes() {
	s.handle("POST /api/v3/userDataStream", apiKeyOnly, fixedWeight(2), func(c *call) (any, error) {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		k, ok := h.keyOf[c.account]
		if !ok {
			k = newListenKey()
			h.keys[k] = &listenKeyState{account: c.account}
			h.keyOf[c.account] = k
		}
		h.keys[k].expires = c.wall.Add(listenKeyLife)
		return map[string]string{"listenKey": k}, nil
	})
	s.handle("PUT /api/v3/userDataStream", apiKeyOnly, fixedWeight(2), func(c *call) (any, error) {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		st, err := h.ownKey(c)
		if err != nil {
			return nil, err
		}
		st.expires = c.wall.Add(listenKeyLife)
		return struct{}{}, nil
	})
	s.handle("DELETE /api/v3/userDataStream", apiKeyOnly, fixedWeight(2), func(c *call) (any, error) {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, err := h.ownKey(c); err != nil {
			return nil, err
		}
		h.closeKey(c.p.str("listenKey"), nil)
		return struct{}{}, nil
	})
}

// ownKey is the listenKey parameter's state when it is the caller's
// (h.mu held).
func (h *hub) ownKey(c *call) (*listenKeyState, error) {
	k := c.p.str("listenKey")
	if k == "" {
		return nil, sim.MandatoryParam("listenKey")
	}
	st, ok := h.keys[k]
	if !ok || st.account != c.account {
		return nil, errNoListenKey
	}
	return st, nil
}

// closeKey invalidates listen key k and closes the connections following
// it, after final (if set) is sent to them (h.mu held).
func (h *hub) closeKey(k string, final []byte) {
	st, ok := h.keys[k]
	if !ok {
		return
	}
	delete(h.keys, k)
	delete(h.keyOf, st.account)
	for c := range h.conns {
		if !c.streams[k] {
			continue
		}
		if final != nil {
			c.enqueue(final)
		}
		h.unfollow(c, st.account)
		delete(c.streams, k)
		c.closing(websocket.StatusNormalClosure, "listenKey closed")
		c.enqueue(nil) // close once what is queued is sent
	}
}

// userLoop turns the engine's events into user data events and expires
// listen keys.
func (h *hub) userLoop(ctx context.Context) {
	var wake <-chan struct{}
	if ev := h.s.cfg.Events; ev != nil {
		wake = ev.wake
	}
	tick := h.s.cfg.Clock.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			batches, overflow := h.s.cfg.Events.take()
			h.mu.Lock()
			if overflow {
				h.dropUsers()
			}
			for _, b := range batches {
				h.publishUser(b)
			}
			h.mu.Unlock()
		case <-tick.C():
			h.expireKeys(h.s.cfg.Clock.Now())
		}
	}
}

// dropUsers closes every user data connection (h.mu held).
func (h *hub) dropUsers() {
	for _, m := range h.users {
		for c := range m {
			c.stop(websocket.StatusTryAgainLater, "user data events overflowed: reconnect and read the state over REST")
		}
	}
}

func (h *hub) expireKeys(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, st := range h.keys {
		if now.After(st.expires) {
			b, _ := json.Marshal(struct {
				Type      string `json:"e"`
				Time      int64  `json:"E"`
				ListenKey string `json:"listenKey"`
			}{"listenKeyExpired", now.UnixMilli(), k})
			h.closeKey(k, b)
		}
	}
}

// executionReport is Binance's order update event.
type executionReport struct {
	Type              string    `json:"e"`
	Time              int64     `json:"E"`
	Symbol            string    `json:"s"`
	ClientOrderID     string    `json:"c"`
	Side              string    `json:"S"`
	OrderType         string    `json:"o"`
	TimeInForce       string    `json:"f"`
	Quantity          fixed.Dec `json:"q"`
	Price             fixed.Dec `json:"p"`
	StopPrice         fixed.Dec `json:"P"`
	IcebergQty        fixed.Dec `json:"F"`
	OrderListID       int64     `json:"g"`
	OrigClientOrderID string    `json:"C"`
	ExecType          string    `json:"x"`
	Status            string    `json:"X"`
	RejectReason      string    `json:"r"`
	OrderID           int64     `json:"i"`
	LastQty           fixed.Dec `json:"l"`
	CumQty            fixed.Dec `json:"z"`
	LastPrice         fixed.Dec `json:"L"`
	Commission        fixed.Dec `json:"n"`
	CommissionAsset   *string   `json:"N"`
	TransactTime      int64     `json:"T"`
	TradeID           int64     `json:"t"`
	ExecID            int64     `json:"I"`
	OnBook            bool      `json:"w"`
	Maker             bool      `json:"m"`
	IgnoreM           bool      `json:"M"`
	Created           int64     `json:"O"`
	CumQuote          fixed.Dec `json:"Z"`
	LastQuote         fixed.Dec `json:"Y"`
	QuoteOrderQty     fixed.Dec `json:"Q"`
	WorkingTime       int64     `json:"W,omitempty"`
	STPMode           string    `json:"V"`
	TrailingDelta     int64     `json:"d,omitempty"` // trailing stops
	TrailingTime      int64     `json:"D,omitempty"` // trailing stops, once tracking
}

type positionBalance struct {
	Asset  string    `json:"a"`
	Free   fixed.Dec `json:"f"`
	Locked fixed.Dec `json:"l"`
}

type accountPosition struct {
	Type       string            `json:"e"`
	Time       int64             `json:"E"`
	LastUpdate int64             `json:"u"`
	Balances   []positionBalance `json:"B"`
}

// report builds the executionReport of one order event.
func (h *hub) report(oe *sim.OrderEvent) executionReport {
	o := &oe.Order
	h.execID++
	r := executionReport{Type: "executionReport", Time: o.UpdateTime, Symbol: o.Symbol, ClientOrderID: o.ClientOrderID,
		Side: o.Side.String(), OrderType: o.Type.String(), TimeInForce: o.TimeInForce.String(), Quantity: o.OrigQty,
		Price: o.Price, StopPrice: o.StopPrice, OrderListID: -1, ExecType: oe.Exec.String(), Status: o.Status.String(),
		RejectReason: "NONE", OrderID: o.ID, CumQty: o.ExecutedQty, TransactTime: o.UpdateTime, TradeID: -1, ExecID: h.execID,
		OnBook: o.Status.Open() && o.Working(), Created: o.Time, CumQuote: o.CumQuote, QuoteOrderQty: o.OrigQuoteQty,
		WorkingTime: o.WorkingTime, STPMode: "NONE", TrailingDelta: o.TrailingDelta, TrailingTime: o.TrailingTime}
	if oe.Exec == sim.ExecCanceled {
		r.OrigClientOrderID = o.ClientOrderID
	}
	if oe.Exec == sim.ExecTrade {
		f := &oe.Fill
		asset := f.CommissionAsset
		r.LastQty, r.LastPrice, r.Commission, r.CommissionAsset = f.Qty, f.Price, f.Commission, &asset
		r.TransactTime, r.Time, r.TradeID, r.Maker, r.LastQuote = f.Time, f.Time, f.TradeID, f.Maker, f.QuoteQty
	}
	return r
}

// publishUser sends one engine operation's events to the accounts'
// followers: an executionReport per order event, then one
// outboundAccountPosition per account with the balances that changed
// (h.mu held).
func (h *hub) publishUser(batch []sim.Event) {
	type position struct {
		account string
		ev      accountPosition
	}
	var positions []position
	for i := range batch {
		ev := &batch[i]
		switch ev.Kind {
		case sim.EventOrder:
			if ev.Order.Exec == sim.ExecTriggered {
				continue // Binance reports a stop's trigger by its fills, not by an event of its own
			}
			h.sendUser(ev.Order.Order.Account, h.report(&ev.Order))
		case sim.EventBalance:
			b := &ev.Balance
			j := len(positions) - 1
			for j >= 0 && positions[j].account != b.Account {
				j--
			}
			if j < 0 {
				positions = append(positions, position{account: b.Account, ev: accountPosition{Type: "outboundAccountPosition"}})
				j = len(positions) - 1
			}
			p := &positions[j].ev
			p.Time, p.LastUpdate = b.Time, b.Time
			p.Balances = append(p.Balances, positionBalance{Asset: b.Asset, Free: b.Free, Locked: b.Locked})
		}
	}
	for _, p := range positions {
		h.sendUser(p.account, p.ev)
	}
}

func (h *hub) sendUser(account string, v any) {
	m := h.users[account]
	if len(m) == 0 {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		h.s.log.Error("encode a user data event", "err", err)
		return
	}
	var wrapped []byte
	for c := range m {
		switch {
		case c.api:
			c.enqueue(apiEvent(c.userSubs[account], raw))
		case c.combined:
			if wrapped == nil {
				wrapped = envelope(h.keyOf[account], raw)
			}
			c.enqueue(wrapped)
		default:
			c.enqueue(raw)
		}
	}
}

// apiEvent is the WebSocket API's wrapping of a user data event:
// {"subscriptionId":id,"event":raw}.
func apiEvent(id int64, raw []byte) []byte {
	b := make([]byte, 0, len(raw)+40)
	b = append(b, `{"subscriptionId":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"event":`...)
	b = append(b, raw...)
	return append(b, '}')
}
