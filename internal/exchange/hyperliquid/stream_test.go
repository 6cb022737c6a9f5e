package hyperliquid_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	hl "github.com/tradai/tradai/internal/hyperliquid"
)

// The fills stream delivers each new fill as MyTrades lists it, not the
// snapshot of the past ones, until its context ends.
func TestStreamFills(t *testing.T) {
	srv, open := start(t)
	x := open(t)
	ctx := context.Background()
	if _, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.MustParse("0.001")}); err != nil {
		t.Fatal(err) // a past fill: in the snapshot
	}
	sctx, cancel := context.WithCancel(ctx)
	got := make(chan exchange.Trade, 10)
	errc := make(chan error, 1)
	go func() { errc <- x.StreamFills(sctx, func(tr exchange.Trade) { got <- tr }) }()
	<-srv.subscribed
	o, err := x.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTC", Side: exchange.Sell, Type: exchange.MarketOrder, Quantity: fixed.MustParse("0.001")})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := x.MyTrades(ctx, "BTC", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		tr := <-got
		if tr != ts[i] || tr.OrderID != o.ID {
			t.Fatalf("streamed %+v, MyTrades has %+v", tr, ts[i])
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the stream ended with %v", err)
	}
	select {
	case tr := <-got:
		t.Fatalf("more streamed than the new fills: %+v", tr)
	default:
	}
}

func FuzzParseWS(f *testing.F) {
	f.Add([]byte(`{"channel":"userFills","data":{"isSnapshot":true,"user":"0x31ca8395cf837de08b24da3f660e77761dfb974b","fills":[{"coin":"AVAX","px":"18.435","sz":"93.53","side":"B","time":1681222254710,"startPosition":"26.86","dir":"Open Long","closedPnl":"0.0","hash":"0xa1","oid":90542681,"crossed":false,"fee":"0.01","tid":118906512037719,"feeToken":"USDC"}]}}`))
	f.Add([]byte(`{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"userFills","user":"0x0"}}}`))
	f.Add([]byte(`{"channel":"pong"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, m, err := hl.ParseWS(b)
		if err == nil && ch == "userFills" && m == nil {
			t.Fatal("a userFills message without its fills")
		}
	})
}
