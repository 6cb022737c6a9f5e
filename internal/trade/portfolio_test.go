package trade

import (
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/sdk"
)

func newPortfolio(t testing.TB, a Account, pairs ...string) (*Portfolio, []PairID) {
	t.Helper()
	p, err := NewPortfolio(a)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]PairID, len(pairs))
	for k, pair := range pairs {
		if ids[k], err = p.Add(pair); err != nil {
			t.Fatal(err)
		}
	}
	return p, ids
}

// TestStakeSizing checks stakes against figures worked out by hand from
// Freqtrade's definitions: "unlimited" divides the tradable balance
// (stakes of open trades included) by max_open_trades, capped by what is
// available; a fixed stake is taken whole or not at all.
func TestStakeSizing(t *testing.T) {
	t.Parallel()
	r := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 1}
	open := func(t *testing.T, p *Portfolio, id PairID, pair string, at int64, want float64) {
		t.Helper()
		stake, ok := p.Stake(id)
		if !ok || math.Abs(stake-want) > 1e-9 {
			t.Fatalf("%s: stake %v %v, want %v", pair, stake, ok, want)
		}
		if _, err := p.Open(id, r.Open(pair, false, at, 100, stake, "")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("unlimited", func(t *testing.T) {
		t.Parallel()
		p, ids := newPortfolio(t, Account{StartingBalance: 1000, TradableBalanceRatio: 0.99, MaxOpenTrades: 3}, "A/X", "B/X", "C/X")
		open(t, p, ids[0], "A/X", 1, 330) // 990 / 3
		// A gains 10% (no fee): balance 1033, tradable 1022.67.
		r.Close(p.Trade(ids[0]), 2, 110, ExitSignal)
		if _, err := p.Close(ids[0]); err != nil {
			t.Fatal(err)
		}
		open(t, p, ids[1], "B/X", 3, 1033*0.99/3)
		open(t, p, ids[2], "C/X", 3, 1033*0.99/3)
		// The last slot gets what is left, which is again a third.
		open(t, p, ids[0], "A/X", 3, 1033*0.99-2*(1033*0.99/3))
		if p.OpenTrades() != 3 || math.Abs(p.Available()) > 1e-9 {
			t.Fatalf("open %d, available %v", p.OpenTrades(), p.Available())
		}
	})
	t.Run("unlimited after a loss shrinks to what is available", func(t *testing.T) {
		t.Parallel()
		p, ids := newPortfolio(t, Account{StartingBalance: 900, TradableBalanceRatio: 1, MaxOpenTrades: 3}, "A/X", "B/X", "C/X")
		open(t, p, ids[0], "A/X", 1, 300)
		open(t, p, ids[1], "B/X", 1, 300)
		r.Close(p.Trade(ids[0]), 2, 50, ExitStopLoss) // -150: balance 750
		if _, err := p.Close(ids[0]); err != nil {
			t.Fatal(err)
		}
		// (750 tradable) / 3 = 250, with 450 available.
		open(t, p, ids[2], "C/X", 3, 250)
	})
	t.Run("fixed", func(t *testing.T) {
		t.Parallel()
		p, ids := newPortfolio(t, Account{StartingBalance: 1000, StakeAmount: 400, TradableBalanceRatio: 0.99, MaxOpenTrades: -1}, "A/X", "B/X", "C/X")
		open(t, p, ids[0], "A/X", 1, 400)
		open(t, p, ids[1], "B/X", 1, 400)
		// 190 available: a 400 stake does not fit, and is not cut down.
		if stake, ok := p.Stake(ids[2]); ok {
			t.Fatalf("fixed stake with 190 available: %v", stake)
		}
	})
}

// TestSlotFreedByTheExit: an exit frees its slot at once, for another
// pair's entry at that same time (Freqtrade's rule).
func TestSlotFreedByTheExit(t *testing.T) {
	t.Parallel()
	r := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 1}
	p, ids := newPortfolio(t, Account{StartingBalance: 1000, StakeAmount: 100, TradableBalanceRatio: 1, MaxOpenTrades: 1}, "A/X", "B/X")
	if _, err := p.Open(ids[0], r.Open("A/X", false, 5, 100, 100, "")); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Stake(ids[1]); ok {
		t.Fatal("B/X took the slot A/X holds")
	}
	if _, err := p.Open(ids[1], r.Open("B/X", false, 7, 100, 100, "")); err == nil {
		t.Fatal("Open took the slot A/X holds")
	}
	r.Close(p.Trade(ids[0]), 7, 100, ExitSignal)
	if _, err := p.Close(ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Stake(ids[1]); !ok {
		t.Fatal("B/X may not take the slot A/X freed at the same time")
	}
	if _, err := p.Open(ids[1], r.Open("B/X", false, 7, 100, 100, "")); err != nil {
		t.Fatalf("Open refused the slot A/X freed at the same time: %v", err)
	}
}

func TestPortfolioRefusesMisuse(t *testing.T) {
	t.Parallel()
	for _, a := range []Account{
		{StartingBalance: 0, TradableBalanceRatio: 1, MaxOpenTrades: 1},
		{StartingBalance: 1, TradableBalanceRatio: 0, MaxOpenTrades: 1},
		{StartingBalance: 1, TradableBalanceRatio: 1.5, MaxOpenTrades: 1},
		{StartingBalance: 1, TradableBalanceRatio: 1, MaxOpenTrades: 0},
		{StartingBalance: 1, TradableBalanceRatio: 1, MaxOpenTrades: -1}, // unlimited stake, unlimited slots
		{StartingBalance: 1, StakeAmount: -1, TradableBalanceRatio: 1, MaxOpenTrades: 1},
		{StartingBalance: math.NaN(), TradableBalanceRatio: 1, MaxOpenTrades: 1},
	} {
		if _, err := NewPortfolio(a); err == nil {
			t.Errorf("NewPortfolio(%+v) accepted", a)
		}
	}
	p, ids := newPortfolio(t, Account{StartingBalance: 1000, TradableBalanceRatio: 1, MaxOpenTrades: 2}, "A/X", "B/X")
	if _, err := p.Add("A/X"); err == nil {
		t.Error("a pair added twice")
	}
	r := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 1}
	if _, err := p.Open(ids[1], r.Open("A/X", false, 1, 100, 10, "")); err == nil {
		t.Error("A/X's trade recorded on B/X")
	}
	if _, err := p.Close(ids[0]); err == nil {
		t.Error("closed a pair without an open trade")
	}
	if _, err := p.Open(ids[0], r.Open("A/X", false, 1, 100, 10, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Close(ids[0]); err == nil || !strings.Contains(err.Error(), "before it was closed") {
		t.Errorf("recorded a trade Rules did not close: %v", err)
	}
}

// TestPortfolioProperties drives a portfolio through random entries and
// exits on four pairs with the trade rules' own profit formulas, and
// checks after every step that it never stakes more than the tradable
// balance, never overdraws the wallet, never uses more slots than
// max_open_trades, never holds two trades on a pair, refuses what it must refuse
// without changing, and that closing everything leaves the starting
// balance plus the realised profits.
func TestPortfolioProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fee := rapid.Float64Range(0, 0.01).Draw(t, "fee")
		futures := rapid.Bool().Draw(t, "futures")
		rules := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Fee: fee, Leverage: 1,
			Slippage: rapid.Float64Range(0, 0.01).Draw(t, "slippage")}
		if futures {
			rules.Futures = true
			rules.Leverage = rapid.Float64Range(1, 10).Draw(t, "leverage")
		}
		a := Account{
			StartingBalance: rapid.Float64Range(1, 1e6).Draw(t, "wallet"),
			MaxOpenTrades:   rapid.IntRange(1, 5).Draw(t, "max_open_trades"),
		}
		// In spot, the part of the balance that is not tradable pays the
		// entry fees (Freqtrade's 1% reserve); the wallet is then never
		// overdrawn. Futures losses can exceed a margin (a gap beyond the
		// liquidation price), so only the other properties apply there.
		a.TradableBalanceRatio = rapid.Float64Range(0.01, 1/(1+fee)).Draw(t, "tradable_balance_ratio")
		if rapid.Bool().Draw(t, "fixed stake") {
			a.StakeAmount = rapid.Float64Range(0.01, 0.6).Draw(t, "stake share") * a.StartingBalance
			if rapid.Bool().Draw(t, "unlimited slots") {
				a.MaxOpenTrades = -1
			}
		}
		pairs := []string{"A/X", "B/X", "C/X", "D/X"}
		p, err := NewPortfolio(a)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]PairID, len(pairs))
		for k, pair := range pairs {
			if ids[k], err = p.Add(pair); err != nil {
				t.Fatal(err)
			}
		}
		var realised float64 // the test's own sum of closed trades' profits
		eps := 1e-9 * a.StartingBalance
		type state struct {
			balance, tiedUp float64
			open            int
		}
		snapshot := func() state { return state{p.Balance(), p.TiedUp(), p.OpenTrades()} }
		check := func() {
			var tied, spent float64
			var open int
			for _, id := range ids {
				if tr := p.Trade(id); tr != nil {
					tied += tr.Stake
					spent += tr.openValue() / tr.Leverage // margin plus the entry fee
					open++
				}
			}
			if open != p.OpenTrades() || math.Abs(tied-p.TiedUp()) > eps*max(1, tied/a.StartingBalance) {
				t.Fatalf("open %d tied up %v; the trades say %d and %v", p.OpenTrades(), p.TiedUp(), open, tied)
			}
			if a.MaxOpenTrades > 0 && open > a.MaxOpenTrades {
				t.Fatalf("%d trades open, max_open_trades %d", open, a.MaxOpenTrades)
			}
			if !futures && p.Balance()-spent < -eps {
				t.Fatalf("wallet overdrawn: balance %v, open trades cost %v", p.Balance(), spent)
			}
			if math.Abs(p.Balance()-(a.StartingBalance+realised)) > eps {
				t.Fatalf("balance %v, want start + realised %v", p.Balance(), a.StartingBalance+realised)
			}
		}
		closeTrade := func(k int, at int64, tr *Trade) {
			// Any price from 0 to three times the entry, within the
			// liquidation price in futures.
			rate := rapid.Float64Range(0, 3).Draw(t, "move") * tr.OpenRate
			if tr.LiquidationPrice > 0 {
				if tr.IsShort {
					rate = min(rate, tr.LiquidationPrice)
				} else {
					rate = max(rate, tr.LiquidationPrice)
				}
			}
			rules.Close(tr, at, rate, ExitSignal)
			closed, err := p.Close(ids[k])
			if err != nil {
				t.Fatal(err)
			}
			realised += closed.ProfitAbs
		}
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for at := int64(1); at <= int64(steps); at++ {
			check()
			for range rapid.IntRange(0, 6).Draw(t, "actions") {
				k := rapid.IntRange(0, len(pairs)-1).Draw(t, "pair")
				id := ids[k]
				if tr := p.Trade(id); tr != nil {
					if _, ok := p.Stake(id); ok {
						t.Fatalf("%s holds an open trade and may open another", pairs[k])
					}
					before := snapshot()
					if _, err := p.Open(id, rules.Open(pairs[k], false, at, 100, 1, "")); err == nil {
						t.Fatalf("a second open trade on %s", pairs[k])
					} else if snapshot() != before {
						t.Fatal("a refused open changed the portfolio")
					}
					if rapid.Bool().Draw(t, "exit") {
						closeTrade(k, at, tr)
					}
					check()
					continue
				}
				stake, ok := p.Stake(id)
				if !ok {
					// Whatever the refusal, a stake above what is
					// available is refused too, and changes nothing.
					before := snapshot()
					if _, err := p.Open(id, rules.Open(pairs[k], false, at, 100, max(p.Available(), 0)*1.5+1, "")); err == nil {
						t.Fatal("an open the portfolio said no to went through")
					} else if snapshot() != before {
						t.Fatal("a refused open changed the portfolio")
					}
					continue
				}
				if a.StakeAmount > 0 && stake != a.StakeAmount {
					t.Fatalf("fixed stake %v sized as %v", a.StakeAmount, stake)
				}
				short := futures && rapid.Bool().Draw(t, "short")
				price := rapid.Float64Range(0.001, 1e5).Draw(t, "price")
				tr, err := p.Open(id, rules.Open(pairs[k], short, at, price, stake, ""))
				if err != nil {
					t.Fatalf("Stake offered %v, Open refused it: %v", stake, err)
				}
				if p.TiedUp() > p.Balance()*a.TradableBalanceRatio+eps {
					t.Fatalf("stakes %v above the tradable balance %v", p.TiedUp(), p.Balance()*a.TradableBalanceRatio)
				}
				check()
				if rapid.Bool().Draw(t, "exit on the entry candle") {
					closeTrade(k, at, tr)
					check()
				}
			}
		}
		// Close everything: the wallet is the start plus the realised profit.
		for k, id := range ids {
			if tr := p.Trade(id); tr != nil {
				closeTrade(k, int64(steps)+1, tr)
			}
		}
		check()
		if p.OpenTrades() != 0 || math.Abs(p.TiedUp()) > eps {
			t.Fatalf("after closing everything: %d open, %v tied up", p.OpenTrades(), p.TiedUp())
		}
		if got, want := p.Balance(), a.StartingBalance+realised; math.Abs(got-want) > eps {
			t.Fatalf("final balance %v, want %v", got, want)
		}
	})
}

// A trade a venue has opened is recorded even when its fills cost more
// than the stake available (a market buy's slippage, which the part of the
// balance tradable_balance_ratio keeps back pays for); Open refuses the
// same trade. A live
// deployment whose market entry filled above the candle's close failed
// its tick on Open's refusal and could not restore the trade it held.
func TestPortfolioRecordsAFillAboveTheAvailableStake(t *testing.T) {
	t.Parallel()
	acct := Account{StartingBalance: 1, TradableBalanceRatio: 0.99, MaxOpenTrades: 1}
	r := Rules{Risk: sdk.Risk{Stoploss: -0.1}, Leverage: 1}
	filled := r.Open("ETH/BTC", false, 1, 0.1002, 0.99224884, "")
	p, ids := newPortfolio(t, acct, "ETH/BTC")
	if _, err := p.Open(ids[0], filled); err == nil {
		t.Fatal("Open recorded a stake above the available one")
	}
	if p.OpenTrades() != 0 || p.TiedUp() != 0 {
		t.Fatalf("a refused Open changed the portfolio: %d open, %v tied up", p.OpenTrades(), p.TiedUp())
	}
	tr, err := p.Filled(ids[0], filled)
	if err != nil {
		t.Fatalf("Filled refused the venue's trade: %v", err)
	}
	if tr.Stake != 0.99224884 || p.TiedUp() != 0.99224884 || p.Available() >= 0 {
		t.Errorf("after the fill: stake %v, tied up %v, available %v", tr.Stake, p.TiedUp(), p.Available())
	}
	if _, err := p.Filled(ids[0], filled); err == nil {
		t.Error("Filled recorded a second trade on the pair")
	}
	q, qids := newPortfolio(t, acct, "ETH/BTC")
	if _, err := q.Filled(qids[0], Trade{Pair: "ETH/BTC"}); err == nil {
		t.Error("Filled recorded a trade with no stake")
	}
}
