package trade

import (
	"errors"
	"fmt"
	"math"
)

// Account is how a portfolio holds and spends money, with Freqtrade's
// meanings: the wallet it starts with (dry_run_wallet), the stake of each
// trade (stake_amount), the part of the wallet that may be staked
// (tradable_balance_ratio) and the number of trades open at once
// (max_open_trades). Amounts are in the stake currency.
type Account struct {
	StartingBalance      float64
	StakeAmount          float64 // fixed stake per trade; 0 means "unlimited"
	TradableBalanceRatio float64 // in (0, 1]
	MaxOpenTrades        int     // -1 = unlimited (needs a fixed stake)
}

// Validate reports settings no portfolio can trade with.
func (a Account) Validate() error {
	var errs []error
	if !(a.StartingBalance > 0) || math.IsInf(a.StartingBalance, 0) {
		errs = append(errs, fmt.Errorf("starting balance %v must be positive", a.StartingBalance))
	}
	if !(a.StakeAmount >= 0) || math.IsInf(a.StakeAmount, 0) {
		errs = append(errs, fmt.Errorf("stake amount %v must be positive, or 0 for unlimited", a.StakeAmount))
	}
	if !(a.TradableBalanceRatio > 0 && a.TradableBalanceRatio <= 1) {
		errs = append(errs, fmt.Errorf("tradable balance ratio %v must be in (0, 1]", a.TradableBalanceRatio))
	}
	switch {
	case a.MaxOpenTrades == 0 || a.MaxOpenTrades < -1:
		errs = append(errs, fmt.Errorf("max open trades %d must be positive, or -1 for unlimited", a.MaxOpenTrades))
	case a.MaxOpenTrades == -1 && a.StakeAmount == 0:
		errs = append(errs, errors.New("an unlimited stake needs a positive max open trades"))
	}
	return errors.Join(errs...)
}

// PairID is a pair's handle in one Portfolio (see [Portfolio.Add]): the
// runner's hot path indexes by it rather than hashing the pair's name.
type PairID int

// Portfolio is the money side of trading, shared by the backtester and the
// live runners: the wallet, stake sizing, the max_open_trades slots and a
// lock that keeps every pair to at most one open trade. It holds the open
// trades themselves; [Policy] decides when they open and close, the
// portfolio whether one may open and with how much.
//
// A runner asks [Policy.Enter] (which asks [Portfolio.Stake]) whether a
// pair opens a trade now and with which stake, opens the filled entry with
// [Rules.Open] and records it with [Portfolio.Open]; it asks [Policy.Exit]
// about the open trade ([Portfolio.Trade]), closes it once an exit filled
// with [Rules.Close] and records the close with
// [Portfolio.Close], which pays the trade's profit (both fees included, as
// [Trade.ProfitAbs] has them) into the wallet and frees its stake.
//
// A Portfolio is not safe for concurrent use.
type Portfolio struct {
	acct     Account
	ids      map[string]PairID
	pos      []position // by PairID
	realised float64    // profit of closed trades
	tiedUp   float64    // stakes of open trades
	open     int        // open trades
}

type position struct {
	pair  string
	open  bool
	trade Trade
}

// NewPortfolio returns an empty portfolio holding a's starting balance.
func NewPortfolio(a Account) (*Portfolio, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("portfolio: %w", err)
	}
	return &Portfolio{acct: a, ids: map[string]PairID{}}, nil
}

// Account returns the portfolio's settings.
func (p *Portfolio) Account() Account { return p.acct }

// Add makes pair tradable in the portfolio and returns its handle. A pair
// is added once: two positions on one pair would defeat the pair lock.
// Pointers returned by [Portfolio.Trade] are valid until the next Add.
func (p *Portfolio) Add(pair string) (PairID, error) {
	if _, ok := p.ids[pair]; ok {
		return 0, fmt.Errorf("portfolio: pair %s added twice", pair)
	}
	id := PairID(len(p.pos))
	p.ids[pair] = id
	p.pos = append(p.pos, position{pair: pair})
	return id, nil
}

// ID returns the handle of pair, if it was added.
func (p *Portfolio) ID(pair string) (PairID, bool) {
	id, ok := p.ids[pair]
	return id, ok
}

// Pair returns the name of pair id.
func (p *Portfolio) Pair(id PairID) string { return p.pos[id].pair }

// Stake says whether pair id may open a trade now, and with which stake.
// It may not while the pair holds an open trade, while every slot is taken,
// or when the wallet cannot pay a stake. A slot that an exit frees is free
// at once, as in Freqtrade: another pair may take it on the candle the exit
// filled on.
//
// Stakes are sized as Freqtrade sizes them: the available money is the
// tradable part of the balance less the stakes of open trades. A fixed
// stake is taken whole or not at all; an "unlimited" stake is the tradable
// balance (including what open trades tie up) divided by max_open_trades,
// at most what is available.
func (p *Portfolio) Stake(id PairID) (float64, bool) {
	if p.pos[id].open || !p.slotFree() {
		return 0, false
	}
	stake := p.stake()
	return stake, stake > 0
}

func (p *Portfolio) slotFree() bool {
	return p.acct.MaxOpenTrades < 0 || p.open < p.acct.MaxOpenTrades
}

func (p *Portfolio) stake() float64 {
	available := p.Available()
	if available <= 0 {
		return 0
	}
	if s := p.acct.StakeAmount; s > 0 {
		if s > available {
			return 0
		}
		return s
	}
	return min((available+p.tiedUp)/float64(p.acct.MaxOpenTrades), available)
}

// Open records t, opened on pair id (see [Rules.Open]), as holding a slot
// and its stake, and returns the recorded trade to check and close in place
// (the pointer [Portfolio.Trade] returns). It refuses, changing nothing, a
// trade that [Portfolio.Stake] would not have allowed: on a
// pair that holds an open trade or is not id, without a free slot, or with
// a stake the wallet cannot pay.
func (p *Portfolio) Open(id PairID, t Trade) (*Trade, error) {
	if !(t.Stake > 0 && t.Stake <= p.Available()) {
		return nil, fmt.Errorf("portfolio: stake %v on %s is more than the %v available", t.Stake, t.Pair, p.Available())
	}
	return p.Filled(id, t)
}

// Filled records t as Open does, for a trade a venue has already opened:
// its stake is what the fills cost, a fact, which a market order's
// slippage may take past the stake available (the part of the balance
// tradable_balance_ratio keeps back is there to pay for it); new stakes
// wait until the wallet has room again. It refuses, changing nothing, a
// trade on a pair that holds an open trade or is not id, without a free
// slot, or with no stake.
func (p *Portfolio) Filled(id PairID, t Trade) (*Trade, error) {
	ps := &p.pos[id]
	switch {
	case ps.pair != t.Pair: // the pairs and their handles correspond one to one
		return nil, fmt.Errorf("portfolio: trade on %s recorded on another pair's handle", t.Pair)
	case ps.open:
		return nil, fmt.Errorf("portfolio: %s already holds an open trade", t.Pair)
	case !p.slotFree():
		return nil, fmt.Errorf("portfolio: no free slot for %s: max_open_trades %d", t.Pair, p.acct.MaxOpenTrades)
	case !(t.Stake > 0):
		return nil, fmt.Errorf("portfolio: trade on %s has no stake (%v)", t.Pair, t.Stake)
	}
	ps.open, ps.trade = true, t
	p.open++
	p.tiedUp += t.Stake
	return &ps.trade, nil
}

// Trade returns pair id's open trade, to check and close in place, or nil
// when the pair holds none.
func (p *Portfolio) Trade(id PairID) *Trade {
	if ps := &p.pos[id]; ps.open {
		return &ps.trade
	}
	return nil
}

// Close records the end of pair id's open trade, which [Rules.Close] has
// closed: its profit goes to the wallet, its stake and its slot are free
// and the pair may trade again. It returns the closed trade: the
// portfolio's record, not copied (a backtest closes thousands of trades),
// which the pair's next Open overwrites; a caller that keeps it copies it.
func (p *Portfolio) Close(id PairID) (*Trade, error) {
	ps := &p.pos[id]
	if !ps.open {
		return nil, fmt.Errorf("portfolio: closing a trade on a pair that holds none")
	}
	t := &ps.trade
	if t.ExitReason == "" {
		return nil, fmt.Errorf("portfolio: the trade on %s is recorded as closed before it was closed", t.Pair)
	}
	p.realised += t.ProfitAbs
	p.tiedUp -= t.Stake
	p.open--
	if p.open == 0 {
		p.tiedUp = 0 // exactly: subtracting the stakes back leaves rounding dust
	}
	ps.open = false
	return t, nil
}

// Balance is the wallet: the starting balance plus the profit of closed
// trades. Stakes of open trades are part of it.
func (p *Portfolio) Balance() float64 { return p.acct.StartingBalance + p.realised }

// TiedUp is the sum of the stakes of open trades.
func (p *Portfolio) TiedUp() float64 { return p.tiedUp }

// Available is what new stakes may spend: the tradable part of the balance
// less the stakes of open trades (negative when losses have taken the
// balance below that).
func (p *Portfolio) Available() float64 {
	return p.Balance()*p.acct.TradableBalanceRatio - p.tiedUp
}

// OpenTrades is the number of open trades.
func (p *Portfolio) OpenTrades() int { return p.open }
