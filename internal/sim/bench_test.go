package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/internal/fixed"
)

// BenchmarkEngine measures order events per second in-process: a mix of
// limit orders placed around the price (some marketable), cancels, market
// orders and candles that fill resting orders, over 100 accounts on one
// symbol, with a journal attached as the server has. Each placement, cancel
// and fill counts as one event.
func BenchmarkEngine(b *testing.B) {
	for _, journal := range []bool{false, true} {
		name := "journal=off"
		if journal {
			name = "journal=on"
		}
		b.Run(name, func(b *testing.B) {
			var j Journal
			if journal {
				j = &countingJournal{}
			}
			e, err := New(DefaultConfig(), []Symbol{btcusdt()}, j)
			if err != nil {
				b.Fatal(err)
			}
			const accounts = 100
			ids := make([]string, accounts)
			for i := range ids {
				ids[i] = "acct" + string(rune('A'+i%26)) + string(rune('a'+i/26))
				e.CreateAccount(ids[i])
				e.Fund(0, ids[i], "USDT", d("10000000"))
				e.Fund(0, ids[i], "BTC", d("100000"))
			}
			e.JumpTo("BTCUSDT", 0, d("100"))
			rng := rand.New(rand.NewPCG(1, 2))
			var open []int64
			var owner []string
			events := 0
			now := int64(1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now++
				acct := ids[rng.IntN(accounts)]
				switch r := rng.IntN(100); {
				case r < 55: // a limit order within ±1% of 100
					side := Buy
					if rng.IntN(2) == 1 {
						side = Sell
					}
					price := fixed.Dec(9900+rng.IntN(201)) * d("0.01")
					o, fills, err := e.Place(now, OrderRequest{Account: acct, Symbol: "BTCUSDT", Side: side, Type: Limit, TimeInForce: GTC, Quantity: d("0.1"), Price: price})
					if err != nil {
						b.Fatal(err)
					}
					events += 1 + len(fills)
					if o.Status.Open() {
						open = append(open, o.ID)
						owner = append(owner, acct)
					}
				case r < 85 && len(open) > 0: // cancel a random open order
					k := rng.IntN(len(open))
					if _, err := e.Cancel(now, owner[k], "BTCUSDT", open[k], ""); err == nil {
						events++
					}
					open[k], owner[k] = open[len(open)-1], owner[len(owner)-1]
					open, owner = open[:len(open)-1], owner[:len(owner)-1]
				case r < 95: // a market order
					side := Buy
					if rng.IntN(2) == 1 {
						side = Sell
					}
					_, fills, err := e.Place(now, OrderRequest{Account: acct, Symbol: "BTCUSDT", Side: side, Type: Market, Quantity: d("0.1")})
					if err != nil {
						b.Fatal(err)
					}
					events += 1 + len(fills)
				default: // a candle around 100
					fills, err := e.ReplayCandle("BTCUSDT", Candle{Time: now * 60_000, Open: d("100"), High: d("100.6"), Low: d("99.4"), Close: d("100"), Volume: d("1000")}, 60_000)
					if err != nil {
						b.Fatal(err)
					}
					events += len(fills)
				}
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

type countingJournal struct{ n int }

func (c *countingJournal) Record(ev []Event) { c.n += len(ev) }
