package runner_test

import (
	"context"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
)

// lostAnswers places every order and answers every other placement as
// the Binance adapter answers Binance's -1007 (503, "execution status
// unknown"): the order may or may not be placed. (Every other: failures
// in a row would open the venue's circuit breaker.)
type lostAnswers struct {
	exchange.Exchange
	placed, lost int
}

func (l *lostAnswers) PlaceOrder(ctx context.Context, req exchange.OrderRequest) (exchange.Order, error) {
	o, err := l.Exchange.PlaceOrder(ctx, req)
	if l.placed++; err != nil || l.placed%2 == 0 {
		return o, err
	}
	l.lost++
	return exchange.Order{}, &exchange.Error{Kind: exchange.ErrUnknownStatus, HTTPStatus: 503, Code: -1007,
		Msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown."}
}

// Binance's -1007 is handled by lookup: with every other placement
// answered so, the runner looks each order up by its client order id instead of
// sending it again or taking it as refused, and makes the trades it makes
// with clean answers; the venue holds every client order id once.
func TestUnknownStatusIsLookedUp(t *testing.T) {
	w := newWorld(t, 1)
	end := start + 86_400_000 - dur
	clean := newPaper(t, w, nil)
	clean.run(t, clean.runner(t, w), start, end)
	want := clean.trades(t)

	x := &lostAnswers{}
	p := newPaper(t, w, func(sx exchange.Exchange) exchange.Exchange { x.Exchange = sx; return x })
	p.run(t, p.runner(t, w), start, end)
	if x.lost == 0 || len(want) == 0 {
		t.Fatalf("%d answers lost, %d trades: the test proves nothing", x.lost, len(want))
	}
	sameTrades(t, p.trades(t), want)
	checkVenue(t, p)
}
