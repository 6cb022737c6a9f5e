package binanceapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

// wsClient is a test websocket client.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func (e *env) dial(t *testing.T, path string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.SetReadLimit(1 << 20) // diff depth events carry up to 2000 levels
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

// next reads one message as a JSON object.
func (w *wsClient) next() map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func (w *wsClient) send(v string) {
	w.t.Helper()
	if err := w.c.Write(context.Background(), websocket.MessageText, []byte(v)); err != nil {
		w.t.Fatal(err)
	}
}

func keys(m map[string]any) string { return strings.Join(slices.Sorted(maps.Keys(m)), ",") }

func sortedKeys(list string) string {
	f := strings.Split(list, ",")
	slices.Sort(f)
	return strings.Join(f, ",")
}

var (
	klineKeys = sortedKeys("e,E,s,k")
	kKeys     = sortedKeys("t,T,s,i,f,L,o,c,h,l,v,n,x,q,V,Q,B")
	execKeys  = sortedKeys("e,E,s,c,S,o,f,q,p,P,F,g,C,x,X,r,i,l,z,L,n,N,T,t,I,w,m,M,O,Z,Y,Q,W,V")
	posKeys   = sortedKeys("e,E,u,B")
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) connCount() int {
	e.s.hub.mu.Lock()
	defer e.s.hub.mu.Unlock()
	return len(e.s.hub.conns)
}

func (e *env) topicSubs(name string) int {
	e.s.hub.mu.Lock()
	defer e.s.hub.mu.Unlock()
	if t := e.s.hub.topics[name]; t != nil {
		return len(t.subs)
	}
	return 0
}

func TestKlineStream(t *testing.T) {
	e := setup(t, nil)
	raw := e.dial(t, "/ws/btcusdt@kline_1m")
	comb := e.dial(t, "/stream?streams=btcusdt@kline_1m/btcusdt@kline_5m")
	waitFor(t, "subscriptions", func() bool { return e.topicSubs("btcusdt@kline_1m") == 2 && e.topicSubs("btcusdt@kline_5m") == 1 })

	// Into the middle of candle 10 (the clock is at the close of candle 9):
	// a forming candle, x false.
	t10 := int64(1704067200000) + 10*60_000
	if err := e.feed.AdvanceTo(t10 + 30_000); err != nil {
		t.Fatal(err)
	}
	ev := raw.next()
	k := ev["k"].(map[string]any)
	if keys(ev) != klineKeys || keys(k) != kKeys || ev["e"] != "kline" || ev["s"] != "BTCUSDT" || k["i"] != "1m" ||
		k["t"] != float64(t10) || k["T"] != float64(t10+59_999) || k["x"] != false {
		t.Fatalf("forming kline event = %v", ev)
	}
	// Then two whole candles: 10 closes, 11 plays and closes, in order.
	if err := e.feed.Step(2); err != nil {
		t.Fatal(err)
	}
	var closed []map[string]any
	for len(closed) < 2 {
		k := raw.next()["k"].(map[string]any)
		if k["x"] == true {
			closed = append(closed, k)
		}
	}
	r := e.do(t, "GET", "/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=3", "", nil)
	var rest [][]any
	r.decode(t, &rest)
	for i, k := range closed {
		want := rest[i+1] // the REST answer's last two are 10 and 11
		if k["t"] != want[0] || k["o"] != want[1] || k["h"] != want[2] || k["l"] != want[3] || k["c"] != want[4] || k["v"] != want[5] {
			t.Fatalf("closed kline %d = %v, REST has %v", i, k, want)
		}
	}

	// The combined stream wraps the same events; the 5m candle forms.
	seen := map[string]bool{}
	for !seen["btcusdt@kline_1m"] || !seen["btcusdt@kline_5m"] {
		m := comb.next()
		if keys(m) != "data,stream" {
			t.Fatalf("combined event = %v", m)
		}
		name := m["stream"].(string)
		seen[name] = true
		d := m["data"].(map[string]any)
		if keys(d) != klineKeys {
			t.Fatalf("combined data = %v", d)
		}
		if name == "btcusdt@kline_5m" && d["k"].(map[string]any)["i"] != "5m" {
			t.Fatalf("5m event = %v", d)
		}
	}
}

// TestLiveKlineStreamAcrossAClose: a kline stream subscribed to a live
// market between a candle's close and its arrival (the poll a moment
// later) starts from the newest candle held, so when the candle arrives
// the stream sends it closed, then the one forming: no candle is skipped.
func TestLiveKlineStreamAcrossAClose(t *testing.T) {
	const t0 = int64(1704067200000)
	f := replaytest.Frame(6)
	sym, err := replay.DefaultSymbol("BTC/USDT", f)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := replay.FromFrame(sym.Name, f, sym.TickSize)
	if err != nil {
		t.Fatal(err)
	}
	// Candles 0–3 held; the wall clock 1 s past the close of candle 4,
	// which the poller has not fetched yet.
	clk := clock.NewFake(time.UnixMilli(t0 + 5*60_000 + 1_000))
	feed, err := replay.New(eng, []replay.Series{{Symbol: sym.Name, Timeframe: "1m", Candles: all.Candles[:4]}},
		replay.Options{Live: true, Clock: clk, Now: clk.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, func(c *Config) { c.Engine, c.Feed, c.Clock = eng, feed, clk })
	ws := e.dial(t, "/ws/btcusdt@kline_1m")
	waitFor(t, "the subscription", func() bool { return e.topicSubs("btcusdt@kline_1m") == 1 })

	clk.Advance(time.Second) // the poll
	if _, err := feed.Append(sym.Name, all.Candles[:5]); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		open   int64
		closed bool
	}{{t0 + 4*60_000, true}, {t0 + 5*60_000, false}} {
		k := ws.next()["k"].(map[string]any)
		if k["t"] != float64(want.open) || k["x"] != want.closed {
			t.Fatalf("event %d: kline opening at +%v min, closed %v; want +%d min, closed %v",
				i, (k["t"].(float64)-float64(t0))/60_000, k["x"], (want.open-t0)/60_000, want.closed)
		}
	}
}

func TestStreamRequests(t *testing.T) {
	e := setup(t, nil)
	c := e.dial(t, "/ws/1") // ccxt's way: an arbitrary name, then SUBSCRIBE
	c.send(`{"method":"SUBSCRIBE","params":["btcusdt@kline_1m","ethusdt@kline_1m"],"id":7}`)
	if m := c.next(); keys(m) != "id,result" || m["id"] != float64(7) || m["result"] != nil {
		t.Fatalf("subscribe answer = %v", m)
	}
	c.send(`{"method":"LIST_SUBSCRIPTIONS","id":"x"}`)
	if m := c.next(); m["id"] != "x" || len(m["result"].([]any)) != 3 { // with "1", listed as on Binance
		t.Fatalf("list = %v", m)
	}
	c.send(`{"method":"UNSUBSCRIBE","params":["ethusdt@kline_1m"],"id":8}`)
	c.next()
	c.send(`{"method":"SET_PROPERTY","params":["combined",true],"id":9}`)
	c.next()
	for _, tc := range []struct{ msg, want string }{
		{`{"method":"SUBSCRIBE","params":"x","id":1}`, `{"error":{"code":1,"msg":"Invalid value type: 'params' must be an array"},"id":1}`},
		{`{"method":"NOPE","id":2}`, `{"error":{"code":2,"msg":"Invalid request: unknown method \"NOPE\""},"id":2}`},
		{`{"method":`, ``},
		{`{"method":"GET_PROPERTY","params":["combined"],"id":3}`, `{"result":true,"id":3}`},
	} {
		c.send(tc.msg)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			if !strings.Contains(string(b), `"code":3`) {
				t.Fatalf("%s: %s", tc.msg, b)
			}
			continue
		}
		if string(b) != tc.want {
			t.Fatalf("%s: got %s, want %s", tc.msg, b, tc.want)
		}
	}
	if err := e.feed.Step(1); err != nil {
		t.Fatal(err)
	}
	if m := c.next(); m["stream"] != "btcusdt@kline_1m" {
		t.Fatalf("after SET_PROPERTY combined: %v", m)
	}
}

// userStream opens a listen key and its stream.
func (e *env) userStream(t *testing.T) (string, *wsClient) {
	t.Helper()
	hdr := map[string]string{"X-MBX-APIKEY": testKey}
	var lk struct{ ListenKey string }
	e.do(t, "POST", "/api/v3/userDataStream", "", "", hdr).decode(t, &lk)
	if len(lk.ListenKey) != 60 {
		t.Fatalf("listenKey = %q", lk.ListenKey)
	}
	c := e.dial(t, "/ws/"+lk.ListenKey)
	waitFor(t, "user subscription", func() bool {
		e.s.hub.mu.Lock()
		defer e.s.hub.mu.Unlock()
		return len(e.s.hub.users["acct1"]) == 1
	})
	return lk.ListenKey, c
}

func TestUserDataStream(t *testing.T) {
	e := setup(t, nil)
	hdr := map[string]string{"X-MBX-APIKEY": testKey}
	key, c := e.userStream(t)
	var again struct{ ListenKey string }
	e.do(t, "POST", "/api/v3/userDataStream", "", "", hdr).decode(t, &again)
	if again.ListenKey != key {
		t.Fatalf("a second POST made a new key %q, want the active %q", again.ListenKey, key)
	}

	// A resting limit buy: NEW, then the locked quote.
	r := e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"},
		"timeInForce": {"GTC"}, "quantity": {"0.5"}, "price": {"90"}, "newClientOrderId": {"u-1"}})
	var placed struct{ OrderID int64 }
	r.decode(t, &placed)
	ev := c.next()
	if keys(ev) != execKeys || ev["e"] != "executionReport" || ev["x"] != "NEW" || ev["X"] != "NEW" || ev["c"] != "u-1" ||
		ev["i"] != float64(placed.OrderID) || ev["w"] != true || ev["p"] != "90.00000000" || ev["q"] != "0.50000000" || ev["N"] != nil || ev["t"] != float64(-1) {
		t.Fatalf("NEW = %v", ev)
	}
	pos := c.next()
	b := pos["B"].([]any)[0].(map[string]any)
	if keys(pos) != posKeys || pos["e"] != "outboundAccountPosition" || keys(b) != "a,f,l" || b["a"] != "USDT" || b["l"] != "45.00000000" || b["f"] != "9955.00000000" {
		t.Fatalf("position = %v", pos)
	}

	// Cancel: CANCELED with the original client id, the lock released.
	e.signed(t, "DELETE", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "orderId": {"1"}})
	if ev := c.next(); ev["x"] != "CANCELED" || ev["X"] != "CANCELED" || ev["C"] != "u-1" || ev["w"] != false {
		t.Fatalf("CANCELED = %v", ev)
	}
	if b := c.next()["B"].([]any)[0].(map[string]any); b["l"] != "0.00000000" || b["f"] != "10000.00000000" {
		t.Fatalf("position after cancel = %v", b)
	}

	// A market buy: NEW, TRADE (the fill, its fee in BTC), the position,
	// all matching what REST says afterwards.
	e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"MARKET"}, "quantity": {"0.1"}})
	if ev := c.next(); ev["x"] != "NEW" || ev["o"] != "MARKET" {
		t.Fatalf("market NEW = %v", ev)
	}
	tr := c.next()
	var trades []struct {
		ID                          int64
		Price, Qty, QuoteQty        string
		Commission, CommissionAsset string
		IsMaker                     bool
	}
	e.signed(t, "GET", "/api/v3/myTrades", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &trades)
	if len(trades) != 1 {
		t.Fatalf("trades = %+v", trades)
	}
	tt := trades[0]
	if tr["x"] != "TRADE" || tr["X"] != "FILLED" || tr["t"] != float64(tt.ID) || tr["L"] != tt.Price || tr["l"] != tt.Qty ||
		tr["Y"] != tt.QuoteQty || tr["n"] != tt.Commission || tr["N"] != tt.CommissionAsset || tr["m"] != false || tr["z"] != tt.Qty || tr["Z"] != tt.QuoteQty {
		t.Fatalf("TRADE = %v, REST trade %+v", tr, tt)
	}
	pos = c.next()
	var acct struct {
		Balances []struct{ Asset, Free, Locked string }
	}
	e.signed(t, "GET", "/api/v3/account", nil).decode(t, &acct)
	got := map[string]string{}
	for _, x := range pos["B"].([]any) {
		b := x.(map[string]any)
		got[b["a"].(string)] = b["f"].(string) + "/" + b["l"].(string)
	}
	for _, b := range acct.Balances {
		if got[b.Asset] != b.Free+"/"+b.Locked {
			t.Fatalf("position %v, REST account %+v", got, acct.Balances)
		}
	}

	// Keepalive, then close: the stream ends.
	if r := e.do(t, "PUT", "/api/v3/userDataStream", "listenKey="+key, "", hdr); r.status != 200 || string(r.body) != "{}" {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	e.do(t, "PUT", "/api/v3/userDataStream", "listenKey=nope", "", hdr).wantError(t, 400, -1125, "This listenKey does not exist.")
	e.do(t, "PUT", "/api/v3/userDataStream", "", "", hdr).wantError(t, 400, -1102, "")
	e.do(t, "DELETE", "/api/v3/userDataStream", "listenKey="+key, "", hdr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after DELETE: %v", err)
	}
}

func TestListenKeyExpires(t *testing.T) {
	now := time.Now()
	e := setup(t, func(c *Config) { c.Clock = clock.NewFake(now) })
	key, c := e.userStream(t)
	e.s.hub.expireKeys(now.Add(61 * time.Minute))
	if ev := c.next(); ev["e"] != "listenKeyExpired" || ev["listenKey"] != key {
		t.Fatalf("expiry event = %v", ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestStreamPingPong(t *testing.T) {
	e := setup(t, func(c *Config) {
		// A pong timeout long enough that a loaded machine (CI under -race)
		// cannot make the reading client miss it.
		c.Streams = StreamOptions{PingInterval: 20 * time.Millisecond, PongTimeout: time.Second}
		c.Clock = clock.Real() // the pong timeout is the websocket's, in real time
	})
	// A client that reads answers the pings and stays.
	live := e.dial(t, "/ws/btcusdt@kline_1m")
	live.c.CloseRead(context.Background())
	// One that never reads never answers and is dropped.
	e.dial(t, "/ws/btcusdt@kline_1m")
	waitFor(t, "both clients served", func() bool { return e.connCount() == 2 })
	waitFor(t, "the silent client dropped", func() bool { return e.connCount() == 1 })
	time.Sleep(200 * time.Millisecond) // several ping rounds
	if n := e.connCount(); n != 1 {
		t.Fatalf("%d connections, want the reading one kept", n)
	}
}

func TestStreamDropFault(t *testing.T) {
	e := setup(t, func(c *Config) { c.Faults = Faults{DropStreams: 1, Seed: 1}; c.Clock = clock.Real() })
	e.s.dropPeriod = 10 * time.Millisecond
	c := e.dial(t, "/ws/btcusdt@kline_1m")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.c.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("connection not dropped: %v", err)
	}
	waitFor(t, "the dropped connection gone", func() bool { return e.connCount() == 0 })
}

func TestSlowConnectionDropped(t *testing.T) {
	c := &conn{out: make(chan []byte, 1), quit: make(chan struct{})}
	c.enqueue([]byte("a"))
	c.enqueue([]byte("b")) // the buffer is full: dropped, not waited for
	select {
	case <-c.quit:
	default:
		t.Fatal("a connection that cannot keep up was not dropped")
	}
	if c.code != websocket.StatusPolicyViolation {
		t.Fatalf("close code %v", c.code)
	}
}

// A stream dialled before Run's goroutine has started is served (a
// listener may start first); once Run has ended, streams are refused.
func TestStreamsBeforeAndAfterRun(t *testing.T) {
	e := setup(t, nil)
	s, err := New(e.cfg) // Run not started yet
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/btcusdt@kline_1m"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	early, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("a stream dialled before Run: %v", err)
	}
	defer early.CloseNow()
	late := &env{s: s}
	waitFor(t, "the early subscription", func() bool { return late.topicSubs("btcusdt@kline_1m") == 1 })
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(runCtx); close(done) }()
	if err := e.feed.Step(1); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := early.Read(ctx); err != nil || !strings.Contains(string(msg), `"e":"kline"`) {
		t.Fatalf("first message of the early stream = %s, %v", msg, err)
	}
	stop()
	if _, _, err := early.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("the early stream after Run ended: %v", err)
	}
	<-done
	if _, res, err := websocket.Dial(ctx, url, nil); err == nil || res == nil || res.StatusCode != 503 {
		t.Fatalf("a stream after Run ended: %v", err)
	}
}

func FuzzStreamRequest(f *testing.F) {
	for _, s := range []string{`{"method":"SUBSCRIBE","params":["btcusdt@kline_1m"],"id":1}`, `{"method":"LIST_SUBSCRIPTIONS","id":"a"}`,
		`{"method":"SET_PROPERTY","params":["combined",true],"id":null}`, `{}`, `[]`, `{"method":1}`, `{"id":{"a":1}}`,
		`{"method":"SUBSCRIBE","params":["btcusdt@depth5@100ms","btcusdt@trade","btcusdt@depth"],"id":2}`, `btcusdt@depth20@1000ms`} {
		f.Add([]byte(s))
	}
	e := setup(f, nil)
	h := e.s.hub
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{out: make(chan []byte, 1), quit: make(chan struct{}), streams: map[string]bool{}}
		b := h.request(c, data)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("answer %s to %q is not JSON: %v", b, data, err)
		}
		if _, ok := m["id"]; !ok {
			t.Fatalf("answer %s has no id", b)
		}
		h.mu.Lock()
		for n := range c.streams {
			h.unsubscribe(c, n)
		}
		h.mu.Unlock()
		if sn, ok := parseStream(string(data)); ok && (strings.ToUpper(sn.symbol) != sn.symbol || sn.kind == streamKline && !sn.tf.Valid() ||
			sn.kind == streamPartialDepth && sn.levels != 5 && sn.levels != 10 && sn.levels != 20) {
			t.Fatalf("parseStream(%q) = %+v", data, sn)
		}
	})
}
