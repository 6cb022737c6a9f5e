package backtest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tradai/tradai/internal/trade"
)

// Settings.Closed sees every trade of the result as it closes, in the
// result's order, with several pairs (scanned ahead) and the forced exits
// at the end; the trades it is given are the result's, unchanged after:
// it may keep the pointers.
func TestClosedInResultOrder(t *testing.T) {
	t.Parallel()
	s := benchSettings(1)
	s.ScanAhead, s.MaxOpenTrades = true, 3
	var series []Series
	for k := range 5 {
		f := signalled(fmt.Sprintf("P%d/USDT", k), 5_000-k*97, 9, uint64(k+1), k*13, k%2 == 0)
		series = append(series, Series{Frame: f, From: 3 + k, To: f.Len() - k})
	}
	var seen []trade.Trade
	var kept []*trade.Trade
	s.Closed = func(tr *trade.Trade) { seen, kept = append(seen, *tr), append(kept, tr) }
	res, err := Simulate(context.Background(), s, series)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trades) < 100 || !slices.Equal(seen, res.Trades) {
		t.Fatalf("Closed saw %d trades, not the result's %d in its order", len(seen), len(res.Trades))
	}
	for i, tr := range kept {
		if *tr != res.Trades[i] {
			t.Fatalf("trade %d changed after Closed was given it", i)
		}
	}
	var forced int
	for _, tr := range res.Trades {
		if tr.ExitReason == trade.ExitForce {
			forced++
		}
	}
	if forced == 0 {
		t.Error("no forced exit at the end: the case does not test them")
	}
}
