package runner_test

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// With order_types limit for entries, exits and the stop, the deployment
// sends limit and stop-limit orders; on the simulator (no spread) they
// fill where the market orders filled: the backtest's trades.
func TestLimitOrderTypesMakeTheBacktestsTrades(t *testing.T) {
	w := newWorldWith(t, `, "stoploss": -0.01, "order_types": {"entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": true}`, 4)
	p := newPaper(t, w, nil)
	p.run(t, p.runner(t, w), start, start+4*86_400_000-dur)
	got := p.trades(t)
	exact, _, why := compare(t, w, got)
	if float64(exact) < 0.95*float64(len(got)) {
		t.Fatalf("%d of %d trades the same (%v)", exact, len(got), why)
	}
	os, err := p.store.Orders(context.Background(), p.lease.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, o := range os {
		types[o.Leg.String()+" "+string(o.Type)]++
		if o.Type == exchange.MarketOrder {
			t.Fatalf("a market order with order_types limit: %+v", o)
		}
	}
	if types["entry LIMIT"] == 0 || types["exit LIMIT"] == 0 || types["exit STOP_LOSS_LIMIT"] == 0 {
		t.Fatalf("order types sent: %v", types)
	}
	checkVenue(t, p)
}

// aloof makes some limit orders rest instead of filling at once: the
// entries of odd trades (bid 10 % under the price) and the first exit at
// the price now of each trade (asked 10 % above it; the take-profit rests
// far above, at 1000 %).
type aloof struct {
	exchange.Exchange
	exited map[int64]bool
}

func (a *aloof) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	ref, err := deploy.ParseClientOrderID(req.ClientOrderID)
	if err != nil || req.Type != exchange.LimitOrder {
		return a.Exchange.PlaceOrder(ctx, req)
	}
	switch {
	case ref.Leg == deploy.Entry && ref.TradeSeq%2 == 1:
		req.Price = fixed.MulFloor(req.Price, fixed.MustParse("0.9")).FloorTo(fixed.MustParse("0.01"))
	case ref.Leg == deploy.Exit && !a.exited[ref.TradeSeq] && req.Price < fixed.MustParse("1000"): // not the take-profit far above
		a.exited[ref.TradeSeq] = true
		req.Price = fixed.MulFloor(req.Price, fixed.MustParse("1.1")).FloorTo(fixed.MustParse("0.01"))
	}
	return a.Exchange.PlaceOrder(ctx, req)
}

// unfilledtimeout: a limit entry still unfilled after its timeout is
// cancelled (no trade), a limit exit is cancelled and placed again at the
// price then, with the next attempt's client order id.
func TestUnfilledTimeout(t *testing.T) {
	w := newWorldWith(t, `, "minimal_roi": {"0": 10}, "order_types": {"entry": "limit", "exit": "limit", "stoploss": "market", "stoploss_on_exchange": false},
		"unfilledtimeout": {"entry": 10, "exit": 600, "unit": "seconds"}`, 2)
	a := &aloof{exited: map[int64]bool{}}
	p := newPaper(t, w, func(x exchange.Exchange) exchange.Exchange { a.Exchange = x; return a })
	p.run(t, p.runner(t, w), start, start+2*86_400_000-dur)
	os, err := p.store.Orders(context.Background(), p.lease.Tenant, p.dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	trades := map[int64]deploy.Trade{}
	for _, tr := range p.trades(t) {
		trades[tr.Seq] = tr
	}
	byTrade := map[int64][]deploy.Order{}
	for _, o := range os {
		byTrade[o.TradeSeq] = append(byTrade[o.TradeSeq], o)
	}
	cancelledEntries, replacedExits := 0, 0
	for seq, os := range byTrade {
		entry := os[0]
		if entry.Leg != deploy.Entry || entry.Type != exchange.LimitOrder {
			t.Fatalf("trade %d's first order %+v", seq, entry)
		}
		if seq%2 == 1 {
			// Bid under the market: cancelled after 10 s, at the next close.
			if entry.Status != exchange.StatusCanceled || entry.Executed != 0 || len(os) != 1 {
				t.Fatalf("trade %d's entry resting under the market: %+v (%d orders)", seq, entry, len(os))
			}
			if _, ok := trades[seq]; ok {
				t.Fatalf("a cancelled entry opened trade %d", seq)
			}
			if entry.Updated.Sub(entry.Created) != dur*1e6 {
				t.Fatalf("trade %d's entry cancelled %v after its placement, want at the next close", seq, entry.Updated.Sub(entry.Created))
			}
			cancelledEntries++
			continue
		}
		var exits []deploy.Order
		for _, o := range os[1:] {
			if o.Type == exchange.LimitOrder && o.Price < fixed.MustParse("1000") { // not the ROI far above
				exits = append(exits, o)
			}
		}
		tr, ok := trades[seq]
		if !ok || tr.Open || len(exits) < 2 {
			continue
		}
		first, last := exits[0], exits[len(exits)-1]
		if first.Status != exchange.StatusCanceled || last.Status != exchange.StatusFilled || last.Attempt <= first.Attempt {
			t.Fatalf("trade %d's exits: %+v", seq, exits)
		}
		if got := first.Updated.Sub(first.Created); got < 600e9 || got > 600e9+dur*1e6 {
			t.Fatalf("trade %d's first exit cancelled %v after its placement, want the first close 10 minutes after", seq, got)
		}
		replacedExits++
	}
	if cancelledEntries == 0 || replacedExits == 0 {
		t.Fatalf("%d entries cancelled, %d exits placed again", cancelledEntries, replacedExits)
	}
	t.Logf("%d entries cancelled after their timeout, %d exits placed again", cancelledEntries, replacedExits)
}
