package binanceapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

const (
	testKey    = "k3yABC123"
	testSecret = "s3cr3t"
)

var wall = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	s    *Server
	srv  *httptest.Server
	eng  *sim.Engine
	feed *replay.Feed
	cfg  Config
}

func setup(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	return setupN(t, 60, mod)
}

// setupN is setup with n candles of data.
func setupN(t testing.TB, n int, mod func(*Config)) *env {
	t.Helper()
	events := NewEvents()
	eng, feed := replaytest.Market(t, n, events)
	eng.CreateAccount("acct1")
	eng.Fund(0, "acct1", "USDT", fixed.MustParse("10000"))
	eng.Fund(0, "acct1", "BTC", fixed.MustParse("1"))
	keys := &MemoryKeys{}
	keys.Add(Key{APIKey: testKey, Secret: testSecret, Account: "acct1"})
	cfg := Config{Engine: eng, Feed: feed, Keys: keys, Clock: clock.NewFake(wall), Admin: true, Events: events}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{s: s, srv: srv, eng: eng, feed: feed, cfg: cfg}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) wantError(t *testing.T, status, code int, msg string) {
	t.Helper()
	var e apiError
	r.decode(t, &e)
	if r.status != status || e.Code != code || msg != "" && e.Msg != msg {
		t.Fatalf("got %d %s, want %d code %d %q", r.status, r.body, status, code, msg)
	}
}

func (e *env) do(t *testing.T, method, path, query, body string, header map[string]string) resp {
	t.Helper()
	u := e.srv.URL + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func sign(payload string) string { return binance.Sign(testSecret, payload) }

// signed sends params (plus timestamp) signed in the query string.
func (e *env) signed(t *testing.T, method, path string, v url.Values) resp {
	t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if v.Get("timestamp") == "" {
		v.Set("timestamp", strconv.FormatInt(wall.UnixMilli(), 10))
	}
	q := v.Encode()
	return e.do(t, method, path, q+"&signature="+sign(q), "", map[string]string{"X-MBX-APIKEY": testKey})
}

func TestPublicEndpoints(t *testing.T) {
	e := setup(t, nil)
	r := e.do(t, "GET", "/api/v3/ping", "", "", nil)
	if r.status != 200 || string(r.body) != "{}" || r.header.Get("X-MBX-USED-WEIGHT-1M") != "1" {
		t.Fatalf("ping: %d %s %v", r.status, r.body, r.header)
	}
	var tm struct{ ServerTime int64 }
	e.do(t, "GET", "/api/v3/time", "", "", nil).decode(t, &tm)
	if tm.ServerTime != wall.UnixMilli() {
		t.Fatalf("time = %d", tm.ServerTime)
	}
	var info struct {
		Timezone   string
		RateLimits []rateLimit
		Symbols    []struct {
			Symbol, BaseAsset, QuoteAsset string
			OrderTypes                    []string
			Filters                       []map[string]any
		}
	}
	r = e.do(t, "GET", "/api/v3/exchangeInfo", "symbol=BTCUSDT", "", nil)
	r.decode(t, &info)
	if len(info.Symbols) != 1 || info.Symbols[0].Symbol != "BTCUSDT" || len(info.Symbols[0].OrderTypes) != 7 || info.RateLimits[0].Limit != 6000 {
		t.Fatalf("exchangeInfo = %s", r.body)
	}
	var lot map[string]any
	for _, f := range info.Symbols[0].Filters {
		if f["filterType"] == "LOT_SIZE" {
			lot = f
		}
	}
	if lot["stepSize"] != "0.00100000" || lot["minQty"] != "0.00100000" {
		t.Fatalf("LOT_SIZE = %v", lot)
	}
	e.do(t, "GET", "/api/v3/exchangeInfo", "symbol=NOPE", "", nil).wantError(t, 400, -1121, "Invalid symbol.")

	var klines [][]any
	r = e.do(t, "GET", "/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=3", "", nil)
	r.decode(t, &klines)
	if len(klines) != 3 || klines[2][1] != "104.00000000" || klines[2][4] != "105.00000000" || klines[2][6].(float64) != float64(1704067200000+10*60_000-1) {
		t.Fatalf("klines = %s", r.body)
	}
	if r.header.Get("X-MBX-USED-WEIGHT-1M") != strconv.Itoa(1+1+20+20+2) {
		t.Fatalf("used weight = %s", r.header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	e.do(t, "GET", "/api/v3/klines", "symbol=BTCUSDT&interval=7m", "", nil).wantError(t, 400, -1120, "Invalid interval.")
	e.do(t, "GET", "/api/v3/klines", "symbol=BTCUSDT", "", nil).wantError(t, 400, -1102, "")

	var price priceTicker
	e.do(t, "GET", "/api/v3/ticker/price", "symbol=BTCUSDT", "", nil).decode(t, &price)
	if price.Price != fixed.MustParse("105") {
		t.Fatalf("price = %+v", price)
	}
	var prices []priceTicker
	e.do(t, "GET", "/api/v3/ticker/price", "", "", nil).decode(t, &prices)
	if len(prices) != 1 {
		t.Fatalf("prices = %+v", prices)
	}
	var bt bookTicker
	e.do(t, "GET", "/api/v3/ticker/bookTicker", "symbol=BTCUSDT", "", nil).decode(t, &bt)
	if bt.BidPrice != fixed.MustParse("105") || bt.AskPrice != fixed.MustParse("105") || bt.BidQty == 0 {
		t.Fatalf("bookTicker = %+v", bt)
	}
	var t24 ticker24
	e.do(t, "GET", "/api/v3/ticker/24hr", "symbol=BTCUSDT", "", nil).decode(t, &t24)
	if t24.OpenPrice != fixed.MustParse("100") || t24.LastPrice != fixed.MustParse("105") || t24.HighPrice != fixed.MustParse("105.5") || t24.Volume != fixed.MustParse("100") {
		t.Fatalf("24hr = %+v", t24)
	}
	var depth struct {
		Bids, Asks [][2]string
	}
	e.do(t, "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", "", nil).decode(t, &depth)
	if len(depth.Bids) != 5 || depth.Bids[1][0] != "104.90000000" || depth.Asks[0][0] != "105.00000000" {
		t.Fatalf("depth = %+v", depth)
	}
}

func TestSignedRejections(t *testing.T) {
	e := setup(t, nil)
	ts := strconv.FormatInt(wall.UnixMilli(), 10)
	order := func(extra string) string {
		return "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=100&timestamp=" + ts + extra
	}
	key := map[string]string{"X-MBX-APIKEY": testKey}
	for _, tc := range []struct {
		name   string
		query  string
		header map[string]string
		status int
		code   int
		msg    string
	}{
		{"no key", order(""), nil, 401, -2014, "API-key format invalid."},
		{"malformed key", order(""), map[string]string{"X-MBX-APIKEY": "bad key!"}, 401, -2014, "API-key format invalid."},
		{"unknown key", order(""), map[string]string{"X-MBX-APIKEY": "nobody"}, 401, -2015, "Invalid API-key, IP, or permissions for action."},
		{"no signature", order(""), key, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."},
		{"wrong signature", order("&signature=" + sign("something else")), key, 400, -1022, "Signature for this request is not valid."},
		{"no timestamp", "symbol=BTCUSDT&signature=00", key, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."},
		{"old timestamp", signedQ("symbol=BTCUSDT&timestamp=" + strconv.FormatInt(wall.UnixMilli()-5001, 10)), key, 400, -1021, "Timestamp for this request is outside of the recvWindow."},
		{"old but in a wider window", signedQ("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=100&recvWindow=6000&timestamp=" + strconv.FormatInt(wall.UnixMilli()-5001, 10)), key, 0, 0, ""},
		{"future timestamp", signedQ("symbol=BTCUSDT&timestamp=" + strconv.FormatInt(wall.UnixMilli()+1000, 10)), key, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."},
		{"recvWindow too large", signedQ(order("&recvWindow=60001")), key, 400, -1130, ""},
		{"duplicate parameter", signedQ(order("&side=SELL")), key, 400, -1101, "Duplicate values for a parameter detected."},
		{"bad decimal", signedQ(strings.Replace(order(""), "quantity=0.1", "quantity=1e-1", 1)), key, 400, -1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."},
		{"too much precision", signedQ(strings.Replace(order(""), "quantity=0.1", "quantity=0.000000001", 1)), key, 400, -1111, "Parameter 'quantity' has too much precision."},
		{"bad side", signedQ(strings.Replace(order(""), "side=BUY", "side=HOLD", 1)), key, 400, -1117, "Invalid side."},
		{"bad type", signedQ(strings.Replace(order(""), "type=LIMIT", "type=OCO", 1)), key, 400, -1116, "Invalid orderType."},
		{"bad timeInForce", signedQ(strings.Replace(order(""), "timeInForce=GTC", "timeInForce=GTD", 1)), key, 400, -1115, "Invalid timeInForce."},
		{"lowercase symbol", signedQ(strings.Replace(order(""), "BTCUSDT", "btcusdt", 1)), key, 400, -1100, ""},
		{"unknown symbol", signedQ(strings.Replace(order(""), "BTCUSDT", "ETHUSDT", 1)), key, 400, -1121, "Invalid symbol."},
		{"no quantity", signedQ(strings.Replace(order(""), "quantity=0.1&", "", 1)), key, 400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."},
		{"lot size", signedQ(strings.Replace(order(""), "quantity=0.1", "quantity=0.1005", 1)), key, 400, -1013, "Filter failure: LOT_SIZE"},
		{"notional", signedQ(strings.Replace(order(""), "quantity=0.1", "quantity=0.01", 1)), key, 400, -1013, "Filter failure: NOTIONAL"},
		{"tick", signedQ(strings.Replace(order(""), "price=100", "price=100.05", 1)), key, 400, -1013, "Filter failure: PRICE_FILTER"},
		{"insufficient balance", signedQ(strings.Replace(order(""), "quantity=0.1", "quantity=101", 1)), key, 400, -2010, "Account has insufficient balance for requested action."},
		{"bad client id", signedQ(order("&newClientOrderId=has%20space")), key, 400, -1100, ""},
		{"bad response type", signedQ(order("&newOrderRespType=ALL")), key, 400, -1100, ""},
		{"iceberg", signedQ(order("&icebergQty=0.001")), key, 400, -2010, "Iceberg orders are not supported for this symbol."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v3/order", tc.query, "", tc.header)
			if tc.status == 0 {
				if r.status != 200 {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, tc.status, tc.code, tc.msg)
		})
	}
	e.signed(t, "DELETE", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "orderId": {"999"}}).wantError(t, 400, -2011, "Unknown order sent.")
	e.signed(t, "GET", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "orderId": {"999"}}).wantError(t, 400, -2013, "Order does not exist.")
	e.signed(t, "GET", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}}).wantError(t, 400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
}

func signedQ(q string) string { return q + "&signature=" + sign(q) }

func TestOrderLifecycle(t *testing.T) {
	e := setup(t, nil)
	// LIMIT below the price rests; FULL is the default response for LIMIT.
	var placed fullResp
	r := e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.5"}, "price": {"100.5"}, "newClientOrderId": {"my-1"}})
	r.decode(t, &placed)
	if r.status != 200 || placed.Status != "NEW" || placed.ClientOrderID != "my-1" || placed.OrderListID != -1 || placed.Fills == nil || len(placed.Fills) != 0 || placed.TransactTime != e.feed.Now() {
		t.Fatalf("place = %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"price":"100.50000000"`) || !strings.Contains(string(r.body), `"cummulativeQuoteQty":"0.00000000"`) {
		t.Fatalf("decimals not Binance strings: %s", r.body)
	}
	e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.5"}, "price": {"100.5"}, "newClientOrderId": {"my-1"}}).wantError(t, 400, -2010, "Duplicate order sent.")

	var got orderResp
	e.signed(t, "GET", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "origClientOrderId": {"my-1"}}).decode(t, &got)
	if got.OrderID != placed.OrderID || !got.IsWorking || got.OrigQty != fixed.MustParse("0.5") {
		t.Fatalf("query = %+v", got)
	}
	var open []orderResp
	e.signed(t, "GET", "/api/v3/openOrders", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &open)
	if len(open) != 1 {
		t.Fatalf("open = %+v", open)
	}
	var acct struct {
		MakerCommission int
		Balances        []balanceResp
	}
	e.signed(t, "GET", "/api/v3/account", nil).decode(t, &acct)
	if acct.MakerCommission != 10 || len(acct.Balances) != 2 || acct.Balances[1].Asset != "USDT" || acct.Balances[1].Locked != fixed.MustParse("50.25") {
		t.Fatalf("account = %+v", acct)
	}
	var cancelled cancelResp
	e.signed(t, "DELETE", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "orderId": {strconv.FormatInt(placed.OrderID, 10)}}).decode(t, &cancelled)
	if cancelled.Status != "CANCELED" || cancelled.OrigClientOrderID != "my-1" || cancelled.ClientOrderID == "" {
		t.Fatalf("cancel = %+v", cancelled)
	}

	// MARKET buy: FULL with the fill and its commission in BTC.
	var mkt fullResp
	e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"MARKET"}, "quantity": {"0.2"}}).decode(t, &mkt)
	if mkt.Status != "FILLED" || len(mkt.Fills) != 1 || mkt.Fills[0].Price != fixed.MustParse("105") || mkt.Fills[0].CommissionAsset != "BTC" || mkt.Fills[0].Commission != fixed.MustParse("0.0002") || mkt.CummulativeQuoteQty != fixed.MustParse("21") {
		t.Fatalf("market = %+v", mkt)
	}
	// ACK and RESULT shapes.
	r = e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"SELL"}, "type": {"MARKET"}, "quantity": {"0.1"}, "newOrderRespType": {"ACK"}})
	if r.status != 200 || strings.Contains(string(r.body), "status") || !strings.Contains(string(r.body), "transactTime") {
		t.Fatalf("ACK = %s", r.body)
	}
	r = e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"SELL"}, "type": {"STOP_LOSS"}, "quantity": {"0.1"}, "stopPrice": {"90"}, "newOrderRespType": {"RESULT"}})
	if r.status != 200 || strings.Contains(string(r.body), "fills") || !strings.Contains(string(r.body), `"stopPrice":"90.00000000"`) || !strings.Contains(string(r.body), `"workingTime":-1`) {
		t.Fatalf("RESULT = %s", r.body)
	}
	// A stop order defaults to ACK.
	r = e.signed(t, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"SELL"}, "type": {"STOP_LOSS"}, "quantity": {"0.1"}, "stopPrice": {"91"}})
	if strings.Contains(string(r.body), "status") {
		t.Fatalf("stop default = %s", r.body)
	}

	var trades []tradeResp
	e.signed(t, "GET", "/api/v3/myTrades", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &trades)
	if len(trades) != 2 || !trades[0].IsBuyer || trades[0].IsMaker || trades[1].IsBuyer || trades[1].CommissionAsset != "USDT" {
		t.Fatalf("trades = %+v", trades)
	}
	var all []orderResp
	e.signed(t, "GET", "/api/v3/allOrders", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &all)
	if len(all) != 5 || all[0].Status != "CANCELED" || all[4].Status != "NEW" {
		t.Fatalf("allOrders = %+v", all)
	}
	var cancelledAll []cancelResp
	e.signed(t, "DELETE", "/api/v3/openOrders", url.Values{"symbol": {"BTCUSDT"}}).decode(t, &cancelledAll)
	if len(cancelledAll) != 2 {
		t.Fatalf("cancel all = %+v", cancelledAll)
	}
}

// TestSignedBody signs query and form body together, Binance's example 3.
func TestSignedBody(t *testing.T) {
	e := setup(t, nil)
	q := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
	body := "quantity=0.1&price=90&recvWindow=5000&timestamp=" + strconv.FormatInt(wall.UnixMilli(), 10)
	r := e.do(t, "POST", "/api/v3/order", q, body+"&signature="+sign(q+body), map[string]string{"X-MBX-APIKEY": testKey})
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	r = e.do(t, "POST", "/api/v3/order", q, body+"&signature="+sign(q+"&"+body), map[string]string{"X-MBX-APIKEY": testKey})
	r.wantError(t, 400, -1022, "")
}

func TestWeightLimit(t *testing.T) {
	e := setup(t, func(c *Config) { c.WeightLimit = 5; c.BanAfter = 2 })
	for i := 1; i <= 5; i++ {
		if r := e.do(t, "GET", "/api/v3/ping", "", "", nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := e.do(t, "GET", "/api/v3/ping", "", "", nil)
	r.wantError(t, 429, -1003, "Too much request weight used; current limit is 5 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
	if r.header.Get("Retry-After") != strconv.Itoa(60-int(wall.Unix()%60)) || r.header.Get("X-MBX-USED-WEIGHT-1M") != "6" {
		t.Fatalf("headers = %v", r.header)
	}
	e.do(t, "GET", "/api/v3/ping", "", "", nil).wantError(t, 429, -1003, "")
	r = e.do(t, "GET", "/api/v3/ping", "", "", nil)
	r.wantError(t, 418, -1003, "")
	if r.header.Get("Retry-After") != "120" {
		t.Fatalf("ban Retry-After = %q", r.header.Get("Retry-After"))
	}
}

func TestAdminStep(t *testing.T) {
	e := setup(t, nil)
	before := e.feed.Now()
	var clock struct{ SimTime int64 }
	e.do(t, "POST", "/sim/v1/step", "candles=2", "", nil).decode(t, &clock)
	if clock.SimTime != before+2*60_000 {
		t.Fatalf("sim time %d, want %d", clock.SimTime, before+2*60_000)
	}
	guarded := setup(t, func(c *Config) { c.AdminToken = "t0k" })
	guarded.do(t, "POST", "/sim/v1/step", "", "", nil).wantError(t, 401, -1002, "")
	if r := guarded.do(t, "POST", "/sim/v1/step", "", "", map[string]string{"Authorization": "Bearer t0k"}); r.status != 200 {
		t.Fatalf("with token: %d %s", r.status, r.body)
	}
	var b balanceResp
	e.do(t, "POST", "/sim/v1/fund", "account=acct1&asset=ETH&amount=2.5", "", nil).decode(t, &b)
	if b.Asset != "ETH" || b.Free != fixed.MustParse("2.5") {
		t.Fatalf("fund = %+v", b)
	}
}

// TestKlinesEndTimeOnly: with only endTime, Binance answers the limit
// candles that open at or before it (ccxt's fetchOHLCV with an until, and
// clients paging backwards, send this).
func TestKlinesEndTimeOnly(t *testing.T) {
	e := setup(t, nil)
	const t0 = 1704067200000
	for _, tc := range []struct {
		q     string
		first int64
		n     int
	}{
		{"interval=1m&limit=3&endTime=" + strconv.Itoa(t0+4*60_000), t0 + 2*60_000, 3},
		{"interval=1m&limit=3&endTime=" + strconv.Itoa(t0+4*60_000+59_999), t0 + 2*60_000, 3},
		{"interval=1m&limit=50&endTime=" + strconv.Itoa(t0+60_000), t0, 2},
		{"interval=5m&limit=1&endTime=" + strconv.Itoa(t0+5*60_000), t0 + 5*60_000, 1},
	} {
		var ks [][]any
		r := e.do(t, "GET", "/api/v3/klines", "symbol=BTCUSDT&"+tc.q, "", nil)
		r.decode(t, &ks)
		if len(ks) != tc.n || int64(ks[0][0].(float64)) != tc.first {
			t.Errorf("%s: %s", tc.q, r.body)
		}
	}
}
