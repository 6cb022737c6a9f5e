package sim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/tradai/tradai/internal/fixed"
)

// State is what an engine needs to resume after a restart: accounts, their
// balances, the open orders with what they lock, and the last ids used.
type State struct {
	Accounts    []string
	Balances    []BalanceEvent
	Orders      []OrderState // open orders
	LastOrderID int64
	LastTradeID int64
}

// OrderState is an open order as persisted (see OrderEvent).
type OrderState struct {
	Order
	Locked      fixed.Dec
	CumQuoteRem int64
	TrailPeak   fixed.Dec
}

// Restore loads st into an engine that has no accounts yet. It records
// nothing in the journal.
func (e *Engine) Restore(st State) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.accounts) > 0 {
		return fmt.Errorf("restore simulator state: the engine already has accounts")
	}
	for _, id := range st.Accounts {
		e.accounts[id] = newAccount(id)
	}
	for _, b := range st.Balances {
		a, ok := e.accounts[b.Account]
		if !ok {
			return fmt.Errorf("restore simulator state: balance of unknown account %s", b.Account)
		}
		if b.Free < 0 || b.Locked < 0 {
			return fmt.Errorf("restore simulator state: negative %s balance of %s", b.Asset, b.Account)
		}
		x := a.balance(b.Asset)
		x.free, x.locked = b.Free, b.Locked
	}
	orders := slices.Clone(st.Orders)
	slices.SortFunc(orders, func(x, y OrderState) int { return cmp.Compare(x.ID, y.ID) })
	for _, os := range orders {
		a, ok := e.accounts[os.Account]
		if !ok {
			return fmt.Errorf("restore simulator state: order %d of unknown account %s", os.ID, os.Account)
		}
		b, ok := e.books[os.Symbol]
		if !ok {
			return fmt.Errorf("restore simulator state: order %d on %s, which this simulator does not trade", os.ID, os.Symbol)
		}
		if !os.Status.Open() {
			continue
		}
		units := os.CumQuote
		if os.Side == Buy && os.CumQuoteRem > 0 {
			units-- // buys round their quote sum up
		}
		o := &order{Order: os.Order, acct: a, book: b, lockQuote: os.Side == Buy, locked: os.Locked,
			cum: fixed.Exact{Units: units, Rem: os.CumQuoteRem}, inBook: true}
		if o.TrailingDelta > 0 {
			o.trail = &trailState{peak: os.TrailPeak}
		}
		e.open[o.ID] = o
		a.open[o.Symbol]++
		a.byClient[clientKey{o.Symbol, o.ClientOrderID}] = o
		b.orders = append(b.orders, o)
	}
	e.nextOrder = max(e.nextOrder, st.LastOrderID)
	e.nextTrade = max(e.nextTrade, st.LastTradeID)
	return nil
}
