package binanceapi

import (
	"context"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
)

// TestGoBinanceClient drives the simulator with github.com/adshao/go-binance,
// a real Binance client, unchanged but for its base URL.
func TestGoBinanceClient(t *testing.T) {
	e := setup(t, func(c *Config) { c.Clock = time.Now })
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
	if apiErr, ok := err.(*common.APIError); !ok || apiErr.Code != -2010 || apiErr.Message != "Account has insufficient balance for requested action." {
		t.Fatalf("insufficient balance error = %v", err)
	}
}
