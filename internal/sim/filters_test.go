package sim

import (
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/fixed"
)

// TestMaxNumOrders: MAX_NUM_ORDERS counts an account's open orders on the
// symbol, waiting stops included; a cancel or a fill frees a place, other
// accounts and a restart keep their own count.
func TestMaxNumOrders(t *testing.T) {
	sym := btcusdt()
	sym.MaxNumOrders = 3
	e, err := New(DefaultConfig(), []Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a", "b"} {
		e.CreateAccount(a)
		e.Fund(1, a, "USDT", d("10000"))
		e.Fund(1, a, "BTC", d("10"))
	}
	e.JumpTo("BTCUSDT", 1, d("100"))
	buy := OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("1"), Price: d("90")}
	stop := OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("80")}
	var ids []int64
	for _, r := range []OrderRequest{buy, buy, stop} {
		o, _, err := e.Place(2, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	full := func(r OrderRequest) {
		t.Helper()
		if _, _, err := e.Place(3, r); !isError(err, -2010, "Filter failure: MAX_NUM_ORDERS") {
			t.Fatalf("fourth order: %v", err)
		}
	}
	full(buy)
	full(stop)
	other := buy
	other.Account = "b"
	if _, _, err := e.Place(3, other); err != nil {
		t.Fatalf("another account's order: %v", err)
	}
	// A market order that fills at once needs no place either way: it is
	// refused while the account is full, as Binance counts it as open
	// when it arrives.
	full(OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Buy, Type: Market, Quantity: d("0.1")})

	if _, err := e.Cancel(4, "a", "BTCUSDT", ids[0], ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Place(5, buy); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
	full(buy)
	// The price comes down to 90: both buys fill, two places free.
	if _, err := e.MoveTo("BTCUSDT", 6, d("89")); err != nil {
		t.Fatal(err)
	}
	low := buy
	low.Price = d("85") // below the price: rests
	for range 2 {
		if _, _, err := e.Place(7, low); err != nil {
			t.Fatalf("after the fills: %v", err)
		}
	}
	full(low)

	// A restart restores the count from the open orders.
	open, _ := e.OpenOrders("a", "")
	st := State{Accounts: []string{"a"}, Orders: make([]OrderState, 0, len(open))}
	for _, o := range open {
		st.Orders = append(st.Orders, OrderState{Order: o})
	}
	e2, _ := New(DefaultConfig(), []Symbol{sym}, nil)
	if err := e2.Restore(st); err != nil {
		t.Fatal(err)
	}
	e2.Fund(8, "a", "USDT", d("10000"))
	e2.JumpTo("BTCUSDT", 8, d("100"))
	if _, _, err := e2.Place(9, low); !isError(err, -2010, "Filter failure: MAX_NUM_ORDERS") {
		t.Fatalf("after restore: %v", err)
	}
}

// TestPercentPriceBySideProperty: an order with a price passes
// PERCENT_PRICE_BY_SIDE exactly when its price lies within its side's
// multipliers of the last price, computed in exact rationals.
func TestPercentPriceBySideProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mult := func(label string, lo, hi int64) fixed.Dec { return fixed.Dec(rapid.Int64Range(lo, hi).Draw(t, label)) }
		pp := PercentPriceBySide{BidDown: mult("bidDown", 0, int64(fixed.One)), AskDown: mult("askDown", 0, int64(fixed.One))}
		pp.BidUp = pp.BidDown + mult("bidUp", 1, 10*int64(fixed.One))
		pp.AskUp = pp.AskDown + mult("askUp", 1, 10*int64(fixed.One))
		sym := Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Filters: Filters{PercentPriceBySide: pp}}
		e, err := New(DefaultConfig(), []Symbol{sym}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.CreateAccount("a")
		e.Fund(0, "a", "USDT", fixed.Max/2)
		e.Fund(0, "a", "BTC", fixed.Max/2)
		last := mult("last", 1, 1_000_000*int64(fixed.One))
		e.JumpTo("BTCUSDT", 0, last)
		side := rapid.SampledFrom([]Side{Buy, Sell}).Draw(t, "side")
		price := mult("price", 1, 20_000_000*int64(fixed.One))
		_, _, err = e.Place(1, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: side, Type: LimitMaker, Quantity: 1, Price: price})
		up, down := pp.BidUp, pp.BidDown
		if side == Sell {
			up, down = pp.AskUp, pp.AskDown
		}
		rat := func(x fixed.Dec) *big.Rat { return big.NewRat(int64(x), int64(fixed.One)) }
		p, l := rat(price), rat(last)
		within := p.Cmp(new(big.Rat).Mul(l, rat(up))) <= 0 && p.Cmp(new(big.Rat).Mul(l, rat(down))) >= 0
		refused := isError(err, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE")
		if within == refused {
			t.Fatalf("%v at %v (last %v, %+v): within %v, err %v", side, price, last, pp, within, err)
		}
	})
}
