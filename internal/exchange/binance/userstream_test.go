package binance_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/binance"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

// userEnv is the simulator's API with user data streams, a funded account
// and a streaming client of it on clk; puts counts the listen key
// keepalives, refusePut makes the venue refuse them.
type userEnv struct {
	st        *binance.Streaming
	hsURL     string
	puts      atomic.Int64
	refusePut atomic.Bool
}

func newUserEnv(t *testing.T, clk clock.Clock) *userEnv {
	t.Helper()
	events := binanceapi.NewEvents()
	eng, feed := replaytest.Market(t, 60, events)
	keys := &binanceapi.MemoryKeys{}
	srv, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: keys, WeightLimit: -1, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	e := &userEnv{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" && r.URL.Path == "/api/v3/userDataStream" {
			e.puts.Add(1)
			if e.refusePut.Load() {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"code":-1125,"msg":"This listenKey does not exist."}`))
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := eng.CreateAccount("u"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Fund(feed.Now(), "u", "USDT", fixed.MustParse("10000")); err != nil {
		t.Fatal(err)
	}
	keys.Add(binanceapi.Key{APIKey: "keyu", Secret: "secretu", Account: "u"})
	c, err := rest.New(rest.Config{BaseURL: hs.URL, APIKey: "keyu", Secret: "secretu", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	e.st = binance.New(c).Streaming("ws" + strings.TrimPrefix(hs.URL, "http"))
	e.hsURL = hs.URL
	return e
}

// stream runs StreamFills until the test ends; its fills and its end come
// on the channels.
func (e *userEnv) stream(t *testing.T) (<-chan exchange.Trade, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan exchange.Trade, 100)
	errc := make(chan error, 1)
	go func() { errc <- e.st.StreamFills(ctx, func(tr exchange.Trade) { got <- tr }) }()
	t.Cleanup(cancel)
	return got, errc
}

// buyUntilStreamed places market buys until one's fill arrives on got (the
// stream is live once the server registered it) and returns it with the
// venue's record of it.
func (e *userEnv) buyUntilStreamed(t *testing.T, got <-chan exchange.Trade, errc <-chan error) (streamed exchange.Trade, order exchange.Order) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if i == 20 {
			t.Fatal("no fill streamed after 20 orders")
		}
		o, err := e.st.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.MustParse("0.5")})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case tr := <-got:
			for tr.OrderID != o.ID { // fills of orders placed before the stream was live
				select {
				case tr = <-got:
				case <-time.After(time.Second):
					t.Fatalf("no fill of order %d", o.ID)
				}
			}
			return tr, o
		case err := <-errc:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(time.Second):
		}
	}
}

// A fill appears on the stream when an order fills, as MyTrades shows it.
func TestStreamFillsOnSimulator(t *testing.T) {
	e := newUserEnv(t, nil)
	got, errc := e.stream(t)
	tr, o := e.buyUntilStreamed(t, got, errc)
	trades, err := e.st.MyTrades(context.Background(), "BTCUSDT", 0)
	if err != nil {
		t.Fatal(err)
	}
	var want exchange.Trade
	for _, x := range trades {
		if x.OrderID == o.ID {
			want = x
		}
	}
	if want.ID == 0 || tr != want {
		t.Fatalf("streamed %+v, MyTrades has %+v", tr, want)
	}
	if tr.Qty != o.Executed || tr.Side != exchange.Buy {
		t.Fatalf("streamed %+v of order %+v", tr, o)
	}
}

// A dropped stream (its listen key closed) ends StreamFills with an error;
// the next call opens a new key and streams the fills again.
func TestStreamFillsReconnectsWithANewKey(t *testing.T) {
	e := newUserEnv(t, nil)
	got, errc := e.stream(t)
	e.buyUntilStreamed(t, got, errc)
	key := e.activeKey(t)
	req, _ := http.NewRequest("DELETE", e.hsURL+"/api/v3/userDataStream?listenKey="+key, nil)
	req.Header.Set("X-MBX-APIKEY", "keyu")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("the dropped stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end when its key was closed")
	}
	got, errc = e.stream(t)
	e.buyUntilStreamed(t, got, errc)
	if again := e.activeKey(t); again == key {
		t.Fatal("the reconnected stream kept the closed key")
	}
}

// activeKey is the account's listen key (POST answers the active one).
func (e *userEnv) activeKey(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest("POST", e.hsURL+"/api/v3/userDataStream", nil)
	req.Header.Set("X-MBX-APIKEY", "keyu")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var lk struct{ ListenKey string }
	if err := json.NewDecoder(res.Body).Decode(&lk); err != nil || lk.ListenKey == "" {
		t.Fatalf("listen key %q: %v", lk.ListenKey, err)
	}
	return lk.ListenKey
}

// The listen key is kept alive every 30 minutes on the client's clock; a
// keepalive the venue refuses ends the stream with that error.
func TestStreamFillsKeepsTheKeyAlive(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newUserEnv(t, clk)
	got, errc := e.stream(t)
	e.buyUntilStreamed(t, got, errc)
	ctx := context.Background()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(binance.KeepAlive - time.Millisecond)
	if n := e.puts.Load(); n != 0 {
		t.Fatalf("%d keepalives before 30 minutes", n)
	}
	clk.Advance(time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for e.puts.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d keepalives after 30 minutes", e.puts.Load())
		}
		time.Sleep(time.Millisecond)
	}
	e.refusePut.Store(true)
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(binance.KeepAlive)
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "keep the listen key alive") {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end when its keepalive was refused")
	}
}
