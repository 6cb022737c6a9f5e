package binanceapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/coder/websocket"

	"github.com/tradai/tradai/internal/clock"
)

// TestGoBinanceClient drives the simulator with github.com/adshao/go-binance,
// a real Binance client, unchanged but for its base URL.
func TestGoBinanceClient(t *testing.T) {
	e := setup(t, func(c *Config) { c.Clock = clock.Real() })
	ctx := context.Background()
	cl := binance.NewClient(testKey, testSecret)
	cl.BaseURL = e.srv.URL

	if err := cl.NewPingService().Do(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	info, err := cl.NewExchangeInfoService().Do(ctx)
	if err != nil {
		t.Fatalf("exchangeInfo: %v", err)
	}
	if len(info.Symbols) != 1 || info.Symbols[0].Symbol != "BTCUSDT" || info.Symbols[0].LotSizeFilter().StepSize != "0.00100000" ||
		info.Symbols[0].PriceFilter().TickSize != "0.10000000" || info.Symbols[0].NotionalFilter().MinNotional != "5.00000000" {
		t.Fatalf("exchangeInfo = %+v", info.Symbols)
	}
	klines, err := cl.NewKlinesService().Symbol("BTCUSDT").Interval("1m").Limit(5).Do(ctx)
	if err != nil || len(klines) != 5 || klines[4].Close != "105.00000000" {
		t.Fatalf("klines = %+v, %v", klines, err)
	}
	prices, err := cl.NewListPricesService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(prices) != 1 || prices[0].Price != "105.00000000" {
		t.Fatalf("prices = %+v, %v", prices, err)
	}
	books, err := cl.NewListBookTickersService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(books) != 1 || books[0].AskPrice != "105.00000000" {
		t.Fatalf("book tickers = %+v, %v", books, err)
	}
	stats, err := cl.NewListPriceChangeStatsService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(stats) != 1 || stats[0].LastPrice != "105.00000000" {
		t.Fatalf("24hr = %+v, %v", stats, err)
	}
	depth, err := cl.NewDepthService().Symbol("BTCUSDT").Limit(5).Do(ctx)
	if err != nil || len(depth.Bids) != 5 {
		t.Fatalf("depth = %+v, %v", depth, err)
	}

	acct, err := cl.NewGetAccountService().Do(ctx)
	if err != nil || len(acct.Balances) != 2 || acct.Balances[1].Free != "10000.00000000" {
		t.Fatalf("account = %+v, %v", acct, err)
	}
	lim, err := cl.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.5").Price("100.1").NewClientOrderID("gb-1").Do(ctx)
	if err != nil || lim.Status != binance.OrderStatusTypeNew || lim.ClientOrderID != "gb-1" {
		t.Fatalf("limit order = %+v, %v", lim, err)
	}
	got, err := cl.NewGetOrderService().Symbol("BTCUSDT").OrderID(lim.OrderID).Do(ctx)
	if err != nil || got.Price != "100.10000000" || !got.IsWorking {
		t.Fatalf("get order = %+v, %v", got, err)
	}
	open, err := cl.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(open) != 1 {
		t.Fatalf("open orders = %+v, %v", open, err)
	}
	cancelled, err := cl.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("gb-1").Do(ctx)
	if err != nil || cancelled.Status != binance.OrderStatusTypeCanceled {
		t.Fatalf("cancel = %+v, %v", cancelled, err)
	}
	mkt, err := cl.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		QuoteOrderQty("50").Do(ctx)
	if err != nil || mkt.Status != binance.OrderStatusTypeFilled || len(mkt.Fills) != 1 || mkt.ExecutedQuantity != "0.47600000" {
		t.Fatalf("market order = %+v, %v", mkt, err)
	}
	trades, err := cl.NewListTradesService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(trades) != 1 || trades[0].Quantity != "0.47600000" || !trades[0].IsBuyer || trades[0].CommissionAsset != "BTC" {
		t.Fatalf("trades = %+v, %v", trades, err)
	}
	all, err := cl.NewListOrdersService().Symbol("BTCUSDT").Do(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("all orders = %+v, %v", all, err)
	}
	// Binance's errors come through as *common.APIError with the code.
	_, err = cl.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeMarket).Quantity("5").Do(ctx)
	if apiErr := (*common.APIError)(nil); !errors.As(err, &apiErr) || apiErr.Code != -2010 || apiErr.Message != "Account has insufficient balance for requested action." {
		t.Fatalf("insufficient balance error = %v", err)
	}
}

// TestGoBinanceStreams receives klines and user data events with
// go-binance's websocket client. Its stream URLs are package variables
// (BaseWsMainURL, BaseCombinedMainURL): this test points them at the test
// server and puts them back; no other test of this package touches them,
// and the test is not parallel.
//
// The streams are ended from the server side: go-binance v2.8.7's own stop
// path (closing stopC) has a data race inside the library (its "silent"
// flag is written and read by two goroutines), which -race reports.
func TestGoBinanceStreams(t *testing.T) {
	e := setup(t, func(c *Config) { c.Clock = clock.Real() })
	ws := "ws" + strings.TrimPrefix(e.srv.URL, "http")
	oldWs, oldComb := binance.BaseWsMainURL, binance.BaseCombinedMainURL
	binance.BaseWsMainURL, binance.BaseCombinedMainURL = ws+"/ws", ws+"/stream?streams="
	t.Cleanup(func() { binance.BaseWsMainURL, binance.BaseCombinedMainURL = oldWs, oldComb })
	errs := make(chan error, 10)
	onErr := func(err error) { errs <- err }

	klines := make(chan *binance.WsKlineEvent, 100)
	done, stop, err := binance.WsKlineServe("BTCUSDT", "1m", func(ev *binance.WsKlineEvent) { klines <- ev }, onErr)
	if err != nil {
		t.Fatalf("WsKlineServe: %v", err)
	}
	_ = stop // see above: never closed
	defer func() { dropStreams(e); <-done }()
	waitFor(t, "the kline subscription", func() bool { return e.topicSubs("btcusdt@kline_1m") == 1 })
	if err := e.feed.Step(1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-klines:
		if ev.Event != "kline" || ev.Symbol != "BTCUSDT" || ev.Kline.Interval != "1m" || !ev.Kline.IsFinal || ev.Kline.Close == "" {
			t.Fatalf("kline event = %+v", ev)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no kline event")
	}

	cl := binance.NewClient(testKey, testSecret)
	cl.BaseURL = e.srv.URL
	ctx := context.Background()
	key, err := cl.NewStartUserStreamService().Do(ctx)
	if err != nil {
		t.Fatalf("start user stream: %v", err)
	}
	if err := cl.NewKeepaliveUserStreamService().ListenKey(key).Do(ctx); err != nil {
		t.Fatalf("keepalive: %v", err)
	}
	users := make(chan *binance.WsUserDataEvent, 100)
	udone, ustop, err := binance.WsUserDataServe(key, func(ev *binance.WsUserDataEvent) { users <- ev }, onErr)
	if err != nil {
		t.Fatalf("WsUserDataServe: %v", err)
	}
	_ = ustop
	defer func() { dropStreams(e); <-udone }()
	waitFor(t, "the user data subscription", func() bool {
		e.s.hub.mu.Lock()
		defer e.s.hub.mu.Unlock()
		return len(e.s.hub.users["acct1"]) == 1
	})
	o, err := cl.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).Quantity("0.1").Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-users:
			switch ev.Event {
			case binance.UserDataEventTypeExecutionReport:
				u := ev.OrderUpdate
				if u.Id != o.OrderID || u.Symbol != "BTCUSDT" {
					t.Fatalf("order update = %+v", u)
				}
				got = append(got, u.ExecutionType+"/"+u.Status)
				if u.ExecutionType == "TRADE" && (u.LatestVolume != "0.10000000" || u.FeeAsset != "BTC" || u.TradeId != o.Fills[0].TradeID) {
					t.Fatalf("trade update = %+v", u)
				}
			case binance.UserDataEventTypeOutboundAccountPosition:
				if len(ev.AccountUpdate.WsAccountUpdates) != 2 {
					t.Fatalf("account update = %+v", ev.AccountUpdate)
				}
				got = append(got, "position")
			}
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatalf("user events so far %v", got)
		}
	}
	if strings.Join(got, " ") != "NEW/NEW TRADE/FILLED position" {
		t.Fatalf("user events = %v", got)
	}
	if err := cl.NewCloseUserStreamService().ListenKey(key).Do(ctx); err != nil {
		t.Fatalf("close user stream: %v", err)
	}
}

// dropStreams closes every websocket connection of the test server from the
// server's side.
func dropStreams(e *env) {
	e.s.hub.mu.Lock()
	defer e.s.hub.mu.Unlock()
	for c := range e.s.hub.conns {
		c.stop(websocket.StatusNormalClosure, "test over")
	}
}
