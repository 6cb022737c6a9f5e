package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/binance"
	"github.com/tradai/tradai/internal/exchange/hyperliquid"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/trade"
)

// The three live venues stream fills.
var (
	_ runner.FillStreamer = (*binance.Streaming)(nil)
	_ runner.FillStreamer = (*alpaca.Client)(nil)
	_ runner.FillStreamer = (*hyperliquid.Exchange)(nil)
)

// fillStream is a venue whose fill stream the test feeds.
type fillStream struct {
	exchange.Exchange
	fills chan exchange.Trade
}

func (f *fillStream) StreamFills(ctx context.Context, fn func(exchange.Trade)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t := <-f.fills:
			fn(t)
		}
	}
}

// A resting stop-loss that fills between two candle closes closes its
// trade when the venue's stream reports the fill: recorded (trade and
// order) while the clock still stands before the next close.
func TestStreamedFillOfARestingStopIsRecordedAtOnce(t *testing.T) {
	w := newWorldWith(t, `, "stoploss": -0.05, "minimal_roi": {"0": 10}, "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": true}`, 2)
	fs := &fillStream{fills: make(chan exchange.Trade, 1)}
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { fs.Exchange = x; return fs })
	ctx := context.Background()
	// Step until a trade's stop rests on the venue.
	r := p.runner(t, w)
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		t.Fatal(err)
	}
	var stop deploy.Order
	now := start
	for stop.VenueID == 0 {
		now += dur
		if now > start+2*86_400_000 {
			t.Fatal("no stop rested on the venue")
		}
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		os, err := p.store.Orders(ctx, p.lease.Tenant, p.dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			if o.Leg == deploy.Exit && o.Type == exchange.StopLossOrder && o.Open() {
				stop = o
			}
		}
	}
	// A runner on a clock standing between the closes follows the stream.
	clk := clock.NewFake(time.UnixMilli(now + dur/2))
	r = p.runnerOn(t, w, clk)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	}()
	if err := clk.BlockUntil(ctx, 1); err != nil { // waiting for the next close
		t.Fatal(err)
	}
	// The price falls through the stop: the venue fills it, the stream
	// says so.
	symbol := strings.ReplaceAll(stop.Pair, "/", "")
	fills, err := p.eng.MoveTo(symbol, p.feed.Now(), fixed.MulFloor(stop.StopPrice, fixed.MustParse("0.98")).FloorTo(fixed.MustParse("0.01")))
	if err != nil || len(fills) == 0 {
		t.Fatalf("moving %s under the stop %s: %d fills, %v", symbol, stop.StopPrice, len(fills), err)
	}
	fs.fills <- exchange.Trade{Symbol: symbol, OrderID: stop.VenueID}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var closed *deploy.Trade
		for _, tr := range p.trades(t) {
			if tr.Seq == stop.TradeSeq && !tr.Open {
				closed = &tr
			}
		}
		if closed != nil {
			if closed.Record.ExitReason != trade.ExitStopLoss && closed.Record.ExitReason != trade.ExitTrailingStop {
				t.Fatalf("closed for %s", closed.Record.ExitReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the streamed fill of the stop was not recorded before the next close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if clk.Now().UnixMilli() >= now+dur {
		t.Fatal("the clock reached the next close")
	}
	os, err := p.store.Orders(ctx, p.lease.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		if o.ClientOrderID == stop.ClientOrderID && o.Status != exchange.StatusFilled {
			t.Fatalf("the stop is recorded %s", o.Status)
		}
	}
}

// bidUnder makes limit entries rest 10 % under the price.
type bidUnder struct{ *fillStream }

func (b bidUnder) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	if ref, err := deploy.ParseClientOrderID(req.ClientOrderID); err == nil && ref.Leg == deploy.Entry && req.Type == exchange.LimitOrder {
		req.Price = fixed.MulFloor(req.Price, fixed.MustParse("0.9")).FloorTo(fixed.MustParse("0.01"))
	}
	return b.fillStream.PlaceOrder(ctx, req)
}

// A limit entry that fills between two candle closes opens its trade when
// the venue's stream reports the fill, before the next close.
func TestStreamedFillOfALimitEntryOpensTheTradeAtOnce(t *testing.T) {
	w := newWorldWith(t, `, "order_types": {"entry": "limit", "exit": "market", "stoploss": "market", "stoploss_on_exchange": false},
		"unfilledtimeout": {"entry": 100000, "exit": 600, "unit": "minutes"}`, 2)
	fs := &fillStream{fills: make(chan exchange.Trade, 1)}
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { fs.Exchange = x; return bidUnder{fs} })
	ctx := context.Background()
	r := p.runner(t, w)
	if err := r.Start(ctx, time.UnixMilli(start)); err != nil {
		t.Fatal(err)
	}
	var entry deploy.Order
	now := start
	for entry.VenueID == 0 {
		now += dur
		if now > start+2*86_400_000 {
			t.Fatal("no limit entry rested on the venue")
		}
		if err := p.feed.AdvanceTo(now); err != nil {
			t.Fatal(err)
		}
		p.clk.Set(time.UnixMilli(now))
		if err := r.Step(ctx, time.UnixMilli(now)); err != nil {
			t.Fatal(err)
		}
		os, err := p.store.Orders(ctx, p.lease.Tenant, p.dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			if o.Leg == deploy.Entry && o.Type == exchange.LimitOrder && o.Open() {
				entry = o
			}
		}
	}
	clk := clock.NewFake(time.UnixMilli(now + dur/2))
	r = p.runnerOn(t, w, clk)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- r.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	}()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	symbol := strings.ReplaceAll(entry.Pair, "/", "")
	open, err := fs.OpenOrders(ctx, symbol)
	if err != nil || len(open) != 1 {
		t.Fatalf("open orders %+v, %v", open, err)
	}
	bid := open[0].Price // bidUnder's, under the price the runner asked
	if fills, err := p.eng.MoveTo(symbol, p.feed.Now(), fixed.MulFloor(bid, fixed.MustParse("0.99")).FloorTo(fixed.MustParse("0.01"))); err != nil || len(fills) == 0 {
		t.Fatalf("moving %s under the entry's bid %s: %d fills, %v", symbol, bid, len(fills), err)
	}
	fs.fills <- exchange.Trade{Symbol: symbol, OrderID: entry.VenueID}
	deadline := time.Now().Add(10 * time.Second)
	for opened := false; !opened; {
		for _, tr := range p.trades(t) {
			opened = opened || tr.Seq == entry.TradeSeq
		}
		if !opened && time.Now().After(deadline) {
			t.Fatal("the streamed fill of the entry did not open its trade before the next close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if clk.Now().UnixMilli() >= now+dur {
		t.Fatal("the clock reached the next close")
	}
}
