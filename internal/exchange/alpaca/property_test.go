package alpaca_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// TestBalancesAddUp: through random placements, partial fills, price
// moves and cancels, what the adapter reports agrees with itself — the
// cash moved by exactly the trades' values, the shares held are the
// trades' net quantity, the locked cash and shares are what the open
// orders still need, and each order's executed quantity is the sum of its
// trades.
func TestBalancesAddUp(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			srv, c := newAccount(t)
			rng := rand.New(rand.NewPCG(seed, 7))
			price := fixed.MustParse("180.25")
			cent := fixed.MustParse("0.01")
			n := 0
			for step := range 60 {
				open, err := c.OpenOrders(ctx, "AAPL")
				if err != nil {
					t.Fatal(err)
				}
				bs := balances(t, c)
				qty := fixed.Dec(rng.Int64N(3*int64(fixed.One)) + int64(fixed.One)/100).FloorTo(fixed.MustParse("0.001"))
				n++
				id := fmt.Sprintf("p-%d-%d", seed, n)
				switch op := rng.IntN(6); {
				case op == 0:
					p := price - fixed.Dec(rng.Int64N(500))*cent
					_, err = c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.LimitOrder, Price: p, Quantity: qty, ClientOrderID: id})
				case op == 1:
					_, err = c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: qty, ClientOrderID: id})
				case op == 2 && bs["AAPL"].Free > 0:
					q := min(qty, bs["AAPL"].Free)
					p := price + fixed.Dec(rng.Int64N(500))*cent
					_, err = c.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "AAPL", Side: exchange.Sell, Type: exchange.LimitOrder, Price: p, Quantity: q, ClientOrderID: id})
				case op == 3 && len(open) > 0:
					_, err = c.CancelOrder(ctx, "AAPL", exchange.OrderRef{ID: open[rng.IntN(len(open))].ID})
				case op == 4 && len(open) > 0:
					o := open[rng.IntN(len(open))]
					left := o.Quantity - o.Executed
					part := max(fixed.Dec(rng.Int64N(int64(left))).FloorTo(fixed.MustParse("0.001")), min(left, fixed.MustParse("0.001")))
					err = srv.Fill(rawOrderID(t, srv, o.ClientOrderID), part)
				case op == 5:
					price = max(price+fixed.Dec(rng.Int64N(801)-400)*cent, fixed.One)
					srv.Move("AAPL", price)
				}
				if err != nil && !isRule(err) {
					t.Fatalf("step %d: %v", step, err)
				}
				check(t, c)
			}
			if ts, _ := c.MyTrades(ctx, "AAPL", 0); len(ts) < 5 {
				t.Fatalf("%d trades in 60 steps: the walk proves little", len(ts))
			}
		})
	}
}

// isRule reports whether err is the venue refusing an order by its rules
// (no buying power, under $1): a valid outcome of a random order.
func isRule(err error) bool {
	return errors.Is(err, exchange.ErrInsufficientBalance) || errors.Is(err, exchange.ErrFilter)
}

func balances(t *testing.T, c exchange.Exchange) map[string]exchange.Balance {
	t.Helper()
	bs, err := c.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exchange.Balance{}
	for _, b := range bs {
		out[b.Asset] = b
	}
	return out
}

func check(t *testing.T, c exchange.Exchange) {
	t.Helper()
	bs := balances(t, c)
	trades, err := c.MyTrades(ctx, "AAPL", 0)
	if err != nil {
		t.Fatal(err)
	}
	cash, shares := fixed.MustParse("10000"), fixed.Dec(0)
	executed := map[int64]fixed.Dec{}
	for _, tr := range trades {
		if tr.Side == exchange.Buy {
			cash, shares = cash-tr.QuoteQty, shares+tr.Qty
		} else {
			cash, shares = cash+tr.QuoteQty, shares-tr.Qty
		}
		executed[tr.OrderID] += tr.Qty
	}
	usd, aapl := bs["USD"], bs["AAPL"]
	if usd.Free+usd.Locked != cash || aapl.Free+aapl.Locked != shares {
		t.Fatalf("balances %+v, %+v: the trades say cash %v, shares %v", usd, aapl, cash, shares)
	}
	open, err := c.OpenOrders(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	var lockCash, lockShares fixed.Dec
	for _, o := range open {
		if o.Executed != executed[o.ID] {
			t.Fatalf("order %+v: executed %v, its trades %v", o, o.Executed, executed[o.ID])
		}
		if o.Side == exchange.Buy {
			lockCash += fixed.MulCeil(o.Price, o.Quantity-o.Executed)
		} else {
			lockShares += o.Quantity - o.Executed
		}
	}
	if usd.Locked != lockCash || aapl.Locked != lockShares {
		t.Fatalf("locked %v USD, %v AAPL; the open orders need %v, %v", usd.Locked, aapl.Locked, lockCash, lockShares)
	}
}
