package simserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/simserver"
)

// The first candles of examples/data's ETH/BTC 5m.
const (
	ethFirst = int64(1515560100000) // 2018-01-10 05:55 UTC, open 0.0984
	fiveMin  = int64(300_000)
)

func migrated(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(t.Context(), filepath.Join(t.TempDir(), "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs a simulator on ETH/BTC 5m until the test ends.
func start(t *testing.T, cfg simserver.Config) (*simserver.Server, string) {
	t.Helper()
	cfg.Pairs, cfg.Timeframe, cfg.Addr, cfg.Engine = []string{"ETH/BTC"}, "5m", "127.0.0.1:0", sim.DefaultConfig()
	if cfg.DataDir == "" {
		cfg.DataDir = clienttest.ExampleData()
	}
	s, err := simserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, "http://" + s.Addr().String()
}

// call sends a request and decodes the JSON answer into out (nil: none),
// failing the test unless it is a 200.
func call(t *testing.T, method, u string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, res.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, body)
		}
	}
}

type clockAnswer struct {
	SimTime    int64
	ServerTime int64
	Speed      float64
	Paused     bool
	Live       bool
}

func klines(t *testing.T, base, query string) [][]any {
	t.Helper()
	var ks [][]any
	call(t, "GET", base+"/api/v3/klines?symbol=ETHBTC&interval=5m&"+query, &ks)
	return ks
}

// TestClockControlSurvivesRestart: --speed 0 starts paused with the first
// candle's open current (it had no price until the first step), and the
// pause, the speed and the position inside a candle survive a restart.
func TestClockControlSurvivesRestart(t *testing.T) {
	d := migrated(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, base := start(t, simserver.Config{DB: d, Clock: clk, Speed: 0})
	var price struct{ Price string }
	call(t, "GET", base+"/api/v3/ticker/price?symbol=ETHBTC", &price)
	if price.Price != "0.09840000" {
		t.Fatalf("price at a paused start = %q, want the first open 0.09840000", price.Price)
	}
	var c clockAnswer
	call(t, "GET", base+"/sim/v1/clock", &c)
	if c.SimTime != ethFirst || !c.Paused || c.Speed != 1 {
		t.Fatalf("clock at start = %+v", c)
	}
	// Into the second candle, past its low; then a new rate through the
	// admin endpoint.
	mid := ethFirst + fiveMin + 150_000
	call(t, "POST", fmt.Sprintf("%s/sim/v1/advance?time=%d", base, mid), nil)
	// The clock is saved with the orders and fills, every 200 ms.
	if err := clk.BlockUntil(t.Context(), 3); err != nil { // replay, journal, listen keys
		t.Fatal(err)
	}
	clk.Advance(200 * time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		saved, err := simstore.New(d, nil, nil).Clock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if saved.Time == mid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("200 ms after the advance the saved clock is %+v, want %d", saved, mid)
		}
	}
	call(t, "POST", base+"/sim/v1/clock?speed=30", &c)
	if c.Speed != 30 || !c.Paused {
		t.Fatalf("after speed=30: %+v (a speed change keeps the pause)", c)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2, base2 := start(t, simserver.Config{DB: d, Clock: clk, Speed: 1}) // --speed not given
	if sp, p := s2.Rate(); sp != 30 || !p {
		t.Fatalf("rate after a restart = %v, paused %v; want 30, paused", sp, p)
	}
	call(t, "GET", base2+"/sim/v1/clock", &c)
	if c.SimTime != mid {
		t.Fatalf("restarted at %d, want %d", c.SimTime, mid)
	}
	// The second candle resumed at its low (0.099): not replayed from
	// its open (0.09946999).
	call(t, "GET", base2+"/api/v3/ticker/price?symbol=ETHBTC", &price)
	if price.Price != "0.09900000" {
		t.Fatalf("price after the restart = %q, want the low 0.09900000 played before it", price.Price)
	}
	if err := s2.SetRate(2, false); err != nil {
		t.Fatal(err)
	}
	if err := s2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, err := simstore.New(d, nil, nil).Clock(t.Context())
	if err != nil || saved.Speed != 2 || saved.Paused || saved.Mode != "replay" {
		t.Fatalf("saved clock %+v, %v", saved, err)
	}
	// A speed given at the start wins over the saved one.
	s3, _ := start(t, simserver.Config{DB: d, Clock: clk, Speed: 0, SpeedGiven: true})
	if sp, p := s3.Rate(); sp != 1 || !p {
		t.Fatalf("rate with --speed 0 = %v, paused %v", sp, p)
	}
}

func TestClockEndpointRefusesBadInput(t *testing.T) {
	_, base := start(t, simserver.Config{DB: migrated(t), Speed: 0})
	for _, q := range []string{"speed=0", "speed=-1", "speed=x", "speed=NaN", "speed=1e9", "paused=maybe"} {
		res, err := http.Post(base+"/sim/v1/clock?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "-1130") {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
}

// TestShiftedReplay maps the history onto the present: candles, klines
// queries and the simulation time agree with the wall clock; a restart
// keeps the offset and catches up with the wall clock; the database keeps
// its mode.
func TestShiftedReplay(t *testing.T) {
	d := migrated(t)
	wall := time.Date(2026, 3, 4, 12, 7, 30, 0, time.UTC)
	clk := clock.NewFake(wall)
	s, base := start(t, simserver.Config{DB: d, Clock: clk, Mode: simserver.ModeShifted, Speed: 1})
	now := wall.UnixMilli()
	current := now - now%fiveMin // 12:05
	var c clockAnswer
	call(t, "GET", base+"/sim/v1/clock", &c)
	if c.SimTime != now || c.ServerTime != now {
		t.Fatalf("shifted clock %+v, want the wall time %d", c, now)
	}
	ks := klines(t, base, "limit=5")
	if len(ks) != 1 || int64(ks[0][0].(float64)) != current || ks[0][1] != "0.09840000" {
		t.Fatalf("klines at the start = %v, want the first candle opening at %d", ks, current)
	}
	// since = now - 1h, as a bot asks, an hour later.
	clk.Advance(time.Hour)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		call(t, "GET", base+"/sim/v1/clock", &c)
		if c.SimTime >= now+3_600_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shifted clock did not follow the wall clock: %+v", c)
		}
	}
	ks = klines(t, base, fmt.Sprintf("startTime=%d", now))
	if len(ks) != 12 || int64(ks[0][0].(float64)) != current+fiveMin || ks[11][6].(float64) < float64(now) {
		t.Fatalf("klines since the start: %d of them, first %v", len(ks), ks[0])
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, _ := simstore.New(d, nil, nil).Clock(t.Context())
	if saved.Mode != "shifted" || saved.Offset != current-ethFirst {
		t.Fatalf("saved %+v, want shifted by %d", saved, current-ethFirst)
	}
	// Stopped for a day: the restart catches up with the wall clock, with
	// the same mapping.
	clk.Advance(24 * time.Hour)
	_, base2 := start(t, simserver.Config{DB: d, Clock: clk, Mode: simserver.ModeShifted, Speed: 1})
	call(t, "GET", base2+"/sim/v1/clock", &c)
	if c.SimTime != clk.Now().UnixMilli() {
		t.Fatalf("after a restart the shifted clock is at %d, want the wall time %d", c.SimTime, clk.Now().UnixMilli())
	}
	first := klines(t, base2, fmt.Sprintf("startTime=%d&limit=1", current))
	if len(first) != 1 || first[0][1] != "0.09840000" {
		t.Fatalf("the first candle after a restart = %v", first)
	}
	// Another mode on this database is refused.
	srv, err := simserver.New(simserver.Config{DB: d, DataDir: clienttest.ExampleData(), Pairs: []string{"ETH/BTC"}, Timeframe: "5m", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "shifted mode") {
		t.Fatalf("replay mode on a shifted database: %v", err)
	}
}

// TestLiveMode: a simulator fed by another (the upstream, a replay
// stepped through its admin API) over loopback: it starts with the
// upstream's closed candles, its clock is the wall clock, and a candle
// closing upstream is polled after its close and fills a resting order.
func TestLiveMode(t *testing.T) {
	_, up := start(t, simserver.Config{DB: migrated(t), Speed: 0})
	call(t, "POST", up+"/sim/v1/step?candles=10", nil) // candles 0 … 9 closed upstream
	clk := clock.NewFake(time.UnixMilli(ethFirst + 10*fiveMin + 3_000))
	s, base := start(t, simserver.Config{DB: migrated(t), Clock: clk, Mode: simserver.ModeLive, Upstream: up, DataDir: t.TempDir()})
	var c clockAnswer
	call(t, "GET", base+"/sim/v1/clock", &c)
	if c.SimTime != clk.Now().UnixMilli() || !c.Live || c.Paused {
		t.Fatalf("live clock %+v, want the wall time %d", c, clk.Now().UnixMilli())
	}
	ks := klines(t, base, "limit=20")
	// Ten closed candles and the one forming, flat at the last close.
	if len(ks) != 11 || ks[9][4] != "0.09679830" || ks[10][1] != "0.09679830" || ks[10][2] != "0.09679830" {
		t.Fatalf("live klines at the start = %v", ks)
	}
	if err := s.SetRate(2, false); err == nil {
		t.Fatal("a live clock changed speed")
	}
	for _, u := range []string{"/sim/v1/step", "/sim/v1/clock?paused=true", fmt.Sprintf("/sim/v1/advance?time=%d", clk.Now().UnixMilli()+60_000)} {
		res, err := http.Post(base+u, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), "-1020") {
			t.Errorf("POST %s on a live simulator: %d %s", u, res.StatusCode, body)
		}
	}
	// An account buys below the market; the next candle (low 0.095) is
	// still forming upstream.
	var acct struct{ Account, APIKey, SecretKey string }
	call(t, "POST", base+"/sim/v1/accounts?name=bot", &acct)
	call(t, "POST", base+"/sim/v1/fund?account="+acct.Account+"&asset=BTC&amount=1", nil)
	cl, err := binance.New(binance.Config{BaseURL: base, APIKey: acct.APIKey, Secret: acct.SecretKey, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var order struct {
		OrderID int64
		Status  string
	}
	q := url.Values{"symbol": {"ETHBTC"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "quantity": {"1"}, "price": {"0.0955"}}
	if _, err := cl.Do(t.Context(), binance.Request{Method: "POST", Path: "/api/v3/order", Query: q, Signed: true},
		func(b []byte) error { return json.Unmarshal(b, &order) }); err != nil || order.Status != "NEW" {
		t.Fatalf("order %+v, %v", order, err)
	}
	// The candle closes upstream, and the wall clock passes its close: the
	// poller (asleep until the close plus its delay) fetches it.
	call(t, "POST", up+"/sim/v1/step?candles=1", nil)
	if err := clk.BlockUntil(t.Context(), 4); err != nil { // replay, journal, listen keys, poller
		t.Fatal(err)
	}
	clk.Advance(time.Duration(fiveMin) * time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := cl.Do(t.Context(), binance.Request{Path: "/api/v3/order", Query: url.Values{"symbol": {"ETHBTC"}, "orderId": {fmt.Sprint(order.OrderID)}}, Signed: true},
			func(b []byte) error { return json.Unmarshal(b, &order) }); err != nil {
			t.Fatal(err)
		}
		if order.Status == "FILLED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order stayed %s: the candle with the low 0.095 did not arrive", order.Status)
		}
	}
	var trades []struct {
		Price string
		Time  int64
	}
	if _, err := cl.Do(t.Context(), binance.Request{Path: "/api/v3/myTrades", Query: url.Values{"symbol": {"ETHBTC"}}, Signed: true},
		func(b []byte) error { return json.Unmarshal(b, &trades) }); err != nil {
		t.Fatal(err)
	}
	if len(trades) != 1 || trades[0].Price != "0.09550000" || trades[0].Time < ethFirst+11*fiveMin {
		t.Fatalf("trades %+v: want one at 0.0955 after the candle closed", trades)
	}
}
