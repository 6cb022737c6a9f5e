// Package simstore keeps the simulator's accounts, API keys, balances,
// orders and fills in the platform database, so they survive a restart.
//
// The engine's journal (Record) only buffers events in memory; Flush
// writes what is buffered in one transaction — the newest state of each
// order and balance, every fill — and Sync waits until everything recorded
// before it is committed, flushing if need be. Concurrent Syncs share one
// transaction (group commit), so answering an order only after Sync makes
// it durable without a commit per order. Run flushes periodically for the
// fills that market data causes between requests, and with them the
// simulation clock (FollowClock).
package simstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/binanceapi"
)

// Store is the simulator's persistence. It implements sim.Journal,
// binanceapi.Keys and binanceapi.History.
type Store struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger

	mu        sync.Mutex
	buf       []sim.Event
	recorded  uint64            // events recorded so far
	committed uint64            // events committed so far
	lastErr   error             // the last flush's error, until one succeeds
	follow    func() ClockState // the clock saved with each flush (FollowClock)
	saved     ClockState        // the clock state last committed

	flushMu sync.Mutex // one flush at a time

	keysMu sync.RWMutex
	keys   map[string]binanceapi.Key // cache of looked-up keys
}

// New returns a store on a migrated database. clk (nil: the system clock)
// stamps account creation and paces Run.
func New(d *db.DB, clk clock.Clock, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: d, clock: clock.Or(clk), log: log, keys: map[string]binanceapi.Key{}}
}

// Record implements sim.Journal: it copies events into the buffer.
func (s *Store) Record(events []sim.Event) {
	s.mu.Lock()
	s.buf = append(s.buf, events...)
	s.recorded += uint64(len(events))
	s.mu.Unlock()
}

// Sync returns once every event recorded before the call is committed.
func (s *Store) Sync(ctx context.Context) error {
	s.mu.Lock()
	target := s.recorded
	s.mu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	done := s.committed >= target
	s.mu.Unlock()
	if done {
		return nil
	}
	return s.flushLocked(ctx)
}

// Flush commits everything recorded so far.
func (s *Store) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.flushLocked(ctx)
}

// Run flushes every interval until ctx ends, then once more.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	_ = clock.Every(ctx, s.clock, interval, func(ctx context.Context) error {
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("simulator: saving orders and balances failed; will retry", "err", err)
		}
		return nil
	})
	if err := s.Flush(context.WithoutCancel(ctx)); err != nil {
		s.log.Error("simulator: final save failed", "err", err)
	}
}

func (s *Store) flushLocked(ctx context.Context) error {
	s.mu.Lock()
	follow := s.follow
	s.mu.Unlock()
	var clk *ClockState
	if follow != nil {
		st := follow() // before the events: it never runs ahead of them
		clk = &st
	}
	s.mu.Lock()
	batch := s.buf
	upto := s.recorded
	s.buf = nil
	if clk != nil && *clk == s.saved {
		clk = nil
	}
	s.mu.Unlock()
	if len(batch) == 0 && clk == nil {
		s.mu.Lock()
		s.committed = upto
		s.mu.Unlock()
		return nil
	}
	err := s.write(ctx, batch, clk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.buf = append(batch, s.buf...) // keep them for the next try
		s.lastErr = err
		return err
	}
	s.committed, s.lastErr = upto, nil
	if clk != nil {
		s.saved = *clk
	}
	return nil
}

type balKey struct{ account, asset string }

// write stores a batch in one transaction: the newest state of each order
// and balance, every fill, and the clock when given.
func (s *Store) write(ctx context.Context, batch []sim.Event, clk *ClockState) error {
	orders := map[int64]int{} // id → index of its newest event
	balances := map[balKey]int{}
	for i := range batch {
		ev := &batch[i]
		switch ev.Kind {
		case sim.EventOrder:
			orders[ev.Order.Order.ID] = i
		case sim.EventBalance:
			balances[balKey{ev.Balance.Account, ev.Balance.Asset}] = i
		}
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if clk != nil {
			if err := s.saveClock(ctx, tx, *clk); err != nil {
				return err
			}
		}
		fillStmt, err := s.prepare(ctx, tx, insertFill)
		if err != nil {
			return err
		}
		orderStmt, err := s.prepare(ctx, tx, upsertOrder)
		if err != nil {
			return err
		}
		balStmt, err := s.prepare(ctx, tx, upsertBalance)
		if err != nil {
			return err
		}
		for i := range batch {
			ev := &batch[i]
			if ev.Kind != sim.EventOrder {
				continue
			}
			if ev.Order.Exec == sim.ExecTrade {
				f := &ev.Order.Fill
				maker := 0
				if f.Maker {
					maker = 1
				}
				if _, err := fillStmt.ExecContext(ctx, f.TradeID, f.OrderID, f.Account, f.Symbol, f.Side.String(), int64(f.Price), int64(f.Qty),
					int64(f.QuoteQty), int64(f.Commission), f.CommissionAsset, f.Time, maker); err != nil {
					return fmt.Errorf("save fill %d: %w", f.TradeID, err)
				}
			}
			if orders[ev.Order.Order.ID] != i {
				continue // a newer state of this order follows
			}
			o := &ev.Order.Order
			open := 0
			if o.Status.Open() {
				open = 1
			}
			if _, err := orderStmt.ExecContext(ctx, o.ID, o.Account, o.Symbol, o.ClientOrderID, o.Side.String(), o.Type.String(), o.TimeInForce.String(),
				int64(o.Price), int64(o.StopPrice), int64(o.OrigQty), int64(o.OrigQuoteQty), int64(o.ExecutedQty), int64(o.CumQuote),
				ev.Order.CumQuoteRem, int64(ev.Order.Locked), o.Status.String(), open, o.Time, o.UpdateTime, o.WorkingTime,
				o.TrailingDelta, o.TrailingTime, int64(ev.Order.TrailPeak)); err != nil {
				return fmt.Errorf("save order %d: %w", o.ID, err)
			}
		}
		for k, i := range balances {
			b := &batch[i].Balance
			if _, err := balStmt.ExecContext(ctx, k.account, k.asset, int64(b.Free), int64(b.Locked), b.Time); err != nil {
				return fmt.Errorf("save %s balance of %s: %w", k.asset, k.account, err)
			}
		}
		return nil
	})
}

const (
	insertFill = `INSERT INTO sim_fills (trade_id, order_id, account_id, symbol, side, price, qty, quote_qty, commission, commission_asset, time, maker)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	upsertOrder = `INSERT INTO sim_orders (id, account_id, symbol, client_order_id, side, type, time_in_force, price, stop_price,
			orig_qty, orig_quote_qty, executed_qty, cum_quote, cum_quote_rem, locked, status, open, created_at, updated_at, working_time,
			trailing_delta, trailing_time, trail_peak)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET executed_qty = excluded.executed_qty, cum_quote = excluded.cum_quote,
			cum_quote_rem = excluded.cum_quote_rem, locked = excluded.locked, status = excluded.status, open = excluded.open,
			updated_at = excluded.updated_at, working_time = excluded.working_time, trailing_time = excluded.trailing_time,
			trail_peak = excluded.trail_peak`
	upsertBalance = `INSERT INTO sim_balances (account_id, asset, free, locked, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, asset) DO UPDATE SET free = excluded.free, locked = excluded.locked, updated_at = excluded.updated_at`
)

// prepare prepares q in tx (closed with it), so a batch parses each
// statement once.
func (s *Store) prepare(ctx context.Context, tx *db.Tx, q string) (*sql.Stmt, error) {
	st, err := tx.SQL().PrepareContext(ctx, s.db.Rebind(q))
	if err != nil {
		return nil, fmt.Errorf("prepare a simulator save: %w", err)
	}
	return st, nil
}
