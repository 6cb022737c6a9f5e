package sim

import (
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/fixed"
)

// propSymbols are two symbols sharing the quote asset, with tick 0.01 and
// step 0.001 and no notional limits, so most random orders pass the filters.
func propSymbols() []Symbol {
	f := Filters{TickSize: d("0.01"), MinPrice: d("0.01"), StepSize: d("0.001"), MinQty: d("0.001")}
	return []Symbol{{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Filters: f}, {Name: "ETHUSDT", Base: "ETH", Quote: "USDT", Filters: f}}
}

// model is what the balances must be: deposits plus every fill's effect.
type model map[string]map[string]fixed.Dec

func (m model) add(acct, asset string, v fixed.Dec) {
	if m[acct] == nil {
		m[acct] = map[string]fixed.Dec{}
	}
	m[acct][asset] += v
}

func genPrice(t *rapid.T, label string, around fixed.Dec) fixed.Dec {
	// Within ±20% of around, on the 0.01 tick, at least 0.01.
	lo := max(d("0.01"), around*8/10)
	p := fixed.Dec(rapid.Int64Range(int64(lo), int64(around*12/10)).Draw(t, label))
	return max(p.FloorTo(d("0.01")), d("0.01"))
}

// TestProperties runs random sequences of orders, cancels, candles, gaps
// and deposits on two accounts and checks after every step: no balance is
// negative; each account's free+locked per asset equals its deposits plus
// the effect of its fills (so nothing is created, lost or charged twice);
// every fee is the rate of its kind applied once to the asset received; an
// account without open orders locks nothing; and cancelling everything
// unlocks everything.
func TestProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultConfig()
		cfg.MakerFee = fixed.Dec(rapid.Int64Range(0, 500_000).Draw(t, "maker")) // up to 0.5%
		cfg.TakerFee = fixed.Dec(rapid.Int64Range(0, 500_000).Draw(t, "taker"))
		cfg.Spread = fixed.Dec(rapid.Int64Range(0, 1_000_000).Draw(t, "spread"))
		cfg.Slippage = fixed.Dec(rapid.Int64Range(0, 500_000).Draw(t, "slippage"))
		cfg.VolumeShare = fixed.Dec(rapid.SampledFrom([]int64{0, 1_000_000, 10_000_000, 100_000_000}).Draw(t, "share"))
		e, err := New(cfg, propSymbols(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := model{}
		accounts := []string{"a", "b"}
		now := int64(1)
		for _, a := range accounts {
			e.CreateAccount(a)
			for _, asset := range []string{"USDT", "BTC", "ETH"} {
				amt := fixed.Dec(rapid.Int64Range(0, 1000*int64(fixed.One)).Draw(t, "deposit"))
				if _, err := e.Fund(now, a, asset, amt); err != nil {
					t.Fatal(err)
				}
				want.add(a, asset, amt)
			}
		}
		price := map[string]fixed.Dec{"BTCUSDT": d("100"), "ETHUSDT": d("10")}
		for sym, p := range price {
			e.JumpTo(sym, now, p)
		}
		var placed []Order
		fee := func(f Fill) {
			rate := cfg.TakerFee
			if f.Maker {
				rate = cfg.MakerFee
			}
			base := f.Qty
			if f.Side == Sell {
				base = f.QuoteQty
			}
			if f.Commission != mulRound(base, rate) {
				t.Fatalf("fill %+v: commission %v, want %v", f, f.Commission, mulRound(base, rate))
			}
		}
		apply := func(fills []Fill) {
			for _, f := range fills {
				fee(f)
				s, _ := e.Symbol(f.Symbol)
				if f.Side == Buy {
					want.add(f.Account, s.Base, f.Qty-f.Commission)
					want.add(f.Account, s.Quote, -f.QuoteQty)
				} else {
					want.add(f.Account, s.Base, -f.Qty)
					want.add(f.Account, s.Quote, f.QuoteQty-f.Commission)
				}
			}
		}
		check := func(step string) {
			for _, a := range accounts {
				bs, _ := e.Balances(a)
				open, _ := e.OpenOrders(a, "")
				got := map[string]fixed.Dec{}
				for _, b := range bs {
					if b.Free < 0 || b.Locked < 0 {
						t.Fatalf("%s: %s has a negative balance %+v", step, a, b)
					}
					if len(open) == 0 && b.Locked != 0 {
						t.Fatalf("%s: %s has no open order but locks %v %s", step, a, b.Locked, b.Asset)
					}
					got[b.Asset] = b.Free + b.Locked
				}
				for asset, v := range want[a] {
					if got[asset] != v {
						t.Fatalf("%s: %s holds %v %s, want %v", step, a, got[asset], asset, v)
					}
				}
			}
		}
		check("start")
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			now += 1000
			sym := rapid.SampledFrom([]string{"BTCUSDT", "ETHUSDT"}).Draw(t, "symbol")
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5: // place
				typ := rapid.SampledFrom(OrderTypes()).Draw(t, "type")
				r := OrderRequest{Account: rapid.SampledFrom(accounts).Draw(t, "account"), Symbol: sym,
					Side: rapid.SampledFrom([]Side{Buy, Sell}).Draw(t, "side"), Type: typ}
				if typ == Market && rapid.Bool().Draw(t, "byQuote") {
					r.QuoteOrderQty = fixed.Dec(rapid.Int64Range(1, 200*int64(fixed.One)).Draw(t, "quoteQty"))
				} else {
					r.Quantity = fixed.Dec(rapid.Int64Range(1, 20_000).Draw(t, "qty")) * d("0.001")
				}
				if typ.hasPrice() {
					r.Price = genPrice(t, "price", price[sym])
				}
				if typ.IsStop() {
					r.StopPrice = genPrice(t, "stop", price[sym])
				}
				if typ == Limit || typ == StopLossLimit || typ == TakeProfitLimit {
					r.TimeInForce = rapid.SampledFrom([]TimeInForce{GTC, IOC, FOK}).Draw(t, "tif")
				}
				if rapid.Bool().Draw(t, "clientID") {
					r.ClientOrderID = fmt.Sprint("c", rapid.IntRange(0, 3).Draw(t, "cid"))
				}
				o, fills, err := e.Place(now, r)
				if err == nil {
					placed = append(placed, o)
					if o.ExecutedQty > o.OrigQty {
						t.Fatalf("order %+v executed more than its quantity", o)
					}
				} else if e := (*Error)(nil); !errors.As(err, &e) {
					t.Fatalf("place %+v: %v", r, err)
				}
				apply(fills)
			case op < 7 && len(placed) > 0: // cancel
				o := rapid.SampledFrom(placed).Draw(t, "cancel")
				e.Cancel(now, o.Account, o.Symbol, o.ID, "")
			case op < 9: // candle
				o := genPrice(t, "open", price[sym])
				c := genPrice(t, "close", o)
				lo := max(d("0.01"), min(o, c)-fixed.Dec(rapid.Int64Range(0, int64(o/10)).Draw(t, "down")).FloorTo(d("0.01")))
				hi := max(o, c) + fixed.Dec(rapid.Int64Range(0, int64(o/10)).Draw(t, "up")).FloorTo(d("0.01"))
				vol := fixed.Dec(rapid.Int64Range(0, 100*int64(fixed.One)).Draw(t, "volume"))
				fills, err := e.ReplayCandle(sym, Candle{Time: now, Open: o, High: hi, Low: lo, Close: c, Volume: vol}, 1000)
				if err != nil {
					t.Fatal(err)
				}
				apply(fills)
				price[sym] = c
			default: // gap
				p := genPrice(t, "gap", price[sym])
				fills, _ := e.JumpTo(sym, now, p)
				apply(fills)
				price[sym] = p
			}
			check(fmt.Sprint("step ", i))
		}
		for _, a := range accounts {
			open, _ := e.OpenOrders(a, "")
			for _, o := range open {
				if _, err := e.Cancel(now, a, o.Symbol, o.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			bs, _ := e.Balances(a)
			for _, b := range bs {
				if b.Locked != 0 {
					t.Fatalf("%s still locks %v %s with every order cancelled", a, b.Locked, b.Asset)
				}
			}
		}
		check("end")
	})
}
